//! Request guards under load and attack: replayed Slack requests refused across replicas
//! sharing a store, background answers bounded with a polite "busy" past the bound and the
//! queue depth on `/metrics`, and the CLI's output into a closed pipe.

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use metrics_exporter_prometheus::PrometheusBuilder;
use secrecy::SecretString;
use sentinel_bot::app;
use sentinel_bot::bot::{Bot, Settings};
use sentinel_bot::channels::slack::{self, SlackSettings, SlackState, WebApi, verify};
use sentinel_bot::channels::workload::{BUSY, Workload};
use sentinel_bot::config::Config;
use sentinel_bot::incident::{Incident, Tactic};
use sentinel_bot::period::Window;
use sentinel_bot::server::{self, Ops};
use sentinel_bot::sources::{
    IncidentDetail, IncidentSet, IncidentSource, IncidentUpdate, Intel, NewIncident,
    RecommendedAction, SourceError, ThreatIntel,
};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "replay-test-secret";

/// The bot wired by `app::build` on demo data, with Slack answering through `slack_api`.
fn config(store_url: &str, slack_api: &str) -> Config {
    let env = vec![
        (
            "SENTINEL_BOT__STORE__URL".to_string(),
            store_url.to_string(),
        ),
        (
            "SENTINEL_BOT__SLACK__BOT_TOKEN".to_string(),
            "xoxb-test".to_string(),
        ),
        (
            "SENTINEL_BOT__SLACK__SIGNING_SECRET".to_string(),
            SECRET.to_string(),
        ),
        (
            "SENTINEL_BOT__SLACK__API_URL".to_string(),
            slack_api.to_string(),
        ),
    ];
    Config::from_sources("", env).expect("config")
}

/// One signed `/help` slash command, as Slack would send it now.
fn signed_help(response_url: &str) -> (String, String, String) {
    let body = format!(
        "team_id=T1&channel_id=C1&user_id=UANA&user_name=ana&command=%2Fhelp&text=&response_url={}",
        urlencoding::encode(response_url)
    );
    let timestamp = Utc::now().timestamp().to_string();
    let signature =
        verify::sign(&SecretString::from(SECRET), &timestamp, body.as_bytes()).expect("signs");
    (body, timestamp, signature)
}

async fn post_command(
    state: &SlackState,
    (body, timestamp, signature): &(String, String, String),
) -> StatusCode {
    let request = Request::post("/slack/commands")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(verify::TIMESTAMP_HEADER, timestamp)
        .header(verify::SIGNATURE_HEADER, signature)
        .body(Body::from(body.clone()))
        .expect("request");
    slack::router(state.clone())
        .oneshot(request)
        .await
        .expect("answer")
        .status()
}

/// Sends one signed request to `first`, then the same bytes to `second`.
async fn replay(first: &SlackState, second: &SlackState, response_url: &str) {
    let copy = signed_help(response_url);
    assert_eq!(post_command(first, &copy).await, StatusCode::OK);
    assert_eq!(
        post_command(second, &copy).await,
        StatusCode::UNAUTHORIZED,
        "an exact copy within the window is a replay"
    );
    // A new request (new timestamp or body) is fine.
    let (body, _, _) = copy;
    let fresh = signed_help(&format!("{response_url}/other"));
    assert_ne!(fresh.0, body);
    assert_eq!(post_command(second, &fresh).await, StatusCode::OK);
}

#[tokio::test]
async fn a_replayed_slash_command_is_refused_by_the_same_instance() {
    let slack_api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&slack_api)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let url = crate::store::sqlite_url(&dir);
    let app = app::build(&config(&url, &slack_api.uri()), Utc::now())
        .await
        .expect("app");
    let state = app.slack.expect("Slack is configured");
    replay(&state, &state, &format!("{}/response", slack_api.uri())).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set SENTINEL_BOT_TEST_POSTGRES to run against PostgreSQL"
)]
async fn a_replayed_slash_command_is_refused_by_a_second_replica_sharing_postgres() {
    let slack_api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&slack_api)
        .await;
    let url = crate::store::postgres_url().await;
    let first = app::build(&config(&url, &slack_api.uri()), Utc::now())
        .await
        .expect("first replica");
    let second = app::build(&config(&url, &slack_api.uri()), Utc::now())
        .await
        .expect("second replica");
    replay(
        &first.slack.expect("Slack"),
        &second.slack.expect("Slack"),
        &format!("{}/response", slack_api.uri()),
    )
    .await;
}

/// A source whose incident lookups wait for a permit the test hands out.
struct Held {
    gate: Arc<Semaphore>,
}

#[async_trait]
impl IncidentSource for Held {
    async fn incidents(&self, _window: Window) -> Result<IncidentSet, SourceError> {
        Ok(IncidentSet::default())
    }
    async fn incident(
        &self,
        key: sentinel_bot::incident::IncidentKey,
    ) -> Result<IncidentDetail, SourceError> {
        let number = key.number;
        let _permit = self.gate.acquire().await;
        Err(SourceError::NotFound(
            sentinel_bot::incident::IncidentKey::only(number),
        ))
    }
    async fn add_comment(
        &self,
        _key: sentinel_bot::incident::IncidentKey,
        _message: &str,
    ) -> Result<(), SourceError> {
        Ok(())
    }
    async fn update(
        &self,
        key: sentinel_bot::incident::IncidentKey,
        _update: &IncidentUpdate,
        _etag: Option<&str>,
    ) -> Result<Incident, SourceError> {
        let number = key.number;
        Err(SourceError::NotFound(
            sentinel_bot::incident::IncidentKey::only(number),
        ))
    }
    async fn create(&self, _incident: &NewIncident) -> Result<Incident, SourceError> {
        Err(SourceError::NotFound(
            sentinel_bot::incident::IncidentKey::only(0),
        ))
    }
}

#[async_trait]
impl ThreatIntel for Held {
    async fn recommended_actions(
        &self,
        _incident: &Incident,
    ) -> Result<Vec<RecommendedAction>, SourceError> {
        Ok(Vec::new())
    }
    async fn tactic_intel(
        &self,
        _tactic: Tactic,
        _techniques: &[String],
    ) -> Result<Vec<Intel>, SourceError> {
        Ok(Vec::new())
    }
}

fn held_state(api: &str, gate: Arc<Semaphore>, workload: Workload) -> SlackState {
    let held = Arc::new(Held { gate });
    let bot = Bot {
        source: held.clone(),
        intel: held,
        ledger: Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        settings: Settings::default(),
        advisor: None,
    };
    SlackState {
        workload,
        layouts: Default::default(),
        settings: Arc::new(SlackSettings {
            signing_secret: Some(SecretString::from(SECRET)),
            in_channel: false,
            allowed_teams: Vec::new(),
            allowed_channels: Vec::new(),
            body_limit: 64 * 1024,
        }),
        ..SlackState::new(
            Arc::new(bot),
            &config("sqlite::memory:", api).slack.expect("Slack section"),
            Arc::new(WebApi::new(api, SecretString::from("xoxb-test"))),
            Arc::new(slack::MemorySeenKeys::default()),
        )
    }
}

/// Sends a signed `/incident N` and returns the acknowledgement's text.
async fn ask_incident(state: &SlackState, number: u64, response_url: &str) -> String {
    let body = format!(
        "team_id=T1&channel_id=C1&user_id=UANA&command=%2Fincident&text={number}&response_url={}",
        urlencoding::encode(response_url)
    );
    let timestamp = Utc::now().timestamp().to_string();
    let signature =
        verify::sign(&SecretString::from(SECRET), &timestamp, body.as_bytes()).expect("signs");
    let request = Request::post("/slack/commands")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(verify::TIMESTAMP_HEADER, timestamp)
        .header(verify::SIGNATURE_HEADER, signature)
        .body(Body::from(body))
        .expect("request");
    let response = slack::router(state.clone())
        .oneshot(request)
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .expect("body");
    let ack: Value = serde_json::from_slice(&bytes).expect("JSON ack");
    ack["text"].as_str().unwrap_or_default().to_string()
}

// `#[tokio::test]` runs on one thread, where the local recorder is set for the whole test.
#[tokio::test]
async fn past_the_bound_a_command_hears_busy_and_the_queue_depth_is_on_metrics() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let slack_api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&slack_api)
        .await;
    let response_url = format!("{}/response", slack_api.uri());
    let gate = Arc::new(Semaphore::new(0));
    let workload = Workload::new(1, 1);
    let state = held_state(&slack_api.uri(), gate.clone(), workload.clone());

    let working = sentinel_bot::channels::slack::commands::WORKING;
    assert_eq!(ask_incident(&state, 1, &response_url).await, working);
    for _ in 0..200 {
        if workload.running() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        workload.running(),
        1,
        "the first answer holds the only slot"
    );
    assert_eq!(ask_incident(&state, 2, &response_url).await, working);
    assert_eq!(workload.waiting(), 1, "the second waits for the slot");
    assert_eq!(ask_incident(&state, 3, &response_url).await, BUSY);

    let ops = Ops::with_handle(handle);
    let metrics = server::router(axum::Router::new(), ops, 1024)
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("metrics");
    let bytes = axum::body::to_bytes(metrics.into_body(), 1 << 20)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("answers_waiting 1"), "{text}");
    assert!(text.contains("answers_running 1"), "{text}");
    assert!(text.contains("answers_refused_busy_total 1"), "{text}");

    gate.add_permits(2);
    state.tasks.close();
    tokio::time::timeout(Duration::from_secs(5), state.tasks.wait())
        .await
        .expect("both admitted answers finish");
    let answered = slack_api.received_requests().await.expect("recorded");
    assert_eq!(answered.len(), 2, "the busy one computed nothing");
    assert_eq!((workload.waiting(), workload.running()), (0, 0));
}

#[test]
fn report_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sentinel-bot"))
        .args(["report", "--period", "week"])
        .env_clear()
        .env("SENTINEL_BOT__STORE__URL", crate::store::sqlite_url(&dir))
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Like `| head -0`: the reader is gone before the report is written.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("the binary ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
}
