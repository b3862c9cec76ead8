//! Prometheus metrics for calls to outside systems. Every HTTP client sends each attempt
//! through [`send`], which counts it by system and outcome and times it. Knows nothing of
//! the bot, its sources or its channels.

use std::time::Instant;

/// Counter of HTTP attempts to outside systems, labelled `system` ([`Upstream::label`]) and
/// `outcome` ([`Outcome::label`]). One increment per attempt, so a call retried twice
/// counts three times: retries and throttling stay visible. The outcome comes from the HTTP
/// status alone; Slack's `{"ok": false}` answers arrive with 200 and count as `ok`.
pub const REQUESTS_TOTAL: &str = "upstream_requests_total";

/// Histogram of seconds from sending one attempt until its response headers (or its
/// failure) arrive, labelled `system`. Same attempts as [`REQUESTS_TOTAL`].
pub const REQUEST_DURATION: &str = "upstream_request_duration_seconds";

/// An outside system the bot calls. A fixed set, so the `system` label stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// Entra ID and managed identity token endpoints (Azure API tokens and the bot's own).
    EntraToken,
    /// The Log Analytics query API.
    LogAnalytics,
    /// Sentinel REST (Microsoft.SecurityInsights).
    Sentinel,
    /// Microsoft Graph.
    Graph,
    /// The OpenAI, Azure OpenAI or compatible chat completions server.
    Llm,
    /// The Bot Framework connector (Teams replies and posts).
    BotConnector,
    /// The Bot Framework OpenID metadata and signing keys.
    BotFrameworkKeys,
    /// The Slack Web API, response URLs and file uploads.
    Slack,
}

impl Upstream {
    /// The `system` label value.
    pub const fn label(self) -> &'static str {
        match self {
            Upstream::EntraToken => "entra_token",
            Upstream::LogAnalytics => "log_analytics",
            Upstream::Sentinel => "sentinel",
            Upstream::Graph => "graph",
            Upstream::Llm => "llm",
            Upstream::BotConnector => "bot_connector",
            Upstream::BotFrameworkKeys => "bot_framework_keys",
            Upstream::Slack => "slack",
        }
    }

    /// The name people read in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Upstream::EntraToken => "Entra ID",
            Upstream::LogAnalytics => "Log Analytics",
            Upstream::Sentinel => "Sentinel",
            Upstream::Graph => "Microsoft Graph",
            Upstream::Llm => "the model server",
            Upstream::BotConnector => "the Bot Framework connector",
            Upstream::BotFrameworkKeys => "the Bot Framework key service",
            Upstream::Slack => "Slack",
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx (or other non-error) status.
    Ok,
    /// 429: the system asked us to slow down.
    Throttled,
    /// Any other 4xx: usually our request, token or permissions.
    ClientError,
    /// A 5xx: the system's own trouble.
    ServerError,
    /// No answer within the time limit.
    Timeout,
    /// No HTTP answer at all: connection refused, DNS, TLS, a broken body.
    Unreachable,
}

impl Outcome {
    /// Classifies the result of one attempt.
    pub fn of(result: &Result<reqwest::Response, reqwest::Error>) -> Outcome {
        match result {
            Ok(response) => {
                let status = response.status();
                if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    Outcome::Throttled
                } else if status.is_server_error() {
                    Outcome::ServerError
                } else if status.is_client_error() {
                    Outcome::ClientError
                } else {
                    Outcome::Ok
                }
            }
            Err(error) if error.is_timeout() => Outcome::Timeout,
            Err(_) => Outcome::Unreachable,
        }
    }

    /// The `outcome` label value.
    pub const fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Throttled => "throttled",
            Outcome::ClientError => "client_error",
            Outcome::ServerError => "server_error",
            Outcome::Timeout => "timeout",
            Outcome::Unreachable => "unreachable",
        }
    }
}

/// Sends one attempt to `system` and records it in both metrics. Retrying is the caller's job.
pub async fn send(
    system: Upstream,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, reqwest::Error> {
    let _waiting = crate::deadline::waiting_for(system.name());
    let started = Instant::now();
    let result = request.send().await;
    let outcome = Outcome::of(&result);
    metrics::counter!(REQUESTS_TOTAL, "system" => system.label(), "outcome" => outcome.label())
        .increment(1);
    metrics::histogram!(REQUEST_DURATION, "system" => system.label())
        .record(started.elapsed().as_secs_f64());
    result
}

/// Gives both metrics their HELP text; call once after installing the recorder.
pub fn describe() {
    metrics::describe_counter!(
        REQUESTS_TOTAL,
        "HTTP attempts to outside systems (each retry counts), by system and outcome."
    );
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Seconds until an outside system's response headers arrived, per attempt."
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;
    use std::time::Duration;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    // `#[tokio::test]` polls everything on this thread, where the local recorder is set.
    #[tokio::test]
    async fn statuses_and_timeouts_get_their_outcome() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let _local = metrics::set_default_local_recorder(&recorder);
        let server = MockServer::start().await;
        for status in [200, 404, 429, 503] {
            Mock::given(method("GET"))
                .and(path(format!("/{status}")))
                .respond_with(ResponseTemplate::new(status))
                .mount(&server)
                .await;
        }
        let http = reqwest::Client::new();
        for status in [200, 404, 429, 503] {
            let url = format!("{}/{status}", server.uri());
            send(Upstream::Graph, http.get(url)).await.expect("answer");
        }
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(1)))
            .mount(&server)
            .await;
        let slow = http.post(server.uri()).timeout(Duration::from_millis(50));
        assert!(send(Upstream::Slack, slow).await.is_err());
        let text = handle.render();
        for outcome in ["ok", "client_error", "throttled", "server_error"] {
            let line =
                format!("upstream_requests_total{{system=\"graph\",outcome=\"{outcome}\"}} 1");
            assert!(text.contains(&line), "{line} missing from:\n{text}");
        }
        assert!(
            text.contains("upstream_requests_total{system=\"slack\",outcome=\"timeout\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("upstream_request_duration_seconds_count{system=\"graph\"} 4"),
            "{text}"
        );
    }
}
