//! The one way every Azure call goes out: a per-attempt timeout, bounded retries with
//! exponential backoff and jitter on 429 (honouring Retry-After), 5xx and connection
//! errors, each attempt counted in the upstream metrics, and failures turned into
//! `SourceError`s that name the system and the reason.

use crate::deadline;
use crate::sources::SourceError;
use crate::upstream::{self, Upstream};
use reqwest::{RequestBuilder, Response, StatusCode};
use std::time::Duration;

/// How a timed-out attempt is described.
const TIMED_OUT: &str = "timed out";

/// How often and how patiently a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (at least 1).
    pub attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Longest wait between attempts, also the cap on a server's Retry-After.
    pub max_delay: Duration,
    /// Time limit of one attempt.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts of up to 30 s each with 0.5 to 2 s between them: about 95 s at worst
    /// for work without a budget. Inside an answer's budget (25 s interactive by default) the
    /// deadline cuts this short, so a hung API costs the budget, never the sum of attempts.
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1), without a server hint.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        // Equal jitter: half fixed, half random, so replicas retrying together spread out.
        let half = full / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// [`out_of_time`] under the current budget; `None` outside one.
pub(crate) fn out_of_time_error(
    system: &'static str,
    attempts: u32,
    last_problem: &str,
) -> Option<SourceError> {
    let budget = deadline::current()?;
    Some(out_of_time(system, &budget, attempts, last_problem))
}

/// Sends the request built by `build` until it succeeds, fails for good, or attempts run out.
/// Returns the response for any status that is not worth retrying (2xx, and 4xx except 429);
/// callers decide what a 404 or 409 means. `upstream` labels the metrics and names the API in errors.
///
/// Inside an answer's [`Budget`](crate::deadline::Budget) no attempt outlives the deadline
/// and no retry starts that could not finish before it: the answer then fails with
/// [`SourceError::TimedOut`] naming this system, instead of waiting out every attempt.
pub async fn send(
    upstream: Upstream,
    policy: &RetryPolicy,
    build: impl Fn() -> RequestBuilder,
) -> Result<Response, SourceError> {
    let system = upstream.name();
    let budget = deadline::current();
    let attempts = policy.attempts.max(1);
    let mut last_problem = String::new();
    for attempt in 1..=attempts {
        let timeout = match &budget {
            Some(budget) if budget.remaining().is_zero() => {
                return Err(out_of_time(system, budget, attempt - 1, &last_problem));
            }
            Some(budget) => policy.timeout.min(budget.remaining()),
            None => policy.timeout,
        };
        let wait = match upstream::send(upstream, build().timeout(timeout)).await {
            Ok(response) if is_retryable(response.status()) => {
                let hint = retry_after(&response);
                let status = response.status();
                let message = error_message(response).await;
                last_problem = format!("HTTP {status}: {message}");
                hint.map_or_else(
                    || policy.backoff(attempt),
                    |hint| hint.min(policy.max_delay),
                )
            }
            Ok(response) => return Ok(response),
            Err(error) => {
                last_problem = describe_transport(&error);
                policy.backoff(attempt)
            }
        };
        tracing::warn!(system, attempt, problem = %last_problem, "retryable failure");
        if attempt < attempts {
            if let Some(budget) = &budget
                && wait >= budget.remaining()
            {
                return Err(out_of_time(system, budget, attempt, &last_problem));
            }
            tokio::time::sleep(wait).await;
        }
    }
    Err(SourceError::Failed {
        system,
        reason: format!("gave up after {attempts} attempts; last: {last_problem}"),
    })
}

/// The error when the answer's budget ends before `system` gave a usable answer.
fn out_of_time(
    system: &'static str,
    budget: &deadline::Budget,
    attempts: u32,
    last_problem: &str,
) -> SourceError {
    if attempts == 0 || last_problem == TIMED_OUT {
        return SourceError::TimedOut {
            system,
            waited: budget.allowed(),
        };
    }
    SourceError::Failed {
        system,
        reason: format!(
            "gave up after {attempts} attempts, with no time left to retry within {}; last: {last_problem}",
            deadline::seconds(budget.allowed())
        ),
    }
}

/// Passes a success through; turns any other status into `SourceError::Failed` with the API's message.
pub async fn require_success(
    system: &'static str,
    response: Response,
) -> Result<Response, SourceError> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let message = error_message(response).await;
    Err(SourceError::Failed {
        system,
        reason: format!("HTTP {status}: {message}"),
    })
}

/// Reads a success body as JSON; unreadable JSON is a clear `Failed` error.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    system: &'static str,
    response: Response,
) -> Result<T, SourceError> {
    let response = require_success(system, response).await?;
    let bytes = response
        .bytes()
        .await
        .map_err(|error| SourceError::Failed {
            system,
            reason: format!(
                "reading the response failed: {}",
                describe_transport(&error)
            ),
        })?;
    serde_json::from_slice(&bytes).map_err(|error| SourceError::Failed {
        system,
        reason: format!("the response is not the expected JSON: {error}"),
    })
}

/// 429 and 5xx: worth another attempt.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Retry-After in seconds (the form Azure sends); HTTP dates are ignored in favour of backoff.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    retry_after_seconds(value.to_str().ok()?)
}

/// A Retry-After value in seconds, as text.
pub(crate) fn retry_after_seconds(text: &str) -> Option<Duration> {
    let seconds: f64 = text.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// The API's own explanation from an error body: Azure and Graph use
/// `{"error":{"code","message"}}`, Entra uses `error_description`. Bounded, single line.
pub async fn error_message(response: Response) -> String {
    let text = response.text().await.unwrap_or_default();
    describe_error_body(&text)
}

/// The explanation in an error body already read as text; see [`error_message`].
pub fn describe_error_body(text: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let message = parsed.as_ref().and_then(|body| {
        let error = body.get("error");
        let code = error
            .and_then(|error| error.get("code"))
            .and_then(|code| code.as_str());
        let message = error
            .and_then(|error| error.get("message"))
            .and_then(|message| message.as_str())
            .or_else(|| body.get("error_description").and_then(|text| text.as_str()));
        match (code, message) {
            (Some(code), Some(message)) => Some(format!("{code}: {message}")),
            (None, Some(message)) => Some(message.to_string()),
            (Some(code), None) => Some(code.to_string()),
            (None, None) => error.and_then(|error| error.as_str()).map(str::to_string),
        }
    });
    let message = message.unwrap_or_else(|| text.to_string());
    let single_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if single_line.is_empty() {
        "no details given".to_string()
    } else {
        single_line.chars().take(400).collect()
    }
}

/// Says what went wrong on the wire. Our URLs never carry secrets (tokens go in headers).
pub fn describe_transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        TIMED_OUT.to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            timeout: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(policy.backoff(30) <= Duration::from_millis(1000));
        }
    }

    #[tokio::test]
    async fn retry_after_overrides_the_backoff() {
        use wiremock::matchers::method;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        // The backoff alone would wait at least 30 seconds; the server's hint says retry now.
        let policy = RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
        };
        let http = reqwest::Client::new();
        let call = send(Upstream::Sentinel, &policy, || http.get(server.uri()));
        let response = tokio::time::timeout(Duration::from_secs(5), call)
            .await
            .expect("Retry-After was honoured")
            .expect("second attempt succeeds");
        assert_eq!(response.status(), StatusCode::OK);
    }
}
