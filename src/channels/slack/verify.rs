//! Slack request signing: the v0 HMAC-SHA256 check over the raw body, run as an
//! axum middleware before any parsing. Knows nothing of commands or events.

use super::SlackState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// Header carrying `v0=<hex hmac>`.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Header carrying the Unix timestamp the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// Requests whose timestamp differs from our clock by more than this are refused (both directions).
pub const MAX_SKEW_SECONDS: i64 = 300;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Why a request's signature was refused. The message never contains the expected HMAC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A signing header is absent or not text.
    #[error("missing or unreadable header {0}")]
    MissingHeader(&'static str),
    /// The timestamp is not an integer.
    #[error("the request timestamp is not a number")]
    BadTimestamp,
    /// The timestamp is more than five minutes away from now, in either direction.
    #[error("the request timestamp is more than five minutes from the server clock")]
    Stale,
    /// The signature is not `v0=` followed by the expected HMAC.
    #[error("the request signature does not match")]
    Mismatch,
    /// No usable signing secret is configured.
    #[error("no signing secret is configured")]
    NoSecret,
    /// The body could not be read.
    #[error("the request body could not be read")]
    Body,
    /// This exact signed request was already accepted within its five-minute window.
    #[error("the request was already received once (a replay)")]
    Replayed,
}

/// The `v0=<hex>` signature of a body, as Slack computes it.
pub fn sign(secret: &SecretString, timestamp: &str, body: &[u8]) -> Result<String, VerifyError> {
    let mac = mac_of(secret, timestamp, body)?;
    Ok(format!("v0={}", hex::encode(mac.finalize().into_bytes())))
}

fn mac_of(secret: &SecretString, timestamp: &str, body: &[u8]) -> Result<HmacSha256, VerifyError> {
    let key = secret.expose_secret();
    // An empty or blank secret would make every signature forgeable.
    if key.trim().is_empty() {
        return Err(VerifyError::NoSecret);
    }
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).map_err(|_| VerifyError::NoSecret)?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Ok(mac)
}

/// Checks the signing headers against the raw body at time `now`.
pub fn verify(
    secret: &SecretString,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    let timestamp = header_text(headers, TIMESTAMP_HEADER)?;
    let signature = header_text(headers, SIGNATURE_HEADER)?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if (now.timestamp() - seconds).abs() > MAX_SKEW_SECONDS {
        return Err(VerifyError::Stale);
    }
    let expected = sign(secret, timestamp, body)?;
    // Constant time, so the comparison leaks nothing about how much matched.
    if bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().ok_or(VerifyError::MissingHeader(name))?;
    // Two copies of a signing header is not something Slack sends.
    if values.next().is_some() {
        return Err(VerifyError::MissingHeader(name));
    }
    first.to_str().map_err(|_| VerifyError::MissingHeader(name))
}

/// Middleware: buffers the body, verifies it, answers 401 on any failure and
/// otherwise hands the same bytes to the route.
pub async fn require_signature(
    State(state): State<SlackState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, state.settings.body_limit).await {
        Ok(bytes) => bytes,
        Err(_) => return unauthorized(&VerifyError::Body),
    };
    let Some(secret) = state.settings.signing_secret.as_ref() else {
        return unauthorized(&VerifyError::NoSecret);
    };
    let now = state.now();
    if let Err(error) = verify(secret, &parts.headers, &bytes, now) {
        return unauthorized(&error);
    }
    if let Err(error) = first_use(&state, &parts.headers, now).await {
        return unauthorized(&error);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Remembers a verified request's signature until its timestamp leaves the window, in the
/// shared store, so an exact copy sent again is refused here and on every other replica
/// (Slack's own verifiers accept such copies). Slack signs each retry afresh, with a new
/// timestamp, so retries are not mistaken for replays.
async fn first_use(
    state: &SlackState,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    let signature = header_text(headers, SIGNATURE_HEADER)?;
    let seconds: i64 = header_text(headers, TIMESTAMP_HEADER)?
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    // The request is acceptable while |now - timestamp| <= MAX_SKEW_SECONDS.
    let until = DateTime::from_timestamp(seconds.saturating_add(MAX_SKEW_SECONDS + 1), 0)
        .ok_or(VerifyError::BadTimestamp)?;
    match state
        .seen
        .first_use(&format!("slack:signature:{signature}"), now, until)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(VerifyError::Replayed),
        // The signature itself was valid; refusing every request while the store is down would
        // stop the bot, so this one is let through and the outage logged.
        Err(error) => {
            tracing::error!(%error, "could not record the Slack request signature; replay check skipped");
            Ok(())
        }
    }
}

fn unauthorized(error: &VerifyError) -> Response {
    tracing::warn!(%error, "refused a Slack request");
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({"error": "invalid request"})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(timestamp: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        headers.insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
        headers
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn own_signature_verifies_and_tampering_fails() {
        let secret = SecretString::from("s3cret");
        let signature = sign(&secret, "1000", b"a=1").unwrap();
        assert!(signature.starts_with("v0=") && signature.len() == 67);
        let ok = headers("1000", &signature);
        assert_eq!(verify(&secret, &ok, b"a=1", at(1000)), Ok(()));
        assert_eq!(
            verify(&secret, &ok, b"a=2", at(1000)),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn skew_is_checked_both_ways_at_the_boundary() {
        let secret = SecretString::from("s3cret");
        let signature = sign(&secret, "1000", b"").unwrap();
        let ok = headers("1000", &signature);
        assert_eq!(verify(&secret, &ok, b"", at(1300)), Ok(()));
        assert_eq!(verify(&secret, &ok, b"", at(700)), Ok(()));
        assert_eq!(verify(&secret, &ok, b"", at(1301)), Err(VerifyError::Stale));
        assert_eq!(verify(&secret, &ok, b"", at(699)), Err(VerifyError::Stale));
    }

    #[test]
    fn blank_secret_and_bad_headers_are_refused() {
        let blank = SecretString::from("   ");
        assert_eq!(sign(&blank, "1", b""), Err(VerifyError::NoSecret));
        let secret = SecretString::from("s3cret");
        assert_eq!(
            verify(&secret, &headers("abc", "v0=00"), b"", at(0)),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify(&secret, &HeaderMap::new(), b"", at(0)),
            Err(VerifyError::MissingHeader(TIMESTAMP_HEADER))
        );
        let signature = sign(&secret, "5", b"").unwrap().replace("v0=", "v1=");
        assert_eq!(
            verify(&secret, &headers("5", &signature), b"", at(5)),
            Err(VerifyError::Mismatch)
        );
    }
}
