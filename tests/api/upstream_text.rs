//! Incident text as Sentinel and Defender XDR send it, through the real bot and Azure clients
//! against fake Entra, Sentinel, Log Analytics and Graph servers (issue 13, points 4 to 6):
//! HTML comments and descriptions read as text, multi-line recommended actions stay lists in
//! Teams and Slack, and the same action or article is listed once, naming what it applies to.

use crate::azure::{INCIDENTS, config, incident_resource, mount_token, quick_policy};
use chrono::{DateTime, TimeZone, Utc};
use sentinel_bot::advice::{IncidentAdvice, Recommendation, Source};
use sentinel_bot::bot::{Bot, Request, Settings};
use sentinel_bot::incident::{Incident, IncidentRow, Owner, Severity, Status, Tactic};
use sentinel_bot::render::{adaptive_card, block_kit};
use sentinel_bot::reply::{Block, List, Reply};
use sentinel_bot::sources::azure::AzureSource;
use sentinel_bot::sources::azure::log_analytics::to_log_analytics_response;
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

fn bot(server: &MockServer) -> Bot {
    let source = Arc::new(
        AzureSource::with_policy(&config(server), reqwest::Client::new(), quick_policy())
            .expect("source builds"),
    );
    Bot {
        source: source.clone(),
        intel: source,
        ledger: Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        settings: Settings::default(),
        advisor: None,
    }
}

fn request(text: &str) -> Request {
    Request {
        text: text.to_string(),
        ..Request::default()
    }
}

/// Every string value named `text` in a rendered card or message, in order.
fn texts(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(text)) = map.get("text") {
                    found.push(text.clone());
                }
                stack.extend(map.values().rev());
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            _ => {}
        }
    }
    found
}

/// The reply's plain text (what every renderer escapes): blocks, table cells, list lines.
fn shown(reply: &Reply) -> String {
    let mut lines = vec![reply.title.clone()];
    for block in &reply.blocks {
        match block {
            Block::Heading(text) | Block::Text(text) | Block::Note(text) | Block::Alert(text) => {
                lines.push(text.clone());
            }
            Block::Facts(facts) => lines.extend(facts.iter().map(|it| it.value.clone())),
            Block::Table(table) => {
                for cell in table.rows.iter().flatten() {
                    lines.push(cell.text.clone());
                    lines.extend(cell.detail.clone());
                }
            }
            Block::List(list) => {
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

/// Writes the Teams card and Slack messages under `CARD_DUMP_DIR`, when it is set, as
/// `teams/upstream-NAME.json` and `slack/upstream-NAME-N.json` (see `cards.rs`).
fn dump(name: &str, reply: &Reply) {
    let Some(dir) = std::env::var_os("CARD_DUMP_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let write = |sub: &str, file: String, value: &Value| {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        let text = serde_json::to_string_pretty(value).unwrap();
        std::fs::write(dir.join(sub).join(file), text).unwrap();
    };
    let card = adaptive_card::render(reply, &adaptive_card::Options::teams());
    write("teams", format!("upstream-{name}.json"), &card);
    for (index, message) in block_kit::render(reply).iter().enumerate() {
        let body = json!({"text": message.text, "blocks": message.blocks});
        write(
            "slack",
            format!("upstream-{name}-{}.json", index + 1),
            &body,
        );
    }
}

/// The list captioned `title`, or the first list when `title` is `None`.
fn list<'a>(reply: &'a Reply, title: Option<&str>) -> &'a List {
    reply
        .blocks
        .iter()
        .find_map(|block| match block {
            Block::List(list) if title.is_none() || list.title.as_deref() == title => Some(list),
            _ => None,
        })
        .expect("the list")
}

/// A comment resource shaped like the Microsoft.SecurityInsights stable (2024-09-01)
/// GetAllIncidentComments example, with this message.
fn comment_resource(name: &str, message: &str, created: &str, author: &str) -> Value {
    json!({
        "id": format!("{INCIDENTS}/guid-42/comments/{name}"),
        "name": name,
        "type": "Microsoft.SecurityInsights/incidents/comments",
        "etag": "0300bf09-0000-0000-0000-5c37296e0000",
        "properties": {
            "message": message,
            "createdTimeUtc": created,
            "lastModifiedTimeUtc": created,
            "author": {
                "objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70",
                "email": "john.doe@contoso.com",
                "userPrincipalName": "john@contoso.com",
                "name": author
            }
        }
    })
}

/// Sentinel answers incident 42 with this description, these alerts and these comments.
async fn mount_incident_42(server: &MockServer, description: &str, alerts: Value, comments: Value) {
    let mut resource = incident_resource("Active");
    resource["properties"]["description"] = json!(description);
    Mock::given(method("GET"))
        .and(path(INCIDENTS))
        .and(query_param("$filter", "properties/incidentNumber eq 42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [resource]})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{INCIDENTS}/guid-42/alerts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "value": alerts })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{INCIDENTS}/guid-42/entities")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"entities": []})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{INCIDENTS}/guid-42/comments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "value": comments })))
        .mount(server)
        .await;
}

/// The triage comment the bot writes (HTML) for incident 42 with one Defender action.
fn triage_comment() -> String {
    let incident = Incident {
        workspace: sentinel_bot::incident::Workspace::ONLY,
        number: 42,
        id: "guid-42".to_string(),
        title: "Phishing wave".into(),
        description: "".into(),
        severity: Severity::High,
        status: Status::New,
        classification: None,
        classification_comment: None,
        owner: Owner::default(),
        tactics: vec![Tactic::InitialAccess],
        techniques: Vec::new(),
        alert_products: Vec::new(),
        alert_ids: Vec::new(),
        labels: Vec::new(),
        created: now(),
        first_modified: None,
        first_human_action: None,
        last_modified: now(),
        closed: None,
        url: None,
    };
    let advice = IncidentAdvice {
        number: 42,
        impact: "Mailboxes at risk & credentials exposed.".to_string(),
        impact_from_model: false,
        recommendations: vec![Recommendation {
            steps: vec!["Find the message".to_string(), "Soft-delete it".to_string()],
            ..Recommendation::new("Purge the mail", Source::DefenderXdr)
        }],
        notes: Vec::new(),
        unverified: 0,
        from_cache: false,
    };
    sentinel_bot::triage::comment(&incident, &advice)
}

#[tokio::test]
async fn html_comments_and_descriptions_read_as_text_in_incident_n() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let triage = triage_comment();
    assert!(
        triage.starts_with("<p><b>"),
        "the bot writes HTML: {triage}"
    );
    mount_incident_42(
        &server,
        "<div>Mail from <b>billing@contoso.example</b> &amp; a link to <a href=\"https://contoso.example/pay\">pay</a></div>",
        json!([]),
        json!([
            comment_resource(
                "4bb36b7b-26ff-4d1c-9cbe-0d8ab3da0014",
                "<p><strong>Playbook</strong> ran &amp; isolated</p><ul><li>a</li><li>b</li></ul>",
                "2026-11-20T09:15:30Z",
                "john doe",
            ),
            comment_resource("c-triage", &triage, "2026-11-20T08:05:00Z", "sentinel-bot"),
        ]),
    )
    .await;

    let reply = bot(&server).answer(&request("/incident 42"), now()).await;
    dump("incident-html", &reply);

    let text = shown(&reply);
    assert!(text.contains("Playbook ran & isolated\n• a\n• b"), "{text}");
    assert!(
        text.contains(
            "Mail from billing@contoso.example & a link to pay (https://contoso.example/pay)"
        ),
        "{text}"
    );
    assert!(text.contains("sentinel-bot triage (automated) for incident 42: Phishing wave\n\nImpact: Mailboxes at risk & credentials exposed.\n\nRecommended next steps\n1. Purge the mail (source: Defender XDR)\n   • Find the message\n   • Soft-delete it"), "{text}");
    for markup in ["<p>", "<b>", "<strong>", "<li>", "</", "&amp;", "&lt;"] {
        assert!(!text.contains(markup), "{markup} in {text}");
    }

    // Teams: Markdown-escaped once (`\&` shows `&`), never an escaped tag or an entity.
    let card = adaptive_card::render(&reply, &adaptive_card::Options::teams());
    let card_texts = texts(&card);
    let lines = ["Playbook ran \\& isolated", "• a", "• b"];
    assert!(
        card_texts
            .windows(3)
            .any(|it| it.iter().map(String::as_str).eq(lines)),
        "each line of the comment is a TextBlock of its own: {card_texts:?}"
    );
    assert!(
        card_texts
            .iter()
            .all(|it| !it.contains("\\<") && !it.contains("&amp;") && !it.contains("<p>")),
        "{card_texts:?}"
    );

    // Slack: the comments are the native table, whose rich text is shown literally.
    let messages = block_kit::render(&reply);
    let slack_texts: Vec<String> = messages
        .iter()
        .flat_map(|message| message.blocks.iter().flat_map(texts))
        .collect();
    assert!(
        slack_texts
            .iter()
            .any(|it| it == "Playbook ran & isolated\n• a\n• b"),
        "{slack_texts:?}"
    );
    assert!(
        slack_texts.iter().all(|it| !it.contains("&amp;amp;")
            && !it.contains("&lt;p&gt;")
            && !it.contains("<p>")),
        "{slack_texts:?}"
    );
}

/// The alert of Microsoft Graph's "Get alert" example (alerts_v2), with a device in its
/// evidence as Graph lists it.
fn graph_example_alert() -> Value {
    json!({
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "da637551227677560813_-961444813",
        "providerAlertId": "da637551227677560813_-961444813",
        "incidentId": "28282",
        "status": "inProgress",
        "severity": "low",
        "serviceSource": "microsoftDefenderForEndpoint",
        "detectionSource": "antivirus",
        "title": "Suspicious execution of hidden file",
        "description": "A hidden file has been launched. This activity could indicate a compromised host.",
        "recommendedActions": "Collect artifacts and determine scope\n\u{fffd}\tReview the machine timeline for suspicious activities that may have occurred before and after the time of the alert, and record additional related artifacts (files, IPs/URLs) \n\u{fffd}\tLook for the presence of relevant artifacts on other systems. Identify commonalities and differences between potentially compromised systems.\n\u{fffd}\tSubmit relevant files for deep analysis and review resulting detailed behavioral information.\n\u{fffd}\tSubmit undetected files to the MMPC malware portal\n\nInitiate containment & mitigation \n\u{fffd}\tContact the user to verify intent and initiate local remediation actions as needed.\n\u{fffd}\tUpdate AV signatures and run a full scan. The scan might reveal and remove previously-undetected malware components.\n\u{fffd}\tEnsure that the machine has the latest security updates. In particular, ensure that you have installed the latest software, web browser, and Operating System versions.\n\u{fffd}\tIf credential theft is suspected, reset all relevant users passwords.\n\u{fffd}\tBlock communication with relevant URLs or IPs at the organization\u{fffd}s perimeter.",
        "category": "DefenseEvasion",
        "alertWebUrl": "https://security.microsoft.com/alerts/da637551227677560813_-961444813?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
        "incidentWebUrl": "https://security.microsoft.com/incidents/28282?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
        "mitreTechniques": ["T1564.001"],
        "createdDateTime": "2021-04-27T12:19:27.7211305Z",
        "comments": [],
        "evidence": [{
            "@odata.type": "#microsoft.graph.security.deviceEvidence",
            "createdDateTime": "2021-04-27T12:19:27.7211305Z",
            "verdict": "unknown",
            "remediationStatus": "none",
            "mdeDeviceId": "73e7e2de709dff64ef64b1d0c30e67fab63279db",
            "deviceDnsName": "tempDns",
            "osPlatform": "Windows10"
        }],
        "systemTags": []
    })
}

/// Graph answers every `$batch` like the real one: `alerts_v2` with `alert`, Defender
/// incidents from `incidents` (id to alerts), article searches with `articles`.
async fn mount_graph(server: &MockServer, alert: Value, incidents: Value, articles: Value) {
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(move |request: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&request.body).expect("JSON batch");
            let responses: Vec<Value> = body["requests"]
                .as_array()
                .expect("requests")
                .iter()
                .map(|sub| {
                    let url = sub["url"].as_str().unwrap_or_default();
                    let id = url
                        .strip_prefix("/security/incidents/")
                        .and_then(|rest| rest.split('?').next());
                    let (status, body) = if url.starts_with("/security/alerts_v2/") {
                        (200, alert.clone())
                    } else if let Some(id) = id {
                        match incidents.get(id) {
                            Some(alerts) => (200, json!({"id": id, "alerts": alerts})),
                            None => (404, json!({"error": {"code": "NotFound", "message": "no"}})),
                        }
                    } else {
                        (200, articles.clone())
                    };
                    json!({"id": sub["id"], "status": status, "headers": {}, "body": body})
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
        })
        .mount(server)
        .await;
}

#[tokio::test]
async fn multi_line_defender_actions_are_lists_in_teams_and_slack() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_incident_42(
        &server,
        "Users got mail",
        json!([{
            "kind": "SecurityAlert", "name": "alert-guid",
            "properties": {
                "systemAlertId": "da637551227677560813_-961444813",
                "alertDisplayName": "Suspicious execution of hidden file",
                "severity": "Low", "productName": "Microsoft Defender Advanced Threat Protection",
                "tactics": ["DefenseEvasion"], "timeGenerated": "2026-11-20T08:00:00Z"
            }
        }]),
        json!([]),
    )
    .await;
    mount_graph(
        &server,
        graph_example_alert(),
        json!({}),
        json!({"value": []}),
    )
    .await;

    let reply = bot(&server).answer(&request("/recommend 42"), now()).await;
    dump("recommend-incident", &reply);

    let recommendations = list(&reply, None);
    let first = &recommendations.items[0];
    assert_eq!(first.text, "Collect artifacts and determine scope");
    assert_eq!(first.steps.len(), 4);
    assert!(first.steps[0].starts_with("Review the machine timeline"));
    assert_eq!(
        first.steps[3],
        "Submit undetected files to the MMPC malware portal"
    );
    assert_eq!(
        first.detail.as_deref(),
        Some("Source: Defender XDR · device tempDns")
    );
    assert_eq!(
        recommendations.items[1].text,
        "Initiate containment & mitigation"
    );
    assert_eq!(recommendations.items[1].steps.len(), 5);

    // Teams: each action's steps are lines of their own (a bullet beside each), not one cell.
    let card = adaptive_card::render(&reply, &adaptive_card::Options::teams());
    let item = card["body"]
        .as_array()
        .expect("body")
        .iter()
        .find(|element| {
            element["type"] == "Container"
                && element["items"][0]["text"] == "**1.** Collect artifacts and determine scope"
        })
        .expect("the first action's container");
    let steps: Vec<(String, String)> = item["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|element| element["type"] == "ColumnSet")
        .map(|row| {
            let cell = |index: usize| {
                row["columns"][index]["items"][0]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            };
            (cell(0), cell(1))
        })
        .collect();
    assert_eq!(steps.len(), 4, "{steps:?}");
    assert!(steps.iter().all(|(marker, _)| marker == "•"), "{steps:?}");
    assert!(steps[0].1.starts_with("Review the machine timeline"));
    assert_eq!(
        steps[3].1,
        "Submit undetected files to the MMPC malware portal"
    );
    assert!(
        !texts(&card)
            .iter()
            .any(|it| it.contains("determine scope") && it.contains("machine timeline")),
        "no run-on cell"
    );
    assert!(!card.to_string().contains("\"type\":\"Table\""));

    // Slack: a rich text list per action, one element per step.
    let blocks: Vec<Value> = block_kit::render(&reply)
        .into_iter()
        .flat_map(|message| message.blocks)
        .collect();
    let lists: Vec<&Value> = blocks
        .iter()
        .filter(|block| block["type"] == "rich_text")
        .flat_map(|block| block["elements"].as_array().into_iter().flatten())
        .filter(|element| element["type"] == "rich_text_list")
        .collect();
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0]["style"], "bullet");
    let first_steps = texts(lists[0]);
    assert_eq!(first_steps.len(), 4);
    assert!(first_steps[0].starts_with("Review the machine timeline"));
    assert_eq!(texts(lists[1]).len(), 5);
    let validated = sentinel_bot::channels::slack::limits::violations(&block_kit::Message {
        text: "x".to_string(),
        blocks: blocks.clone(),
    });
    assert!(validated.is_empty(), "{validated:?}");
}

fn open_incident(number: u64, defender: u64, tactic: Tactic) -> Incident {
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
        alert_ids: Vec::new(),
        labels: Vec::new(),
        created,
        first_modified: None,
        first_human_action: None,
        last_modified: created,
        closed: None,
        url: Some(format!(
            "https://security.microsoft.com/incidents/{defender}?tid=t"
        )),
    }
}

/// A Defender XDR alert with this recommended action and one device in its evidence.
fn alert(action: &str, device: &str) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.security.alert",
        "recommendedActions": action,
        "evidence": [{
            "@odata.type": "#microsoft.graph.security.deviceEvidence",
            "deviceDnsName": device,
            "verdict": "suspicious"
        }]
    })
}

#[tokio::test]
async fn thirteen_alerts_with_three_actions_give_three_rows_and_one_article_is_listed_once() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let incidents = [
        open_incident(101, 9101, Tactic::InitialAccess),
        open_incident(102, 9102, Tactic::InitialAccess),
        open_incident(103, 9103, Tactic::Execution),
        open_incident(104, 9104, Tactic::Execution),
    ];
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
        .mount(&server)
        .await;
    // Three actions, each written slightly differently by different alerts.
    let isolate = [
        "Isolate the device from the network.",
        "isolate the device  from the network",
        "Isolate the device from the network. ",
    ];
    let collect = [
        "Collect artifacts and determine scope\n\u{2022}\tReview the device timeline.\n\u{2022}\tLook for the same artifacts on other devices.",
        "Collect artifacts and determine scope:\r\n- Review the device timeline\r\n- Look for the same artifacts on other devices",
    ];
    let reset = [
        "Reset the credentials of the signed-in users.",
        "Reset the credentials of the signed-in users",
    ];
    let defender = json!({
        "9101": [alert(isolate[0], "dev-a"), alert(isolate[0], "dev-b"), alert(collect[0], "dev-a"), alert(reset[0], "dev-a")],
        "9102": [alert(isolate[1], "dev-c"), alert(collect[0], "dev-c"), alert(collect[1], "dev-c")],
        "9103": [alert(reset[0], "dev-d"), alert(reset[1], "dev-e"), alert(isolate[2], "dev-d")],
        "9104": [alert(collect[1], "dev-f"), alert(isolate[0], "dev-f"), alert(collect[0], "dev-g")],
    });
    let alerts: usize = defender
        .as_object()
        .expect("incidents")
        .values()
        .map(|it| it.as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(alerts, 13);
    // Every search finds the same article, as one article can be about several tactics.
    let article = json!({"value": [{
        "@odata.type": "#microsoft.graph.security.article",
        "id": "a272d5ab",
        "title": "Storm-0000 phishing and PowerShell wave",
        "summary": {"content": "<p>Block the <b>sender</b> infrastructure &amp; hunt for encoded PowerShell.</p>", "format": "html"},
        "createdDateTime": "2026-11-01T00:00:00Z",
        "isFeatured": false,
        "tags": []
    }]});
    mount_graph(&server, json!({}), defender, article).await;

    let reply = bot(&server)
        .answer(&request("/recommend week"), now())
        .await;
    dump("recommend-week", &reply);

    let posture = list(
        &reply,
        Some("Security posture recommendations from Defender XDR"),
    );
    let rows: Vec<(&str, &[String], Option<&str>)> = posture
        .items
        .iter()
        .map(|item| {
            (
                item.text.as_str(),
                item.steps.as_slice(),
                item.detail.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "Isolate the device from the network.",
                &[][..],
                Some(
                    "Source: Defender XDR · incidents 101, 102, 103, 104 · devices dev-a, dev-b, dev-c, dev-d, dev-f"
                ),
            ),
            (
                "Collect artifacts and determine scope",
                &[
                    "Review the device timeline.".to_string(),
                    "Look for the same artifacts on other devices.".to_string()
                ][..],
                Some(
                    "Source: Defender XDR · incidents 101, 102, 104 · devices dev-a, dev-c, dev-f, dev-g"
                ),
            ),
            (
                "Reset the credentials of the signed-in users.",
                &[][..],
                Some("Source: Defender XDR · incidents 101, 103 · devices dev-a, dev-d, dev-e"),
            ),
        ]
    );

    let intel = list(
        &reply,
        Some("Recommendations from threat intelligence based on MITRE tactics"),
    );
    assert_eq!(intel.items.len(), 1, "{:?}", intel.items);
    assert_eq!(
        intel.items[0].text,
        "Storm-0000 phishing and PowerShell wave: Block the sender infrastructure & hunt for encoded PowerShell."
    );
    assert_eq!(
        intel.items[0].detail.as_deref(),
        Some("Source: Threat intelligence (MITRE Initial Access, Execution)")
    );
}
