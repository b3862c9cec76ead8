//! What Slack clients really send, through the real router with real signatures: escaped and
//! wrapped text in slash commands and events decoded at the edge, user mentions resolved with
//! users.info, `/assign N me` and a mention assigned through Microsoft Graph to a fake
//! Sentinel, and comments signed with who asked.

use super::azure::{INCIDENTS, config, incident_resource, mount_lookup, mount_token, quick_policy};
use super::slack::{NOW, SECRET, command_form, send, signed, wait_for_requests};
use axum::http::StatusCode;
use chrono::DateTime;
use secrecy::SecretString;
use sentinel_bot::bot::actions::MemoryLedger;
use sentinel_bot::bot::permissions::Permissions;
use sentinel_bot::bot::{Bot, Settings};
use sentinel_bot::channels::slack::{
    MemorySeenKeys, SeenKeys, SlackSettings, SlackState, WebApi, thread_key,
};
use sentinel_bot::directory::GroupDirectory;
use sentinel_bot::sources::azure::AzureSource;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{bearer_token, body_partial_json, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ANA_OBJECT_ID: &str = "0a0a0a0a-1b2c-4d5e-8f90-1234567890ab";
const DANA_OBJECT_ID: &str = "5f1c2a34-1b2c-4d5e-8f90-1234567890ab";

/// Slack, Entra ID, Graph and Sentinel on one fake server, and the Slack state of a bot that
/// reads and changes incidents there; `UANA` may act.
struct Fake {
    server: MockServer,
    state: SlackState,
    seen: Arc<MemorySeenKeys>,
}

/// users.info's answer for a user (shape of the docs.slack.dev users.info example).
fn slack_user(id: &str, handle: &str, real_name: &str, email: &str) -> Value {
    json!({
        "ok": true,
        "user": {
            "id": id, "team_id": "T1", "name": handle, "deleted": false, "real_name": real_name,
            "tz": "Europe/Paris", "tz_label": "Central European Time", "tz_offset": 3600,
            "profile": {
                "real_name": real_name, "display_name": handle, "email": email,
                "real_name_normalized": real_name, "display_name_normalized": handle,
                "team": "T1"
            },
            "is_admin": false, "is_owner": false, "is_bot": false, "updated": 1_700_000_000
        }
    })
}

/// Graph's `GET /users/{upn}` answer.
fn entra_user(object_id: &str, name: &str, upn: &str) -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,displayName,mail,userPrincipalName)/$entity",
        "id": object_id, "displayName": name, "mail": upn, "userPrincipalName": upn
    })
}

impl Fake {
    async fn start() -> Fake {
        let server = MockServer::start().await;
        mount_token(&server).await;
        mount_lookup(&server).await;
        for (id, handle, name, email) in [
            ("UANA", "ana", "Ana Example", "ana@contoso.com"),
            ("UDANA", "dana", "Dana Example", "dana@contoso.com"),
        ] {
            Mock::given(method("GET"))
                .and(path("/users.info"))
                .and(query_param("user", id))
                .and(bearer_token("xoxb-test"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(slack_user(id, handle, name, email)),
                )
                .mount(&server)
                .await;
        }
        for (object_id, name, upn) in [
            (ANA_OBJECT_ID, "Ana Example", "ana@contoso.com"),
            (DANA_OBJECT_ID, "Dana Example", "dana@contoso.com"),
        ] {
            Mock::given(method("GET"))
                .and(path(format!("/v1.0/users/{}", urlencoding::encode(upn))))
                .and(bearer_token("tok"))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(entra_user(object_id, name, upn)),
                )
                .mount(&server)
                .await;
        }
        for route in ["/respond", "/chat.postMessage"] {
            Mock::given(method("POST"))
                .and(path(route))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.2"})),
                )
                .mount(&server)
                .await;
        }
        let azure = Arc::new(
            AzureSource::with_policy(&config(&server), reqwest::Client::new(), quick_policy())
                .expect("azure"),
        );
        let api = Arc::new(
            WebApi::new(&server.uri(), SecretString::from("xoxb-test"))
                .with_channel_gap(Duration::ZERO),
        );
        let bot = Bot {
            source: azure.clone(),
            intel: azure.clone(),
            ledger: Arc::new(MemoryLedger::default()),
            settings: Settings {
                permissions: Permissions {
                    allowed_users: vec!["UANA".to_string()],
                    allowed_groups: Vec::new(),
                    directory: Arc::new(GroupDirectory {
                        entra: Some(azure),
                        slack: Some(api.clone()),
                    }),
                },
                ..Settings::default()
            },
            advisor: None,
        };
        let seen = Arc::new(MemorySeenKeys::default());
        let clock_now = DateTime::from_timestamp(NOW, 0).expect("time");
        let state = SlackState {
            bot: Arc::new(bot),
            api,
            settings: Arc::new(SlackSettings {
                signing_secret: Some(SecretString::from(SECRET)),
                in_channel: false,
                allowed_teams: Vec::new(),
                allowed_channels: Vec::new(),
                body_limit: 64 * 1024,
            }),
            seen: seen.clone(),
            clock: Arc::new(move || clock_now),
            tasks: tokio_util::task::TaskTracker::new(),
            workload: sentinel_bot::channels::workload::Workload::default(),
            layouts: Default::default(),
        };
        Fake {
            server,
            state,
            seen,
        }
    }

    /// A slash command from `UANA`, exactly as Slack posts it, answered to `/respond`.
    async fn slash(&self, command: &str, text: &str) {
        let body = command_form(command, text, &format!("{}/respond", self.server.uri()));
        let request = signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &body,
            NOW,
        );
        let (status, ack) = send(&self.state, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ack["text"], "Working on it…");
    }

    /// An Events API callback, signed.
    async fn event(&self, event: Value) {
        let envelope = json!({
            "token": "x", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": format!("Ev{}", rand_id()), "event_time": NOW,
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": true}],
            "event": event,
        });
        let request = signed(
            "/slack/events",
            "application/json",
            &envelope.to_string(),
            NOW,
        );
        assert_eq!(send(&self.state, request).await.0, StatusCode::OK);
    }

    /// `UANA` pressing a button whose value is `command`, as a `block_actions` payload.
    async fn press(&self, command: &str) {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": "UANA", "username": "ana", "name": "ana", "team_id": "T1"},
            "api_app_id": "A1", "token": "x",
            "container": {"type": "message", "message_ts": "1.2", "channel_id": "C1", "is_ephemeral": true},
            "trigger_id": "1.2.3",
            "team": {"id": "T1", "domain": "soc"},
            "channel": {"id": "C1", "name": "soc"},
            "response_url": format!("{}/respond", self.server.uri()),
            "actions": [{
                "action_id": "command-0", "block_id": "actions", "type": "button",
                "text": {"type": "plain_text", "text": "Confirm"},
                "value": command, "action_ts": "1700000000.1"
            }]
        });
        let body = format!("payload={}", urlencoding::encode(&payload.to_string()));
        let request = signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            &body,
            NOW,
        );
        assert_eq!(send(&self.state, request).await.0, StatusCode::OK);
    }

    /// Bodies of the requests to `route` so far, waiting until there are `count`.
    async fn bodies(&self, route: &str, count: usize) -> Vec<Value> {
        for _ in 0..300 {
            let found: Vec<Value> = self
                .server
                .received_requests()
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|request| request.url.path() == route)
                .map(|request| serde_json::from_slice(&request.body).unwrap_or(Value::Null))
                .collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{route} did not receive {count} requests");
    }

    fn requests_to(&self, received: &[wiremock::Request], route: &str) -> usize {
        received.iter().filter(|it| it.url.path() == route).count()
    }
}

fn rand_id() -> u32 {
    rand::random::<u32>()
}

/// The message's mrkdwn and plain text, joined, and its buttons' values.
fn read_message(message: &Value) -> (String, Vec<String>) {
    let mut text = Vec::new();
    let mut buttons = Vec::new();
    for block in message["blocks"].as_array().into_iter().flatten() {
        collect_text(block, &mut text);
        for element in block["elements"].as_array().into_iter().flatten() {
            if let Some(value) = element["value"].as_str() {
                buttons.push(value.to_string());
            }
        }
    }
    (text.join("\n"), buttons)
}

fn collect_text(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("text") {
                out.push(text.clone());
            }
            for (key, inner) in map {
                if key != "text" || !inner.is_string() {
                    collect_text(inner, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_text(item, out)),
        _ => {}
    }
}

fn confirm_button(buttons: &[String]) -> String {
    buttons
        .iter()
        .find(|value| value.starts_with("/confirm "))
        .cloned()
        .unwrap_or_else(|| panic!("no Confirm button in {buttons:?}"))
}

/// Sentinel's comment PUTs, by message.
async fn comments(fake: &Fake, count: usize) -> Vec<String> {
    for _ in 0..300 {
        let messages: Vec<String> = fake
            .server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|request| {
                request.method.as_str() == "PUT" && request.url.path().contains("/comments/")
            })
            .filter_map(|request| {
                let body: Value = serde_json::from_slice(&request.body).ok()?;
                body["properties"]["message"].as_str().map(str::to_string)
            })
            .collect();
        if messages.len() >= count {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("Sentinel did not receive {count} comments");
}

async fn mount_comment(server: &MockServer) {
    Mock::given(method("PUT"))
        .and(path_regex(format!(
            r"^{INCIDENTS}/guid-42/comments/[0-9a-f-]{{36}}$"
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "name": "c1", "properties": {"message": "x", "createdTimeUtc": "2026-11-20T10:00:00Z"}
        })))
        .mount(server)
        .await;
}

/// Sentinel's assignment for `object_id`, answered with the incident.
async fn mount_assignment(server: &MockServer, object_id: &str, name: &str, upn: &str) {
    Mock::given(method("PUT"))
        .and(path(format!("{INCIDENTS}/guid-42")))
        .and(body_partial_json(json!({"properties": {"owner": {
            "objectId": object_id, "assignedTo": name, "email": upn, "userPrincipalName": upn
        }}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(incident_resource("Active")))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn slack_assign_me_reaches_sentinel_with_the_entra_owner() {
    let fake = Fake::start().await;
    mount_assignment(
        &fake.server,
        ANA_OBJECT_ID,
        "Ana Example",
        "ana@contoso.com",
    )
    .await;

    fake.slash("/assign", "42 me").await;
    let answers = fake.bodies("/respond", 1).await;
    let (text, buttons) = read_message(&answers[0]);
    assert!(
        text.contains("Assign incident 42 to Ana Example (ana@contoso.com)"),
        "{text}"
    );
    fake.press(&confirm_button(&buttons)).await;
    let answers = fake.bodies("/respond", 2).await;
    let (done, _) = read_message(&answers[1]);
    assert!(
        done.contains("Incident 42 is assigned to Ana Example (ana@contoso.com)."),
        "{done}"
    );
    // users.info once (then cached), Graph once, and Sentinel got the owner (the mock expects one PUT).
    let received = fake.server.received_requests().await.unwrap_or_default();
    assert_eq!(fake.requests_to(&received, "/users.info"), 1);
    assert_eq!(
        fake.requests_to(&received, "/v1.0/users/ana%40contoso.com"),
        1
    );
    fake.server.verify().await;
}

#[tokio::test]
async fn the_assign_to_me_button_works_from_slack() {
    let fake = Fake::start().await;
    mount_assignment(
        &fake.server,
        ANA_OBJECT_ID,
        "Ana Example",
        "ana@contoso.com",
    )
    .await;
    // The "Assign to me" button of an incident card carries `/assign 42 me`.
    fake.press("/assign 42 me").await;
    let answers = fake.bodies("/respond", 1).await;
    let (text, buttons) = read_message(&answers[0]);
    assert!(
        text.contains("Assign incident 42 to Ana Example (ana@contoso.com)"),
        "{text}"
    );
    fake.press(&confirm_button(&buttons)).await;
    fake.bodies("/respond", 2).await;
    fake.server.verify().await;
}

#[tokio::test]
async fn slack_text_is_decoded_and_the_comment_says_who_asked() {
    let fake = Fake::start().await;
    mount_comment(&fake.server).await;

    // Exactly what Slack sends for: /comment 42 blocked 10.0.0.5 & 10.0.0.6, mailed
    // dana@contoso.com, see the runbook link, ask @dana in #soc @here <urgent>
    let typed = "42 blocked 10.0.0.5 &amp; 10.0.0.6, mailed <mailto:dana@contoso.com|dana@contoso.com>, see <https://runbook.example/phish|the runbook>, ask <@UDANA|dana> in <#C0SOC|soc> <!here> &lt;urgent&gt;";
    fake.slash("/comment", typed).await;
    let answers = fake.bodies("/respond", 1).await;
    let (preview, buttons) = read_message(&answers[0]);
    let written = "Ana Example via sentinel-bot: blocked 10.0.0.5 & 10.0.0.6, mailed dana@contoso.com, see the runbook (https://runbook.example/phish), ask dana@contoso.com in #soc @here <urgent>";
    // The preview is escaped once for Slack, never twice (`&amp;amp;`).
    let escaped_once = written
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert!(preview.contains(&escaped_once), "{preview}");
    assert!(!preview.contains("&amp;amp;"), "{preview}");

    fake.press(&confirm_button(&buttons)).await;
    assert_eq!(comments(&fake, 1).await, vec![written.to_string()]);
}

#[tokio::test]
async fn an_app_mention_assigns_to_the_mentioned_user_and_a_thread_reply_is_decoded() {
    let fake = Fake::start().await;
    mount_assignment(
        &fake.server,
        DANA_OBJECT_ID,
        "Dana Example",
        "dana@contoso.com",
    )
    .await;
    mount_comment(&fake.server).await;

    // app_mention as delivered: the bot's own mention first, Dana's user mention as an argument.
    fake.event(json!({
        "type": "app_mention", "user": "UANA", "text": "<@UBOT> assign 42 <@UDANA>",
        "ts": "1700000000.000100", "channel": "C1", "event_ts": "1700000000.000100"
    }))
    .await;
    let posts = fake.bodies("/chat.postMessage", 1).await;
    assert_eq!(posts[0]["thread_ts"], "1700000000.000100");
    let (text, buttons) = read_message(&posts[0]);
    assert!(
        text.contains("Assign incident 42 to Dana Example (dana@contoso.com)"),
        "{text}"
    );
    fake.press(&confirm_button(&buttons)).await;
    let answers = fake.bodies("/respond", 1).await;
    assert!(
        read_message(&answers[0])
            .0
            .contains("Incident 42 is assigned to Dana Example")
    );

    // A plain reply in that thread (a `message` event), escaped as Slack sends it.
    fake.seen
        .remember(&thread_key("C1", "1700000000.000100"))
        .await
        .expect("thread remembered");
    fake.event(json!({
        "type": "message", "channel_type": "channel", "user": "UANA",
        "text": "comment 42 quarantined host-7 &amp; reset the password",
        "ts": "1700000001.000200", "thread_ts": "1700000000.000100", "channel": "C1",
        "event_ts": "1700000001.000200"
    }))
    .await;
    let posts = fake.bodies("/chat.postMessage", 2).await;
    let (_, buttons) = read_message(&posts[1]);
    fake.press(&confirm_button(&buttons)).await;
    assert_eq!(
        comments(&fake, 1).await,
        vec!["Ana Example via sentinel-bot: quarantined host-7 & reset the password".to_string()]
    );
    fake.server.verify().await;
}

#[tokio::test]
async fn the_umbrella_command_reaches_status_and_a_typo_is_corrected() {
    let fake = Fake::start().await;
    fake.slash("/sentinel", "status 42 active").await;
    let answers = fake.bodies("/respond", 1).await;
    let (text, buttons) = read_message(&answers[0]);
    assert!(text.contains("Set incident 42 to Active"), "{text}");
    assert!(buttons.iter().any(|it| it.starts_with("/confirm ")));

    fake.slash("/sentinel", "hlep").await;
    let answers = fake.bodies("/respond", 2).await;
    let (text, _) = read_message(&answers[1]);
    assert!(text.contains("Did you mean `/help`?"), "{text}");
    assert!(text.contains("/assign N me"), "the help follows: {text}");
}

#[tokio::test]
async fn zero_width_spaces_and_byte_order_marks_in_a_slash_command_are_ignored() {
    let fake = Fake::start().await;
    fake.slash("/sentinel", "\u{FEFF}status\u{200B} 42\u{200B} active")
        .await;
    let answers = fake.bodies("/respond", 1).await;
    let (text, buttons) = read_message(&answers[0]);
    assert!(text.contains("Set incident 42 to Active"), "{text}");
    // Read as typed, not rescued as a near miss of the command word.
    assert!(!text.contains("Did you mean"), "{text}");
    assert!(buttons.iter().any(|it| it.starts_with("/confirm ")));
}

#[tokio::test]
async fn a_mention_slack_cannot_resolve_says_what_is_missing() {
    let fake = Fake::start().await;
    Mock::given(method("GET"))
        .and(path("/users.info"))
        .and(query_param("user", "UGHOST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": false, "error": "user_not_found"})),
        )
        .mount(&fake.server)
        .await;
    fake.slash("/assign", "42 <@UGHOST|ghost>").await;
    let answers = fake.bodies("/respond", 1).await;
    let (text, buttons) = read_message(&answers[0]);
    assert!(
        text.contains("I could not find who ghost is in Entra ID: Slack could not say who they are (Slack refused users.info: user_not_found)"),
        "{text}"
    );
    assert!(!buttons.iter().any(|it| it.starts_with("/confirm ")));
    let received = wait_for_requests(&fake.server, 1).await;
    assert!(
        !received.iter().any(|it| it.method.as_str() == "PUT"),
        "nothing was changed"
    );
}

#[tokio::test]
async fn users_info_answers_are_cached_until_they_expire() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users.info"))
        .and(query_param("user", "UDANA"))
        .respond_with(ResponseTemplate::new(200).set_body_json(slack_user(
            "UDANA",
            "dana",
            "Dana Example",
            "dana@contoso.com",
        )))
        .mount(&server)
        .await;
    let api = WebApi::new(&server.uri(), SecretString::from("xoxb-test"))
        .with_user_ttl(Duration::from_millis(300));
    for _ in 0..3 {
        let user = api.user("UDANA").await.expect("user");
        assert_eq!(user.name.as_deref(), Some("Dana Example"));
        assert_eq!(user.email.as_deref(), Some("dana@contoso.com"));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    api.user("UDANA").await.expect("user");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
