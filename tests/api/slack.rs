//! Slack adapter through the real router: signatures, acks before slow work,
//! follow-ups, event dedupe, interactions, Web API retries and uploads, limits.

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sentinel_bot::bot::{Bot, Settings};
use sentinel_bot::channels::slack::{
    self, MemorySeenKeys, SeenKeys, SlackSettings, SlackState, WebApi, WebApiError, limits, verify,
};
use sentinel_bot::channels::workload::Workload;
use sentinel_bot::incident::{Incident, Tactic};
use sentinel_bot::period::Window;
use sentinel_bot::render::block_kit::{self, Message};
use sentinel_bot::reply::{Action, Block, Cell, Column, Reply, Table};
use sentinel_bot::sources::{
    IncidentDetail, IncidentSet, IncidentSource, IncidentUpdate, Intel, NewIncident,
    RecommendedAction, SourceError, ThreatIntel,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tower::ServiceExt;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const SECRET: &str = "test-signing-secret";
/// A fixed "now" for every signed request.
pub(crate) const NOW: i64 = 1_700_000_000;

/// `/incident 666` makes the test source panic.
const PANIC_NUMBER: u64 = 666;

/// Slack's documented example (docs.slack.dev, "Verifying requests from Slack").
const VECTOR_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const VECTOR_TIMESTAMP: &str = "1531420618";
const VECTOR_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const VECTOR_SIGNATURE: &str =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

/// An incident source whose `incident` waits until the test releases it.
struct SlowSource {
    release: Arc<Notify>,
}

#[async_trait]
impl IncidentSource for SlowSource {
    async fn incidents(&self, _window: Window) -> Result<IncidentSet, SourceError> {
        Ok(IncidentSet::default())
    }
    async fn incident(
        &self,
        key: sentinel_bot::incident::IncidentKey,
    ) -> Result<IncidentDetail, SourceError> {
        let number = key.number;
        assert_ne!(number, PANIC_NUMBER, "the test double blows up on purpose");
        self.release.notified().await;
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
        Err(SourceError::Unavailable {
            system: "test",
            reason: "read-only".into(),
        })
    }
}

struct NoIntel;

#[async_trait]
impl ThreatIntel for NoIntel {
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

struct Harness {
    state: SlackState,
    release: Arc<Notify>,
    seen: Arc<MemorySeenKeys>,
}

fn harness(api_url: &str, secret: &str, now: i64, allowed_teams: Vec<String>) -> Harness {
    let release = Arc::new(Notify::new());
    let bot = Bot {
        advisor: None,
        ledger: std::sync::Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        source: Arc::new(SlowSource {
            release: release.clone(),
        }),
        intel: Arc::new(NoIntel),
        settings: Settings::default(),
    };
    let seen = Arc::new(MemorySeenKeys::default());
    let clock_now = DateTime::from_timestamp(now, 0).expect("valid time");
    let state = SlackState {
        bot: Arc::new(bot),
        api: Arc::new(
            WebApi::new(api_url, SecretString::from("xoxb-test")).with_channel_gap(Duration::ZERO),
        ),
        settings: Arc::new(SlackSettings {
            signing_secret: Some(SecretString::from(secret)),
            in_channel: true,
            allowed_teams,
            allowed_channels: Vec::new(),
            body_limit: 64 * 1024,
        }),
        seen: seen.clone(),
        clock: Arc::new(move || clock_now),
        tasks: tokio_util::task::TaskTracker::new(),
        workload: Workload::default(),
        layouts: Default::default(),
    };
    Harness {
        state,
        release,
        seen,
    }
}

pub(crate) fn signed(uri: &str, content_type: &str, body: &str, timestamp: i64) -> Request<Body> {
    let timestamp = timestamp.to_string();
    let signature =
        verify::sign(&SecretString::from(SECRET), &timestamp, body.as_bytes()).expect("signable");
    Request::post(uri)
        .header("content-type", content_type)
        .header(verify::TIMESTAMP_HEADER, timestamp)
        .header(verify::SIGNATURE_HEADER, signature)
        .body(Body::from(body.to_string()))
        .expect("request")
}

pub(crate) async fn send(state: &SlackState, request: Request<Body>) -> (StatusCode, Value) {
    let response = slack::router(state.clone())
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

pub(crate) fn command_form(command: &str, text: &str, response_url: &str) -> String {
    format!(
        "token=x&team_id=T1&team_domain=soc&channel_id=C1&channel_name=soc&user_id=UANA&user_name=ana&command={}&text={}&response_url={}&trigger_id=1.2.3&api_app_id=A1",
        urlencoding::encode(command),
        urlencoding::encode(text),
        urlencoding::encode(response_url)
    )
}

/// Waits (briefly, polling) until the mock server has seen `count` requests.
pub(crate) async fn wait_for_requests(server: &MockServer, count: usize) -> Vec<wiremock::Request> {
    for _ in 0..200 {
        let received = server.received_requests().await.unwrap_or_default();
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the mock server did not receive {count} requests in time");
}

/// Waits until every answer the routes started in the background has finished, as `serve`
/// does at shutdown, so a test can then count what was sent, and what was not. Fails when
/// work is still running after five seconds (an answer stuck on the blocked source).
pub(crate) async fn settle(state: &SlackState) {
    state.tasks.close();
    tokio::time::timeout(Duration::from_secs(5), state.tasks.wait())
        .await
        .expect("the background work finishes");
}

fn assert_within_limits(body: &Value) {
    let message = Message {
        text: body["text"].as_str().unwrap_or_default().to_string(),
        blocks: body["blocks"].as_array().cloned().unwrap_or_default(),
    };
    let violations = limits::violations(&message);
    assert!(
        violations.is_empty(),
        "Block Kit limits broken: {violations:?}"
    );
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("tests/fixtures/slack/{name}")).expect("fixture")
}

#[test]
fn documented_test_vector_verifies_with_a_fixed_clock() {
    let secret = SecretString::from(VECTOR_SECRET);
    assert_eq!(
        verify::sign(&secret, VECTOR_TIMESTAMP, VECTOR_BODY.as_bytes()).unwrap(),
        VECTOR_SIGNATURE
    );
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(verify::TIMESTAMP_HEADER, VECTOR_TIMESTAMP.parse().unwrap());
    headers.insert(verify::SIGNATURE_HEADER, VECTOR_SIGNATURE.parse().unwrap());
    let at = |seconds| DateTime::<Utc>::from_timestamp(seconds, 0).unwrap();
    assert_eq!(
        verify::verify(&secret, &headers, VECTOR_BODY.as_bytes(), at(1_531_420_618)),
        Ok(())
    );
    // The real clock is years past the vector's timestamp.
    assert_eq!(
        verify::verify(&secret, &headers, VECTOR_BODY.as_bytes(), Utc::now()),
        Err(verify::VerifyError::Stale)
    );
}

#[tokio::test]
async fn documented_vector_passes_the_router_and_a_foreign_team_is_refused_politely() {
    // The vector's team is not on the allow-list, so the command is verified but no work is done
    // (and nothing is sent to the vector's real hooks.slack.com response_url).
    let server = MockServer::start().await;
    let harness = harness(
        &server.uri(),
        VECTOR_SECRET,
        1_531_420_618,
        vec!["T1".into()],
    );
    let request = Request::post("/slack/commands")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(verify::TIMESTAMP_HEADER, VECTOR_TIMESTAMP)
        .header(verify::SIGNATURE_HEADER, VECTOR_SIGNATURE)
        .body(Body::from(VECTOR_BODY))
        .unwrap();
    let (status, body) = send(&harness.state, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["text"], slack::REFUSAL);
    assert_eq!(body["response_type"], "ephemeral");
}

/// A fake `response_url` expecting one answer, a harness whose `/incident` waits for
/// release, and the form of `/incident 42` answering to that URL.
async fn incident_command() -> (MockServer, Harness, String) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/respond"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let harness = harness(&server.uri(), SECRET, NOW, Vec::new());
    let body = command_form("/incident", "42", &format!("{}/respond", server.uri()));
    (server, harness, body)
}

/// `body` as a correctly signed slash command.
fn signed_command(body: &str) -> Request<Body> {
    signed(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        body,
        NOW,
    )
}

#[tokio::test]
async fn bad_signatures_get_401_and_no_work() {
    let (server, harness, body) = incident_command().await;

    let valid = signed_command(&body);
    let mut wrong_secret = valid_clone(&valid, &body);
    let wrong = verify::sign(
        &SecretString::from("another-secret"),
        &NOW.to_string(),
        body.as_bytes(),
    )
    .unwrap();
    wrong_secret
        .headers_mut()
        .insert(verify::SIGNATURE_HEADER, wrong.parse().unwrap());
    let stale = signed(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        &body,
        NOW - 301,
    );
    let future = signed(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        &body,
        NOW + 301,
    );
    let mut no_signature = valid_clone(&valid, &body);
    no_signature.headers_mut().remove(verify::SIGNATURE_HEADER);
    let mut no_timestamp = valid_clone(&valid, &body);
    no_timestamp.headers_mut().remove(verify::TIMESTAMP_HEADER);
    let tampered_body = body.replace("42", "43");
    let mut tampered = valid_clone(&valid, &tampered_body);
    *tampered.body_mut() = Body::from(tampered_body);

    for (name, request) in [
        ("wrong secret", wrong_secret),
        ("stale", stale),
        ("future", future),
        ("missing signature", no_signature),
        ("missing timestamp", no_timestamp),
        ("tampered body", tampered),
    ] {
        let (status, _) = send(&harness.state, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
    }
    // Also the other two routes.
    for uri in ["/slack/events", "/slack/interactions"] {
        let request = Request::post(uri).body(Body::from("{}")).unwrap();
        assert_eq!(
            send(&harness.state, request).await.0,
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
    }
    // None of them started work: nothing is running, and nothing was sent.
    settle(&harness.state).await;
    assert!(server.received_requests().await.unwrap().is_empty());
    let (status, _) = send(&harness.state, valid).await;
    assert_eq!(status, StatusCode::OK, "valid");
    harness.release.notify_one();
    settle(&harness.state).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// Same method, URI and headers as `request`, with `body`.
fn valid_clone(request: &Request<Body>, body: &str) -> Request<Body> {
    let mut builder = Request::post(request.uri().clone());
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn slash_command_acks_before_the_slow_upstream_then_follows_up() {
    let (server, harness, body) = incident_command().await;
    let request = signed_command(&body);

    // The upstream is blocked, yet the ack arrives.
    let (status, ack) = tokio::time::timeout(Duration::from_secs(2), send(&harness.state, request))
        .await
        .expect("ack does not wait for the upstream");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack["text"], slack::commands::WORKING);
    assert!(server.received_requests().await.unwrap().is_empty());

    harness.release.notify_one();
    let received = wait_for_requests(&server, 1).await;
    let follow_up: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(follow_up["response_type"], "in_channel");
    assert_eq!(follow_up["replace_original"], false);
    assert!(!follow_up["blocks"].as_array().unwrap().is_empty());
    assert_within_limits(&follow_up);
}

#[tokio::test]
async fn shutdown_waits_for_an_acknowledged_answer_to_be_delivered() {
    let (server, harness, body) = incident_command().await;
    let request = signed_command(&body);
    let (status, _) = send(&harness.state, request).await;
    assert_eq!(status, StatusCode::OK);

    // What `serve` does at shutdown: no new work, then wait for what was acknowledged.
    let tasks = harness.state.tasks.clone();
    tasks.close();
    assert!(
        tokio::time::timeout(Duration::from_millis(100), tasks.wait())
            .await
            .is_err(),
        "the answer is still in flight"
    );
    harness.release.notify_one();
    tokio::time::timeout(Duration::from_secs(5), tasks.wait())
        .await
        .expect("the answer finishes");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn failed_follow_up_is_followed_by_an_apology() {
    let server = MockServer::start().await;
    Mock::given(path("/respond"))
        .and(body_string_contains("blocks\":[{"))
        .and(NotApology)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "invalid_blocks"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/respond"))
        .and(body_string_contains(slack::APOLOGY))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let harness = harness(&server.uri(), SECRET, NOW, Vec::new());
    let body = command_form("/help", "", &format!("{}/respond", server.uri()));
    let request = signed(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        &body,
        NOW,
    );
    assert_eq!(send(&harness.state, request).await.0, StatusCode::OK);
    wait_for_requests(&server, 2).await;
}

#[tokio::test]
async fn url_verification_echoes_the_challenge_only_when_signed() {
    let server = MockServer::start().await;
    let harness = harness(&server.uri(), SECRET, NOW, Vec::new());
    let body = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let (status, answer) = send(
        &harness.state,
        signed("/slack/events", "application/json", body, NOW),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let unsigned = Request::post("/slack/events")
        .body(Body::from(body))
        .unwrap();
    assert_eq!(
        send(&harness.state, unsigned).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn duplicate_event_delivery_produces_one_answer_and_threads_continue() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(header("authorization", "Bearer xoxb-test"))
        .and(body_string_contains("\"thread_ts\":\"1700000000.000100\""))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "ts": "1700000001.000100"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let harness = harness(&server.uri(), SECRET, NOW, Vec::new());

    let mention = fixture("app_mention.json");
    let first = signed("/slack/events", "application/json", &mention, NOW);
    // Slack signs a retry afresh: same body, a later timestamp, so it is no replay.
    let mut retry = signed("/slack/events", "application/json", &mention, NOW + 60);
    retry
        .headers_mut()
        .insert("x-slack-retry-num", "1".parse().unwrap());
    retry
        .headers_mut()
        .insert("x-slack-retry-reason", "http_timeout".parse().unwrap());
    assert_eq!(send(&harness.state, first).await.0, StatusCode::OK);
    assert_eq!(send(&harness.state, retry).await.0, StatusCode::OK);
    let received = wait_for_requests(&server, 1).await;
    let post: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(post["channel"], "C1");
    assert_within_limits(&post);

    // The bot spoke in the thread, so a plain reply there continues the conversation...
    for _ in 0..100 {
        if harness
            .seen
            .contains("slack:C1:1700000000.000100")
            .await
            .unwrap()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let reply = fixture("thread_reply.json");
    assert_eq!(
        send(
            &harness.state,
            signed("/slack/events", "application/json", &reply, NOW)
        )
        .await
        .0,
        StatusCode::OK
    );
    // ...and the bot's own message in the thread is ignored.
    let own = fixture("bot_reply.json");
    assert_eq!(
        send(
            &harness.state,
            signed("/slack/events", "application/json", &own, NOW)
        )
        .await
        .0,
        StatusCode::OK
    );
    settle(&harness.state).await;
    // The first delivery and the thread reply: the retry and the bot's own message got none.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn reply_in_a_thread_the_bot_never_spoke_in_is_ignored() {
    let server = MockServer::start().await;
    let harness = harness(&server.uri(), SECRET, NOW, Vec::new());
    let reply = fixture("thread_reply.json");
    assert_eq!(
        send(
            &harness.state,
            signed("/slack/events", "application/json", &reply, NOW)
        )
        .await
        .0,
        StatusCode::OK
    );
    settle(&harness.state).await;
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn button_press_runs_its_command_and_answers_to_response_url() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/actions-response"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let harness = harness(&server.uri(), SECRET, NOW, Vec::new());
    let payload = fixture("block_actions.json").replace(
        "RESPONSE_URL",
        &format!("{}/actions-response", server.uri()),
    );
    let payload: Value = serde_json::from_str(&payload).unwrap();
    let body = format!("payload={}", urlencoding::encode(&payload.to_string()));
    let (status, _) = send(
        &harness.state,
        signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
            NOW,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let received = wait_for_requests(&server, 1).await;
    let answer: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_within_limits(&answer);
}

/// Presses a button with `action_id` and `value` and returns the body sent to response_url.
async fn press(action_id: &str, value: &str) -> Value {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/actions-response"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let harness = harness(&server.uri(), SECRET, NOW, Vec::new());
    let payload = fixture("block_actions.json")
        .replace(
            "RESPONSE_URL",
            &format!("{}/actions-response", server.uri()),
        )
        .replace("\"run-0\"", &format!("\"{action_id}\""))
        .replace("\"value\": \"help\"", &format!("\"value\": \"{value}\""));
    let payload: Value = serde_json::from_str(&payload).unwrap();
    let body = format!("payload={}", urlencoding::encode(&payload.to_string()));
    let (status, _) = send(
        &harness.state,
        signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
            NOW,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let received = wait_for_requests(&server, 1).await;
    serde_json::from_slice(&received[0].body).unwrap()
}

#[tokio::test]
async fn in_place_buttons_replace_their_message_and_others_post_a_new_one() {
    let replaced = press("replace-0", "help incidents").await;
    assert_eq!(replaced["replace_original"], true);
    assert_within_limits(&replaced);
    let added = press("command-0", "help incidents").await;
    assert_eq!(added["replace_original"], false);
    assert!(added["text"].as_str().is_some_and(|text| !text.is_empty()));
    // Someone else's (or a used) confirmation: the message stays; only the presser is told.
    let notice = press("replace-0", "/confirm 0123456789abcdef0123456789abcdef").await;
    assert_eq!(notice["replace_original"], false);
    assert_eq!(notice["response_type"], "ephemeral");
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .contains("belongs to someone else")
    );
}

#[tokio::test]
async fn refused_team_gets_a_polite_refusal_and_no_work() {
    let server = MockServer::start().await;
    Mock::given(path("/chat.postEphemeral"))
        .and(body_string_contains("\"user\":\"UANA\""))
        .and(body_string_contains("not allowed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/actions-response"))
        .and(body_string_contains("\"response_type\":\"ephemeral\""))
        .and(body_string_contains("not allowed"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let harness = harness(&server.uri(), SECRET, NOW, vec!["TOTHER".into()]);
    let mention = fixture("app_mention.json");
    assert_eq!(
        send(
            &harness.state,
            signed("/slack/events", "application/json", &mention, NOW)
        )
        .await
        .0,
        StatusCode::OK
    );
    let payload = fixture("block_actions.json").replace(
        "RESPONSE_URL",
        &format!("{}/actions-response", server.uri()),
    );
    let body = format!("payload={}", urlencoding::encode(&payload));
    assert_eq!(
        send(
            &harness.state,
            signed(
                "/slack/interactions",
                "application/x-www-form-urlencoded",
                &body,
                NOW
            )
        )
        .await
        .0,
        StatusCode::OK
    );
    settle(&harness.state).await;
    // Nothing but the two refusals: no chat.postMessage, no answer.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn post_message_honours_retry_after_and_reports_slack_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/chat.postMessage"))
        .and(body_string_contains("C-LIMITED"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/chat.postMessage"))
        .and(body_string_contains("C-LIMITED"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.5"})))
        .mount(&server)
        .await;
    Mock::given(path("/chat.postMessage"))
        .and(body_string_contains("C-GONE"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "channel_not_found"})),
        )
        .mount(&server)
        .await;
    let api = WebApi::new(&server.uri(), SecretString::from("xoxb-test"));
    let message = Message {
        text: "hello".into(),
        blocks: vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": "hello"}})],
    };
    let started = std::time::Instant::now();
    let ts = api.post_message("C-LIMITED", &message, None).await.unwrap();
    assert_eq!(ts, "1.5");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was not honoured"
    );
    match api.post_message("C-GONE", &message, None).await {
        Err(WebApiError::Slack { code, .. }) => assert_eq!(code, "channel_not_found"),
        other => panic!("expected a Slack error, got {other:?}"),
    }
}

#[tokio::test]
async fn persistent_429_gives_up_after_bounded_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .expect(4)
        .mount(&server)
        .await;
    let api = WebApi::new(&server.uri(), SecretString::from("xoxb-test"));
    let message = Message {
        text: "hello".into(),
        blocks: Vec::new(),
    };
    match api.post_message("C1", &message, None).await {
        Err(WebApiError::Exhausted {
            attempts, status, ..
        }) => {
            assert_eq!((attempts, status), (4, 429));
        }
        other => panic!("expected exhaustion, got {other:?}"),
    }
}

#[tokio::test]
async fn report_posts_messages_then_uploads_the_chart_with_files_v2() {
    let server = MockServer::start().await;
    Mock::given(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "9.1"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/files.getUploadURLExternal"))
        .and(header("authorization", "Bearer xoxb-test"))
        .and(body_string_contains("filename=incidents.png"))
        .and(body_string_contains("length=4"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "upload_url": format!("{}/upload/F1", server.uri()),
            "file_id": "F1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/upload/F1"))
        .and(wiremock::matchers::body_bytes(vec![0x89, b'P', b'N', b'G']))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/files.completeUploadExternal"))
        .and(body_string_contains("channel_id=C-REPORT"))
        .and(body_string_contains("%22id%22%3A%22F1%22"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "files": [{"id": "F1"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let api = WebApi::new(&server.uri(), SecretString::from("xoxb-test"));
    let messages = block_kit::render(&Reply::titled("Weekly incident report"));
    let posted = api
        .post_report("C-REPORT", &messages, Some(vec![0x89, b'P', b'N', b'G']))
        .await
        .unwrap();
    assert_eq!(posted, vec!["9.1".to_string()]);
    let received = server.received_requests().await.unwrap();
    let order: Vec<&str> = received.iter().map(|it| it.url.path()).collect();
    assert_eq!(
        order,
        [
            "/chat.postMessage",
            "/files.getUploadURLExternal",
            "/upload/F1",
            "/files.completeUploadExternal"
        ]
    );
}

#[test]
fn every_rendered_message_we_send_is_within_block_kit_limits() {
    let rows = (0..200)
        .map(|number| vec![Cell::text(number), Cell::text("x".repeat(300))])
        .collect();
    let mut reply = Reply::titled("T".repeat(400));
    for _ in 0..80 {
        reply = reply
            .with(Block::Text("y".repeat(5000)))
            .with(Block::Heading("h".repeat(300)));
    }
    reply = reply.with(Block::Table(Table {
        title: Some("big".into()),
        columns: vec![Column::right("#"), Column::left("Title")],
        rows,
    }));
    for index in 0..40 {
        reply = reply.with_action(Action::new("b".repeat(100), format!("/incident {index}")));
    }
    for message in block_kit::render(&reply)
        .into_iter()
        .map(limits::within_limits)
    {
        assert!(limits::violations(&message).is_empty());
    }
}

#[test]
fn manifest_declares_commands_scopes_events_and_interactivity() {
    let manifest = std::fs::read_to_string("manifest/slack/manifest.yaml").expect("manifest");
    for needle in [
        "command: /incidents",
        "command: /incident\n",
        "command: /recommend",
        "command: /report",
        "url: https://YOUR-HOST/slack/commands",
        "request_url: https://YOUR-HOST/slack/events",
        "request_url: https://YOUR-HOST/slack/interactions",
        "- commands",
        "- chat:write",
        "- chat:write.public",
        "- app_mentions:read",
        "- channels:history",
        "- groups:history",
        "- files:write",
        "- app_mention",
        "- message.channels",
        "- message.groups",
        "is_enabled: true",
        "socket_mode_enabled: false",
    ] {
        assert!(manifest.contains(needle), "manifest lacks {needle:?}");
    }
    assert!(!manifest.contains('\t'), "YAML must not contain tabs");
}

#[tokio::test]
async fn a_panic_while_answering_still_ends_in_an_apology() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/respond"))
        .and(body_string_contains(slack::APOLOGY))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let harness = harness(&server.uri(), SECRET, NOW, Vec::new());
    let body = command_form(
        "/incident",
        &PANIC_NUMBER.to_string(),
        &format!("{}/respond", server.uri()),
    );
    let request = signed(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        &body,
        NOW,
    );
    assert_eq!(send(&harness.state, request).await.0, StatusCode::OK);
    let received = wait_for_requests(&server, 1).await;
    let apology: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_within_limits(&apology);
}

/// Matches follow-ups that are not the apology.
struct NotApology;

impl wiremock::Match for NotApology {
    fn matches(&self, request: &wiremock::Request) -> bool {
        !String::from_utf8_lossy(&request.body).contains(slack::APOLOGY)
    }
}

#[tokio::test]
async fn posts_to_one_channel_are_paced_but_other_channels_are_not() {
    let server = MockServer::start().await;
    Mock::given(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.1"})))
        .expect(3)
        .mount(&server)
        .await;
    let gap = Duration::from_secs(1);
    let api = WebApi::new(&server.uri(), SecretString::from("xoxb-test")).with_channel_gap(gap);
    let message = Message {
        text: "hello".into(),
        blocks: Vec::new(),
    };
    let started = std::time::Instant::now();
    api.post_message("C-A", &message, None).await.unwrap();
    api.post_message("C-B", &message, None).await.unwrap();
    assert!(started.elapsed() < gap, "a different channel was held back");
    api.post_message("C-A", &message, None).await.unwrap();
    assert!(started.elapsed() >= gap, "the same channel was not paced");
}

#[tokio::test]
async fn usergroup_members_are_listed_with_the_bot_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/usergroups.users.list"))
        .and(query_param("usergroup", "S0SOC"))
        .and(header("authorization", "Bearer xoxb-test"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "users": ["U060R4BJ4", "W123A4BC5"]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/usergroups.users.list"))
        .and(query_param("usergroup", "S0GONE"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "no_such_subteam"})),
        )
        .mount(&server)
        .await;
    let api = WebApi::new(&server.uri(), SecretString::from("xoxb-test"));

    let members = api.usergroup_members("S0SOC").await.expect("members");
    assert_eq!(members, vec!["U060R4BJ4", "W123A4BC5"]);
    match api.usergroup_members("S0GONE").await {
        Err(WebApiError::Slack { method, code }) => {
            assert_eq!(
                (method.as_str(), code.as_str()),
                ("usergroups.users.list", "no_such_subteam")
            );
        }
        other => panic!("expected a Slack error, got {other:?}"),
    }
}

#[tokio::test]
async fn usergroup_members_fail_clearly_on_a_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/usergroups.users.list"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let api = WebApi::new(&server.uri(), SecretString::from("xoxb-test")).with_max_attempts(2);
    match api.usergroup_members("S0SOC").await {
        Err(error @ WebApiError::Exhausted { .. }) => {
            assert!(
                error.to_string().contains("usergroups.users.list"),
                "{error}"
            );
            assert!(!error.to_string().contains("xoxb"), "{error}");
        }
        other => panic!("expected exhaustion, got {other:?}"),
    }
}
