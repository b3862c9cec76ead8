//! Teams adapter: JWT validation against a fake OpenID endpoint, replies to a fake connector.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::prelude::{BASE64_URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use sentinel_bot::bot::Bot;
use sentinel_bot::channels::teams::auth::AuthSettings;
use sentinel_bot::channels::teams::{TeamsState, router};
use sentinel_bot::config::{TeamsChannel, TeamsConfig};
use sentinel_bot::reply::Reply;
use sentinel_bot::sources::SourceError;
use sentinel_bot::sources::demo::DemoSource;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const APP_ID: &str = "11111111-2222-3333-4444-555555555555";
pub(crate) const TEST_KEY: &[u8] = include_bytes!("../fixtures/teams/test_key.pem");
const OTHER_KEY: &[u8] = include_bytes!("../fixtures/teams/other_key.pem");
const TEST_N: &str = include_str!("../fixtures/teams/test_key.n");
const TEST_E: &str = include_str!("../fixtures/teams/test_key.e");
const CONVERSATION: &str = "19:abc@thread.tacv2;messageid=42";

/// One wiremock server playing OpenID metadata, JWKS, Entra and the connector.
pub(crate) struct Fake {
    pub(crate) server: MockServer,
}

impl Fake {
    pub(crate) async fn start() -> Fake {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/openid"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"jwks_uri": format!("{}/keys", server.uri())})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/keys"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [
                jwk("k1", Some(json!(["msteams"]))),
                jwk("skype-only", Some(json!(["skype"]))),
                {"kid": "ec", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
            ]})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/login/botframework.com/oauth2/v2.0/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "bot-token"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_prefix_connector())
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "posted-1"})))
            .mount(&server)
            .await;
        Fake { server }
    }

    pub(crate) fn service_url(&self) -> String {
        format!("{}/connector/", self.server.uri())
    }

    pub(crate) fn config(&self) -> TeamsConfig {
        TeamsConfig {
            app_id: APP_ID.to_string(),
            app_password: Some("s3cret".into()),
            tenant_id: None,
            allowed_tenants: Vec::new(),
            report_channels: Vec::new(),
            alert_channels: Vec::new(),
            local_playground: false,
            openid_metadata_url: format!("{}/openid", self.server.uri()),
            login_url: format!("{}/login", self.server.uri()),
            graph_url: format!("{}/graph", self.server.uri()),
        }
    }

    fn state(&self, config: &TeamsConfig, loopback: bool) -> TeamsState {
        let mut auth = AuthSettings::new(&config.openid_metadata_url, &config.app_id);
        // Lets the unknown-kid test observe its single refetch immediately.
        auth.unknown_kid_min_interval = Duration::ZERO;
        TeamsState::with_auth_settings(bot(), config, reqwest::Client::new(), loopback, auth)
    }

    async fn requests_to(&self, prefix: &str) -> Vec<wiremock::Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path().starts_with(prefix))
            .collect()
    }

    /// Waits (bounded) until the spawned answer task has posted to the connector.
    pub(crate) async fn wait_for_connector(&self, count: usize) -> Vec<wiremock::Request> {
        for _ in 0..200 {
            let got = self.requests_to("/connector/").await;
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.requests_to("/connector/").await
    }
}

fn path_prefix_connector() -> wiremock::matchers::PathRegexMatcher {
    wiremock::matchers::path_regex("^/connector/")
}

fn jwk(kid: &str, endorsements: Option<Value>) -> Value {
    let mut key =
        json!({"kid": kid, "kty": "RSA", "use": "sig", "n": TEST_N.trim(), "e": TEST_E.trim()});
    if let Some(endorsements) = endorsements {
        key["endorsements"] = endorsements;
    }
    key
}

fn bot() -> Arc<Bot> {
    let demo = Arc::new(DemoSource::new(chrono::Utc::now()));
    Arc::new(Bot {
        advisor: None,
        ledger: std::sync::Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        source: demo.clone(),
        intel: demo,
        settings: Default::default(),
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn claims(service_url: &str) -> Value {
    json!({
        "iss": "https://api.botframework.com",
        "aud": APP_ID,
        "exp": now() + 3600,
        "nbf": now() - 60,
        "serviceurl": service_url,
    })
}

pub(crate) fn sign(kid: &str, claims: &Value, key: &[u8]) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(key).expect("pem"),
    )
    .expect("sign")
}

fn message(service_url: &str, text: &str) -> Value {
    json!({
        "type": "message",
        "id": "act-1",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:user", "name": "Ana", "aadObjectId": "aad-ana"},
        "recipient": {"id": "28:bot", "name": "Sentinel"},
        "conversation": {"id": CONVERSATION, "tenantId": "tenant-1"},
        "channelData": {"tenant": {"id": "tenant-1"}},
        "text": text,
    })
}

pub(crate) async fn post(
    state: TeamsState,
    auth: Option<String>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = Request::post("/api/messages").header("content-type", "application/json");
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let request = request
        .body(Body::from(serde_json::to_vec(body).expect("json")))
        .expect("request");
    let response = router(state).oneshot(request).await.expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn valid_token_gets_a_card_reply_via_the_connector() {
    let fake = Fake::start().await;
    let state = fake.state(&fake.config(), false);
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let body = message(&fake.service_url(), "<at>Sentinel</at> help");
    let (status, _) = post(state, Some(format!("Bearer {token}")), &body).await;
    assert_eq!(status, StatusCode::OK);

    let posted = fake.wait_for_connector(1).await;
    let reply = posted.last().expect("a reply reached the connector");
    assert_eq!(
        reply.url.path(),
        "/connector/v3/conversations/19%3Aabc%40thread.tacv2%3Bmessageid%3D42/activities/act-1"
    );
    assert_eq!(
        reply
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer bot-token")
    );
    let activity: Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(activity["type"], "message");
    assert_eq!(activity["replyToId"], "act-1");
    assert_eq!(
        activity["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(
        activity["attachments"][0]["content"]["type"],
        "AdaptiveCard"
    );
    assert!(
        activity.get("text").is_none(),
        "card and text must not share an activity"
    );

    let token_requests = fake.requests_to("/login/").await;
    assert_eq!(token_requests.len(), 1);
    let form = String::from_utf8_lossy(&token_requests[0].body).to_string();
    assert!(form.contains("grant_type=client_credentials"));
    assert!(form.contains("scope=https%3A%2F%2Fapi.botframework.com%2F.default"));
    assert!(form.contains(&format!("client_id={APP_ID}")));
}

/// Waits until every answer `tasks` tracks has finished, as `serve` does at shutdown, so a
/// test can then assert what was, and was not, sent. Fails when work is still running after
/// five seconds.
pub(crate) async fn settle(tasks: &tokio_util::task::TaskTracker) {
    tasks.close();
    tokio::time::timeout(Duration::from_secs(5), tasks.wait())
        .await
        .expect("the background work finishes");
}

/// Sends `auth` with a help message and asserts 401 and that nothing was sent out.
async fn assert_rejected(fake: &Fake, auth: Option<String>, body: Value) {
    let state = fake.state(&fake.config(), false);
    let tasks = state.tasks().clone();
    let (status, _) = post(state, auth, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    settle(&tasks).await;
    assert!(
        fake.requests_to("/connector/").await.is_empty(),
        "no work on a rejected request"
    );
    assert!(fake.requests_to("/login/").await.is_empty());
}

#[tokio::test]
async fn bad_signature_is_rejected() {
    let fake = Fake::start().await;
    let token = sign("k1", &claims(&fake.service_url()), OTHER_KEY);
    assert_rejected(
        &fake,
        Some(format!("Bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let fake = Fake::start().await;
    let mut c = claims(&fake.service_url());
    c["aud"] = json!("99999999-2222-3333-4444-555555555555");
    let token = sign("k1", &c, TEST_KEY);
    assert_rejected(
        &fake,
        Some(format!("Bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn wrong_issuer_is_rejected() {
    let fake = Fake::start().await;
    let mut c = claims(&fake.service_url());
    c["iss"] = json!("https://sts.windows.net/evil/");
    let token = sign("k1", &c, TEST_KEY);
    assert_rejected(
        &fake,
        Some(format!("Bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn expired_beyond_skew_is_rejected() {
    let fake = Fake::start().await;
    let mut c = claims(&fake.service_url());
    c["exp"] = json!(now() - 301 - 60);
    c["nbf"] = json!(now() - 7200);
    let token = sign("k1", &c, TEST_KEY);
    assert_rejected(
        &fake,
        Some(format!("Bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn expired_within_skew_is_accepted() {
    let fake = Fake::start().await;
    let mut c = claims(&fake.service_url());
    c["exp"] = json!(now() - 120);
    let token = sign("k1", &c, TEST_KEY);
    let state = fake.state(&fake.config(), false);
    let (status, _) = post(
        state,
        Some(format!("Bearer {token}")),
        &message(&fake.service_url(), "help"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn not_yet_valid_is_rejected() {
    let fake = Fake::start().await;
    let mut c = claims(&fake.service_url());
    c["nbf"] = json!(now() + 900);
    let token = sign("k1", &c, TEST_KEY);
    assert_rejected(
        &fake,
        Some(format!("Bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let fake = Fake::start().await;
    let header = BASE64_URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
    let payload = BASE64_URL_SAFE_NO_PAD.encode(claims(&fake.service_url()).to_string());
    let token = format!("{header}.{payload}.");
    assert_rejected(
        &fake,
        Some(format!("Bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn hs256_signed_with_the_public_modulus_is_rejected() {
    let fake = Fake::start().await;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".to_string());
    let token = encode(
        &header,
        &claims(&fake.service_url()),
        &EncodingKey::from_secret(TEST_N.trim().as_bytes()),
    )
    .expect("sign");
    assert_rejected(
        &fake,
        Some(format!("Bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn unknown_kid_is_rejected_after_exactly_one_refetch() {
    let fake = Fake::start().await;
    let state = fake.state(&fake.config(), false);
    let body = message(&fake.service_url(), "help");
    let good = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let (status, _) = post(state.clone(), Some(format!("Bearer {good}")), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.requests_to("/keys").await.len(), 1, "warm cache");

    let forged = sign("rotated-away", &claims(&fake.service_url()), TEST_KEY);
    let (status, _) = post(state, Some(format!("Bearer {forged}")), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        fake.requests_to("/keys").await.len(),
        2,
        "exactly one refetch"
    );
}

#[tokio::test]
async fn unknown_kid_refetch_is_rate_limited() {
    let fake = Fake::start().await;
    let config = fake.config();
    // Production spacing: one hour between unknown-kid refetches.
    let auth = AuthSettings::new(&config.openid_metadata_url, &config.app_id);
    let state = TeamsState::with_auth_settings(bot(), &config, reqwest::Client::new(), false, auth);
    let body = message(&fake.service_url(), "help");
    for kid in ["k1", "forged-1", "forged-2", "forged-3"] {
        let token = sign(kid, &claims(&fake.service_url()), TEST_KEY);
        let (status, _) = post(state.clone(), Some(format!("Bearer {token}")), &body).await;
        let expected = if kid == "k1" {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expected, "{kid}");
    }
    assert_eq!(
        fake.requests_to("/keys").await.len(),
        1,
        "forged kids cause no refetch storm"
    );
}

#[tokio::test]
async fn rotated_key_is_found_by_the_refetch() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/openid"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"jwks_uri": format!("{}/keys", server.uri())})),
        )
        .mount(&server)
        .await;
    // First fetch: only the old key; later fetches: the new one too.
    Mock::given(method("GET"))
        .and(path("/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [jwk("k1", None)]})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/keys"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"keys": [jwk("k1", None), jwk("k2", None)]})),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "x"})))
        .mount(&server)
        .await;
    let fake = Fake { server };
    let config = fake.config();
    let state = fake.state(&config, false);
    let body = message(&fake.service_url(), "help");
    let old = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let (status, _) = post(state.clone(), Some(format!("Bearer {old}")), &body).await;
    assert_eq!(status, StatusCode::OK);
    let new = sign("k2", &claims(&fake.service_url()), TEST_KEY);
    let (status, _) = post(state, Some(format!("Bearer {new}")), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fake.requests_to("/keys").await.len(), 2);
}

#[tokio::test]
async fn key_not_endorsed_for_msteams_is_rejected() {
    let fake = Fake::start().await;
    let token = sign("skype-only", &claims(&fake.service_url()), TEST_KEY);
    assert_rejected(
        &fake,
        Some(format!("Bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn non_teams_channel_is_rejected() {
    let fake = Fake::start().await;
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let mut body = message(&fake.service_url(), "help");
    body["channelId"] = json!("webchat");
    assert_rejected(&fake, Some(format!("Bearer {token}")), body).await;
}

#[tokio::test]
async fn service_url_mismatch_is_rejected() {
    let fake = Fake::start().await;
    let token = sign(
        "k1",
        &claims("https://smba.trafficmanager.net/emea/"),
        TEST_KEY,
    );
    assert_rejected(
        &fake,
        Some(format!("Bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn missing_or_malformed_header_is_rejected() {
    let fake = Fake::start().await;
    assert_rejected(&fake, None, message(&fake.service_url(), "help")).await;
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    assert_rejected(
        &fake,
        Some(format!("bearer {token}")),
        message(&fake.service_url(), "help"),
    )
    .await;
}

#[tokio::test]
async fn submit_button_value_runs_its_command() {
    let fake = Fake::start().await;
    let state = fake.state(&fake.config(), false);
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let mut body = message(&fake.service_url(), "");
    body.as_object_mut().expect("object").remove("text");
    body["value"] = json!({"command": "help incidents"});
    let (status, _) = post(state, Some(format!("Bearer {token}")), &body).await;
    assert_eq!(status, StatusCode::OK);
    let posted = fake.wait_for_connector(1).await;
    let activity: Value = serde_json::from_slice(&posted[0].body).expect("json");
    assert_eq!(
        activity["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
}

#[tokio::test]
async fn execute_invoke_answers_with_a_card_in_the_response() {
    let fake = Fake::start().await;
    let state = fake.state(&fake.config(), false);
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let mut body = message(&fake.service_url(), "");
    body["type"] = json!("invoke");
    body["name"] = json!("adaptiveCard/action");
    body["value"] = json!({"action": {"type": "Action.Execute", "verb": "run", "data": {"command": "help"}}, "trigger": "manual"});
    let (status, response) = post(state, Some(format!("Bearer {token}")), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["type"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(response["value"]["type"], "AdaptiveCard");

    let state = fake.state(&fake.config(), false);
    body["value"] = json!({"action": {"type": "Action.Execute"}});
    let (status, response) = post(state, Some(format!("Bearer {token}")), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response["statusCode"], 400);
    assert_eq!(response["type"], "application/vnd.microsoft.error");
}

/// Sends an `Action.Execute` invoke for `command` and returns the invoke response body.
async fn execute(fake: &Fake, command: &str) -> Value {
    let state = fake.state(&fake.config(), false);
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let mut body = message(&fake.service_url(), "");
    body["type"] = json!("invoke");
    body["name"] = json!("adaptiveCard/action");
    body["value"] = json!({"action": {"type": "Action.Execute", "verb": "command", "data": {"command": command}}, "trigger": "manual"});
    let (status, response) = post(state, Some(format!("Bearer {token}")), &body).await;
    assert_eq!(status, StatusCode::OK);
    response
}

fn execute_command(card: &Value, title: &str) -> Option<String> {
    sentinel_bot::render::adaptive_card::buttons(card)
        .into_iter()
        .find(|action| action["title"] == title)
        .filter(|action| action["type"] == "Action.Execute")
        .and_then(|action| action["data"]["command"].as_str())
        .map(str::to_string)
}

#[tokio::test]
async fn paging_replaces_the_card_in_the_invoke_response() {
    let fake = Fake::start().await;
    let first = execute(&fake, "/incidents 30d status=closed").await;
    assert_eq!(first["type"], "application/vnd.microsoft.card.adaptive");
    let next = execute_command(&first["value"], "Next page").expect("an in-place Next page");
    assert_eq!(
        sentinel_bot::render::adaptive_card::buttons(&first["value"])[0]["fallback"]["type"],
        "Action.Submit",
        "older clients fall back to a submit"
    );
    let second = execute(&fake, &next).await;
    let card = &second["value"];
    assert!(card.to_string().contains("Page 2 of"), "{card}");
    assert!(execute_command(card, "Previous page").is_some());
    assert!(
        fake.requests_to("/connector/").await.is_empty(),
        "paging posts no new message"
    );
}

#[tokio::test]
async fn a_stray_confirmation_press_leaves_the_card_and_tells_only_the_presser() {
    let fake = Fake::start().await;
    let response = execute(&fake, "/confirm 0123456789abcdef0123456789abcdef").await;
    assert_eq!(response["statusCode"], 200);
    assert_eq!(
        response["type"],
        "application/vnd.microsoft.activity.message"
    );
    assert!(
        response["value"].as_str().is_some_and(
            |text| text.contains("expired, was already used, or belongs to someone else")
        ),
        "{response}"
    );
}

#[tokio::test]
async fn replies_carry_a_summary_for_notifications() {
    let fake = Fake::start().await;
    let state = fake.state(&fake.config(), false);
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let (status, _) = post(
        state,
        Some(format!("Bearer {token}")),
        &message(&fake.service_url(), "incidents week"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let posted = fake.wait_for_connector(1).await;
    let activity: Value = serde_json::from_slice(&posted[0].body).expect("json");
    let summary = activity["summary"].as_str().expect("a summary");
    assert!(!summary.is_empty() && summary != "Send a card", "{summary}");
    assert_eq!(
        activity["attachments"][0]["content"]["fallbackText"].as_str(),
        Some(sentinel_bot::render::escape::markdown(summary).as_str())
    );
    assert!(activity.get("text").is_none(), "card only, no text");
}

#[tokio::test]
async fn zero_width_spaces_and_byte_order_marks_in_typed_text_are_ignored() {
    let fake = Fake::start().await;
    let state = fake.state(&fake.config(), false);
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let (status, _) = post(
        state,
        Some(format!("Bearer {token}")),
        &message(
            &fake.service_url(),
            "\u{FEFF}incidents\u{200B} week\u{200B}",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let posted = fake.wait_for_connector(1).await;
    let activity: Value = serde_json::from_slice(&posted[0].body).expect("json");
    let title = activity["attachments"][0]["content"]["body"][0]["text"]
        .as_str()
        .expect("a card title");
    assert!(title.starts_with("Incidents, the last 7 days"), "{title}");
    // Read as typed, not rescued as a near miss of the command word.
    let card = activity["attachments"][0]["content"].to_string();
    assert!(!card.contains("Did you mean"), "{card}");
}

#[tokio::test]
async fn other_tenants_get_403() {
    let fake = Fake::start().await;
    let mut config = fake.config();
    config.allowed_tenants = vec!["tenant-allowed".to_string()];
    let state = fake.state(&config, false);
    let tasks = state.tasks().clone();
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let (status, _) = post(
        state,
        Some(format!("Bearer {token}")),
        &message(&fake.service_url(), "help"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    settle(&tasks).await;
    assert!(fake.requests_to("/connector/").await.is_empty());
    assert!(fake.requests_to("/login/").await.is_empty());
}

#[tokio::test]
async fn playground_mode_needs_loopback_and_sends_no_token() {
    let fake = Fake::start().await;
    let mut config = fake.config();
    config.local_playground = true;

    let exposed = fake.state(&config, false);
    let (status, _) = post(exposed, None, &message(&fake.service_url(), "help")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "playground ignored off loopback"
    );

    let local = fake.state(&config, true);
    let (status, _) = post(local, None, &message(&fake.service_url(), "help")).await;
    assert_eq!(status, StatusCode::OK);
    let posted = fake.wait_for_connector(1).await;
    assert_eq!(posted.len(), 1);
    assert!(posted[0].headers.get("authorization").is_none());
    assert!(fake.requests_to("/login/").await.is_empty());
}

#[tokio::test]
async fn proactive_post_creates_a_channel_thread_and_retries_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/tenant-1/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "single-tenant-token"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/svc/v3/conversations"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/svc/v3/conversations"))
        .and(header("authorization", "Bearer single-tenant-token"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "19:new-thread", "activityId": "a1"})),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let fake = Fake { server };
    let mut config = fake.config();
    config.tenant_id = Some("tenant-1".to_string());
    let state = fake.state(&config, false);
    let channel = TeamsChannel {
        service_url: format!("{}/svc/", fake.server.uri()),
        channel_id: "19:soc@thread.tacv2".to_string(),
        tenant_id: "tenant-1".to_string(),
        team_id: None,
    };
    let reply = Reply::titled("Weekly report");
    let posted = state
        .connector()
        .post_to_channel(&channel, &reply)
        .await
        .expect("posted");
    assert_eq!(posted.0, "19:new-thread");
    let requests = fake.requests_to("/svc/").await;
    assert_eq!(requests.len(), 2, "one 429 then success");
    let body: Value = serde_json::from_slice(&requests[1].body).expect("json");
    assert_eq!(body["isGroup"], true);
    assert_eq!(body["channelData"]["channel"]["id"], "19:soc@thread.tacv2");
    assert_eq!(body["channelData"]["tenant"]["id"], "tenant-1");
    assert_eq!(
        body["activity"]["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
}

#[tokio::test]
async fn proactive_post_gives_up_on_a_permanent_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/botframework.com/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"expires_in": 3600, "access_token": "t"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/svc/v3/conversations"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": {"code": "MessageWritesBlocked"}})),
        )
        .mount(&server)
        .await;
    let fake = Fake { server };
    let state = fake.state(&fake.config(), false);
    let channel = TeamsChannel {
        service_url: format!("{}/svc", fake.server.uri()),
        channel_id: "19:soc@thread.tacv2".to_string(),
        tenant_id: "tenant-1".to_string(),
        team_id: None,
    };
    let reply = Reply::titled("r");
    let error = state.connector().post_to_channel(&channel, &reply).await;
    assert!(matches!(
        error,
        Err(sentinel_bot::channels::teams::connector::TeamsError::Status { status: 403, .. })
    ));
    assert_eq!(
        fake.requests_to("/svc/").await.len(),
        1,
        "403 is not retried"
    );
}

#[test]
fn packaged_manifest_satisfies_the_manifest_rules() {
    let schema: Value =
        serde_json::from_str(include_str!("../schemas/teams/manifest-subset.schema.json"))
            .expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let manifest: Value = serde_json::from_str(
        &sentinel_bot::channels::teams::manifest::manifest_json(APP_ID).expect("manifest"),
    )
    .expect("json");
    let errors: Vec<String> = validator
        .iter_errors(&manifest)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");

    // The schema is strict enough to catch the mistakes that matter.
    let mut broken = manifest.clone();
    broken["bots"][0]["botId"] = json!("{{BOT_APP_ID}}");
    assert!(!validator.is_valid(&broken));
    let mut broken = manifest.clone();
    broken["bots"][0]["scopes"] = json!(["groupchat"]);
    assert!(!validator.is_valid(&broken));
    // Limits, enums and unknown properties, as in the official schema.
    let mut broken = manifest.clone();
    broken["bots"][0]["commandLists"][0]["commands"][0]["title"] = json!("x".repeat(129));
    assert!(!validator.is_valid(&broken));
    let mut broken = manifest.clone();
    broken["permissions"] = json!(["identity", "readChannel"]);
    assert!(!validator.is_valid(&broken));
    let mut broken = manifest.clone();
    broken["developer"]["webSiteUrl"] = json!("https://example.com");
    assert!(!validator.is_valid(&broken));
    let mut broken = manifest;
    broken["validDomain"] = json!([]);
    assert!(!validator.is_valid(&broken));
}

/// Names a folder holding the official `MicrosoftTeams.schema.json` (v1.29), which is not
/// vendored: get it from
/// https://developer.microsoft.com/json-schemas/teams/v1.29/MicrosoftTeams.schema.json
const TEAMS_SCHEMA_ENV: &str = "SENTINEL_BOT_TEAMS_SCHEMA_DIR";

/// Every way `validator` finds `manifest` invalid, one line each.
fn schema_errors(validator: &jsonschema::Validator, manifest: &Value) -> Vec<String> {
    validator
        .iter_errors(manifest)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

#[test]
fn packaged_manifest_satisfies_the_official_schema() {
    let Ok(dir) = std::env::var(TEAMS_SCHEMA_ENV) else {
        eprintln!(
            "packaged_manifest_satisfies_the_official_schema: skipped, set {TEAMS_SCHEMA_ENV} \
             to a folder holding the official v1.29 MicrosoftTeams.schema.json"
        );
        return;
    };
    let path = std::path::Path::new(&dir).join("MicrosoftTeams.schema.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("the official schema is JSON");
    // Validate with the draft the schema declares, with format checks (`$schema` is a uri).
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    let validator = jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the official schema compiles");

    // The manifest exactly as the `manifest` command packages it, with a real-looking id.
    let app_id = "6f1c2a34-1b2c-4d5e-8f90-1234567890ab";
    let zip = sentinel_bot::channels::teams::manifest::package_bytes(app_id).expect("package");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("zip");
    let manifest: Value =
        serde_json::from_reader(archive.by_name("manifest.json").expect("manifest.json"))
            .expect("json");
    assert_eq!(manifest["id"], app_id);
    let errors = schema_errors(&validator, &manifest);
    assert!(
        errors.is_empty(),
        "the packaged manifest breaks the official schema:\n{}",
        errors.join("\n")
    );
    // Draft 4 has no `const`, so the schema's manifestVersion pin is checked here instead.
    assert_eq!(
        manifest["manifestVersion"],
        schema["properties"]["manifestVersion"]["const"]
    );

    // The validator really applies the schema: each of these breaks one official rule.
    let title_limit = schema["properties"]["bots"]["items"]["properties"]["commandLists"]["items"]
        ["properties"]["commands"]["items"]["properties"]["title"]["maxLength"]
        .as_u64()
        .expect("command title maxLength");
    let mut breakages = Vec::new();
    let mut broken = manifest.clone();
    broken["bots"][0]["commandLists"][0]["commands"][0]["title"] =
        json!("x".repeat(title_limit as usize + 1));
    breakages.push(("command title over the limit", broken));
    let mut broken = manifest.clone();
    broken["bots"][0]["scopes"] = json!(["personal", "groupchat"]);
    breakages.push(("scope spelt groupchat", broken));
    let mut broken = manifest.clone();
    broken["permissions"] = json!(["identity", "readChannel"]);
    breakages.push(("unknown permission", broken));
    let mut broken = manifest.clone();
    broken["bots"][0]["botId"] = json!("{{BOT_APP_ID}}");
    breakages.push(("botId not a GUID", broken));
    let mut broken = manifest.clone();
    broken["developer"]["webSiteUrl"] = json!("https://example.com");
    breakages.push(("misspelt developer property", broken));
    let mut broken = manifest;
    broken["$schema"] = json!("not a uri");
    breakages.push(("$schema not a uri (format check)", broken));
    for (what, broken) in breakages {
        assert!(
            !schema_errors(&validator, &broken).is_empty(),
            "{what} was accepted"
        );
    }
}

#[test]
fn command_list_matches_the_grammar() {
    let manifest: Value = serde_json::from_str(
        &sentinel_bot::channels::teams::manifest::manifest_json(APP_ID).expect("manifest"),
    )
    .expect("json");
    let titles: Vec<&str> = manifest["bots"][0]["commandLists"][0]["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .filter_map(|c| c["title"].as_str())
        .collect();
    // Every listed command must be a verb of the bot's grammar, and every verb listed.
    let verbs: Vec<&str> = sentinel_bot::bot::command::Verb::ALL
        .iter()
        .map(|verb| verb.word())
        .collect();
    for title in &titles {
        assert!(verbs.contains(title), "{title} is not a known verb");
    }
    for verb in &verbs {
        assert!(titles.contains(verb), "{verb} missing from commandLists");
    }
    assert!(titles.contains(&"incidents") && titles.contains(&"help"));
}

#[tokio::test]
async fn bot_token_is_fetched_once_and_reused() {
    let fake = Fake::start().await;
    let state = fake.state(&fake.config(), false);
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    for _ in 0..2 {
        let body = message(&fake.service_url(), "help");
        let (status, _) = post(state.clone(), Some(format!("Bearer {token}")), &body).await;
        assert_eq!(status, StatusCode::OK);
    }
    let posted = fake.wait_for_connector(2).await;
    assert_eq!(posted.len(), 2);
    assert_eq!(
        fake.requests_to("/login/").await.len(),
        1,
        "cached token reused"
    );
}

/// A source whose lookups are slow and then fail, to exercise the typing indicator.
struct SlowSource;

#[async_trait::async_trait]
impl sentinel_bot::sources::IncidentSource for SlowSource {
    async fn incidents(
        &self,
        _window: sentinel_bot::period::Window,
    ) -> Result<sentinel_bot::sources::IncidentSet, SourceError> {
        Err(SourceError::NotFound(
            sentinel_bot::incident::IncidentKey::only(0),
        ))
    }

    async fn incident(
        &self,
        key: sentinel_bot::incident::IncidentKey,
    ) -> Result<sentinel_bot::sources::IncidentDetail, SourceError> {
        let number = key.number;
        tokio::time::sleep(Duration::from_millis(300)).await;
        Err(SourceError::NotFound(
            sentinel_bot::incident::IncidentKey::only(number),
        ))
    }

    async fn add_comment(
        &self,
        key: sentinel_bot::incident::IncidentKey,
        _message: &str,
    ) -> Result<(), SourceError> {
        let number = key.number;
        Err(SourceError::NotFound(
            sentinel_bot::incident::IncidentKey::only(number),
        ))
    }

    async fn update(
        &self,
        key: sentinel_bot::incident::IncidentKey,
        _update: &sentinel_bot::sources::IncidentUpdate,
        _etag: Option<&str>,
    ) -> Result<sentinel_bot::incident::Incident, SourceError> {
        let number = key.number;
        Err(SourceError::NotFound(
            sentinel_bot::incident::IncidentKey::only(number),
        ))
    }

    async fn create(
        &self,
        _incident: &sentinel_bot::sources::NewIncident,
    ) -> Result<sentinel_bot::incident::Incident, SourceError> {
        Err(SourceError::NotFound(
            sentinel_bot::incident::IncidentKey::only(0),
        ))
    }
}

#[tokio::test]
async fn slow_answer_sends_typing_first() {
    let fake = Fake::start().await;
    let config = fake.config();
    let mut auth = AuthSettings::new(&config.openid_metadata_url, &config.app_id);
    auth.unknown_kid_min_interval = Duration::ZERO;
    let bot = Arc::new(Bot {
        advisor: None,
        ledger: std::sync::Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        source: Arc::new(SlowSource),
        intel: Arc::new(DemoSource::new(chrono::Utc::now())),
        settings: Default::default(),
    });
    let state = TeamsState::with_auth_settings(bot, &config, reqwest::Client::new(), false, auth)
        .with_typing_after(Duration::from_millis(50));
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let body = message(&fake.service_url(), "<at>Sentinel</at> incident 7");
    let (status, _) = post(state, Some(format!("Bearer {token}")), &body).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "acknowledged before the slow work finished"
    );
    let posted = fake.wait_for_connector(2).await;
    let kinds: Vec<String> = posted
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.body).expect("json");
            v["type"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(kinds, ["typing", "message"]);
}

#[tokio::test]
async fn garbage_body_without_credentials_is_401_not_400() {
    let fake = Fake::start().await;
    let state = fake.state(&fake.config(), false);
    let request = Request::post("/api/messages")
        .header("content-type", "application/json")
        .body(Body::from("not json"))
        .expect("request");
    let response = router(state).oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        fake.requests_to("/keys").await.is_empty(),
        "no key fetch either"
    );
}

#[tokio::test]
async fn a_slow_card_action_answers_in_time_naming_the_system_and_the_card_follows() {
    let fake = Fake::start().await;
    let azure = MockServer::start().await;
    // Sentinel takes longer than the invoke may wait, then knows no incident 42.
    Mock::given(method("GET"))
        .and(path(crate::azure::INCIDENTS))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": []}))
                .set_delay(Duration::from_millis(400)),
        )
        .mount(&azure)
        .await;
    let source = Arc::new(crate::azure::source(&azure).await);
    let bot = Arc::new(Bot {
        advisor: None,
        ledger: Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        source: source.clone(),
        intel: source,
        settings: Default::default(),
    });
    let config = fake.config();
    let auth = AuthSettings::new(&config.openid_metadata_url, &config.app_id);
    let state = TeamsState::with_auth_settings(bot, &config, reqwest::Client::new(), false, auth)
        .with_invoke_deadline(Duration::from_millis(100));
    let token = sign("k1", &claims(&fake.service_url()), TEST_KEY);
    let mut body = message(&fake.service_url(), "");
    body["type"] = json!("invoke");
    body["replyToId"] = json!("card-message-1");
    body["name"] = json!("adaptiveCard/action");
    body["value"] = json!({"action": {"type": "Action.Execute", "verb": "run", "data": {"command": "incident 42"}}, "trigger": "manual"});

    let started = std::time::Instant::now();
    let (status, response) = post(state, Some(format!("Bearer {token}")), &body).await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "answered in time"
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response["statusCode"], 200);
    assert_eq!(
        response["type"],
        "application/vnd.microsoft.activity.message"
    );
    assert_eq!(
        response["value"],
        "Still working: waiting for Sentinel. The answer will follow in this conversation."
    );

    let posted = fake.wait_for_connector(1).await;
    assert_eq!(posted.len(), 1, "the late answer is delivered as a message");
    assert!(
        posted[0].url.path().ends_with("/activities/card-message-1"),
        "in reply to the card: {}",
        posted[0].url
    );
    let card = String::from_utf8_lossy(&posted[0].body);
    assert!(card.contains("Incident 42 was not found"), "{card}");
}
