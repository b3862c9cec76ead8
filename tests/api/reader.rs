//! The Log Analytics reader on answers shaped like the query API's (`tables[].columns/rows`)
//! but with the cells real data carries: a `CreatedTime` without a zone is counted (as UTC),
//! a row without one is said in every view, and a partial answer's apology gives the
//! service's own reason. Real bot and Azure clients against wiremock on 127.0.0.1.

use crate::azure::{query_path, source, week};
use crate::chat::{notes, request};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sentinel_bot::bot::{Bot, Settings};
use sentinel_bot::incident::{RequiredColumn, SkipReason};
use sentinel_bot::render::{adaptive_card, block_kit, escape, html, markdown};
use sentinel_bot::reply::{Block, Reply};
use sentinel_bot::report::{self, Layout};
use sentinel_bot::sources::IncidentSource;
use sentinel_bot::sources::azure::log_analytics::to_log_analytics_response;
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What every view must say about the row without a `CreatedTime`.
const NOTE: &str = "1 SecurityIncident row could not be read and was skipped (no CreatedTime); the figures do not count it.";

/// The end of the week `crate::azure::week` covers.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
}

fn fixture(name: &str) -> Value {
    let file = format!("{}/tests/fixtures/azure/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(file).expect("fixture")).expect("fixture JSON")
}

/// Log Analytics answers the week's query with four rows: one ordinary, one whose times
/// have no zone (and a space for `T`), one with an offset that moves it to the day before
/// in UTC, and one without `CreatedTime`. The period before (asked by `/report`) is empty.
async fn mount_week(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(query_path()))
        .and(body_partial_json(
            json!({"timespan": "2026-08-18T00:00:00Z/2026-11-16T00:00:00Z"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(to_log_analytics_response(&[])))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(query_path()))
        .and(body_partial_json(
            json!({"timespan": "2026-08-25T00:00:00Z/2026-11-23T00:00:00Z"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("security_incident_unreadable_rows.json")),
        )
        .mount(server)
        .await;
}

async fn bot(server: &MockServer) -> Bot {
    let source = Arc::new(source(server).await);
    Bot {
        source: source.clone(),
        intel: source,
        ledger: Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        settings: Settings::default(),
        advisor: None,
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

fn created(reply: &Reply) -> Option<String> {
    reply.blocks.iter().find_map(|block| match block {
        Block::Facts(facts) => facts
            .iter()
            .find(|fact| fact.label == "Created")
            .map(|fact| fact.value.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn a_created_time_without_a_zone_is_counted_as_utc_and_a_row_without_one_is_counted_as_skipped()
 {
    let server = MockServer::start().await;
    mount_week(&server).await;
    let source = source(&server).await;

    let found = source.incidents(week()).await.expect("incidents");

    let numbers: Vec<u64> = found.incidents.iter().map(|it| it.number).collect();
    assert_eq!(
        numbers,
        vec![201, 202, 203],
        "only the row without CreatedTime is left out"
    );
    let zoneless = &found.incidents[1];
    assert_eq!(
        zoneless.created,
        Utc.with_ymd_and_hms(2026, 11, 19, 23, 45, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_700),
        "no zone reads as UTC, with all seven fractional digits"
    );
    assert_eq!(
        zoneless.last_modified,
        Utc.with_ymd_and_hms(2026, 11, 19, 23, 50, 0).unwrap()
    );
    assert_eq!(
        found.incidents[2].created,
        Utc.with_ymd_and_hms(2026, 11, 20, 23, 30, 0).unwrap(),
        "an offset is applied"
    );
    let reasons: Vec<(SkipReason, usize)> = found.skipped.by_reason().collect();
    assert_eq!(
        reasons,
        vec![(SkipReason::Missing(RequiredColumn::CreatedTime), 1)]
    );
}

#[tokio::test]
async fn the_incidents_answer_counts_the_zoneless_row_on_its_utc_day_and_says_which_row_it_skipped()
{
    let server = MockServer::start().await;
    mount_week(&server).await;
    let bot = bot(&server).await;

    let facts = bot
        .period_facts(week(), now(), false, Default::default())
        .await
        .expect("facts");
    assert_eq!(facts.created.total, 3);
    let per_day: Vec<(NaiveDate, usize)> = facts
        .created
        .daily
        .iter()
        .filter(|day| day.total > 0)
        .map(|day| (day.date, day.total))
        .collect();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    assert_eq!(per_day, vec![(day(18), 1), (day(19), 1), (day(20), 1)]);
    assert_eq!(facts.skipped.rows(), 1);

    let reply = bot.answer(&request("/incidents week"), now()).await;
    assert_eq!(created(&reply).as_deref(), Some("3"));
    assert!(notes(&reply).contains(&NOTE), "{:?}", notes(&reply));
    // The note reaches both platforms' payloads, escaped as each platform needs.
    let card = adaptive_card::render(&reply, &adaptive_card::Options::teams());
    let card_json = serde_json::to_string(&card).expect("card");
    let card_note = serde_json::to_string(&escape::markdown(NOTE)).expect("text");
    assert!(card_json.contains(&card_note), "the Teams card says it");
    let slack: String = block_kit::render(&reply)
        .iter()
        .map(|message| serde_json::to_string(&message.blocks).expect("blocks"))
        .collect();
    let slack_note = serde_json::to_string(&escape::slack(NOTE)).expect("text");
    assert!(
        slack.contains(slack_note.trim_matches('"')),
        "the Slack blocks say it"
    );
}

#[tokio::test]
async fn the_report_in_every_format_and_recommend_week_say_which_rows_were_skipped() {
    let server = MockServer::start().await;
    mount_week(&server).await;
    let bot = bot(&server).await;

    let report = bot.weekly_report(week(), now()).await.expect("report");
    let export = serde_json::to_value(&report).expect("JSON export");
    assert_eq!(export["facts"]["created"]["total"], json!(3));
    assert_eq!(
        export["facts"]["skipped"],
        json!({"rows": 1, "by_reason": {"missing_created_time": 1}})
    );
    assert_eq!(
        export["facts"]["skipped_before"],
        json!({"rows": 0, "by_reason": {}})
    );
    let chat = report::to_reply(&report, Layout::Chat);
    assert_eq!(notes(&chat).iter().filter(|it| **it == NOTE).count(), 1);
    let full = report::to_reply(&report, Layout::Full);
    assert!(
        markdown::render(&full).contains(&escape::markdown(NOTE)),
        "Markdown"
    );
    assert!(html::render(&full, &[]).contains(NOTE), "HTML");

    let recommend = bot.answer(&request("/recommend week"), now()).await;
    assert!(notes(&recommend).contains(&NOTE), "{:?}", notes(&recommend));
}

#[tokio::test]
async fn nothing_is_said_when_every_row_was_read() {
    let server = MockServer::start().await;
    let mut body = fixture("security_incident_unreadable_rows.json");
    body["tables"][0]["rows"]
        .as_array_mut()
        .expect("rows")
        .pop();
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let bot = bot(&server).await;

    let reply = bot.answer(&request("/incidents week"), now()).await;

    assert_eq!(created(&reply).as_deref(), Some("3"));
    assert!(
        !notes(&reply)
            .iter()
            .any(|it| it.contains("could not be read")),
        "{:?}",
        notes(&reply)
    );
}

/// A partial answer as the query API sends one when a result is too large: HTTP 200, the
/// rows it has, and an `error` whose real reason sits in `details[].innererror`.
fn partial_answer(inner_message: &str) -> Value {
    let mut body = fixture("security_incident_query.json");
    body["error"] = json!({
        "message": "There were some errors when processing your query.",
        "code": "PartialError",
        "correlationId": "0b1f4a2c-6d3e-4f5a-8b7c-9d0e1f2a3b4c",
        "details": [{
            "code": "EngineError",
            "message": "Something went wrong processing your query on the server.",
            "innererror": {
                "code": "-2133196797",
                "message": inner_message,
                "severity": 2,
                "severityName": "Error"
            }
        }]
    });
    body
}

#[tokio::test]
async fn a_partial_answer_apologises_with_the_services_own_reason() {
    let server = MockServer::start().await;
    let reason = "Query result set has exceeded the internal data size limit 8388608 bytes (E_QUERY_RESULT_SET_TOO_LARGE).";
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(partial_answer(reason)))
        .mount(&server)
        .await;
    let bot = bot(&server).await;

    let reply = bot.answer(&request("/incidents week"), now()).await;

    let alert = alerts(&reply).first().copied().expect("an apology");
    assert_eq!(
        alert,
        format!("Sorry: Log Analytics failed: the query returned only part of the data: {reason}")
    );
    assert!(
        !reply.summary_text().contains(".."),
        "{}",
        reply.summary_text()
    );
}

#[tokio::test]
async fn a_long_partial_reason_is_cut_at_a_word_with_one_ellipsis() {
    let server = MockServer::start().await;
    let reason = format!(
        "Query execution has exceeded the allowed limits (80DA0001): {}.",
        "the query touched too many extents of the SecurityIncident table, ".repeat(8)
    );
    Mock::given(method("POST"))
        .and(path(query_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(partial_answer(&reason)))
        .mount(&server)
        .await;
    let bot = bot(&server).await;

    let reply = bot.answer(&request("/incidents week"), now()).await;

    let alert = alerts(&reply).first().copied().expect("an apology");
    assert!(
        alert.contains("Query execution has exceeded the allowed limits (80DA0001)"),
        "{alert}"
    );
    assert!(alert.ends_with('…'), "{alert}");
    assert_eq!(alert.matches('…').count(), 1, "{alert}");
    assert!(!alert.contains(".."), "{alert}");
    let kept = alert
        .trim_end_matches('…')
        .strip_prefix("Sorry: Log Analytics failed: the query returned only part of the data: ")
        .expect("the reason follows the apology");
    assert!(reason.starts_with(kept), "{alert}");
    let next = reason[kept.len()..].chars().next().expect("it was cut");
    assert!(
        !next.is_alphanumeric(),
        "the cut falls between words: {alert}"
    );
    assert!(kept.chars().count() < reason.chars().count(), "{alert}");
}
