//! Tactics as Sentinel and rule authors write them, through the real Azure clients against
//! fake Log Analytics and Sentinel servers: every `AttackTactic` value (PreAttack, the ICS
//! tactics), other spellings, and names outside the enum, counted and shown the same way in
//! every view, none dropped to "No tactic".

use crate::azure::{INCIDENTS, WORKSPACE, config, mount_token, query_path, quick_policy};
use chrono::{DateTime, TimeZone, Utc};
use sentinel_bot::advice::{Advisor, prompt};
use sentinel_bot::analytics::{DEFAULT_LONG_OPEN, PeriodFacts};
use sentinel_bot::bot::{Bot, Request, Settings};
use sentinel_bot::incident::{Incident, Tactic};
use sentinel_bot::period::Period;
use sentinel_bot::render::{adaptive_card, block_kit, markdown};
use sentinel_bot::reply::{Block, Reply};
use sentinel_bot::report::{self, Layout};
use sentinel_bot::sources::azure::AzureSource;
use sentinel_bot::sources::{IncidentDetail, IncidentSource, Intel, SourceError, ThreatIntel};
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `text` as Dana types it.
fn request(text: &str) -> Request {
    crate::chat::request_as("U-DANA", text)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

/// A Log Analytics query answer in the documented shape (`tables` of `columns` and `rows`,
/// dynamic columns as JSON text), one closed incident per entry of `tactics`, each
/// entry the incident's `AdditionalData.tactics`.
fn query_answer(tactics: &[Value]) -> Value {
    let columns = [
        ("TenantId", "string"),
        ("IncidentNumber", "int"),
        ("TimeGenerated", "datetime"),
        ("IncidentName", "string"),
        ("Title", "string"),
        ("Severity", "string"),
        ("Status", "string"),
        ("Owner", "dynamic"),
        ("CreatedTime", "datetime"),
        ("LastModifiedTime", "datetime"),
        ("FirstModifiedTime", "datetime"),
        ("ClosedTime", "datetime"),
        ("AlertIds", "dynamic"),
        ("AdditionalData", "dynamic"),
        ("Labels", "dynamic"),
    ];
    let rows: Vec<Value> = tactics
        .iter()
        .enumerate()
        .map(|(index, tactics)| {
            let number = 200 + index;
            let created = format!("2026-11-{}T09:00:00Z", 17 + index);
            let closed = format!("2026-11-{}T15:00:00Z", 17 + index);
            json!([
                WORKSPACE,
                number,
                closed,
                format!("00000000-0000-4000-8000-{number:012}"),
                format!("Incident {number}"),
                "Medium",
                "Closed",
                json!({"assignedTo": "Dana Analyst", "email": "dana@contoso.com"}).to_string(),
                created,
                closed,
                format!("2026-11-{}T09:30:00Z", 17 + index),
                closed,
                json!([format!("alert-{number}")]).to_string(),
                json!({"alertsCount": 1, "tactics": tactics, "techniques": [],
                       "alertProductNames": ["Azure Sentinel"]})
                .to_string(),
                "[]",
            ])
        })
        .collect();
    json!({"tables": [{
        "name": "PrimaryResult",
        "columns": columns
            .iter()
            .map(|(name, kind)| json!({"name": name, "type": kind}))
            .collect::<Vec<_>>(),
        "rows": rows
    }]})
}

/// Fake Entra and a Log Analytics that answers every query with `answer`.
async fn azure_with(answer: Value) -> (MockServer, Arc<AzureSource>) {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let source = AzureSource::with_policy(&config(&server), reqwest::Client::new(), quick_policy())
        .expect("source builds");
    (server, Arc::new(source))
}

fn bot(source: Arc<AzureSource>) -> Bot {
    Bot {
        source: source.clone(),
        intel: source,
        ledger: Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        settings: Settings::default(),
        advisor: None,
    }
}

/// The tactic table after the tactics heading: (name, ATT&CK id under it, count).
fn tactic_rows(reply: &Reply) -> Vec<(String, Option<String>, String)> {
    reply
        .blocks
        .iter()
        .skip_while(|block| {
            !matches!(block, Block::Heading(text) if text.starts_with("MITRE ATT&CK tactics"))
        })
        .find_map(|block| match block {
            Block::Table(table) => Some(
                table
                    .rows
                    .iter()
                    .map(|row| {
                        (
                            row[0].text.clone(),
                            row[0].detail.clone(),
                            row[1].text.clone(),
                        )
                    })
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no tactics table in {reply:#?}"))
}

fn row(name: &str, id: Option<&str>, count: &str) -> (String, Option<String>, String) {
    (name.to_string(), id.map(str::to_string), count.to_string())
}

#[tokio::test]
async fn every_sentinel_tactic_and_other_names_count_under_their_own_rows_in_every_view() {
    let (_server, source) = azure_with(query_answer(&[
        json!(["PreAttack"]),
        json!(["ImpairProcessControl"]),
        json!(["initial access"]),
        json!(["MyCustomTactic"]),
    ]))
    .await;
    let bot = bot(source);

    let incidents = bot.answer(&request("/incidents week"), now()).await;
    let chat_report = bot.answer(&request("/report week"), now()).await;
    let exported = bot
        .weekly_report(Period::Week.window(now()), now())
        .await
        .expect("report");
    let full_report = report::to_reply(&exported, Layout::Full);

    // Equal counts, so kill-chain order: PreAttack, Initial Access, Impair Process Control,
    // then the other name; no "No tactic" row.
    let expected = vec![
        row("PreAttack", None, "1"),
        row("Initial Access", Some("TA0001"), "1"),
        row("Impair Process Control", Some("TA0106"), "1"),
        row("Other: MyCustomTactic", None, "1"),
    ];
    assert_eq!(tactic_rows(&incidents), expected);
    assert_eq!(tactic_rows(&chat_report), expected);
    assert_eq!(tactic_rows(&full_report), expected);

    // The JSON export carries the same rows, as Sentinel spells the tactics.
    let json = serde_json::to_value(&exported).expect("serialises");
    let created = &json["facts"]["created"];
    assert_eq!(
        created["by_tactic"],
        json!([
            ["PreAttack", 1],
            ["InitialAccess", 1],
            ["ImpairProcessControl", 1],
            ["MyCustomTactic", 1]
        ])
    );
    assert_eq!(created["without_tactics"], 0);
    assert_eq!(created["total"], 4);
    assert_eq!(
        exported.facts.created.by_tactic[3].0,
        Tactic::Other("MyCustomTactic".into())
    );
}

/// Every mrkdwn text of a Block Kit message: what Slack parses for mentions and links.
fn collect_mrkdwn(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) if map.get("type") == Some(&json!("mrkdwn")) => {
            out.extend(map["text"].as_str().map(str::to_string));
        }
        Value::Object(map) => map.values().for_each(|it| collect_mrkdwn(it, out)),
        Value::Array(items) => items.iter().for_each(|it| collect_mrkdwn(it, out)),
        _ => {}
    }
}

#[tokio::test]
async fn an_other_tactic_name_is_escaped_wherever_it_is_shown() {
    let hostile = "<!channel> **bold** [link](http://evil)";
    let (_server, source) = azure_with(query_answer(&[json!([hostile])])).await;
    let reply = bot(source).answer(&request("/incidents week"), now()).await;
    assert_eq!(
        tactic_rows(&reply),
        vec![row(&format!("Other: {hostile}"), None, "1")]
    );

    // Slack: parsed text (the fallback and mrkdwn) carries no live mention; a table cell is
    // `raw_text`, which Slack shows literally.
    for message in block_kit::render(&reply) {
        let mut parsed = vec![message.text.clone()];
        let blocks = json!(message.blocks);
        collect_mrkdwn(&blocks, &mut parsed);
        assert!(
            parsed.iter().all(|it| !it.contains("<!channel>")),
            "{parsed:?}"
        );
        let cells = blocks.to_string();
        assert!(
            cells.contains(
                &json!({"text": format!("Other: {hostile}"), "type": "raw_text"}).to_string()
            ),
            "{cells}"
        );
    }
    let card = adaptive_card::render(&reply, &adaptive_card::Options::default()).to_string();
    assert!(!card.contains("**bold**") && !card.contains("[link](http://evil)"));
    let text = markdown::render(&reply);
    assert!(
        !text.contains("**bold**") && !text.contains("[link]("),
        "{text}"
    );
}

#[tokio::test]
async fn a_sentinel_rest_incident_and_its_alerts_keep_every_tactic() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    // The Microsoft.SecurityInsights incident shape: tactics in properties.additionalData.
    Mock::given(method("GET"))
        .and(path(INCIDENTS))
        .and(query_param("$filter", "properties/incidentNumber eq 42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "id": format!("{INCIDENTS}/guid-42"),
            "name": "guid-42",
            "etag": "\"etag-42\"",
            "type": "Microsoft.SecurityInsights/Incidents",
            "properties": {
                "incidentNumber": 42, "title": "Plant network alarm", "severity": "High",
                "status": "Active", "labels": [],
                "owner": {"objectId": null, "email": null, "assignedTo": null, "userPrincipalName": null},
                "createdTimeUtc": "2026-11-20T08:00:00Z",
                "lastModifiedTimeUtc": "2026-11-20T09:00:00Z",
                "additionalData": {
                    "alertsCount": 1,
                    "tactics": ["PreAttack", "ImpairProcessControl", "initial access", "MyCustomTactic"],
                    "alertProductNames": ["Azure Sentinel"]
                }
            }
        }]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{INCIDENTS}/guid-42/alerts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{
            "kind": "SecurityAlert", "name": "alert-guid",
            "properties": {
                "systemAlertId": "alert-guid", "alertDisplayName": "Safety system bypassed",
                "severity": "High", "productName": "Microsoft Defender for IoT",
                "tactics": ["InhibitResponseFunction", "Command and Control", "Plant Sabotage"],
                "techniques": [], "timeGenerated": "2026-11-20T08:00:00Z"
            }
        }]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{INCIDENTS}/guid-42/entities")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"entities": [], "metaData": []})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{INCIDENTS}/guid-42/comments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let source = Arc::new(
        AzureSource::with_policy(&config(&server), reqwest::Client::new(), quick_policy())
            .expect("source builds"),
    );

    let detail = source
        .incident(sentinel_bot::incident::IncidentKey::only(42))
        .await
        .expect("detail");

    assert_eq!(
        detail.incident.tactics,
        vec![
            Tactic::PreAttack,
            Tactic::ImpairProcessControl,
            Tactic::InitialAccess,
            Tactic::Other("MyCustomTactic".into()),
        ]
    );
    assert_eq!(
        detail.alerts[0].tactics,
        vec![
            Tactic::InhibitResponseFunction,
            Tactic::CommandAndControl,
            Tactic::Other("Plant Sabotage".into()),
        ]
    );
    // The /incident card lists them by name, the other one marked as such.
    let card = bot(source).answer(&request("/incident 42"), now()).await;
    let tactics = card
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Facts(facts) => facts.iter().find(|it| it.label == "Tactics"),
            _ => None,
        })
        .next()
        .map(|fact| fact.value.clone());
    assert_eq!(
        tactics.as_deref(),
        Some("PreAttack, Impair Process Control, Initial Access, Other: MyCustomTactic")
    );
}

/// Threat intelligence that knows nothing and records the tactics asked about.
#[derive(Default)]
struct RecordingIntel {
    asked: std::sync::Mutex<Vec<Tactic>>,
}

#[async_trait::async_trait]
impl ThreatIntel for RecordingIntel {
    async fn recommended_actions(
        &self,
        _incident: &Incident,
    ) -> Result<Vec<sentinel_bot::sources::RecommendedAction>, SourceError> {
        Ok(Vec::new())
    }

    async fn tactic_intel(
        &self,
        tactic: Tactic,
        _techniques: &[String],
    ) -> Result<Vec<Intel>, SourceError> {
        self.asked.lock().expect("lock").push(tactic);
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn advice_looks_up_known_tactics_only_and_fences_other_names() {
    let (_server, source) = azure_with(query_answer(&[
        json!(["MyCustomTactic", "PreAttack", "Impair Process Control"]),
        json!(["MyCustomTactic"]),
    ]))
    .await;
    let window = Period::Week.window(now());
    let incidents = source.incidents(window).await.expect("incidents").incidents;
    let intel = Arc::new(RecordingIntel::default());
    let advisor = Advisor::new(None, intel.clone());
    let detail = IncidentDetail {
        incident: incidents[0].clone(),
        alerts: Vec::new(),
        comments: Vec::new(),
        etag: None,
    };

    let advice = advisor.incident_advice(&detail, None).await;

    // The other name means nothing to ATT&CK, so it is never looked up.
    assert_eq!(
        *intel.asked.lock().expect("lock"),
        vec![Tactic::PreAttack, Tactic::ImpairProcessControl]
    );
    // No intelligence found: the offline knowledge base answers for the known ones.
    let sources: Vec<String> = advice
        .recommendations
        .iter()
        .map(|it| it.source.to_string())
        .collect();
    assert_eq!(
        sources,
        vec![
            "Offline MITRE ATT&CK knowledge base (PreAttack)",
            "Offline MITRE ATT&CK knowledge base (PreAttack)",
            "Offline MITRE ATT&CK knowledge base (Impair Process Control)",
            "Offline MITRE ATT&CK knowledge base (Impair Process Control)",
        ]
    );
    assert!(advice.recommendations[2].text.contains("M0930"));
    assert!(
        advice
            .impact
            .contains("Impair Process Control (TA0106): The adversary tries to manipulate"),
        "{}",
        advice.impact
    );
    assert!(
        advice
            .impact
            .contains("Other: MyCustomTactic: a tactic name outside MITRE ATT&CK"),
        "{}",
        advice.impact
    );

    // The model's prompt: known tactics are facts, the other name is fenced data.
    let text = prompt::incident_prompt(&detail, &[]);
    let (facts, fenced) = text.split_once(prompt::FENCE_OPEN).expect("fenced");
    assert!(
        facts.contains("MITRE tactics: PreAttack, Impair Process Control (TA0106)\n"),
        "{facts}"
    );
    assert!(!facts.contains("MyCustomTactic"), "{facts}");
    assert!(
        fenced.contains("Tactic names outside MITRE ATT&CK: MyCustomTactic\n"),
        "{fenced}"
    );

    // The weekly facts, which have no fence, count the other name without naming it.
    let period = PeriodFacts::compute(&incidents, None, window, now(), DEFAULT_LONG_OPEN);
    let weekly = prompt::weekly_facts(&period);
    assert!(
        weekly.contains(
            "By MITRE tactic: PreAttack 1, Impair Process Control (TA0106) 1, a tactic name outside ATT&CK 2\n"
        ),
        "{weekly}"
    );
    assert!(!weekly.contains("MyCustomTactic"), "{weekly}");
    intel.asked.lock().expect("lock").clear();
    let weekly_advice = advisor.weekly_recommendations(&period).await;
    assert_eq!(
        *intel.asked.lock().expect("lock"),
        vec![Tactic::PreAttack, Tactic::ImpairProcessControl]
    );
    assert!(
        weekly_advice.operational_insights.contains(
            &"The most frequent MITRE tactic was Other: MyCustomTactic, in 2 incidents."
                .to_string()
        ),
        "{:?}",
        weekly_advice.operational_insights
    );
}
