//! Several workspaces (MSSP): an incident's identity is (workspace, number), from the Log
//! Analytics rows (whose `TenantId` is the row's workspace id) through the chat answers to
//! the Sentinel REST path each action goes to and the triage marks. Real Azure clients
//! against fakes on 127.0.0.1 answering like Log Analytics and Microsoft.SecurityInsights;
//! a real SQLite store.

use crate::azure::{WORKSPACE, config, mount_token, query_path, quick_policy, week};
use chrono::{DateTime, TimeZone, Utc};
use sentinel_bot::advice::Advisor;
use sentinel_bot::bot::actions::MemoryLedger;
use sentinel_bot::bot::permissions::Permissions;
use sentinel_bot::bot::{Bot, Request, Settings, User};
use sentinel_bot::config::{AzureConfig, ExtraWorkspace};
use sentinel_bot::incident::{IncidentRef, Severity};
use sentinel_bot::reply::{Block, Reply};
use sentinel_bot::sources::azure::AzureSource;
use sentinel_bot::sources::{IncidentSource, Located};
use sentinel_bot::store::Store;
use sentinel_bot::triage::Triage;
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{body_partial_json, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The second workspace's id (the main one, contoso, is `WORKSPACE`).
const FABRIKAM: &str = "33333333-3333-3333-3333-333333333333";
/// A third workspace listed only by id (`extra_workspace_ids`): queried, never acted on.
const QUERY_ONLY: &str = "44444444-4444-4444-4444-444444444444";
const CONTOSO_INCIDENTS: &str = "/subscriptions/sub-1/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/ws-contoso/providers/Microsoft.SecurityInsights/incidents";
const FABRIKAM_INCIDENTS: &str = "/subscriptions/sub-2/resourceGroups/rg-fabrikam/providers/Microsoft.OperationalInsights/workspaces/ws-fabrikam/providers/Microsoft.SecurityInsights/incidents";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
}

/// contoso (the main workspace), fabrikam in another subscription and resource group, and
/// one workspace listed only by id.
fn settings(server: &MockServer) -> AzureConfig {
    let mut settings = config(server);
    settings.workspace_name = "ws-contoso".into();
    settings.short_name = Some("contoso".into());
    settings.extra_workspaces = vec![ExtraWorkspace {
        id: FABRIKAM.into(),
        name: "ws-fabrikam".into(),
        subscription_id: Some("sub-2".into()),
        resource_group: Some("rg-fabrikam".into()),
        short_name: Some("fabrikam".into()),
    }];
    settings.extra_workspace_ids = vec![QUERY_ONLY.into()];
    settings
}

async fn source(server: &MockServer) -> Arc<AzureSource> {
    mount_token(server).await;
    Arc::new(
        AzureSource::with_policy(&settings(server), reqwest::Client::new(), quick_policy())
            .expect("source builds"),
    )
}

fn bot(source: Arc<AzureSource>) -> Bot {
    Bot {
        source: source.clone(),
        intel: source,
        ledger: Arc::new(MemoryLedger::default()),
        settings: Settings {
            permissions: Permissions {
                allowed_users: vec!["U-ANALYST".to_string()],
                ..Permissions::default()
            },
            ..Settings::default()
        },
        advisor: None,
    }
}

fn request(text: &str) -> Request {
    Request {
        text: text.to_string(),
        user: User {
            id: "U-ANALYST".to_string(),
            ..User::default()
        },
        ..Request::default()
    }
}

/// A `SecurityIncident` row of the cross-workspace answer, shaped like the fixture (itself the
/// Log Analytics query API's shape): the fixture's untouched incident with another workspace,
/// number, name, title and severity.
fn row(template: &Value, tenant: &str, name: &str, title: &str, severity: &str) -> Value {
    let columns = template["tables"][0]["columns"]
        .as_array()
        .expect("columns");
    let mut row = template["tables"][0]["rows"][1].clone();
    for (index, column) in columns.iter().enumerate() {
        let value = match column["name"].as_str().expect("name") {
            "TenantId" => json!(tenant),
            "IncidentNumber" => json!(5),
            "IncidentName" => json!(name),
            "Title" => json!(title),
            "Severity" => json!(severity),
            _ => continue,
        };
        row[index] = value;
    }
    row
}

/// Log Analytics answers every query with incident 5 of contoso (High) and of fabrikam (Low).
async fn mount_log_analytics(server: &MockServer) {
    let file = format!(
        "{}/tests/fixtures/azure/security_incident_query.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut answer: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("fixture")).expect("JSON");
    let rows = vec![
        row(&answer, WORKSPACE, "guid-c5", "Ransomware on FS01", "High"),
        row(&answer, FABRIKAM, "guid-f5", "Password spray", "Low"),
    ];
    answer["tables"][0]["rows"] = json!(rows);
    Mock::given(method("POST"))
        .and(path(query_path()))
        .and(body_partial_json(
            json!({"workspaces": [WORKSPACE, FABRIKAM, QUERY_ONLY]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(server)
        .await;
}

/// The incident list answer for `$filter=properties/incidentNumber eq 5` in one workspace,
/// shaped like the Microsoft.SecurityInsights Incidents_Get example.
fn incident_5(incidents: &str, name: &str, title: &str, severity: &str) -> Value {
    json!({"value": [{
        "id": format!("{incidents}/{name}"),
        "name": name,
        "etag": "\"0300bf09-0000-0000-0000-5c37296e0000\"",
        "type": "Microsoft.SecurityInsights/Incidents",
        "properties": {
            "title": title,
            "description": "",
            "severity": severity,
            "status": "New",
            "owner": {"objectId": null, "email": null, "assignedTo": null, "userPrincipalName": null},
            "labels": [],
            "firstActivityTimeUtc": "2026-11-19T09:50:00Z",
            "lastActivityTimeUtc": "2026-11-19T09:55:00Z",
            "lastModifiedTimeUtc": "2026-11-19T10:00:00Z",
            "createdTimeUtc": "2026-11-19T10:00:00Z",
            "incidentNumber": 5,
            "additionalData": {"alertsCount": 0, "bookmarksCount": 0, "commentsCount": 0,
                               "alertProductNames": [], "tactics": ["Impact"]},
            "relatedAnalyticRuleIds": [],
            "incidentUrl": format!("https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident{incidents}/{name}"),
            "providerName": "Azure Sentinel",
            "providerIncidentId": "5"
        }
    }]})
}

/// Sentinel REST of both workspaces knows its incident 5, with no alerts, entities or comments.
async fn mount_sentinel(server: &MockServer) {
    for (incidents, name, title, severity) in [
        (CONTOSO_INCIDENTS, "guid-c5", "Ransomware on FS01", "High"),
        (FABRIKAM_INCIDENTS, "guid-f5", "Password spray", "Low"),
    ] {
        Mock::given(method("GET"))
            .and(path(incidents))
            .and(query_param("$filter", "properties/incidentNumber eq 5"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(incident_5(incidents, name, title, severity)),
            )
            .mount(server)
            .await;
        for (verb, part, body) in [
            ("POST", "alerts", json!({"value": []})),
            ("POST", "entities", json!({"entities": []})),
            ("GET", "comments", json!({"value": []})),
        ] {
            Mock::given(method(verb))
                .and(path(format!("{incidents}/{name}/{part}")))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(server)
                .await;
        }
    }
}

/// Paths of the requests `server` received with `verb`.
async fn paths(server: &MockServer, verb: &str) -> Vec<String> {
    server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|request| request.method.as_str() == verb)
        .map(|request| request.url.path().to_string())
        .collect()
}

fn actions(reply: &Reply) -> Vec<&str> {
    reply
        .actions
        .iter()
        .map(|action| action.command.as_str())
        .collect()
}

fn texts(reply: &Reply) -> String {
    let mut lines = vec![reply.title.clone()];
    for block in &reply.blocks {
        match block {
            Block::Text(text) | Block::Alert(text) | Block::Note(text) => lines.push(text.clone()),
            Block::Facts(facts) => {
                lines.extend(facts.iter().map(|it| format!("{}: {}", it.label, it.value)));
            }
            Block::Table(table) => lines.extend(table.rows.iter().map(|row| {
                row.iter()
                    .map(|cell| cell.text.clone())
                    .collect::<Vec<_>>()
                    .join(" | ")
            })),
            _ => {}
        }
    }
    lines.join("\n")
}

#[tokio::test]
async fn two_workspaces_incident_5_are_two_incidents_in_the_counts() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    mount_log_analytics(&server).await;

    let incidents = source.incidents(week()).await.expect("incidents");
    let keys: Vec<String> = incidents
        .incidents
        .iter()
        .map(|it| it.key().to_string())
        .collect();
    assert_eq!(keys, vec!["5@contoso", "5@fabrikam"]);

    let bot = bot(source);
    let facts = bot
        .period_facts(week(), now(), false, Default::default())
        .await
        .expect("facts");
    assert_eq!(facts.created.total, 2);
    assert_eq!(facts.created.by_severity[Severity::High.index()], 1);
    assert_eq!(facts.created.by_severity[Severity::Low.index()], 1);
    assert_eq!(facts.backlog.open, 2);

    // The open High list names the workspace, in the form /incident reads back.
    let reply = bot.answer(&request("/incidents week"), now()).await;
    let text = texts(&reply);
    assert!(
        text.contains("5@contoso | Ransomware on FS01 | High"),
        "{text}"
    );
}

#[tokio::test]
async fn a_bare_number_in_two_workspaces_asks_which_one() {
    let server = MockServer::start().await;
    let bot = bot(source(&server).await);
    mount_sentinel(&server).await;

    let reply = bot.answer(&request("/incident 5"), now()).await;
    assert_eq!(reply.title, "Which incident 5?");
    let text = texts(&reply);
    assert!(
        text.contains("Incident 5 is in 2 workspaces: which one? Type the command again with `5@contoso` or `5@fabrikam`."),
        "{text}"
    );
    assert_eq!(
        actions(&reply),
        ["/incident 5@contoso", "/incident 5@fabrikam"]
    );
    // The query-only workspace has no REST location, so it was not asked.
    let asked = paths(&server, "GET").await;
    assert!(
        asked
            .iter()
            .all(|it| it == CONTOSO_INCIDENTS || it == FABRIKAM_INCIDENTS),
        "{asked:?}"
    );

    let reply = bot.answer(&request("/recommend 5"), now()).await;
    assert_eq!(
        actions(&reply),
        ["/recommend 5@contoso", "/recommend 5@fabrikam"]
    );
}

#[tokio::test]
async fn an_incident_named_with_its_workspace_is_read_from_that_workspace_only() {
    let server = MockServer::start().await;
    let bot = bot(source(&server).await);
    mount_sentinel(&server).await;
    let reply = bot.answer(&request("/incident 5@contoso"), now()).await;
    assert_eq!(reply.title, "Incident 5@contoso: Ransomware on FS01");
    assert!(
        actions(&reply).contains(&"/recommend 5@contoso"),
        "{:?}",
        actions(&reply)
    );
    assert!(
        actions(&reply).contains(&"/assign 5@contoso me"),
        "{:?}",
        actions(&reply)
    );
    let asked = paths(&server, "GET").await;
    assert!(
        !asked.iter().any(|it| it.starts_with(FABRIKAM_INCIDENTS)),
        "{asked:?}"
    );

    // The workspace's resource name works too; an unknown name lists the configured ones.
    let reply = bot.answer(&request("/incident 5@WS-FABRIKAM"), now()).await;
    assert_eq!(reply.title, "Incident 5@fabrikam: Password spray");
    let reply = bot.answer(&request("/incident 5@northwind"), now()).await;
    assert_eq!(
        texts(&reply),
        "Unknown workspace\nNo workspace is called `northwind`; the configured ones are `contoso`, `fabrikam`, `44444444`."
    );
}

#[tokio::test]
async fn closing_5_at_fabrikam_writes_to_fabrikams_arm_path_only() {
    let server = MockServer::start().await;
    let bot = bot(source(&server).await);
    mount_sentinel(&server).await;
    Mock::given(method("PUT"))
        .and(path(format!("{FABRIKAM_INCIDENTS}/guid-f5")))
        .and(query_param("api-version", "2024-09-01"))
        .and(body_partial_json(json!({
            "properties": {"status": "Closed", "classification": "FalsePositive"}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            incident_5(FABRIKAM_INCIDENTS, "guid-f5", "Password spray", "Low")["value"][0].clone(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path_regex(format!("^{CONTOSO_INCIDENTS}")))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;

    let proposal = bot
        .answer(
            &request("/close 5@fabrikam FalsePositive noisy rule"),
            now(),
        )
        .await;
    assert!(
        texts(&proposal).contains("Close incident 5@fabrikam as FalsePositive"),
        "{}",
        texts(&proposal)
    );
    let confirm = actions(&proposal)
        .into_iter()
        .find(|it| it.starts_with("/confirm "))
        .expect("a confirm button")
        .to_string();
    let done = bot.answer(&request(&confirm), now()).await;
    assert_eq!(done.title, "Done", "{}", texts(&done));
    assert!(texts(&done).contains("Incident 5@fabrikam is closed as FalsePositive."));
    assert_eq!(actions(&done), ["/incident 5@fabrikam"]);
    server.verify().await;

    // A bare number in both workspaces is asked about before any confirmation is offered.
    let asked = bot.answer(&request("/close 5 FalsePositive"), now()).await;
    assert_eq!(asked.title, "Which incident 5?");
    assert!(!actions(&asked).iter().any(|it| it.starts_with("/confirm ")));
}

#[tokio::test]
async fn a_query_only_workspace_says_its_arm_location_is_not_configured() {
    let server = MockServer::start().await;
    let bot = bot(source(&server).await);
    for text in ["/incident 5@44444444", "/close 5@44444444 FalsePositive"] {
        let reply = bot.answer(&request(text), now()).await;
        let said = texts(&reply);
        assert!(
            said.contains("workspace `44444444` is configured for queries only (azure.extra_workspace_ids), so its ARM location is not configured"),
            "{text}: {said}"
        );
        assert!(!actions(&reply).iter().any(|it| it.starts_with("/confirm ")));
    }
    assert!(paths(&server, "PUT").await.is_empty());
}

#[tokio::test]
async fn triage_marks_and_comments_each_workspaces_incident_5_once() {
    let dir = tempfile::tempdir().expect("dir");
    triage_each_workspaces_incident_5_once(&crate::store::sqlite_url(&dir)).await;
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set SENTINEL_BOT_TEST_POSTGRES to run against PostgreSQL"
)]
async fn postgres_triage_marks_each_workspaces_incident_5_once() {
    triage_each_workspaces_incident_5_once(&crate::store::postgres_url().await).await;
}

/// Two workspaces' incident 5 each get one triage comment, at their own ARM path, and a
/// mark of their own in the store at `store_url`.
async fn triage_each_workspaces_incident_5_once(store_url: &str) {
    let server = MockServer::start().await;
    let source = source(&server).await;
    mount_log_analytics(&server).await;
    mount_sentinel(&server).await;
    Mock::given(method("PUT"))
        .and(path_regex(r"/incidents/guid-[cf]5/comments/[0-9a-f-]{36}$"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"name": "c"})))
        .mount(&server)
        .await;
    let store = Store::connect(store_url).await.expect("store");
    let advisor = Arc::new(Advisor::new(None, source.clone()));
    let triage = Triage::new(source.clone(), advisor, store, None);
    let at = Utc.with_ymd_and_hms(2026, 11, 19, 11, 0, 0).unwrap();

    let first = triage.poll(at).await.expect("poll");
    assert_eq!(
        (first.seen, first.commented, first.failed),
        (2, 2, 0),
        "{first:?}"
    );
    let mut written: Vec<String> = paths(&server, "PUT")
        .await
        .iter()
        .map(|it| it.rsplit_once("/comments/").expect("comment").0.to_string())
        .collect();
    written.sort();
    assert_eq!(
        written,
        vec![
            format!("{CONTOSO_INCIDENTS}/guid-c5"),
            format!("{FABRIKAM_INCIDENTS}/guid-f5")
        ]
    );

    // Both marks hold: a second poll, and the webhook naming one, write nothing more.
    let second = triage.poll(at).await.expect("poll");
    assert_eq!(second.commented, 0, "{second:?}");
    let fabrikam = triage
        .locate(&IncidentRef {
            number: 5,
            workspace: Some(FABRIKAM.to_string()),
        })
        .await
        .expect("located");
    assert_eq!(fabrikam.to_string(), "5@fabrikam");
    assert_eq!(
        triage.incident(fabrikam, at).await.expect("triage"),
        sentinel_bot::triage::Outcome::AlreadyTriaged
    );
    assert_eq!(paths(&server, "PUT").await.len(), 2);
    // A bare number both workspaces have cannot be triaged without its workspace.
    assert!(matches!(
        source.locate(&IncidentRef::from(5)).await,
        Ok(Located::Several(found)) if found.len() == 2
    ));
}
