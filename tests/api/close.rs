//! `/close` against a fake Sentinel that answers like the Microsoft.SecurityInsights stable
//! spec: a wrong classification/reason pair is refused before anything is asked of Sentinel,
//! a reason alone implies its classification, and the PUT carries only writable properties.

use super::azure::{INCIDENTS, config, mount_token, quick_policy};
use sentinel_bot::bot::actions::{MemoryLedger, PendingAction};
use sentinel_bot::bot::permissions::Permissions;
use sentinel_bot::bot::{Bot, Request, Settings, User};
use sentinel_bot::incident::{Classification, ClassificationReason};
use sentinel_bot::reply::{Block, Reply};
use sentinel_bot::sources::azure::AzureSource;
use sentinel_bot::sources::azure::sentinel::WRITABLE;
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{bearer_token, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ANALYST: &str = "U-ANA";

/// Incident 5 as the stable spec's `GetIncidentById` example (2024-09-01) shapes it, still
/// Active, with a label as the service returns it (`labelType` is read-only).
fn incident_5(status: &str) -> Value {
    json!({
        "id": format!("{INCIDENTS}/73e01a99-5cd7-4139-a149-9f2736ff2ab5"),
        "name": "73e01a99-5cd7-4139-a149-9f2736ff2ab5",
        "type": "Microsoft.SecurityInsights/incidents",
        "etag": "\"0300bf09-0000-0000-0000-5c37296e0000\"",
        "properties": {
            "lastModifiedTimeUtc": "2019-01-01T13:15:30Z",
            "createdTimeUtc": "2019-01-01T13:15:30Z",
            "lastActivityTimeUtc": "2019-01-01T13:05:30Z",
            "firstActivityTimeUtc": "2019-01-01T13:00:30Z",
            "description": "This is a demo incident",
            "title": "My incident",
            "owner": {
                "objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70",
                "email": "john.doe@contoso.com",
                "userPrincipalName": "john@contoso.com",
                "assignedTo": "john doe"
            },
            "severity": "High",
            "status": status,
            "incidentUrl": format!("https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident{INCIDENTS}/73e01a99-5cd7-4139-a149-9f2736ff2ab5"),
            "incidentNumber": 5,
            "labels": [{"labelName": "vip", "labelType": "User"}],
            "providerName": "Azure Sentinel",
            "providerIncidentId": "5",
            "relatedAnalyticRuleIds": [
                "/subscriptions/sub-1/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/ws-soc/providers/Microsoft.SecurityInsights/alertRules/fab3d2d4-747f-46a7-8ef0-9c0be8112bf7"
            ],
            "additionalData": {
                "alertsCount": 0, "bookmarksCount": 0, "commentsCount": 3,
                "alertProductNames": [], "tactics": ["InitialAccess", "Persistence"]
            }
        }
    })
}

/// A bot on the real Azure source pointed at `server`, where `ANALYST` may act.
async fn bot(server: &MockServer) -> Bot {
    let azure = Arc::new(
        AzureSource::with_policy(&config(server), reqwest::Client::new(), quick_policy())
            .expect("azure"),
    );
    Bot {
        source: azure.clone(),
        intel: azure,
        ledger: Arc::new(MemoryLedger::default()),
        settings: Settings {
            permissions: Permissions {
                allowed_users: vec![ANALYST.to_string()],
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
            id: ANALYST.to_string(),
            name: Some("Ana".to_string()),
            ..User::default()
        },
        ..Request::default()
    }
}

fn alerts(reply: &Reply) -> Vec<&str> {
    reply
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Alert(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn facts(reply: &Reply) -> Vec<(String, String)> {
    reply
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Facts(facts) => Some(facts),
            _ => None,
        })
        .flatten()
        .map(|fact| (fact.label.clone(), fact.value.clone()))
        .collect()
}

#[tokio::test]
async fn a_wrong_pair_is_refused_before_confirmation_with_the_valid_reasons() {
    let server = MockServer::start().await;
    let bot = bot(&server).await;
    let now = chrono::Utc::now();

    let refused = bot
        .answer(&request("/close 5 TruePositive InaccurateData"), now)
        .await;

    assert_eq!(
        refused.title, "I could not read that command",
        "{refused:?}"
    );
    assert_eq!(
        alerts(&refused),
        vec![
            "InaccurateData is not a reason for TruePositive: TruePositive takes SuspiciousActivity."
        ]
    );
    assert!(
        refused
            .actions
            .iter()
            .all(|action| action.label != "Confirm")
    );
    let asked = server.received_requests().await.expect("recorded");
    assert!(asked.is_empty(), "nothing reaches Sentinel: {asked:?}");
}

#[tokio::test]
async fn a_reason_alone_closes_as_its_classification_with_only_writable_properties() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path(INCIDENTS))
        .and(query_param("api-version", "2024-09-01"))
        .and(query_param("$filter", "properties/incidentNumber eq 5"))
        .and(bearer_token("tok"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [incident_5("Active")]})),
        )
        .mount(&server)
        .await;
    let mut closed = incident_5("Closed");
    closed["properties"]["classification"] = json!("FalsePositive");
    closed["properties"]["classificationReason"] = json!("IncorrectAlertLogic");
    Mock::given(method("PUT"))
        .and(path(format!(
            "{INCIDENTS}/73e01a99-5cd7-4139-a149-9f2736ff2ab5"
        )))
        .and(query_param("api-version", "2024-09-01"))
        .and(header(
            "If-Match",
            "\"0300bf09-0000-0000-0000-5c37296e0000\"",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(closed))
        .expect(1)
        .mount(&server)
        .await;
    let bot = bot(&server).await;
    let now = chrono::Utc::now();

    let asked = bot
        .answer(&request("/close 5 IncorrectAlertLogic"), now)
        .await;
    assert_eq!(asked.title, "Please confirm", "{asked:?}");
    assert_eq!(
        facts(&asked),
        vec![(
            "Action".to_string(),
            "Close incident 5 as FalsePositive (IncorrectAlertLogic)".to_string()
        )]
    );
    let confirm = asked
        .actions
        .iter()
        .find(|action| action.label == "Confirm")
        .expect("a Confirm button")
        .command
        .clone();
    let done = bot.answer(&request(&confirm), now).await;
    assert_eq!(done.title, "Done", "{done:?}");

    let requests = server.received_requests().await.expect("recorded");
    let put = requests
        .iter()
        .find(|request| request.method.as_str() == "PUT")
        .expect("the close PUT");
    let body: Value = serde_json::from_slice(&put.body).expect("JSON body");
    assert_eq!(body["etag"], "\"0300bf09-0000-0000-0000-5c37296e0000\"");
    let properties = body["properties"].as_object().expect("properties");
    for read_only in [
        "providerName",
        "providerIncidentId",
        "incidentNumber",
        "createdTimeUtc",
        "lastModifiedTimeUtc",
        "incidentUrl",
        "relatedAnalyticRuleIds",
        "additionalData",
    ] {
        assert!(
            !properties.contains_key(read_only),
            "{read_only} is read-only: {body}"
        );
    }
    let unexpected: Vec<&String> = properties
        .keys()
        .filter(|key| !WRITABLE.contains(&key.as_str()))
        .collect();
    assert!(unexpected.is_empty(), "not writable: {unexpected:?}");
    assert_eq!(
        body["properties"],
        json!({
            "title": "My incident",
            "description": "This is a demo incident",
            "severity": "High",
            "status": "Closed",
            "classification": "FalsePositive",
            "classificationReason": "IncorrectAlertLogic",
            "owner": {
                "objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70",
                "email": "john.doe@contoso.com",
                "userPrincipalName": "john@contoso.com",
                "assignedTo": "john doe"
            },
            "labels": [{"labelName": "vip"}],
            "firstActivityTimeUtc": "2019-01-01T13:00:30Z",
            "lastActivityTimeUtc": "2019-01-01T13:05:30Z"
        })
    );
}

#[test]
fn a_pending_close_stored_with_its_reason_as_text_reads_back_the_same() {
    // Pending closes were stored with the reason as a string; the names are Sentinel's, so a
    // confirmation asked for before an upgrade still runs after it.
    let stored = r#"{"Close":{"number":5,"classification":"FalsePositive","reason":"InaccurateData","comment":"test mailbox"}}"#;
    let action: PendingAction = serde_json::from_str(stored).expect("reads");
    assert_eq!(
        action,
        PendingAction::Close {
            number: 5,
            workspace: sentinel_bot::incident::Workspace::ONLY,
            classification: Classification::FalsePositive,
            reason: Some(ClassificationReason::InaccurateData),
            comment: Some("test mailbox".to_string()),
        }
    );
    assert_eq!(serde_json::to_string(&action).expect("writes"), stored);
}
