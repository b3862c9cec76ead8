//! One set of figures: `/incidents week`, `/report` (chat and full), `/recommend week` and the
//! JSON export of the same demo data show the same number for the same thing.

use chrono::{TimeZone, Utc};
use sentinel_bot::app;
use sentinel_bot::bot::Request;
use sentinel_bot::config::Config;
use sentinel_bot::period::Period;
use sentinel_bot::present;
use sentinel_bot::reply::{Block, Reply};
use sentinel_bot::report::{self, Layout};
use serde_json::Value;
use std::collections::BTreeMap;

/// `text` as Dana types it.
fn request(text: &str) -> Request {
    crate::chat::request_as("U-DANA", text)
}

fn config(dir: &tempfile::TempDir) -> Config {
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    Config::from_sources("", vec![("SENTINEL_BOT__STORE__URL".to_string(), url)]).unwrap()
}

/// Every fact of a reply, label to value.
fn facts(reply: &Reply) -> BTreeMap<String, String> {
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

/// The rows of the table whose title is `title`, as text.
fn table_rows(reply: &Reply, title: &str) -> Vec<Vec<String>> {
    reply
        .blocks
        .iter()
        .find_map(|block| match block {
            Block::Table(table) if table.title.as_deref() == Some(title) => Some(
                table
                    .rows
                    .iter()
                    .map(|row| row.iter().map(|cell| cell.text.clone()).collect())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

/// The item texts of the list captioned `title`.
fn list_items(reply: &Reply, title: &str) -> Vec<String> {
    reply
        .blocks
        .iter()
        .find_map(|block| match block {
            Block::List(list) if list.title.as_deref() == Some(title) => {
                Some(list.items.iter().map(|item| item.text.clone()).collect())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// The item texts of the first list after the heading that starts with `heading`.
fn list_after(reply: &Reply, heading: &str) -> Vec<String> {
    reply
        .blocks
        .iter()
        .skip_while(|block| !matches!(block, Block::Heading(text) if text.starts_with(heading)))
        .find_map(|block| match block {
            Block::List(list) => Some(list.items.iter().map(|item| item.text.clone()).collect()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The first column of the first table after the heading that starts with `heading`.
fn first_column_after(reply: &Reply, heading: &str) -> Vec<String> {
    column_after(reply, heading, 0)
}

/// Column `index` of the first table after the heading that starts with `heading`.
fn column_after(reply: &Reply, heading: &str, index: usize) -> Vec<String> {
    reply
        .blocks
        .iter()
        .skip_while(|block| !matches!(block, Block::Heading(text) if text.starts_with(heading)))
        .find_map(|block| match block {
            Block::Table(table) => Some(
                table
                    .rows
                    .iter()
                    .map(|row| row[index].text.clone())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_view_of_a_week_shows_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let app = app::build(&config(&dir), now).await.unwrap();

    let incidents = app.bot.answer(&request("/incidents week"), now).await;
    let chat_report = app.bot.answer(&request("/report week"), now).await;
    let recommend = app.bot.answer(&request("/recommend week"), now).await;
    let exported = app
        .bot
        .weekly_report(Period::Week.window(now), now)
        .await
        .unwrap();
    let full_report = report::to_reply(&exported, Layout::Full);
    let json: Value = serde_json::to_value(&exported).unwrap();

    let views = [
        ("/incidents week", facts(&incidents)),
        ("/report (chat)", facts(&chat_report)),
        ("/report (full)", facts(&full_report)),
        ("/recommend week", facts(&recommend)),
    ];
    let shared = [
        "Created",
        "Open (New or Active)",
        "Closed",
        "Resolution rate",
        "MTTT (mean time to triage)",
        "Mean time to first human action",
        "MTTR (mean time to respond)",
        "Open now",
        "Open High severity",
        "Open without an owner",
        "Open longer than 3d",
    ];
    let (_, reference) = &views[0];
    for label in shared {
        let expected = reference.get(label).unwrap_or_else(|| panic!("{label}"));
        for (view, found) in &views {
            assert_eq!(found.get(label), Some(expected), "{label} in {view}");
        }
    }
    // A label means one figure: wherever two views share a label, they share its value.
    for (view, found) in &views {
        for (label, value) in found {
            for (other, elsewhere) in &views {
                if let Some(other_value) = elsewhere.get(label) {
                    assert_eq!(value, other_value, "{label}: {view} vs {other}");
                }
            }
        }
    }

    // The export carries the same numbers.
    let created = &json["facts"]["created"];
    let backlog = &json["facts"]["backlog"];
    let number = |value: &Value| value.as_u64().unwrap().to_string();
    assert_eq!(number(&created["total"]), reference["Created"]);
    assert_eq!(number(&created["by_status"][2]), reference["Closed"]);
    assert_eq!(number(&backlog["open"]), reference["Open now"]);
    assert_eq!(
        number(&backlog["unowned"]),
        reference["Open without an owner"]
    );
    assert_eq!(
        backlog["long_unresolved"]
            .as_array()
            .unwrap()
            .len()
            .to_string(),
        reference["Open longer than 3d"]
    );
    let seconds = |value: &Value| chrono::Duration::seconds(value.as_i64().unwrap());
    assert_eq!(
        present::duration(seconds(&created["time_to_triage"]["mean_seconds"])),
        reference["MTTT (mean time to triage)"]
    );
    assert_eq!(
        present::duration(seconds(&created["time_to_resolve"]["mean_seconds"])),
        reference["MTTR (mean time to respond)"]
    );
    let rate = created["resolution_rate"].as_f64().unwrap();
    assert_eq!(
        format!("{:.1}%", rate * 100.0),
        reference["Resolution rate"]
    );

    // Top tactics and the open High list agree between /incidents and the report.
    let tactics = |reply: &Reply| first_column_after(reply, "MITRE ATT&CK tactics");
    assert_eq!(tactics(&incidents), tactics(&full_report));
    assert!(!tactics(&incidents).is_empty());
    let open_high: Vec<String> = first_column_after(&incidents, "Open High-severity incidents");
    let report_high: Vec<String> = table_rows(
        &full_report,
        "Open High-severity incidents (open backlog now)",
    )
    .into_iter()
    .map(|row| row[0].clone())
    .collect();
    assert_eq!(open_high, report_high);
    assert_eq!(open_high.len().to_string(), reference["Open High severity"]);

    // Defender XDR advice is the same list in the report and in /recommend week, and the chat
    // summary's top recommendations come from the report's lists.
    let posture = "Security posture recommendations from Defender XDR";
    let intel = "Recommendations from threat intelligence based on MITRE tactics";
    let report_posture = list_after(&full_report, posture);
    assert!(!report_posture.is_empty());
    assert_eq!(list_items(&recommend, posture), report_posture);
    let top = list_after(&chat_report, "Top recommendations");
    assert!(!top.is_empty());
    let report_intel = list_after(&full_report, intel);
    for text in &top {
        assert!(
            report_posture.contains(text) || report_intel.contains(text),
            "{text}"
        );
    }
}

#[tokio::test]
async fn an_old_open_high_incident_shows_in_incidents_today() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let app = app::build(&config(&dir), now).await.unwrap();
    let today = app.bot.answer(&request("/incidents today"), now).await;
    let listed = first_column_after(&today, "Open High-severity incidents");
    // The demo keeps High incidents open for weeks; today's card lists them all.
    assert!(!listed.is_empty(), "{today:#?}");
    let ages: Vec<String> = today
        .blocks
        .iter()
        .skip_while(|block| {
            !matches!(block, Block::Heading(text) if text.starts_with("Open High-severity incidents"))
        })
        .find_map(|block| match block {
            // The age is on the muted line under the title: "Active · Dana · open 12d 4h".
            Block::Table(table) => Some(
                table
                    .rows
                    .iter()
                    .map(|row| row[1].detail.clone().unwrap_or_default())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap();
    assert!(
        ages.iter()
            .any(|age| age.contains("open") && age.contains('d')),
        "{ages:?}"
    );
}

#[tokio::test]
async fn the_recommendations_button_covers_the_period_of_its_card() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let app = app::build(&config(&dir), now).await.unwrap();
    for period in ["today", "12h", "week", "10d"] {
        let card = app
            .bot
            .answer(&request(&format!("/incidents {period}")), now)
            .await;
        let button = card
            .actions
            .iter()
            .find(|action| action.label == "Recommendations")
            .expect("a Recommendations button");
        let recommend = app.bot.answer(&request(&button.command), now).await;
        let (card_facts, recommend_facts) = (facts(&card), facts(&recommend));
        for label in ["Created", "Open (New or Active)", "Closed"] {
            assert_eq!(
                card_facts.get(label),
                recommend_facts.get(label),
                "{label}: /incidents {period} against {}",
                button.command
            );
        }
        assert!(card_facts.contains_key("Created"), "{card_facts:?}");
    }
}

/// A severity or status filter narrows the incidents created in the period; the open backlog
/// figures stay those of every open incident, so an old open High incident never disappears.
#[tokio::test]
async fn filters_narrow_the_period_but_never_the_open_backlog() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let app = app::build(&config(&dir), now).await.unwrap();
    let whole = facts(&app.bot.answer(&request("/incidents week"), now).await);
    let backlog = [
        "Open now",
        "Open High severity",
        "Open without an owner",
        "Open longer than 3d",
    ];
    assert_ne!(whole["Open High severity"], "0");
    for filtered in [
        "/incidents week low",
        "/incidents week closed",
        "/incidents week high active",
    ] {
        let reply = app.bot.answer(&request(filtered), now).await;
        let found = facts(&reply);
        for label in backlog {
            assert_eq!(found.get(label), whole.get(label), "{label} in {filtered}");
        }
        let created: u64 = found["Created"].parse().unwrap();
        assert!(
            created < whole["Created"].parse::<u64>().unwrap(),
            "{filtered} narrows the created figures"
        );
        assert!(
            reply.blocks.iter().any(|block| matches!(block,
                Block::Note(note) if note.contains("open backlog figures count every open incident"))),
            "{filtered} says what the filter narrows"
        );
    }
}

/// Every open High incident stays named under a filtered list.
#[tokio::test]
async fn a_filtered_list_still_names_the_open_high_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let app = app::build(&config(&dir), now).await.unwrap();
    let whole = app.bot.answer(&request("/incidents week"), now).await;
    let open_high = first_column_after(&whole, "Open High-severity incidents");
    assert!(!open_high.is_empty());
    let filtered = app.bot.answer(&request("/incidents week low"), now).await;
    let line = filtered
        .blocks
        .iter()
        .find_map(|block| match block {
            Block::Text(text) if text.starts_with("Open High-severity incidents now") => Some(text),
            _ => None,
        })
        .expect("the open High line");
    assert!(line.contains(&format!("({})", open_high.len())), "{line}");
    for number in &open_high {
        assert!(line.contains(&format!("{number} (")), "{number} in {line}");
    }
    assert!(!first_column_after(&filtered, "Incidents (created in this period)").is_empty());
}

/// Every `owner` in a JSON value, with the path it was found at.
fn owners(value: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, it) in map {
                let here = format!("{path}/{key}");
                if key == "owner" {
                    out.push((here.clone(), it.clone()));
                }
                owners(it, &here, out);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|it| owners(it, &format!("{path}[]"), out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_json_export_shows_every_owner_the_same_way_and_an_unassigned_one_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let app = app::build(&config(&dir), now).await.unwrap();
    let exported = app
        .bot
        .weekly_report(Period::Days(30).window(now), now)
        .await
        .unwrap();
    // As `sentinel-bot report --format json` writes it.
    let json: Value =
        serde_json::from_str(&serde_json::to_string_pretty(&exported).unwrap()).unwrap();
    let mut found = Vec::new();
    owners(&json, "", &mut found);
    let mut unassigned = 0;
    let mut paths = std::collections::BTreeSet::new();
    for (path, owner) in &found {
        paths.insert(path.clone());
        match owner {
            Value::Null => unassigned += 1,
            Value::Object(fields) => {
                let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
                assert_eq!(keys, ["email", "name", "object_id"], "{path}: {owner}");
                assert!(
                    fields
                        .values()
                        .any(|it| it.as_str().is_some_and(|it| !it.is_empty())),
                    "{path}: an owner with nothing known is no owner: {owner}"
                );
            }
            other => panic!("{path}: owner {other} is neither null nor an owner"),
        }
    }
    assert!(
        unassigned > 0 && unassigned < found.len(),
        "{unassigned} of {}",
        found.len()
    );
    // The backlog lists and the incidents give the same owner for the same incident.
    let by_number = |list: &Value| -> BTreeMap<u64, Value> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|it| (it["number"].as_u64().unwrap(), it["owner"].clone()))
            .collect()
    };
    let open = by_number(&json["facts"]["open"]);
    let long = by_number(&json["facts"]["backlog"]["long_unresolved"]);
    assert!(!long.is_empty());
    for (number, owner) in &long {
        assert_eq!(open.get(number), Some(owner), "incident {number}");
    }
    assert!(
        paths.contains("/facts/backlog/long_unresolved[]/owner"),
        "{paths:?}"
    );
}

/// Weekly bars (periods over two weeks) say "partial week", daily bars "partial day".
#[tokio::test]
async fn the_partial_note_names_the_bar_the_chart_draws() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let app = app::build(&config(&dir), now).await.unwrap();
    let notes = |reply: &Reply| -> Vec<String> {
        reply
            .blocks
            .iter()
            .filter_map(|block| match block {
                Block::Note(note) if note.starts_with("* Partial") => Some(note.clone()),
                _ => None,
            })
            .collect()
    };
    let month = notes(&app.bot.answer(&request("/incidents 30d"), now).await);
    assert_eq!(month, [present::PARTIAL_WEEK_NOTE]);
    let week = notes(&app.bot.answer(&request("/incidents week"), now).await);
    assert_eq!(week, [present::PARTIAL_DAY_NOTE]);
}
