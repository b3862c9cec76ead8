//! Microsoft Graph JSON batching (`POST /v1.0/$batch`, learn.microsoft.com/graph/json-batching):
//! GET requests deduplicated by URL, sent up to 20 per call and a few calls at once. Graph
//! answers each sub-request on its own (the envelope is 200 even when one is throttled), so
//! sub-requests answered 429 or 5xx are sent again in a later round, honouring their
//! Retry-After, within the client's retry policy and the answer's deadline.

use super::{GraphClient, SYSTEM};
use crate::sources::SourceError;
use crate::sources::azure::retry;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// Most requests Graph accepts in one batch.
pub const MAX_PER_BATCH: usize = 20;

/// Most batch calls in flight at once for one lookup, so a large report does not
/// open dozens of connections to Graph (and trip its throttling) at the same moment.
pub const MAX_CONCURRENT_BATCHES: usize = 4;

/// One GET relative to `/v1.0`, with its query; equal requests are sent once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Get {
    pub path: String,
    pub query: Vec<(&'static str, String)>,
}

impl Get {
    /// A GET of `path` (already percent-encoded where it holds ids) with `query`.
    pub fn new(path: String, query: Vec<(&'static str, String)>) -> Get {
        Get { path, query }
    }

    /// The URL as a batch carries it: relative to the version, query percent-encoded.
    pub fn relative_url(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let query: Vec<String> = self
            .query
            .iter()
            .map(|(name, value)| format!("{name}={}", urlencoding::encode(value)))
            .collect();
        format!("{}?{}", self.path, query.join("&"))
    }
}

/// One answer as a single call would give it: the body, `None` for 404, or the error.
pub type Answer = Result<Option<Value>, SourceError>;

#[derive(Deserialize)]
struct BatchAnswer {
    #[serde(default)]
    responses: Vec<SubResponse>,
}

#[derive(Deserialize)]
struct SubResponse {
    id: String,
    status: u16,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    body: Value,
}

/// What became of one sub-request in one round.
enum Outcome {
    Done(Answer),
    /// Worth another round: throttled, a server error, or missing from the answer.
    Again {
        problem: String,
        retry_after: Option<Duration>,
    },
}

impl GraphClient {
    /// GETs every request, one answer per distinct request. A lone request goes out as a plain
    /// GET; more go in `$batch` calls of up to [`MAX_PER_BATCH`].
    pub(super) async fn get_all(&self, requests: &[Get]) -> HashMap<Get, Answer> {
        let mut pending: Vec<Get> = Vec::new();
        for request in requests {
            if !pending.contains(request) {
                pending.push(request.clone());
            }
        }
        let mut answers = HashMap::new();
        let attempts = self.policy.attempts.max(1);
        for attempt in 1..=attempts {
            // A lone request (the only one, or the last one throttled) needs no batch; the
            // plain call has retries of its own.
            if let [only] = pending.as_slice() {
                let answer = self.get(only).await;
                answers.insert(only.clone(), answer);
                break;
            }
            if pending.is_empty() {
                break;
            }
            // Owned chunks and futures built up front: a borrowing closure inside the stream
            // would need to be generic over lifetimes, which the `Send` check cannot prove.
            let calls: Vec<_> = pending
                .chunks(MAX_PER_BATCH)
                .map(|chunk| self.send_batch(chunk.to_vec()))
                .collect();
            let rounds: Vec<Vec<(Get, Outcome)>> = futures::stream::iter(calls)
                .buffer_unordered(MAX_CONCURRENT_BATCHES)
                .collect()
                .await;
            let mut again = Vec::new();
            let mut hint: Option<Duration> = None;
            let mut last_problem = String::new();
            for (request, outcome) in rounds.into_iter().flatten() {
                match outcome {
                    Outcome::Done(answer) => {
                        answers.insert(request, answer);
                    }
                    Outcome::Again {
                        problem,
                        retry_after,
                    } => {
                        hint = hint.max(retry_after);
                        last_problem = problem;
                        again.push(request);
                    }
                }
            }
            pending = again;
            if pending.is_empty() {
                break;
            }
            let wait = hint.map_or_else(
                || self.policy.backoff(attempt),
                |hint| hint.min(self.policy.max_delay),
            );
            let out_of_time = deadline_passes_within(wait);
            if attempt == attempts || out_of_time {
                let error = out_of_time
                    .then(|| retry::out_of_time_error(SYSTEM, attempt, &last_problem))
                    .flatten()
                    .unwrap_or_else(|| SourceError::Failed {
                        system: SYSTEM,
                        reason: format!("gave up after {attempt} attempts; last: {last_problem}"),
                    });
                for request in pending.drain(..) {
                    answers.insert(request, Err(error.clone()));
                }
                break;
            }
            tracing::warn!(
                requests = pending.len(),
                attempt,
                problem = %last_problem,
                "resending throttled or failed Graph batch requests"
            );
            tokio::time::sleep(wait).await;
        }
        answers
    }

    /// One request as a plain GET.
    async fn get(&self, request: &Get) -> Answer {
        let query: Vec<(&str, &str)> = request
            .query
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        self.call(Method::GET, &request.path, &query, None).await
    }

    /// One `$batch` call; every request gets an outcome, the whole chunk the call's error.
    async fn send_batch(&self, chunk: Vec<Get>) -> Vec<(Get, Outcome)> {
        let requests: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(index, request)| {
                json!({"id": (index + 1).to_string(), "method": "GET", "url": request.relative_url()})
            })
            .collect();
        let body = json!({ "requests": requests });
        let envelope = match self.call(Method::POST, "/$batch", &[], Some(&body)).await {
            Ok(Some(envelope)) => {
                serde_json::from_value::<BatchAnswer>(envelope).map_err(|error| {
                    SourceError::Failed {
                        system: SYSTEM,
                        reason: format!("the $batch answer is not the expected JSON: {error}"),
                    }
                })
            }
            Ok(None) => Err(SourceError::Failed {
                system: SYSTEM,
                reason: "the $batch endpoint was not found".to_string(),
            }),
            Err(error) => Err(error),
        };
        let mut responses = match envelope {
            Ok(answer) => answer.responses,
            Err(error) => {
                return chunk
                    .into_iter()
                    .map(|request| (request, Outcome::Done(Err(error.clone()))))
                    .collect();
            }
        };
        chunk
            .into_iter()
            .enumerate()
            .map(|(index, request)| {
                let id = (index + 1).to_string();
                let outcome = match responses.iter().position(|response| response.id == id) {
                    Some(position) => outcome_of(responses.swap_remove(position)),
                    None => Outcome::Again {
                        problem: "the batch answer left this request out".to_string(),
                        retry_after: None,
                    },
                };
                (request, outcome)
            })
            .collect()
    }
}

/// True when the answer's deadline comes before `wait` is over.
fn deadline_passes_within(wait: Duration) -> bool {
    crate::deadline::current().is_some_and(|budget| wait >= budget.remaining())
}

fn outcome_of(response: SubResponse) -> Outcome {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let message = || retry::describe_error_body(&response.body.to_string());
    if status.is_success() {
        return Outcome::Done(Ok(Some(response.body)));
    }
    if retry::is_retryable(status) {
        let retry_after = response
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, value)| retry::retry_after_seconds(value));
        return Outcome::Again {
            problem: format!("HTTP {status}: {}", message()),
            retry_after,
        };
    }
    Outcome::Done(match status {
        StatusCode::NOT_FOUND => Ok(None),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(SourceError::Unavailable {
            system: SYSTEM,
            reason: format!("no licence or permission ({})", message()),
        }),
        _ => Err(SourceError::Failed {
            system: SYSTEM,
            reason: format!("HTTP {status}: {}", message()),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls_carry_an_encoded_query() {
        let search = Get::new(
            "/security/threatIntelligence/articles".to_string(),
            vec![
                ("$search", "\"T1566\"".to_string()),
                ("$top", "5".to_string()),
            ],
        );
        assert_eq!(
            search.relative_url(),
            "/security/threatIntelligence/articles?$search=%22T1566%22&$top=5"
        );
        let alert = Get::new("/security/alerts_v2/da1".to_string(), Vec::new());
        assert_eq!(alert.relative_url(), "/security/alerts_v2/da1");
    }

    #[test]
    fn sub_responses_map_like_single_calls() {
        let sub = |status: u16, headers: &[(&str, &str)]| SubResponse {
            id: "1".to_string(),
            status,
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            body: json!({"error": {"code": "E", "message": "m"}}),
        };
        assert!(matches!(
            outcome_of(sub(200, &[])),
            Outcome::Done(Ok(Some(_)))
        ));
        assert!(matches!(outcome_of(sub(404, &[])), Outcome::Done(Ok(None))));
        assert!(matches!(
            outcome_of(sub(403, &[])),
            Outcome::Done(Err(SourceError::Unavailable { .. }))
        ));
        assert!(matches!(
            outcome_of(sub(400, &[])),
            Outcome::Done(Err(SourceError::Failed { .. }))
        ));
        match outcome_of(sub(429, &[("Retry-After", "7")])) {
            Outcome::Again {
                retry_after,
                problem,
            } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)));
                assert!(problem.contains("E: m"), "{problem}");
            }
            Outcome::Done(_) => panic!("429 is retried"),
        }
    }
}
