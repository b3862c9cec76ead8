//! What Teams clients really send, through the real JWT path: a channel message that mentions
//! the bot and another person (assigned to that person in a fake Sentinel, their Entra id from
//! the roster), a personal chat where the bot's name is typed as text, HTML text, and the
//! Agents Playground's test user.

use super::azure::{INCIDENTS, config, incident_resource, mount_lookup, mount_token, quick_policy};
use super::teams::{APP_ID, Fake, TEST_KEY, claims, post, sign};
use axum::http::StatusCode;
use sentinel_bot::bot::actions::MemoryLedger;
use sentinel_bot::bot::permissions::Permissions;
use sentinel_bot::bot::{Bot, Settings};
use sentinel_bot::channels::teams::TeamsState;
use sentinel_bot::channels::teams::auth::AuthSettings;
use sentinel_bot::directory::GroupDirectory;
use sentinel_bot::sources::azure::AzureSource;
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, ResponseTemplate};

const ANA: &str = "0a0a0a0a-1b2c-4d5e-8f90-1234567890ab";
const DANA: &str = "5f1c2a34-1b2c-4d5e-8f90-1234567890ab";
const TEAM: &str = "19:team-general@thread.tacv2";

/// A Teams state whose bot reads and changes incidents in a fake Sentinel on the fake's
/// server; `ANA` and the Playground's `user-id-0` may act.
async fn state(fake: &Fake, playground: bool) -> TeamsState {
    mount_token(&fake.server).await;
    mount_lookup(&fake.server).await;
    let azure = Arc::new(
        AzureSource::with_policy(
            &config(&fake.server),
            reqwest::Client::new(),
            quick_policy(),
        )
        .expect("azure"),
    );
    let bot = Bot {
        source: azure.clone(),
        intel: azure.clone(),
        ledger: Arc::new(MemoryLedger::default()),
        settings: Settings {
            permissions: Permissions {
                allowed_users: vec![ANA.to_string(), "user-id-0".to_string()],
                allowed_groups: Vec::new(),
                directory: Arc::new(GroupDirectory {
                    entra: Some(azure),
                    slack: None,
                }),
            },
            ..Settings::default()
        },
        advisor: None,
    };
    let mut config = fake.config();
    config.local_playground = playground;
    let auth = AuthSettings::new(&config.openid_metadata_url, &config.app_id);
    TeamsState::with_auth_settings(Arc::new(bot), &config, reqwest::Client::new(), true, auth)
}

fn bearer(fake: &Fake) -> Option<String> {
    Some(format!(
        "Bearer {}",
        sign("k1", &claims(&fake.service_url()), TEST_KEY)
    ))
}

/// A channel message from Ana, as Teams delivers it to a bot it mentions.
fn channel_message(fake: &Fake, id: &str, text: &str, entities: Value) -> Value {
    json!({
        "type": "message", "id": id, "channelId": "msteams",
        "serviceUrl": fake.service_url(),
        "timestamp": "2026-11-23T09:00:00.000Z", "localTimestamp": "2026-11-23T10:00:00.000+01:00",
        "from": {"id": "29:ana", "name": "Ana Example", "aadObjectId": ANA},
        "recipient": {"id": format!("28:{APP_ID}"), "name": "Sentinel Bot"},
        "conversation": {
            "id": "19:soc@thread.tacv2;messageid=1700000000000", "conversationType": "channel",
            "isGroup": true, "tenantId": "tenant-1"
        },
        "channelData": {
            "teamsChannelId": "19:soc@thread.tacv2", "teamsTeamId": TEAM,
            "channel": {"id": "19:soc@thread.tacv2"}, "team": {"id": TEAM},
            "tenant": {"id": "tenant-1"}
        },
        "textFormat": "plain", "locale": "en-US",
        "text": text,
        "entities": entities,
    })
}

/// A personal (1:1) chat message from Ana.
fn personal_message(fake: &Fake, id: &str, text: &str, text_format: &str) -> Value {
    json!({
        "type": "message", "id": id, "channelId": "msteams",
        "serviceUrl": fake.service_url(),
        "from": {"id": "29:ana", "name": "Ana Example", "aadObjectId": ANA},
        "recipient": {"id": format!("28:{APP_ID}"), "name": "Test Bot"},
        "conversation": {"id": "a:1personal-chat-id", "conversationType": "personal", "tenantId": "tenant-1"},
        "channelData": {"tenant": {"id": "tenant-1"}},
        "textFormat": text_format, "locale": "en-US",
        "text": text,
        "entities": [{"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Web", "timezone": "Europe/Paris"}],
    })
}

/// The text of an Adaptive Card (TextBlocks, facts, table cells) and its buttons' commands.
fn read_card(activity: &Value) -> (String, Vec<String>) {
    let card = &activity["attachments"][0]["content"];
    let mut text = Vec::new();
    collect(card, &mut text);
    // The renderer escapes Markdown punctuation (`\&`, `\(`); read it as Teams displays it.
    let text: Vec<String> = text.iter().map(|line| line.replace('\\', "")).collect();
    let mut commands = Vec::new();
    collect_commands(card, &mut commands);
    (text.join("\n"), commands)
}

fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("text" | "title" | "value", Value::String(text)) => out.push(text.clone()),
                    _ => collect(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        _ => {}
    }
}

fn collect_commands(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(command)) = map.get("command") {
                out.push(command.clone());
            }
            map.values().for_each(|inner| collect_commands(inner, out));
        }
        Value::Array(items) => items.iter().for_each(|item| collect_commands(item, out)),
        _ => {}
    }
}

/// The `count`-th reply the bot posted to the connector (roster lookups are GETs).
async fn reply(fake: &Fake, count: usize) -> Value {
    for _ in 0..200 {
        let posted: Vec<wiremock::Request> = fake
            .wait_for_connector(count)
            .await
            .into_iter()
            .filter(|request| request.method.as_str() == "POST")
            .collect();
        if let Some(last) = posted.get(count - 1) {
            return serde_json::from_slice(&last.body).expect("json");
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no reply {count} reached the connector");
}

fn confirm(commands: &[String]) -> String {
    commands
        .iter()
        .find(|command| command.starts_with("/confirm "))
        .cloned()
        .unwrap_or_else(|| panic!("no Confirm button in {commands:?}"))
}

#[tokio::test]
async fn a_mention_of_another_user_in_a_channel_assigns_to_that_user() {
    let fake = Fake::start().await;
    let state = state(&fake, false).await;
    // The roster knows Dana: Teams' mention entity carries only the `29:` id and the name.
    Mock::given(method("GET"))
        .and(path(format!(
            "/connector/v3/conversations/{}/members/{}",
            urlencoding::encode(TEAM),
            urlencoding::encode("29:dana")
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "29:dana", "name": "Dana Example", "aadObjectId": DANA,
            "givenName": "Dana", "surname": "Example", "email": "dana@contoso.com",
            "userPrincipalName": "dana@contoso.com", "tenantId": "tenant-1", "userRole": "user"
        })))
        .expect(1)
        .mount(&fake.server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{INCIDENTS}/guid-42")))
        .and(body_partial_json(json!({"properties": {"owner": {
            "objectId": DANA, "assignedTo": "Dana Example",
            "email": "dana@contoso.com", "userPrincipalName": "dana@contoso.com"
        }}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(incident_resource("Active")))
        .expect(1)
        .mount(&fake.server)
        .await;

    let text = "<at id=\"0\">Sentinel Bot</at> assign 42 <at id=\"1\">Dana Example</at>\n";
    let entities = json!([
        {"type": "mention", "text": "<at id=\"0\">Sentinel Bot</at>", "mentioned": {"id": format!("28:{APP_ID}"), "name": "Sentinel Bot"}},
        {"type": "mention", "text": "<at id=\"1\">Dana Example</at>", "mentioned": {"id": "29:dana", "name": "Dana Example"}},
        {"type": "clientInfo", "locale": "en-US", "country": "US", "platform": "Windows", "timezone": "Europe/Paris"}
    ]);
    let body = channel_message(&fake, "act-1", text, entities);
    let (status, _) = post(state.clone(), bearer(&fake), &body).await;
    assert_eq!(status, StatusCode::OK);
    let (card, commands) = read_card(&reply(&fake, 1).await);
    assert!(
        card.contains("Assign incident 42 to Dana Example (dana@contoso.com)"),
        "{card}"
    );

    // Action.Submit comes back as a message activity whose value carries the command.
    let mut press = channel_message(&fake, "act-2", "", json!([]));
    press["text"] = Value::Null;
    press["value"] = json!({"command": confirm(&commands)});
    let (status, _) = post(state, bearer(&fake), &press).await;
    assert_eq!(status, StatusCode::OK);
    let (done, _) = read_card(&reply(&fake, 2).await);
    assert!(
        done.contains("Incident 42 is assigned to Dana Example (dana@contoso.com)."),
        "{done}"
    );
    fake.server.verify().await;
    // The object id came from the roster: Graph was not asked.
    let graph = fake
        .server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|it| it.url.path().starts_with("/v1.0/"))
        .count();
    assert_eq!(graph, 0);
}

#[tokio::test]
async fn a_bot_name_typed_as_text_in_a_personal_chat_is_recognised() {
    let fake = Fake::start().await;
    let state = state(&fake, false).await;
    let body = personal_message(&fake, "act-1", "@Test Bot /status 42 active", "plain");
    let (status, _) = post(state, bearer(&fake), &body).await;
    assert_eq!(status, StatusCode::OK);
    let (card, commands) = read_card(&reply(&fake, 1).await);
    assert!(!card.contains("I could not read that command"), "{card}");
    assert!(card.contains("Set incident 42 to Active"), "{card}");
    assert!(commands.iter().any(|it| it.starts_with("/confirm ")));
}

#[tokio::test]
async fn html_text_is_normalised_before_it_is_read() {
    let fake = Fake::start().await;
    let state = state(&fake, false).await;
    let body = personal_message(
        &fake,
        "act-1",
        "<p>comment 42 blocked 10.0.0.5 &amp; 10.0.0.6&nbsp;&lt;see INC-7&gt;</p>",
        "xml",
    );
    let (status, _) = post(state, bearer(&fake), &body).await;
    assert_eq!(status, StatusCode::OK);
    let (card, commands) = read_card(&reply(&fake, 1).await);
    assert!(
        card.contains("Ana Example via sentinel-bot: blocked 10.0.0.5 & 10.0.0.6 <see INC-7>"),
        "{card}"
    );
    assert!(commands.iter().any(|it| it.starts_with("/confirm ")));
}

#[tokio::test]
async fn the_playground_user_is_told_to_assign_by_email() {
    let fake = Fake::start().await;
    let state = state(&fake, true).await;
    // What the Agents Playground sends for its default user (no Authorization header).
    let body = json!({
        "type": "message", "id": "act-1", "channelId": "msteams",
        "serviceUrl": fake.service_url(),
        "from": {"id": "user-id-0", "name": "Alex Wilber", "aadObjectId": "00000000-0000-0000-0000-0000000000020"},
        "recipient": {"id": "00000000-0000-0000-0000-00000000000011", "name": "Test Bot"},
        "conversation": {"id": "personal-chat-id", "conversationType": "personal", "tenantId": "00000000-0000-0000-0000-0000000000001"},
        "channelData": {"tenant": {"id": "00000000-0000-0000-0000-0000000000001"}},
        "textFormat": "plain",
        "text": "assign 42 me",
    });
    let (status, _) = post(state, None, &body).await;
    assert_eq!(status, StatusCode::OK);
    let activity = reply(&fake, 1).await;
    let (card, commands) = read_card(&activity);
    assert!(
        card.contains("You have no Entra ID identity in this chat")
            && card.contains("user-id-0")
            && card.contains("/assign 42 you@yourdomain.com"),
        "{card}"
    );
    // Code is shown in monospace, without the backticks (Teams would show them raw).
    assert!(!card.contains('`'), "{card}");
    let content = activity["attachments"][0]["content"].to_string();
    assert!(
        content.contains(r#"{"fontType":"Monospace","text":"user-id-0","type":"TextRun""#),
        "{content}"
    );
    assert!(!commands.iter().any(|it| it.starts_with("/confirm ")));
}
