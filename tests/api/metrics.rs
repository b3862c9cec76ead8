//! The upstream metrics: calls through the real Azure and Slack clients to local fake
//! servers, read back from a Prometheus recorder set for this test's thread only.

use crate::azure::{query_path, source, week};
use metrics_exporter_prometheus::PrometheusBuilder;
use secrecy::SecretString;
use sentinel_bot::channels::slack::WebApi;
use sentinel_bot::render::block_kit::Message;
use sentinel_bot::sources::IncidentSource;
use sentinel_bot::sources::azure::log_analytics::to_log_analytics_response;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn count(system: &str, outcome: &str, value: u64) -> String {
    format!("upstream_requests_total{{system=\"{system}\",outcome=\"{outcome}\"}} {value}")
}

fn assert_has(text: &str, line: &str) {
    assert!(text.contains(line), "`{line}` missing from:\n{text}");
}

// `#[tokio::test]` runs on one thread, where the local recorder is set for the whole test.
#[tokio::test]
async fn azure_calls_are_counted_by_system_and_outcome_with_each_retry() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let healthy = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(to_log_analytics_response(&[])))
        .mount(&healthy)
        .await;
    source(&healthy)
        .await
        .incidents(week())
        .await
        .expect("an empty week");

    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&failing)
        .await;
    source(&failing)
        .await
        .incidents(week())
        .await
        .expect_err("gives up after three attempts");

    let text = handle.render();
    assert_has(&text, &count("log_analytics", "ok", 1));
    assert_has(&text, &count("log_analytics", "server_error", 3));
    // Each source fetched its own token once.
    assert_has(&text, &count("entra_token", "ok", 2));
    assert_has(
        &text,
        "upstream_request_duration_seconds_count{system=\"log_analytics\"} 4",
    );
    assert!(!text.contains("system=\"sentinel\""), "{text}");
}

#[tokio::test]
async fn slack_posts_are_counted_by_outcome_with_each_retry() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let healthy = MockServer::start().await;
    Mock::given(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.1"})))
        .mount(&healthy)
        .await;
    let failing = MockServer::start().await;
    Mock::given(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(500))
        .expect(2)
        .mount(&failing)
        .await;
    let message = Message {
        text: "hello".into(),
        blocks: Vec::new(),
    };
    WebApi::new(&healthy.uri(), SecretString::from("xoxb-test"))
        .post_message("C1", &message, None)
        .await
        .expect("posted");
    WebApi::new(&failing.uri(), SecretString::from("xoxb-test"))
        .with_channel_gap(Duration::ZERO)
        .with_max_attempts(2)
        .post_message("C1", &message, None)
        .await
        .expect_err("still failing after two attempts");

    let text = handle.render();
    assert_has(&text, &count("slack", "ok", 1));
    assert_has(&text, &count("slack", "server_error", 2));
    assert_has(
        &text,
        "upstream_request_duration_seconds_count{system=\"slack\"} 3",
    );
}
