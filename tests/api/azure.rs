//! The Azure sources against wiremock servers that answer like Entra ID, Log Analytics,
//! Sentinel REST and Microsoft Graph.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sentinel_bot::config::{AzureAuth, AzureConfig, AzureEndpoints};
use sentinel_bot::incident::{
    Classification, ClassificationReason, Incident, IncidentRow, Owner, Severity, Status, Tactic,
    collapse,
};
use sentinel_bot::period::Window;
use sentinel_bot::sources::azure::log_analytics::to_log_analytics_response;
use sentinel_bot::sources::azure::{AzureSource, RetryPolicy};
use sentinel_bot::sources::{
    IncidentSource, IncidentUpdate, NewIncident, RecommendedAction, SourceError, ThreatIntel,
};
use serde_json::{Value, json};
use std::time::Duration as StdDuration;
use wiremock::matchers::{
    bearer_token, body_json, body_partial_json, header, method, path, path_regex, query_param,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const WORKSPACE: &str = "11111111-1111-1111-1111-111111111111";
pub const INCIDENTS: &str = "/subscriptions/sub-1/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/ws-soc/providers/Microsoft.SecurityInsights/incidents";

pub fn config(server: &MockServer) -> AzureConfig {
    AzureConfig {
        tenant_id: "tenant-1".into(),
        client_id: Some("app-1".into()),
        client_secret: Some("s3cret".into()),
        auth: AzureAuth::ClientSecret,
        federated_token_file: None,
        subscription_id: "sub-1".into(),
        resource_group: "rg-soc".into(),
        workspace_name: "ws-soc".into(),
        workspace_id: WORKSPACE.into(),
        short_name: None,
        extra_workspace_ids: Vec::new(),
        extra_workspaces: Vec::new(),
        use_graph: true,
        // These fakes answer incident queries only; `tests/api/aggregate.rs` answers the
        // estimate and the aggregates.
        aggregate_above: 0,
        endpoints: AzureEndpoints {
            login: server.uri(),
            log_analytics: server.uri(),
            management: server.uri(),
            graph: server.uri(),
            imds: server.uri(),
        },
    }
}

pub fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: StdDuration::from_millis(1),
        max_delay: StdDuration::from_millis(20),
        timeout: StdDuration::from_secs(10),
    }
}

/// A fake Entra token endpoint for `tenant-1` that hands out `tok` for an hour.
pub(crate) async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"token_type":"Bearer","expires_in":3599,"access_token":"tok"}),
            ),
        )
        .mount(server)
        .await;
}

/// A fake Entra that hands out `tok` for an hour, and the source pointed at `server`.
pub(crate) async fn source(server: &MockServer) -> AzureSource {
    mount_token(server).await;
    AzureSource::with_policy(&config(server), reqwest::Client::new(), quick_policy())
        .expect("source builds")
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

pub(crate) fn week() -> Window {
    Window {
        start: time("2026-11-16T00:00:00Z"),
        end: time("2026-11-23T00:00:00Z"),
    }
}

pub(crate) fn query_path() -> String {
    format!("/v1/workspaces/{WORKSPACE}/query")
}

fn fixture(name: &str) -> Value {
    let file = format!("{}/tests/fixtures/azure/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(file).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

#[tokio::test]
async fn a_full_log_analytics_answer_becomes_incidents_from_one_cross_workspace_query() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let mut settings = config(&server);
    settings.extra_workspace_ids = vec!["22222222-2222-2222-2222-222222222222".into()];
    let source = AzureSource::with_policy(&settings, reqwest::Client::new(), quick_policy())
        .expect("source builds");
    Mock::given(method("POST"))
        .and(path(query_path()))
        .and(bearer_token("tok"))
        .and(body_partial_json(json!({
            "timespan": "2026-08-25T00:00:00Z/2026-11-23T00:00:00Z",
            "workspaces": [WORKSPACE, "22222222-2222-2222-2222-222222222222"]
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("security_incident_query.json")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let incidents = source.incidents(week()).await.expect("incidents").incidents;

    let requests = server.received_requests().await.expect("recorded");
    let query_request = requests
        .iter()
        .find(|request| request.url.path() == query_path())
        .expect("query sent");
    let body: Value = serde_json::from_slice(&query_request.body).expect("JSON body");
    let query = body["query"].as_str().expect("query text");
    assert!(query.contains("summarize arg_max(TimeGenerated, *) by TenantId, IncidentNumber"));
    assert!(query.contains("CreatedTime >= datetime(2026-11-16T00:00:00.000Z)"));

    // Each row's TenantId names its workspace: the main one by its resource name, the one
    // listed only by id by its id's first group.
    let keys: Vec<String> = incidents.iter().map(|it| it.key().to_string()).collect();
    assert_eq!(keys, vec!["7@22222222", "101@ws-soc", "102@ws-soc"]);
    let phishing = &incidents[1];
    assert_eq!(
        phishing.title,
        "Multi-stage attack involving phishing <@U123>"
    );
    assert_eq!(phishing.severity, Severity::High);
    assert_eq!(phishing.status, Status::Closed);
    assert_eq!(phishing.classification, Some(Classification::TruePositive));
    assert_eq!(
        phishing.classification_comment.as_deref(),
        Some("Mailbox cleaned")
    );
    assert_eq!(
        phishing.owner,
        Owner {
            name: Some("Dana Analyst".into()),
            email: Some("dana@contoso.com".into()),
            object_id: Some("5e2d".into()),
        }
    );
    assert_eq!(
        phishing.tactics,
        vec![Tactic::InitialAccess, Tactic::Execution]
    );
    assert_eq!(
        phishing.techniques,
        vec!["T1566".to_string(), "T1204".to_string()]
    );
    assert_eq!(phishing.alert_ids.len(), 2);
    assert_eq!(phishing.labels, vec!["phishing".to_string()]);
    assert_eq!(phishing.created, time("2026-11-17T08:00:00Z"));
    // FirstModifiedTime (the workbook's triage) and the query's first change by a person.
    assert_eq!(phishing.first_modified, Some(time("2026-11-17T08:20:00Z")));
    assert_eq!(
        phishing.first_human_action,
        Some(time("2026-11-17T08:45:00Z"))
    );
    assert_eq!(phishing.closed, Some(time("2026-11-18T09:30:00Z")));
    assert_eq!(
        phishing.url.as_deref(),
        Some("https://security.microsoft.com/incidents/9001?tid=11111111")
    );

    let untouched = &incidents[2];
    assert_eq!(untouched.status, Status::New);
    assert!(!untouched.owner.is_assigned());
    assert_eq!(untouched.first_modified, None);
    assert_eq!(untouched.first_human_action, None);
    assert_eq!(untouched.closed, None);

    // "Critical" is no Sentinel severity: the field falls back, the incident stays.
    assert_eq!(incidents[0].severity, Severity::Informational);
    assert_eq!(
        incidents[0].owner.email.as_deref(),
        Some("sam@fabrikam.com")
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({"error":{"code":"TooManyRequests","message":"slow down"}})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("security_incident_query.json")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let incidents = source
        .incidents(week())
        .await
        .expect("second attempt succeeds")
        .incidents;
    assert_eq!(incidents.len(), 3);
}

#[tokio::test]
async fn repeated_500s_end_in_a_clear_error_after_the_allowed_attempts() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "error": {"code": "InternalServerError", "message": "The service is unavailable"}
        })))
        .expect(3)
        .mount(&server)
        .await;

    let error = source.incidents(week()).await.expect_err("gives up");
    let SourceError::Failed { system, reason } = &error else {
        panic!("expected Failed, got {error:?}");
    };
    assert_eq!(*system, "Log Analytics");
    assert!(reason.contains("gave up after 3 attempts"), "{reason}");
    assert!(reason.contains("500"), "{reason}");
    assert!(
        reason.contains("InternalServerError: The service is unavailable"),
        "{reason}"
    );
    assert!(!error.to_string().contains("tok"), "{error}");
}

#[tokio::test]
async fn malformed_json_is_a_clear_error() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/json")
                .set_body_string(r#"{"tables":[{"name":"PrimaryResult","columns":[{"#),
        )
        .mount(&server)
        .await;

    let error = source.incidents(week()).await.expect_err("unreadable");
    let text = error.to_string();
    assert!(
        text.starts_with("Log Analytics failed: the query response is not the expected JSON"),
        "{text}"
    );
}

#[tokio::test]
async fn a_partial_answer_fails_rather_than_report_wrong_figures() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    let mut body = fixture("security_incident_query.json");
    body["error"] = json!({
        "code": "PartialError",
        "message": "There were some errors when processing your query.",
        "innererror": {"code": "EngineError", "message": "Query exceeded the memory limit"}
    });
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;

    let error = source.incidents(week()).await.expect_err("partial");
    let text = error.to_string();
    assert!(text.contains("only part of the data"), "{text}");
    assert!(text.contains("Query exceeded the memory limit"), "{text}");
}

fn generated_rows(count: u64) -> Vec<IncidentRow> {
    let origin = Utc
        .with_ymd_and_hms(2026, 11, 16, 0, 0, 0)
        .single()
        .expect("origin");
    (1..=count)
        .map(|number| {
            let created = origin + Duration::seconds(i64::try_from(number * 37).expect("fits"));
            let status = Status::ALL[(number % 3) as usize];
            let triaged = status != Status::New;
            let incident = Incident {
                workspace: sentinel_bot::incident::Workspace::ONLY,
                number,
                id: format!("00000000-0000-4000-8000-{number:012}"),
                title: format!("Incident {number} \"quoted\" <b>").into(),
                description: "line one\nline two".into(),
                severity: Severity::ALL[(number % 4) as usize],
                status,
                classification: (status == Status::Closed).then_some(Classification::FalsePositive),
                classification_comment: None,
                owner: if triaged {
                    Owner {
                        name: Some("Dana".into()),
                        email: Some("dana@contoso.com".into()),
                        object_id: Some("oid".into()),
                    }
                } else {
                    Owner::default()
                },
                tactics: vec![Tactic::KNOWN[(number % 17) as usize].clone()],
                techniques: vec!["T1078".into()],
                alert_products: vec!["Microsoft Defender for Endpoint".into()],
                alert_ids: vec![format!("alert-{number}")],
                labels: Vec::new(),
                created,
                first_modified: triaged.then(|| created + Duration::minutes(10)),
                first_human_action: triaged.then(|| created + Duration::minutes(10)),
                last_modified: created + Duration::hours(1),
                closed: (status == Status::Closed).then(|| created + Duration::hours(1)),
                url: Some(format!("https://portal.azure.com/#incident/{number}")),
            };
            IncidentRow {
                time_generated: created + Duration::hours(1),
                modified_by: None,
                incident,
            }
        })
        .collect()
}

#[tokio::test]
async fn ten_thousand_incidents_are_parsed_exactly() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    let rows = generated_rows(10_000);
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(to_log_analytics_response(&rows)))
        .mount(&server)
        .await;

    let incidents = source.incidents(week()).await.expect("parses").incidents;
    assert_eq!(incidents.len(), 10_000);
    assert_eq!(incidents, collapse(rows));
}

/// The list answer for `$filter=properties/incidentNumber eq 42`.
pub(crate) fn incident_resource(status: &str) -> Value {
    json!({
        "id": format!("{INCIDENTS}/guid-42"),
        "name": "guid-42",
        "etag": "\"etag-from-server\"",
        "type": "Microsoft.SecurityInsights/Incidents",
        "properties": {
            "incidentNumber": 42,
            "title": "Phishing wave",
            "description": "Users got mail",
            "severity": "High",
            "status": status,
            "owner": {"objectId": null, "email": null, "assignedTo": null, "userPrincipalName": null},
            "labels": [],
            "createdTimeUtc": "2026-11-20T08:00:00Z",
            "lastModifiedTimeUtc": "2026-11-20T09:00:00Z",
            "incidentUrl": "https://portal.azure.com/#incident/42",
            "additionalData": {"alertsCount": 1, "tactics": ["InitialAccess"], "alertProductNames": ["Office 365"]}
        }
    })
}

pub(crate) async fn mount_lookup(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(INCIDENTS))
        .and(query_param("api-version", "2024-09-01"))
        .and(query_param("$filter", "properties/incidentNumber eq 42"))
        .and(bearer_token("tok"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [incident_resource("Active")]})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_comment_is_put_with_the_api_version_and_message_body() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    mount_lookup(&server).await;
    Mock::given(method("PUT"))
        .and(path_regex(format!(
            r"^{INCIDENTS}/guid-42/comments/[0-9a-f-]{{36}}$"
        )))
        .and(query_param("api-version", "2024-09-01"))
        .and(bearer_token("tok"))
        .and(wiremock::matchers::body_json(
            json!({"properties": {"message": "Triage: likely phishing"}}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "name": "c1", "properties": {"message": "Triage: likely phishing", "createdTimeUtc": "2026-11-20T10:00:00Z"}
        })))
        .expect(1)
        .mount(&server)
        .await;

    source
        .add_comment(
            sentinel_bot::incident::IncidentKey::only(42),
            "Triage: likely phishing",
        )
        .await
        .expect("comment added");
}

#[tokio::test]
async fn an_update_carries_the_etag_in_header_and_body_and_the_changed_fields() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    mount_lookup(&server).await;
    let mut closed = incident_resource("Closed");
    closed["properties"]["classification"] = json!("FalsePositive");
    Mock::given(method("PUT"))
        .and(path(format!("{INCIDENTS}/guid-42")))
        .and(query_param("api-version", "2024-09-01"))
        .and(header("If-Match", "\"etag-from-chat\""))
        .and(body_partial_json(json!({
            "etag": "\"etag-from-chat\"",
            "properties": {
                "title": "Phishing wave",
                "severity": "High",
                "status": "Closed",
                "classification": "FalsePositive",
                "classificationReason": "InaccurateData",
                "classificationComment": "Test mailbox",
                "owner": {"assignedTo": "Dana", "email": "dana@contoso.com", "objectId": "oid"}
            }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(closed))
        .expect(1)
        .mount(&server)
        .await;

    let update = IncidentUpdate {
        status: Some(Status::Closed),
        owner: Some(Owner {
            name: Some("Dana".into()),
            email: Some("dana@contoso.com".into()),
            object_id: Some("oid".into()),
        }),
        severity: None,
        classification: Some(Classification::FalsePositive),
        classification_comment: Some("Test mailbox".into()),
        classification_reason: Some(ClassificationReason::InaccurateData),
    };
    let incident = source
        .update(
            sentinel_bot::incident::IncidentKey::only(42),
            &update,
            Some("\"etag-from-chat\""),
        )
        .await
        .expect("updated");
    assert_eq!(incident.status, Status::Closed);
    assert_eq!(incident.classification, Some(Classification::FalsePositive));

    let requests = server.received_requests().await.expect("recorded");
    let put = requests
        .iter()
        .find(|request| request.method.as_str() == "PUT")
        .expect("PUT sent");
    let body: Value = serde_json::from_slice(&put.body).expect("JSON");
    assert!(
        body["properties"].get("incidentNumber").is_none(),
        "read-only fields are dropped"
    );
    assert!(body["properties"].get("additionalData").is_none());
}

#[tokio::test]
async fn a_stale_etag_is_a_conflict() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    mount_lookup(&server).await;
    Mock::given(method("PUT"))
        .and(path(format!("{INCIDENTS}/guid-42")))
        .respond_with(ResponseTemplate::new(412).set_body_json(json!({
            "error": {"code": "PreconditionFailed", "message": "etag mismatch"}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let update = IncidentUpdate {
        status: Some(Status::Active),
        ..IncidentUpdate::default()
    };
    let error = source
        .update(
            sentinel_bot::incident::IncidentKey::only(42),
            &update,
            Some("\"old\""),
        )
        .await
        .expect_err("conflict");
    assert_eq!(error, SourceError::Conflict { system: "Sentinel" });
}

#[tokio::test]
async fn an_unknown_number_is_not_found() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    Mock::given(method("GET"))
        .and(path(INCIDENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;

    assert_eq!(
        source
            .incident(sentinel_bot::incident::IncidentKey::only(404))
            .await
            .expect_err("missing"),
        SourceError::NotFound(sentinel_bot::incident::IncidentKey::only(404))
    );
}

#[tokio::test]
async fn create_puts_a_new_incident_under_a_fresh_name() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    let mut created = incident_resource("New");
    created["properties"]["title"] = json!("Lost laptop");
    Mock::given(method("PUT"))
        .and(path_regex(format!(r"^{INCIDENTS}/[0-9a-f-]{{36}}$")))
        .and(query_param("api-version", "2024-09-01"))
        .and(wiremock::matchers::body_json(json!({
            "properties": {"title": "Lost laptop", "description": "Left on a train", "severity": "Medium", "status": "New"}
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(created))
        .expect(1)
        .mount(&server)
        .await;

    let incident = source
        .create(&NewIncident {
            title: "Lost laptop".into(),
            description: "Left on a train".into(),
            severity: Severity::Medium,
            owner: None,
        })
        .await
        .expect("created");
    assert_eq!(incident.title, "Lost laptop");
    assert_eq!(incident.status, Status::New);
}

#[tokio::test]
async fn detail_gathers_alerts_entities_comments_and_the_etag() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    mount_lookup(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{INCIDENTS}/guid-42/alerts")))
        .and(query_param("api-version", "2024-09-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "kind": "SecurityAlert", "name": "alert-guid",
            "properties": {
                "systemAlertId": "alert-guid", "alertDisplayName": "Phishing link clicked",
                "severity": "High", "productName": "Microsoft Defender for Office 365",
                "tactics": ["InitialAccess"], "techniques": ["T1566"],
                "timeGenerated": "2026-11-20T08:00:00Z"
            }
        }]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{INCIDENTS}/guid-42/entities")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "entities": [{"kind": "Account", "properties": {"friendlyName": "dana"}}],
            "metaData": [{"count": 1, "entityKind": "Account"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{INCIDENTS}/guid-42/comments")))
        .and(query_param("$skipToken", "page2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "name": "c0",
            "properties": {"message": "Opened", "createdTimeUtc": "2026-11-20T08:10:00Z",
                           "author": {"email": "sam@contoso.com"}}
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    let next_link = format!(
        "{}{INCIDENTS}/guid-42/comments?api-version=2024-09-01&$skipToken=page2",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path(format!("{INCIDENTS}/guid-42/comments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"nextLink": next_link, "value": [{
                "name": "c1",
                "properties": {"message": "Looking", "createdTimeUtc": "2026-11-20T08:30:00Z",
                               "author": {"name": "Dana", "email": "dana@contoso.com"}}
            }]}),
        ))
        .mount(&server)
        .await;

    let detail = source
        .incident(sentinel_bot::incident::IncidentKey::only(42))
        .await
        .expect("detail");
    assert_eq!(detail.etag.as_deref(), Some("\"etag-from-server\""));
    assert_eq!(detail.incident.number, 42);
    assert_eq!(detail.alerts.len(), 1);
    assert_eq!(detail.alerts[0].name, "Phishing link clicked");
    assert_eq!(detail.alerts[0].tactics, vec![Tactic::InitialAccess]);
    assert_eq!(detail.alerts[0].entities[0].kind, "Account");
    assert_eq!(detail.alerts[0].entities[0].name, "dana");
    let authors: Vec<&str> = detail
        .comments
        .iter()
        .map(|comment| comment.author.as_str())
        .collect();
    assert_eq!(
        authors,
        vec!["sam@contoso.com", "Dana"],
        "both pages, oldest first"
    );
    assert_eq!(detail.incident.alert_ids, vec!["alert-guid".to_string()]);
}

#[tokio::test]
async fn defender_recommended_actions_come_from_the_linked_incident() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/security/incidents/9001"))
        .and(query_param("$expand", "alerts"))
        .and(bearer_token("tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "9001",
            "alerts": [
                {"id": "da1", "recommendedActions": "Reset the user's password."},
                {"id": "da2", "recommendedActions": "Reset the user's password."},
                {"id": "da3", "recommendedActions": "Isolate the device."}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let rows = generated_rows(1);
    let mut incident = rows[0].incident.clone();
    incident.url = Some("https://security.microsoft.com/incidents/9001?tid=t".into());

    let actions = source
        .recommended_actions(&incident)
        .await
        .expect("actions");
    assert_eq!(
        actions,
        vec![
            RecommendedAction::new("Reset the user's password."),
            RecommendedAction::new("Isolate the device.")
        ]
    );
}

#[tokio::test]
async fn threat_intelligence_without_a_licence_is_unavailable_not_failed() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    // Two searches (the valid technique and the tactic) go out in one batch; the injection
    // attempt is no technique id and never reaches Graph.
    let forbidden = json!({
        "error": {"code": "Forbidden", "message": "Missing Defender Threat Intelligence license"}
    });
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .and(body_json(json!({"requests": [
            {"id": "1", "method": "GET", "url": "/security/threatIntelligence/articles?$search=%22T1566%22&$top=5"},
            {"id": "2", "method": "GET", "url": "/security/threatIntelligence/articles?$search=%22TA0001%22&$top=5"}
        ]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"responses": [
            {"id": "2", "status": 403, "headers": {"Content-Type": "application/json"}, "body": forbidden},
            {"id": "1", "status": 403, "headers": {"Content-Type": "application/json"}, "body": forbidden}
        ]})))
        .expect(1)
        .mount(&server)
        .await;

    let error = source
        .tactic_intel(
            Tactic::InitialAccess,
            &["T1566".into(), "bogus\" OR 1".into()],
        )
        .await
        .expect_err("unlicensed");
    let SourceError::Unavailable { system, reason } = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert_eq!(*system, "Microsoft Graph");
    assert!(
        reason.contains("Missing Defender Threat Intelligence license"),
        "{reason}"
    );
}

#[tokio::test]
async fn threat_intelligence_articles_are_read() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/security/threatIntelligence/articles"))
        .and(query_param("$search", "\"TA0001\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": "a272d5ab",
            "title": "Batloader abuses legitimate tools",
            "summary": {"content": "Campaigns seen in Q4.", "format": "markdown"}
        }]})))
        .expect(1)
        .mount(&server)
        .await;

    let intel = source
        .tactic_intel(Tactic::InitialAccess, &[])
        .await
        .expect("intel");
    assert_eq!(intel.len(), 1);
    assert_eq!(intel[0].title, "Batloader abuses legitimate tools");
    assert_eq!(intel[0].summary, "Campaigns seen in Q4.");
    assert_eq!(
        intel[0].url.as_deref(),
        Some("https://ti.defender.microsoft.com/articles/a272d5ab")
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_and_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"expires_in": 3599, "access_token": "tok"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(200).set_delay(StdDuration::from_secs(10)))
        .expect(2)
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        attempts: 2,
        timeout: StdDuration::from_millis(250),
        ..quick_policy()
    };
    // Only the query is meant to time out: on a loaded machine a short limit on the token
    // call too would make Entra ID fail first, now and then. The limit is long enough for
    // each attempt to reach the server, which counts them.
    let source = AzureSource::with_policies(
        &config(&server),
        reqwest::Client::new(),
        policy,
        quick_policy(),
    )
    .expect("source builds");

    let error = source.incidents(week()).await.expect_err("times out");
    let text = error.to_string();
    assert!(text.starts_with("Log Analytics failed"), "{text}");
    assert!(text.contains("timed out"), "{text}");
}

#[tokio::test]
async fn an_unreachable_token_endpoint_names_entra_id() {
    // Bind a port, then free it, so nothing listens there.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port");
    let server = MockServer::start().await;
    let mut settings = config(&server);
    settings.endpoints.login = format!("http://{address}");
    let source = AzureSource::with_policy(&settings, reqwest::Client::new(), quick_policy())
        .expect("source builds");

    let error = source.incidents(week()).await.expect_err("unreachable");
    let text = error.to_string();
    assert!(text.starts_with("Entra ID failed"), "{text}");
    assert!(text.contains("could not connect"), "{text}");
}

const ENTRA_USER: &str = "5f1c2a34-1b2c-4d5e-8f90-1234567890ab";

fn entra_groups(count: usize) -> Vec<String> {
    (0..count)
        .map(|index| format!("00000000-0000-0000-0000-{index:012}"))
        .collect()
}

#[tokio::test]
async fn group_membership_is_checked_with_check_member_groups_twenty_ids_at_a_time() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    let groups = entra_groups(21);
    let check = format!("/v1.0/users/{ENTRA_USER}/checkMemberGroups");
    Mock::given(method("POST"))
        .and(path(check.as_str()))
        .and(bearer_token("tok"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({ "groupIds": groups[..20] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(check.as_str()))
        .and(bearer_token("tok"))
        .and(body_json(json!({ "groupIds": groups[20..] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [groups[20]]})))
        .expect(1)
        .mount(&server)
        .await;

    let found = source
        .member_groups(ENTRA_USER, &groups)
        .await
        .expect("membership");
    assert_eq!(found, vec![groups[20].clone()]);
}

#[tokio::test]
async fn group_membership_without_permission_is_unavailable_and_an_unknown_user_has_none() {
    let server = MockServer::start().await;
    let source = source(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1.0/users/{ENTRA_USER}/checkMemberGroups")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users/gone/checkMemberGroups"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": "Request_ResourceNotFound", "message": "Resource 'gone' does not exist."}
        })))
        .mount(&server)
        .await;

    let error = source
        .member_groups(ENTRA_USER, &entra_groups(1))
        .await
        .expect_err("no permission");
    let SourceError::Unavailable { system, reason } = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert_eq!(*system, "Microsoft Graph");
    assert!(reason.contains("Authorization_RequestDenied"), "{reason}");
    assert!(!error.to_string().contains("tok"), "{error}");

    let none = source.member_groups("gone", &entra_groups(1)).await;
    assert_eq!(none, Ok(Vec::new()));
}
