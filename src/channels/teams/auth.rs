//! Bot Framework inbound JWT validation with a cached OpenID/JWKS key set.

use crate::upstream::{self, Upstream};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The only issuer the Bot Framework channel service uses (protocols.md item 3).
pub const BOT_FRAMEWORK_ISSUER: &str = "https://api.botframework.com";

/// Why a request was refused. Every variant maps to 401.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer <jwt>` header.
    #[error("missing or malformed authorization header")]
    MissingHeader,
    /// The token header is unreadable or names a disallowed algorithm.
    #[error("bad token header")]
    BadHeader,
    /// No key with the token's `kid`, even after a refetch.
    #[error("unknown signing key")]
    UnknownKey,
    /// The key is endorsed for other channels only, or the channel is not Teams.
    #[error("key not endorsed for this channel")]
    NotEndorsed,
    /// Signature, issuer, audience or time checks failed.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The `serviceurl` claim differs from the activity's `serviceUrl`.
    #[error("serviceUrl claim does not match")]
    ServiceUrlMismatch,
    /// The OpenID metadata or key set could not be fetched.
    #[error("key discovery failed: {0}")]
    Discovery(String),
}

/// Tunables of the key cache.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// OpenID metadata document URL.
    pub openid_metadata_url: String,
    /// Expected `aud`: the bot's app id.
    pub app_id: String,
    /// Refetch keys this often even when all kids are known.
    pub refresh_every: Duration,
    /// Minimum spacing between refetches triggered by an unknown `kid`.
    pub unknown_kid_min_interval: Duration,
}

impl AuthSettings {
    /// Production defaults: 24 h refresh, unknown-kid refetch at most once an hour.
    pub fn new(openid_metadata_url: &str, app_id: &str) -> AuthSettings {
        AuthSettings {
            openid_metadata_url: openid_metadata_url.to_string(),
            app_id: app_id.to_string(),
            refresh_every: Duration::from_secs(24 * 3600),
            unknown_kid_min_interval: Duration::from_secs(3600),
        }
    }
}

#[derive(Deserialize)]
struct OpenIdMetadata {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    n: Option<String>,
    e: Option<String>,
    #[serde(default)]
    endorsements: Option<Vec<String>>,
}

#[derive(Clone)]
struct CachedKey {
    key: DecodingKey,
    endorsements: Option<Vec<String>>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, CachedKey>,
    fetched_at: Option<Instant>,
}

/// The claims the bot looks at beyond the standard ones.
#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    serviceurl: Option<String>,
}

/// Validates Bot Framework tokens; cheap to share behind an `Arc`.
pub struct Validator {
    settings: AuthSettings,
    http: reqwest::Client,
    cache: Mutex<Cache>,
}

impl Validator {
    /// A validator with an empty cache; keys are fetched on first use.
    pub fn new(settings: AuthSettings, http: reqwest::Client) -> Validator {
        Validator {
            settings,
            http,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Checks the `Authorization` header value against the activity's channel and serviceUrl.
    pub async fn validate(
        &self,
        authorization: Option<&str>,
        channel_id: &str,
        service_url: &str,
    ) -> Result<(), AuthError> {
        let token = bearer(authorization)?;
        let header = decode_header(token).map_err(|_| AuthError::BadHeader)?;
        if !matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
        ) {
            return Err(AuthError::BadHeader);
        }
        let kid = header.kid.ok_or(AuthError::BadHeader)?;
        let key = self.key(&kid).await?;
        // Teams is the only channel this bot serves; the SDK lets an empty channelId
        // through, we do not (protocols.md item 8).
        if channel_id != "msteams" {
            return Err(AuthError::NotEndorsed);
        }
        if let Some(endorsements) = &key.endorsements
            && !endorsements.iter().any(|e| e == channel_id)
        {
            return Err(AuthError::NotEndorsed);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];
        validation.leeway = 300;
        validation.validate_nbf = true;
        validation.set_audience(&[&self.settings.app_id]);
        validation.set_issuer(&[BOT_FRAMEWORK_ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let claimed = data.claims.serviceurl.unwrap_or_default();
        if trim_slash(&claimed) != trim_slash(service_url) || claimed.is_empty() {
            return Err(AuthError::ServiceUrlMismatch);
        }
        Ok(())
    }

    async fn key(&self, kid: &str) -> Result<CachedKey, AuthError> {
        let mut cache = self.cache.lock().await;
        let stale = cache
            .fetched_at
            .is_none_or(|at| at.elapsed() >= self.settings.refresh_every);
        if stale {
            self.refetch(&mut cache).await?;
        }
        if let Some(key) = cache.keys.get(kid) {
            return Ok(key.clone());
        }
        // Keys rotate: one refetch for an unknown kid, rate limited so a flood of
        // forged kids cannot hammer the metadata endpoint.
        let may_refetch = !stale
            && cache
                .fetched_at
                .is_none_or(|at| at.elapsed() >= self.settings.unknown_kid_min_interval);
        if may_refetch {
            self.refetch(&mut cache).await?;
        }
        cache.keys.get(kid).cloned().ok_or(AuthError::UnknownKey)
    }

    async fn refetch(&self, cache: &mut Cache) -> Result<(), AuthError> {
        let metadata: OpenIdMetadata = get_json(&self.http, &self.settings.openid_metadata_url)
            .await
            .map_err(AuthError::Discovery)?;
        let set: JwkSet = get_json(&self.http, &metadata.jwks_uri)
            .await
            .map_err(AuthError::Discovery)?;
        let mut keys = HashMap::new();
        for jwk in set.keys {
            // Keys without RSA components count as not found (protocols.md item 5).
            let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_rsa_components(&n, &e) {
                keys.insert(
                    kid,
                    CachedKey {
                        key,
                        endorsements: jwk.endorsements,
                    },
                );
            }
        }
        cache.keys = keys;
        cache.fetched_at = Some(Instant::now());
        Ok(())
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let response = upstream::send(Upstream::BotFrameworkKeys, http.get(url))
        .await
        .map_err(|e| e.to_string())?
        .error_for_status()
        .map_err(|e| e.to_string())?;
    response.json::<T>().await.map_err(|e| e.to_string())
}

/// Extracts the token: exactly `Bearer <jwt>`, scheme compared case-sensitively.
fn bearer(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.ok_or(AuthError::MissingHeader)?;
    let mut parts = value.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("Bearer"), Some(token), None) if !token.is_empty() => Ok(token),
        _ => Err(AuthError::MissingHeader),
    }
}

fn trim_slash(url: &str) -> &str {
    url.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_needs_exact_scheme_and_two_parts() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("bearer abc")), Err(AuthError::MissingHeader));
        assert_eq!(bearer(Some("Bearer a b")), Err(AuthError::MissingHeader));
        assert_eq!(bearer(Some("Bearer ")), Err(AuthError::MissingHeader));
        assert_eq!(bearer(None), Err(AuthError::MissingHeader));
    }

    #[test]
    fn service_url_compare_ignores_trailing_slash() {
        assert_eq!(
            trim_slash("https://smba.trafficmanager.net/emea/"),
            trim_slash("https://smba.trafficmanager.net/emea")
        );
    }
}
