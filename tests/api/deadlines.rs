//! Deadlines and honest degradation through the real bot and Azure clients against fake
//! Entra, Log Analytics, Sentinel and Graph servers: hung systems, 503s, 401s, Graph JSON
//! batching, and an incident that changed between a proposal and its confirmation.
//! Deadlines are a few hundred milliseconds here, so nothing waits long.

use crate::azure::{INCIDENTS, config, incident_resource, mount_lookup, mount_token, quick_policy};
use crate::chat::request;
use chrono::{DateTime, TimeZone, Utc};
use sentinel_bot::bot::actions::MemoryLedger;
use sentinel_bot::bot::permissions::Permissions;
use sentinel_bot::bot::{Bot, Deadlines, Settings};
use sentinel_bot::incident::{Incident, IncidentRow, Owner, Severity, Status, Tactic};
use sentinel_bot::reply::{Block, Reply};
use sentinel_bot::sources::azure::log_analytics::to_log_analytics_response;
use sentinel_bot::sources::azure::{AzureSource, RetryPolicy};
use sentinel_bot::sources::{
    IncidentSet, IncidentSource, IntelQuery, RecommendedAction, SourceError, ThreatIntel,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{bearer_token, body_partial_json, header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Longer than any test may take: a "hung" system.
const HANG: Duration = Duration::from_secs(30);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn azure(server: &MockServer) -> Arc<AzureSource> {
    Arc::new(
        AzureSource::with_policy(&config(server), reqwest::Client::new(), quick_policy())
            .expect("source builds"),
    )
}

fn bot(source: Arc<AzureSource>, deadline: Duration) -> Bot {
    Bot {
        source: source.clone(),
        intel: source,
        ledger: Arc::new(MemoryLedger::default()),
        settings: Settings {
            deadlines: Deadlines {
                interactive: deadline,
                scheduled: deadline,
            },
            permissions: Permissions {
                allowed_users: vec!["U-ANALYST".to_string()],
                ..Permissions::default()
            },
            ..Settings::default()
        },
        advisor: None,
    }
}

/// Everything the reply says, unescaped, one line per block, fact, table row or list line.
fn text(reply: &Reply) -> String {
    let mut lines = vec![reply.title.clone()];
    for block in &reply.blocks {
        match block {
            Block::Heading(text) | Block::Text(text) | Block::Note(text) | Block::Alert(text) => {
                lines.push(text.clone());
            }
            Block::Facts(facts) => {
                lines.extend(facts.iter().map(|it| format!("{}: {}", it.label, it.value)));
            }
            Block::Table(table) => {
                lines.extend(table.title.clone());
                lines.extend(table.rows.iter().map(|row| {
                    row.iter()
                        .map(|cell| match &cell.detail {
                            Some(detail) => format!("{} ({detail})", cell.text),
                            None => cell.text.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(" | ")
                }));
            }
            Block::List(list) => {
                lines.extend(list.title.clone());
                for item in &list.items {
                    lines.push(item.text.clone());
                    lines.extend(item.steps.iter().cloned());
                    lines.extend(item.detail.clone());
                }
            }
            Block::Chart(_) => {}
        }
    }
    lines.join("\n")
}

/// Sentinel answers incident 42 (Initial Access, one alert) at once.
async fn mount_incident_42(server: &MockServer) {
    mount_lookup(server).await;
    Mock::given(method("POST"))
        .and(path(format!("{INCIDENTS}/guid-42/alerts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "name": "alert-guid",
            "properties": {"systemAlertId": "alert-guid", "alertDisplayName": "Phishing link clicked",
                           "severity": "High", "tactics": ["InitialAccess"], "techniques": ["T1566"],
                           "timeGenerated": "2026-11-20T08:00:00Z"}
        }]})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{INCIDENTS}/guid-42/entities")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"entities": []})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{INCIDENTS}/guid-42/comments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(server)
        .await;
}

/// Every Graph call hangs.
async fn mount_hung_graph(server: &MockServer) {
    Mock::given(path_regex("^/v1.0/"))
        .respond_with(ResponseTemplate::new(200).set_delay(HANG))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_hung_graph_leaves_recommend_n_answering_with_the_rest_and_a_note_in_time() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_incident_42(&server).await;
    mount_hung_graph(&server).await;
    let deadline = Duration::from_millis(600);
    let bot = bot(azure(&server), deadline);

    let started = Instant::now();
    let reply = bot.answer(&request("/recommend 42"), now()).await;
    let took = started.elapsed();

    assert!(took < deadline, "answered after {took:?}");
    assert_eq!(
        reply.title,
        "Recommendations for incident 42: Phishing wave"
    );
    let shown = text(&reply);
    assert!(shown.contains("Impact for the organisation"), "{shown}");
    assert!(
        shown.contains("Offline MITRE ATT&CK knowledge base (Initial Access)"),
        "the knowledge base stands in for threat intelligence: {shown}"
    );
    assert!(
        shown.contains(
            "Defender XDR recommended actions could not be read (Microsoft Graph did not answer within"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "Threat intelligence could not be read (Microsoft Graph did not answer within"
        ),
        "{shown}"
    );
}

#[tokio::test]
async fn a_hung_log_analytics_gets_an_apology_naming_it_within_the_deadline() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path(crate::azure::query_path()))
        .respond_with(ResponseTemplate::new(200).set_delay(HANG))
        .mount(&server)
        .await;
    let deadline = Duration::from_millis(400);
    let bot = bot(azure(&server), deadline);

    let started = Instant::now();
    let reply = bot.answer(&request("/incidents week"), now()).await;
    let took = started.elapsed();

    assert!(
        took < deadline + Duration::from_millis(300),
        "took {took:?}"
    );
    let Some(Block::Alert(alert)) = reply.blocks.first() else {
        panic!("expected an apology, got {reply:?}");
    };
    assert!(alert.starts_with("Sorry"), "{alert}");
    assert!(alert.contains("Log Analytics"), "{alert}");
    assert!(alert.contains("400 ms"), "{alert}");
}

#[tokio::test]
async fn with_default_retries_a_hung_log_analytics_costs_the_deadline_not_every_attempt() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path(crate::azure::query_path()))
        .respond_with(ResponseTemplate::new(200).set_delay(HANG))
        .mount(&server)
        .await;
    // The shipped policy: three attempts of up to 30 s each.
    let source = Arc::new(
        AzureSource::with_policy(
            &config(&server),
            reqwest::Client::new(),
            RetryPolicy::default(),
        )
        .expect("source builds"),
    );
    let budget = sentinel_bot::deadline::Budget::new(Duration::from_millis(300));
    let started = Instant::now();
    // No outer timeout: the retry layer itself must give up at the deadline.
    let answer = budget.scope(source.incidents(crate::azure::week())).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(
        answer.expect_err("hung"),
        SourceError::TimedOut {
            system: "Log Analytics",
            waited: Duration::from_millis(300)
        }
    );
}

fn incident(number: u64, defender: Option<u64>, alerts: &[&str], tactic: Tactic) -> Incident {
    let created = now() - chrono::Duration::days(2);
    Incident {
        workspace: sentinel_bot::incident::Workspace::ONLY,
        number,
        id: format!("guid-{number}"),
        title: format!("Incident {number}").into(),
        description: "".into(),
        severity: Severity::High,
        status: Status::Active,
        classification: None,
        classification_comment: None,
        owner: Owner::default(),
        tactics: vec![tactic],
        techniques: Vec::new(),
        alert_products: Vec::new(),
        alert_ids: alerts.iter().map(|it| it.to_string()).collect(),
        labels: Vec::new(),
        created,
        first_modified: None,
        first_human_action: None,
        last_modified: created,
        closed: None,
        url: defender.map(|id| format!("https://security.microsoft.com/incidents/{id}?tid=t")),
    }
}

/// Log Analytics answers with these incidents for any query.
async fn mount_incidents(server: &MockServer, incidents: &[Incident]) {
    let rows: Vec<IncidentRow> = incidents
        .iter()
        .map(|incident| IncidentRow {
            time_generated: incident.last_modified,
            modified_by: None,
            incident: incident.clone(),
        })
        .collect();
    Mock::given(method("POST"))
        .and(path(crate::azure::query_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(to_log_analytics_response(&rows)))
        .mount(server)
        .await;
}

#[tokio::test]
async fn graph_503_makes_the_posture_section_say_it_could_not_be_read() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_incidents(
        &server,
        &[
            incident(1, Some(9001), &[], Tactic::InitialAccess),
            incident(2, None, &["a1"], Tactic::Execution),
        ],
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({
            "error": {"code": "ServiceUnavailable", "message": "Graph is down for maintenance"}
        })))
        .expect(6)
        .mount(&server)
        .await;
    let bot = bot(azure(&server), Duration::from_secs(10));

    let reply = bot.answer(&request("/recommend week"), now()).await;
    let shown = text(&reply);
    assert!(
        !shown.contains("No Defender XDR recommended actions"),
        "a failure must not read as 'none': {shown}"
    );
    assert!(
        shown.contains("Defender XDR recommended actions could not be read (Microsoft Graph failed: gave up after 3 attempts; last: HTTP 503 Service Unavailable: ServiceUnavailable: Graph is down for maintenance)"),
        "{shown}"
    );

    // The weekly report says the same in its posture section.
    let window = sentinel_bot::period::Period::Week.window(now());
    let report = bot.weekly_report(window, now()).await.expect("report");
    let markdown = text(&sentinel_bot::report::to_reply(
        &report,
        sentinel_bot::report::Layout::Chat,
    ));
    assert!(
        !markdown.contains("No Defender XDR recommended actions"),
        "{markdown}"
    );
    assert!(markdown.contains("could not be read"), "{markdown}");
}

#[tokio::test]
async fn graph_503_on_recommend_n_says_why_defender_actions_are_missing() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_incident_42(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let bot = bot(azure(&server), Duration::from_secs(10));

    let shown = text(&bot.answer(&request("/recommend 42"), now()).await);
    assert!(
        shown.contains("Defender XDR recommended actions could not be read (Microsoft Graph failed: gave up after 3 attempts; last: HTTP 503"),
        "{shown}"
    );
}

#[tokio::test]
async fn graph_lookups_of_a_report_are_batched_twenty_at_a_time_and_deduplicated() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .and(bearer_token("tok"))
        .and(header("content-type", "application/json"))
        .respond_with(|request: &wiremock::Request| {
            // Answers each request like Graph: incidents with one alert, alerts, articles.
            let body: Value = serde_json::from_slice(&request.body).expect("JSON batch");
            let responses: Vec<Value> = body["requests"]
                .as_array()
                .expect("requests")
                .iter()
                .map(|sub| {
                    let url = sub["url"].as_str().unwrap_or_default();
                    let body = if url.starts_with("/security/incidents/") {
                        json!({"alerts": [{"recommendedActions": "Reset the user's password."}]})
                    } else if let Some(alert) = url.strip_prefix("/security/alerts_v2/") {
                        json!({"recommendedActions": format!("Isolate {alert}.")})
                    } else {
                        json!({"value": []})
                    };
                    json!({"id": sub["id"], "status": 200, "headers": {}, "body": body})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(&server)
        .await;
    let source = azure(&server);
    // Two incidents link the same Defender incident, two share an alert, and 22 alerts in
    // all: more than one batch holds.
    let many: Vec<String> = (0..20).map(|index| format!("x{index}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let incidents = [
        incident(1, Some(9001), &[], Tactic::InitialAccess),
        incident(2, Some(9001), &[], Tactic::InitialAccess),
        incident(3, None, &["a1", "a2"], Tactic::Execution),
        incident(4, None, &["a2"], Tactic::Execution),
        incident(5, None, &many, Tactic::Execution),
    ];
    let query = IntelQuery {
        incidents: incidents.iter().collect(),
        tactics: vec![
            (Tactic::InitialAccess, vec!["T1566".to_string()]),
            (Tactic::Execution, Vec::new()),
        ],
    };

    let answers = source.look_up(&query).await;

    assert_eq!(
        answers.actions[0],
        Ok(vec![RecommendedAction::new("Reset the user's password.")])
    );
    assert_eq!(answers.actions[1], answers.actions[0]);
    assert_eq!(
        answers.actions[2],
        Ok(vec![
            RecommendedAction::new("Isolate a1."),
            RecommendedAction::new("Isolate a2.")
        ])
    );
    assert_eq!(answers.actions[4].as_ref().map(Vec::len), Ok(20));
    assert_eq!(answers.intel, vec![Ok(Vec::new()), Ok(Vec::new())]);

    let batches: Vec<Value> = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|request| request.url.path() == "/v1.0/$batch")
        .map(|request| serde_json::from_slice(&request.body).expect("JSON"))
        .collect();
    let urls: Vec<String> = batches
        .iter()
        .flat_map(|batch| batch["requests"].as_array().cloned().unwrap_or_default())
        .map(|sub| sub["url"].as_str().unwrap_or_default().to_string())
        .collect();
    // 1 Defender incident + 22 distinct alerts + 3 article searches, each asked once.
    assert_eq!(urls.len(), 26, "{urls:?}");
    let mut distinct = urls.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), urls.len(), "nothing is asked twice");
    assert_eq!(batches.len(), 2);
    assert!(
        batches
            .iter()
            .all(|batch| { batch["requests"].as_array().map_or(0, Vec::len) <= 20 })
    );
    assert!(
        urls.contains(
            &"/security/threatIntelligence/articles?$search=%22T1566%22&$top=5".to_string()
        )
    );
}

#[tokio::test]
async fn a_throttled_sub_request_is_sent_again_after_its_retry_after() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let throttled = json!({"responses": [
        {"id": "1", "status": 200, "body": {"recommendedActions": "Block the sender."}},
        {"id": "2", "status": 429, "headers": {"Retry-After": "0"},
         "body": {"error": {"code": "TooManyRequests", "message": "slow down"}}}
    ]});
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(throttled))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    // The second round carries only the throttled alert, so it is a plain GET.
    Mock::given(method("GET"))
        .and(path("/v1.0/security/alerts_v2/a2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recommendedActions": "Reset the password."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let source = azure(&server);
    let only = incident(3, None, &["a1", "a2"], Tactic::Execution);

    let actions = source.recommended_actions(&only).await.expect("actions");
    assert_eq!(
        actions,
        vec![
            RecommendedAction::new("Block the sender."),
            RecommendedAction::new("Reset the password.")
        ]
    );
}

/// Entra hands out `tok-1`, then `tok-2`.
async fn mount_rotating_tokens(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"expires_in": 3599, "access_token": "tok-1"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"expires_in": 3599, "access_token": "tok-2"})),
        )
        .expect(1)
        .mount(server)
        .await;
}

fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({
        "error": {"code": "InvalidAuthenticationToken", "message": "The access token has expired."}
    }))
}

#[tokio::test]
async fn a_401_drops_the_cached_token_and_retries_once_with_a_fresh_one() {
    let server = MockServer::start().await;
    mount_rotating_tokens(&server).await;
    Mock::given(method("POST"))
        .and(path(crate::azure::query_path()))
        .and(bearer_token("tok-1"))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(crate::azure::query_path()))
        .and(bearer_token("tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(to_log_analytics_response(&[])))
        .expect(2)
        .mount(&server)
        .await;
    let source = azure(&server);

    let incidents = source.incidents(crate::azure::week()).await;
    assert_eq!(incidents, Ok(IncidentSet::default()));
    // The fresh token is cached: the next call needs no token request.
    let again = source.incidents(crate::azure::week()).await;
    assert_eq!(again, Ok(IncidentSet::default()));
}

#[tokio::test]
async fn a_401_with_the_fresh_token_too_is_an_error_after_exactly_one_retry() {
    let server = MockServer::start().await;
    mount_rotating_tokens(&server).await;
    Mock::given(method("GET"))
        .and(path(INCIDENTS))
        .respond_with(unauthorized())
        .expect(2)
        .mount(&server)
        .await;
    let source = azure(&server);

    let error = source
        .incident(sentinel_bot::incident::IncidentKey::only(42))
        .await
        .expect_err("refused twice");
    let text = error.to_string();
    assert!(text.starts_with("Sentinel failed: HTTP 401"), "{text}");
    assert!(text.contains("The access token has expired"), "{text}");
}

#[tokio::test]
async fn graph_refreshes_its_token_on_401_too() {
    let server = MockServer::start().await;
    mount_rotating_tokens(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/security/incidents/9001"))
        .and(bearer_token("tok-1"))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/security/incidents/9001"))
        .and(bearer_token("tok-2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"alerts": [{"recommendedActions": "Isolate the device."}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let source = azure(&server);
    let linked = incident(1, Some(9001), &[], Tactic::InitialAccess);

    let actions = source.recommended_actions(&linked).await;
    assert_eq!(
        actions,
        Ok(vec![RecommendedAction::new("Isolate the device.")])
    );
}

/// Sentinel's list answer for incident 42 with this etag, status and owner.
fn incident_42(etag: &str, status: &str, owner: Option<&str>) -> Value {
    let mut resource = incident_resource(status);
    resource["etag"] = json!(etag);
    if let Some(owner) = owner {
        resource["properties"]["owner"] = json!({"assignedTo": owner, "email": "sam@contoso.com"});
    }
    if status == "Closed" {
        resource["properties"]["classification"] = json!("TruePositive");
        resource["properties"]["lastModifiedTimeUtc"] = json!("2026-11-23T11:59:00Z");
    }
    json!({"value": [resource]})
}

async fn mount_find(server: &MockServer, answer: Value) {
    Mock::given(method("GET"))
        .and(path(INCIDENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(server)
        .await;
}

fn confirm_command(reply: &Reply) -> String {
    reply
        .actions
        .iter()
        .find(|action| action.label == "Confirm")
        .unwrap_or_else(|| panic!("a Confirm button in {reply:?}"))
        .command
        .clone()
}

async fn puts(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .expect("recorded")
        .into_iter()
        .filter(|request| request.method.as_str() == "PUT")
        .collect()
}

#[tokio::test]
async fn an_incident_changed_between_proposal_and_confirmation_is_not_overwritten() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_find(&server, incident_42("\"v1\"", "Active", None)).await;
    let bot = bot(azure(&server), Duration::from_secs(10));
    let asked = bot
        .answer(
            &request("/close 42 FalsePositive IncorrectAlertLogic test rule"),
            now(),
        )
        .await;
    assert_eq!(asked.title, "Please confirm", "{asked:?}");

    // Another analyst closes it differently before the click.
    server.reset().await;
    mount_token(&server).await;
    mount_find(
        &server,
        incident_42("\"v2\"", "Closed", Some("Sam Analyst")),
    )
    .await;
    let refused = bot.answer(&request(&confirm_command(&asked)), now()).await;

    assert_eq!(refused.title, "Incident 42 changed since you asked");
    let shown = text(&refused);
    assert!(shown.contains("Nothing was changed"), "{shown}");
    assert!(shown.contains("Active → Closed"), "{shown}");
    assert!(shown.contains("(none) → Sam Analyst"), "{shown}");
    assert!(shown.contains("(none) → TruePositive"), "{shown}");
    assert!(puts(&server).await.is_empty(), "nothing was written");
    let again = bot.answer(&request(&confirm_command(&asked)), now()).await;
    assert_eq!(again.title, "Nothing to confirm", "the proposal is spent");
}

#[tokio::test]
async fn the_confirmed_write_carries_the_proposal_etag_and_a_race_is_refused_by_sentinel() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_find(&server, incident_42("\"v1\"", "Active", None)).await;
    Mock::given(method("PUT"))
        .and(path(format!("{INCIDENTS}/guid-42")))
        .and(header("If-Match", "\"v1\""))
        .and(body_partial_json(json!({"etag": "\"v1\"", "properties": {"status": "Closed"}})))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "error": {"code": "Conflict", "message": "Newer version of resource 'guid-42' exists. Data was not saved"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let bot = bot(azure(&server), Duration::from_secs(10));
    let asked = bot
        .answer(
            &request("/close 42 FalsePositive IncorrectAlertLogic noisy rule"),
            now(),
        )
        .await;

    let refused = bot.answer(&request(&confirm_command(&asked)), now()).await;

    let Some(Block::Alert(alert)) = refused.blocks.first() else {
        panic!("expected the conflict message, got {refused:?}");
    };
    assert!(
        alert.contains(
            "Sentinel refused the change because the incident was changed by someone else meanwhile"
        ),
        "{alert}"
    );
}

/// Threat intelligence that never answers and makes no HTTP call either.
struct SilentIntel;

#[async_trait::async_trait]
impl ThreatIntel for SilentIntel {
    async fn recommended_actions(
        &self,
        _incident: &Incident,
    ) -> Result<Vec<RecommendedAction>, SourceError> {
        std::future::pending().await
    }
    async fn tactic_intel(
        &self,
        _tactic: Tactic,
        _techniques: &[String],
    ) -> Result<Vec<sentinel_bot::sources::Intel>, SourceError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn silent_intel_leaves_the_report_with_its_figures_and_a_note_in_time() {
    let demo = Arc::new(sentinel_bot::sources::demo::DemoSource::new(now()));
    let deadline = Duration::from_millis(500);
    let bot = Bot {
        source: demo,
        intel: Arc::new(SilentIntel),
        ..bot(azure(&MockServer::start().await), deadline)
    };

    let started = Instant::now();
    let reply = bot.answer(&request("/report week"), now()).await;
    assert!(started.elapsed() < deadline, "took {:?}", started.elapsed());

    assert!(reply.title.starts_with("Incident report"), "{reply:?}");
    let shown = text(&reply);
    assert!(
        shown.contains("Resolution rate:"),
        "the figures are there: {shown}"
    );
    assert!(
        shown.contains("Defender XDR recommended actions could not be read (no answer within"),
        "{shown}"
    );
    assert!(
        !shown.contains("No Defender XDR recommended actions"),
        "{shown}"
    );
}
