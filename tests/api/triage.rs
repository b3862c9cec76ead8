//! Auto-triage end to end: the real Azure clients against a fake Log Analytics and Sentinel,
//! a real SQLite (and, when available, PostgreSQL) store, the webhook's secret check, and the
//! high-severity announcement through the wired Slack client.

use crate::azure::{INCIDENTS, WORKSPACE, query_path};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, TimeZone, Utc};
use sentinel_bot::advice::Advisor;
use sentinel_bot::app;
use sentinel_bot::channels::webhook::{self, WebhookState};
use sentinel_bot::config::Config;
use sentinel_bot::incident::{Incident, IncidentRow, Owner, Severity, Status, Tactic};
use sentinel_bot::sources::azure::log_analytics::to_log_analytics_response;
use sentinel_bot::store::Store;
use sentinel_bot::triage::{self, Outcome, Triage};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "hook-secret-0123456789";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap()
}

fn incident(number: u64, severity: Severity, status: Status) -> Incident {
    let created = now() - Duration::minutes(30) + Duration::seconds(number as i64);
    Incident {
        workspace: sentinel_bot::incident::Workspace::ONLY,
        number,
        id: format!("guid-{number}"),
        title: format!("Ransomware <!channel> on host {number}").into(),
        description: "Files renamed".into(),
        severity,
        status,
        classification: None,
        classification_comment: None,
        owner: Owner::default(),
        tactics: vec![Tactic::Impact],
        techniques: vec!["T1486".into()],
        alert_products: vec!["Microsoft Defender for Endpoint".into()],
        alert_ids: vec![],
        labels: vec![],
        created,
        first_modified: None,
        first_human_action: None,
        last_modified: created,
        closed: (status == Status::Closed).then_some(created),
        url: None,
    }
}

/// Log Analytics answers with `incidents`; Sentinel REST knows each of them.
async fn mount_sentinel(server: &MockServer, incidents: &[Incident]) {
    crate::azure::mount_token(server).await;
    let rows: Vec<IncidentRow> = incidents
        .iter()
        .map(|it| IncidentRow {
            time_generated: it.created,
            modified_by: None,
            incident: it.clone(),
        })
        .collect();
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(to_log_analytics_response(&rows)))
        .mount(server)
        .await;
    for it in incidents {
        let name = &it.id;
        Mock::given(method("GET"))
            .and(path(INCIDENTS))
            .and(query_param(
                "$filter",
                format!("properties/incidentNumber eq {}", it.number),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
                "id": format!("{INCIDENTS}/{name}"),
                "name": name,
                "etag": "\"e1\"",
                "properties": {
                    "incidentNumber": it.number,
                    "title": it.title,
                    "description": it.description,
                    "severity": it.severity.to_string(),
                    "status": it.status.to_string(),
                    "owner": {},
                    "labels": [],
                    "createdTimeUtc": it.created.to_rfc3339(),
                    "lastModifiedTimeUtc": it.created.to_rfc3339(),
                    "additionalData": {"alertsCount": 0, "tactics": ["Impact"], "alertProductNames": it.alert_products}
                }
            }]})))
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("{INCIDENTS}/{name}/alerts")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("{INCIDENTS}/{name}/entities")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"entities": []})))
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{INCIDENTS}/{name}/comments")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
            .mount(server)
            .await;
    }
}

/// Sentinel accepts comment PUTs.
async fn accept_comments(server: &MockServer) {
    Mock::given(method("PUT"))
        .and(path_regex(format!(
            r"^{INCIDENTS}/guid-\d+/comments/[0-9a-f-]{{36}}$"
        )))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"name": "c"})))
        .mount(server)
        .await;
}

/// The comment bodies Sentinel received, by incident resource name.
async fn comments(server: &MockServer) -> Vec<(String, String)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| {
            request.method.as_str() == "PUT" && request.url.path().contains("/comments/")
        })
        .map(|request| {
            let name = request.url.path()[INCIDENTS.len() + 1..]
                .split('/')
                .next()
                .unwrap()
                .to_string();
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            (
                name,
                body["properties"]["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn config(dir: &tempfile::TempDir, azure: &MockServer, slack: &MockServer) -> Config {
    let toml = format!(
        r#"
[azure]
tenant_id = "tenant-1"
client_id = "app-1"
client_secret = "s3cret"
subscription_id = "sub-1"
resource_group = "rg-soc"
workspace_name = "ws-soc"
workspace_id = "{WORKSPACE}"
use_graph = false
[azure.endpoints]
login = "{uri}"
log_analytics = "{uri}"
management = "{uri}"
graph = "{uri}"
imds = "{uri}"

[slack]
bot_token = "xoxb-test"
signing_secret = "s"
alert_channels = ["C-ALERTS"]
api_url = "{slack}"

[triage]
enabled = true
poll_seconds = 0
webhook_secret = "{SECRET}"

[store]
url = "sqlite://{db}"
"#,
        uri = azure.uri(),
        slack = slack.uri(),
        db = dir.path().join("bot.db").display(),
    );
    Config::from_sources(&toml, Vec::new()).unwrap()
}

async fn fake_slack() -> MockServer {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.1"})))
        .mount(&slack)
        .await;
    slack
}

/// Every `mrkdwn` text in a Block Kit value; `plain_text` never turns `<!channel>` into a mention.
fn mrkdwn_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("mrkdwn")
                && let Some(text) = map.get("text").and_then(Value::as_str)
            {
                out.push(text.to_string());
            }
            map.values().for_each(|inner| mrkdwn_texts(inner, out));
        }
        Value::Array(items) => items.iter().for_each(|inner| mrkdwn_texts(inner, out)),
        _ => {}
    }
}

fn hook(secret: Option<&str>, body: Value) -> Request<Body> {
    let mut request = Request::post("/api/triage").header("content-type", "application/json");
    if let Some(secret) = secret {
        request = request.header("authorization", format!("Bearer {secret}"));
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn one_new_incident_gets_one_comment_even_when_seen_twice() {
    let azure = MockServer::start().await;
    let slack = fake_slack().await;
    let high = incident(42, Severity::High, Status::New);
    let medium = incident(43, Severity::Medium, Status::New);
    let closed = incident(44, Severity::High, Status::Closed);
    mount_sentinel(&azure, &[high, medium, closed]).await;
    accept_comments(&azure).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, &azure, &slack);
    let app = app::build(&config, now()).await.unwrap();
    let triage = app.triage.clone().expect("triage is enabled");

    let first = triage.poll(now()).await.unwrap();
    assert_eq!((first.seen, first.commented, first.failed), (3, 2, 0));
    // The next poll sees the same incidents again (its window overlaps the last one).
    let second = triage.poll(now() + Duration::minutes(1)).await.unwrap();
    assert_eq!((second.seen, second.commented, second.failed), (3, 0, 0));
    // And the playbook's webhook reports the same incident too.
    let router = webhook::router(WebhookState {
        triage: triage.clone(),
        secret: SECRET.into(),
    });
    let response = router
        .oneshot(hook(
            Some(SECRET),
            json!({"object": {"properties": {"incidentNumber": 42}}}),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = serde_json::from_slice(
        &axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["outcome"], "already triaged");

    let written = comments(&azure).await;
    let mut names: Vec<&str> = written.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["guid-42", "guid-43"],
        "one comment each; none on the closed one"
    );
    let (_, message) = written.iter().find(|(name, _)| name == "guid-42").unwrap();
    assert!(
        message.starts_with(&format!("<p><b>{}</b>", triage::MARKER)),
        "{message}"
    );
    assert!(
        message.contains("(source: Offline MITRE ATT&amp;CK knowledge base (Impact))"),
        "{message}"
    );
    assert!(message.chars().count() <= sentinel_bot::bot::actions::MAX_COMMENT);

    // The watermark moved to the newest incident handled.
    assert_eq!(
        app.store.watermark(triage::WATERMARK).await.unwrap(),
        Some(incident(44, Severity::High, Status::Closed).created)
    );

    // Only the high-severity one was announced, once, with its buttons, and escaped.
    let posts: Vec<Value> = slack
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == "/chat.postMessage")
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["channel"], "C-ALERTS");
    let blocks = posts[0]["blocks"].to_string();
    assert!(blocks.contains("incident 42"), "{blocks}");
    assert!(
        blocks.contains("/recommend 42") && blocks.contains("/assign 42 me"),
        "{blocks}"
    );
    let mut mrkdwn = Vec::new();
    mrkdwn_texts(&posts[0]["blocks"], &mut mrkdwn);
    assert!(
        mrkdwn.iter().all(|text| !text.contains("<!")),
        "no mention reaches mrkdwn unescaped: {mrkdwn:?}"
    );
}

#[tokio::test]
async fn the_webhook_refuses_a_missing_or_wrong_secret_before_doing_any_work() {
    let azure = MockServer::start().await;
    let slack = fake_slack().await;
    mount_sentinel(&azure, &[incident(50, Severity::Low, Status::New)]).await;
    accept_comments(&azure).await;
    let dir = tempfile::tempdir().unwrap();
    let app = app::build(&config(&dir, &azure, &slack), now())
        .await
        .unwrap();
    let router = webhook::router(WebhookState {
        triage: app.triage.clone().unwrap(),
        secret: SECRET.into(),
    });

    for secret in [None, Some("wrong"), Some("hook-secret-012345678")] {
        let response = router
            .clone()
            .oneshot(hook(secret, json!({"incidentNumber": 50})))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{secret:?}");
    }
    assert!(
        azure.received_requests().await.unwrap().is_empty(),
        "nothing was asked of Azure"
    );

    let bad = router
        .clone()
        .oneshot(hook(Some(SECRET), json!({"incidentNumber": "50"})))
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let response = router
        .clone()
        .oneshot(hook(Some(SECRET), json!({"incidentNumber": 50})))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(comments(&azure).await.len(), 1);
    assert!(
        slack.received_requests().await.unwrap().is_empty(),
        "a low-severity incident is not announced"
    );
}

/// A triage job on the real Azure clients with quick retries.
async fn quick_triage(azure: &MockServer, store: Store) -> Triage {
    let source = Arc::new(crate::azure::source(azure).await);
    let advisor = Arc::new(Advisor::new(None, source.clone()));
    Triage::new(source, advisor, store, None)
}

#[tokio::test]
async fn a_failed_comment_is_tried_again_at_the_next_poll_and_written_once() {
    let azure = MockServer::start().await;
    let failed = incident(60, Severity::Medium, Status::New);
    mount_sentinel(&azure, std::slice::from_ref(&failed)).await;
    Mock::given(method("PUT"))
        .and(path_regex(r"/comments/"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&azure)
        .await;
    accept_comments(&azure).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&crate::store::sqlite_url(&dir))
        .await
        .unwrap();
    let triage = quick_triage(&azure, store.clone()).await;

    let first = triage.poll(now()).await.unwrap();
    assert_eq!((first.commented, first.failed), (0, 1));
    let watermark = store.watermark(triage::WATERMARK).await.unwrap().unwrap();
    assert!(
        watermark <= failed.created,
        "the watermark does not pass a failed incident"
    );
    let second = triage.poll(now() + Duration::minutes(1)).await.unwrap();
    assert_eq!((second.commented, second.failed), (1, 0));
    let third = triage.poll(now() + Duration::minutes(2)).await.unwrap();
    assert_eq!(third.commented, 0);
    // Three tries of the first write (same comment id, each refused with 503), then one accepted.
    let paths: Vec<String> = azure
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.method.as_str() == "PUT")
        .map(|request| request.url.path().to_string())
        .collect();
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert!(paths[..3].iter().all(|it| *it == paths[0]));
    assert_ne!(paths[3], paths[0]);
}

#[tokio::test]
async fn an_incident_that_already_carries_our_comment_is_left_alone() {
    let azure = MockServer::start().await;
    let it = incident(70, Severity::High, Status::Active);
    Mock::given(method("GET"))
        .and(path(format!("{INCIDENTS}/guid-70/comments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "name": "c0",
            "properties": {"message": format!("<p><b>{}</b> earlier</p>", triage::MARKER),
                           "createdTimeUtc": "2026-11-23T09:40:00Z"}
        }]})))
        .with_priority(1)
        .mount(&azure)
        .await;
    mount_sentinel(&azure, &[it]).await;
    accept_comments(&azure).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&crate::store::sqlite_url(&dir))
        .await
        .unwrap();
    let triage = quick_triage(&azure, store).await;
    assert_eq!(
        triage
            .incident(sentinel_bot::incident::IncidentKey::only(70), now())
            .await
            .unwrap(),
        Outcome::AlreadyTriaged
    );
    assert!(comments(&azure).await.is_empty());
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set SENTINEL_BOT_TEST_POSTGRES to run against PostgreSQL"
)]
async fn postgres_replicas_racing_on_one_incident_write_one_comment() {
    let url = crate::store::postgres_url().await;
    let azure = MockServer::start().await;
    mount_sentinel(&azure, &[incident(80, Severity::Medium, Status::New)]).await;
    accept_comments(&azure).await;
    let replica_a = quick_triage(&azure, Store::connect(&url).await.unwrap()).await;
    let replica_b = quick_triage(&azure, Store::connect(&url).await.unwrap()).await;
    let (a, b) = tokio::join!(replica_a.poll(now()), replica_b.poll(now()));
    let commented = a.unwrap().commented + b.unwrap().commented;
    assert_eq!(commented, 1);
    assert_eq!(comments(&azure).await.len(), 1);
}
