//! Every card the bot produces on the demo data: every command, every page, every
//! confirmation state and the weekly post. Checks the layout rules on the JSON (column
//! widths, wrapping, size), and dumps each card (Teams attachment JSON) and Slack message to
//! files that must read back; with `CARD_DUMP_DIR` set, there, for `tests/cards/check-cards.sh`
//! to validate and render.

use chrono::{DateTime, TimeZone, Utc};
use sentinel_bot::app;
use sentinel_bot::bot::{Request, User};
use sentinel_bot::config::Config;
use sentinel_bot::render::adaptive_card::{self, Options};
use sentinel_bot::render::block_kit;
use sentinel_bot::reply::Reply;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const ANALYST: &str = "U-DANA";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

fn config(dir: &tempfile::TempDir) -> Config {
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let env = vec![
        ("SENTINEL_BOT__STORE__URL".to_string(), url),
        (
            "SENTINEL_BOT__SERVER__PUBLIC_URL".to_string(),
            "https://sentinel-bot.example".to_string(),
        ),
        (
            "SENTINEL_BOT__ACTIONS__ALLOWED_USERS".to_string(),
            format!("[\"{ANALYST}\"]"),
        ),
    ];
    Config::from_sources("", env).unwrap()
}

fn request(text: &str, user: &str) -> Request {
    Request {
        text: text.to_string(),
        user: User {
            id: user.to_string(),
            name: Some("Dana".to_string()),
            email: Some("dana@contoso.com".to_string()),
            ..User::default()
        },
        ..Request::default()
    }
}

fn button(reply: &Reply, label: &str) -> String {
    reply
        .actions
        .iter()
        .find(|action| action.label == label)
        .unwrap_or_else(|| panic!("no {label} button on {reply:?}"))
        .command
        .clone()
}

/// Every reply the bot gives on the demo data, named for the files they are dumped to.
/// `/incidents week` and the weekly report's chat summary for a period too large to list
/// (its figures aggregated in Log Analytics): the demo data never aggregates, so the demo
/// week's facts are turned into aggregated ones, as `Bot::period_facts` builds them.
async fn aggregated_views(bot: &sentinel_bot::bot::Bot) -> Vec<(String, Reply)> {
    use sentinel_bot::analytics::PeriodFacts;
    use sentinel_bot::bot::command::{self, Command};
    use sentinel_bot::report::{self, Layout, WeeklyReport};
    let Ok(Command::Incidents(query)) = command::parse("/incidents week") else {
        panic!("/incidents week parses");
    };
    let long_open_after = bot.settings.long_open_after;
    let aggregated = |facts: &PeriodFacts| {
        PeriodFacts::from_aggregates(
            facts.created.clone(),
            facts.previous.clone(),
            &facts.open().cloned().collect::<Vec<_>>(),
            facts.window,
            now(),
            long_open_after,
        )
    };
    let window = query.period.window(now());
    let facts = Box::pin(bot.period_facts(window, now(), false, query.filter()))
        .await
        .expect("demo facts");
    let listed =
        sentinel_bot::bot::views::incidents(&query, &aggregated(&facts), bot.settings.page_size);
    let weekly = Box::pin(bot.weekly_report(window, now()))
        .await
        .expect("demo report");
    let summary = report::to_reply(
        &WeeklyReport {
            facts: aggregated(&weekly.facts),
            advice: weekly.advice.clone(),
        },
        Layout::Chat,
    );
    vec![
        ("incidents-week-aggregated".to_string(), listed),
        ("report-week-aggregated".to_string(), summary),
    ]
}

async fn catalogue() -> Vec<(String, Reply)> {
    let dir = tempfile::tempdir().unwrap();
    let app = app::build(&config(&dir), now()).await.unwrap();
    let bot = &app.bot;
    let mut out: Vec<(String, Reply)> = Vec::new();
    let ask = async |out: &mut Vec<(String, Reply)>, name: &str, text: &str, user: &str| -> Reply {
        // Boxed: the answer's future is large, and a debug build's test thread has 2 MB of stack.
        let reply = Box::pin(bot.answer(&request(text, user), now())).await;
        out.push((name.to_string(), reply.clone()));
        reply
    };
    ask(&mut out, "help", "/help", ANALYST).await;
    ask(&mut out, "help-incidents", "/help incidents", ANALYST).await;
    ask(&mut out, "parse-error", "/incidents fortnight", ANALYST).await;
    ask(&mut out, "unknown-command", "/frobnicate", ANALYST).await;
    for period in ["today", "1d", "week", "30d", "90d"] {
        ask(
            &mut out,
            &format!("incidents-{period}"),
            &format!("/incidents {period}"),
            ANALYST,
        )
        .await;
    }
    ask(
        &mut out,
        "incidents-week-high",
        "/incidents week severity=high",
        ANALYST,
    )
    .await;
    // Every page of a paged list.
    let mut page = ask(
        &mut out,
        "incidents-30d-all-p1",
        "/incidents 30d status=closed",
        ANALYST,
    )
    .await;
    let mut number = 1;
    while let Some(next) = page.actions.iter().find(|a| a.label == "Next page") {
        number += 1;
        let command = next.command.clone();
        page = ask(
            &mut out,
            &format!("incidents-30d-all-p{number}"),
            &command,
            ANALYST,
        )
        .await;
    }
    let open_high = first_open_high(&app).await;
    ask(
        &mut out,
        "incident",
        &format!("/incident {open_high}"),
        ANALYST,
    )
    .await;
    ask(&mut out, "incident-not-found", "/incident 999999", ANALYST).await;
    ask(
        &mut out,
        "recommend-incident",
        &format!("/recommend {open_high}"),
        ANALYST,
    )
    .await;
    ask(&mut out, "recommend-week", "/recommend week", ANALYST).await;
    ask(&mut out, "report-week", "/report week", ANALYST).await;
    out.extend(aggregated_views(bot).await);
    ask(&mut out, "report-30d", "/report 30d", ANALYST).await;
    let week = sentinel_bot::period::Period::Week.window(now());
    let (weekly, _) = Box::pin(app::weekly_post(bot, week, now())).await.unwrap();
    out.push(("weekly-post".to_string(), weekly));
    // The announcement auto-triage posts for a new High-severity incident.
    let detail = bot
        .source
        .incident(sentinel_bot::incident::IncidentKey::only(open_high))
        .await
        .unwrap();
    let advisor = bot.advisor.clone().expect("the app wires an advisor");
    let advice = Box::pin(advisor.incident_advice(&detail, None)).await;
    out.push((
        "triage-announcement".to_string(),
        sentinel_bot::triage::announcement(&detail.incident, &advice),
    ));

    // Confirmation states: asked, done, used again, cancelled, refused, other user.
    let asked = ask(
        &mut out,
        "confirm-close",
        &format!("/close {open_high} FalsePositive IncorrectAlertLogic noisy rule"),
        ANALYST,
    )
    .await;
    let confirm = button(&asked, "Confirm");
    ask(&mut out, "confirm-close-done", &confirm, ANALYST).await;
    ask(&mut out, "confirm-close-used", &confirm, ANALYST).await;
    let asked = ask(
        &mut out,
        "confirm-assign",
        &format!("/assign {open_high} me"),
        ANALYST,
    )
    .await;
    ask(
        &mut out,
        "confirm-assign-cancelled",
        &button(&asked, "Cancel"),
        ANALYST,
    )
    .await;
    let asked = ask(
        &mut out,
        "confirm-status",
        &format!("/status {open_high} active"),
        ANALYST,
    )
    .await;
    ask(
        &mut out,
        "confirm-status-other-user",
        &button(&asked, "Confirm"),
        "U-OTHER",
    )
    .await;
    ask(
        &mut out,
        "confirm-expired",
        "/confirm 0123456789abcdef0123456789abcdef",
        ANALYST,
    )
    .await;
    ask(
        &mut out,
        "confirm-status-done",
        &button(&asked, "Confirm"),
        ANALYST,
    )
    .await;
    let asked = ask(
        &mut out,
        "confirm-comment",
        &format!("/comment {open_high} Host re-imaged; closing after review."),
        ANALYST,
    )
    .await;
    ask(
        &mut out,
        "confirm-comment-done",
        &button(&asked, "Confirm"),
        ANALYST,
    )
    .await;
    let asked = ask(
        &mut out,
        "confirm-create",
        "/create \"Lost laptop at the airport\" high Reported by the owner at 09:10.",
        ANALYST,
    )
    .await;
    ask(
        &mut out,
        "confirm-create-done",
        &button(&asked, "Confirm"),
        ANALYST,
    )
    .await;
    // Someone else changes the incident between the request and the press.
    let asked = ask(
        &mut out,
        "confirm-status-again",
        &format!("/status {open_high} new"),
        ANALYST,
    )
    .await;
    let meanwhile = ask(
        &mut out,
        "confirm-close-meanwhile",
        &format!("/close {open_high} TruePositive SuspiciousActivity contained"),
        ANALYST,
    )
    .await;
    ask(
        &mut out,
        "confirm-close-meanwhile-done",
        &button(&meanwhile, "Confirm"),
        ANALYST,
    )
    .await;
    ask(
        &mut out,
        "confirm-changed-meanwhile",
        &button(&asked, "Confirm"),
        ANALYST,
    )
    .await;
    ask(
        &mut out,
        "refused",
        &format!("/close {open_high} BenignPositive"),
        "U-MALLORY",
    )
    .await;
    let mut no_identity = request(&format!("/assign {open_high} me"), "29:teams-user");
    no_identity.user.email = None;
    no_identity.user.id = ANALYST.to_string();
    out.push((
        "assign-me-unknown-identity".to_string(),
        Box::pin(bot.answer(&no_identity, now())).await,
    ));
    out
}

async fn first_open_high(app: &app::App) -> u64 {
    let window = sentinel_bot::period::Period::Week.window(now());
    let incidents = app.bot.source.incidents(window).await.unwrap().incidents;
    incidents
        .iter()
        .filter(|it| it.severity == sentinel_bot::incident::Severity::High && it.status.is_open())
        .map(|it| it.number)
        .next()
        .expect("the demo week has an open High incident")
}

fn teams_card(reply: &Reply) -> Value {
    adaptive_card::render(reply, &Options::teams())
}

/// Writes every card in `cards` under `dir`: `teams/NAME.json` (the card Teams gets),
/// `schema/NAME.json` (the same with `Chart.*` replaced by its fallback, for the 1.5 schema),
/// `slack/NAME-N.json` (each Slack message) and `sizes.json`; with `pictures`, also
/// `charts/NAME.png` (each chart as Slack and the web page show it) and
/// `web/report-week.html` (the full report page), which take seconds in a debug build.
/// Returns the paths written.
async fn dump(cards: &[(String, Reply)], dir: &Path, pictures: bool) -> Vec<PathBuf> {
    let mut written = Vec::new();
    let mut write = |sub: &str, file: String, bytes: Vec<u8>| {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        let path = dir.join(sub).join(file);
        std::fs::write(&path, bytes).unwrap();
        written.push(path);
    };
    let pretty = |value: &Value| serde_json::to_vec_pretty(value).unwrap();
    let mut sizes = Vec::new();
    for (name, reply) in cards {
        let card = teams_card(reply);
        sizes.push(json!({"name": name, "bytes": card.to_string().len()}));
        write("teams", format!("{name}.json"), pretty(&card));
        let mut schema = card.clone();
        charts_to_fallback(&mut schema);
        write("schema", format!("{name}.json"), pretty(&schema));
        for (index, message) in block_kit::render(reply).iter().enumerate() {
            let body = json!({"text": message.text, "blocks": message.blocks});
            write("slack", format!("{name}-{}.json", index + 1), pretty(&body));
        }
        for block in reply.blocks.iter().filter(|_| pictures) {
            if let sentinel_bot::reply::Block::Chart(chart) = block {
                let png = sentinel_bot::render::chart::png(chart, 1000, 500).unwrap();
                write("charts", format!("{name}.png"), png);
            }
        }
    }
    write(".", "sizes.json".to_string(), pretty(&json!(sizes)));
    if pictures {
        // The web page of the demo week's full report, as `/reports/{id}` serves it.
        let app_dir = tempfile::tempdir().unwrap();
        let app = app::build(&config(&app_dir), now()).await.unwrap();
        let week = sentinel_bot::period::Period::Week.window(now());
        let report = app.bot.weekly_report(week, now()).await.unwrap();
        let page =
            sentinel_bot::web_report::page(&report, Some(now() + chrono::Duration::days(14)));
        write("web", "report-week.html".to_string(), page.into_bytes());
    }
    written
}

/// What is wrong with dumped files: an empty file, JSON that does not parse, a Teams card
/// that is no Adaptive Card with a body, a schema card that still has a `Chart.*`, a Slack
/// message without text or blocks, a PNG without the PNG signature, a page without `<html`.
fn dump_problems(files: &[PathBuf]) -> Vec<String> {
    let mut problems = Vec::new();
    for path in files {
        let shown = path.display();
        let bytes = std::fs::read(path).unwrap_or_default();
        if bytes.is_empty() {
            problems.push(format!("{shown}: empty"));
            continue;
        }
        let kind = path
            .parent()
            .and_then(|it| it.file_name())
            .and_then(|it| it.to_str());
        let json = || serde_json::from_slice::<Value>(&bytes).map_err(|error| error.to_string());
        let problem = match (kind, path.extension().and_then(|it| it.to_str())) {
            (_, Some("png")) => {
                (!bytes.starts_with(b"\x89PNG\r\n\x1a\n")).then(|| "not a PNG".into())
            }
            (_, Some("html")) => {
                (!String::from_utf8_lossy(&bytes).contains("<html")).then(|| "not a page".into())
            }
            (Some(kind @ ("teams" | "schema")), _) => match json() {
                Err(error) => Some(error),
                Ok(card) if card["type"] != "AdaptiveCard" => Some("not an AdaptiveCard".into()),
                Ok(card) if card["body"].as_array().is_none_or(Vec::is_empty) => {
                    Some("a card without a body".into())
                }
                Ok(card) if kind == "schema" && card.to_string().contains("\"Chart.") => {
                    Some("a Chart element left in".into())
                }
                Ok(_) => None,
            },
            (Some("slack"), _) => match json() {
                Err(error) => Some(error),
                Ok(message)
                    if message["text"].as_str().is_none_or(str::is_empty)
                        || message["blocks"].as_array().is_none_or(Vec::is_empty) =>
                {
                    Some("a message without text or blocks".into())
                }
                Ok(_) => None,
            },
            _ => json().err(),
        };
        if let Some(problem) = problem {
            problems.push(format!("{shown}: {problem}"));
        }
    }
    problems
}

/// Every card dumps to files that read back as what they are. With `CARD_DUMP_DIR` set the
/// files go there, with the chart PNGs and the web report page, for
/// `tests/cards/check-cards.sh` to validate and render; otherwise to a temporary directory.
#[tokio::test]
async fn every_card_dumps_to_files_that_parse() {
    let cards = catalogue().await;
    let temporary = tempfile::tempdir().unwrap();
    let (dir, pictures) = match std::env::var_os("CARD_DUMP_DIR") {
        Some(dir) => (PathBuf::from(dir), true),
        None => (temporary.path().to_path_buf(), false),
    };
    let files = dump(&cards, &dir, pictures).await;
    let count = |sub: &str| {
        files
            .iter()
            .filter(|it| it.parent() == Some(&dir.join(sub)))
            .count()
    };
    assert_eq!(count("teams"), cards.len());
    assert_eq!(count("schema"), cards.len());
    assert!(
        count("slack") >= cards.len(),
        "{} Slack messages",
        count("slack")
    );
    if pictures {
        let with_chart = cards
            .iter()
            .filter(|(_, reply)| {
                reply
                    .blocks
                    .iter()
                    .any(|it| matches!(it, sentinel_bot::reply::Block::Chart(_)))
            })
            .count();
        assert_eq!(count("charts"), with_chart);
        assert_eq!(count("web"), 1);
    }
    let problems = dump_problems(&files);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_broken_dump_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (sub, name, text) in [
        ("teams", "empty.json", ""),
        ("teams", "cut.json", "{\"type\": \"Adaptive"),
        (
            "teams",
            "bodiless.json",
            r#"{"type": "AdaptiveCard", "body": []}"#,
        ),
        (
            "schema",
            "chart.json",
            r#"{"type": "AdaptiveCard", "body": [{"type": "Chart.Line"}]}"#,
        ),
        ("slack", "silent.json", r#"{"text": "", "blocks": [{}]}"#),
        ("charts", "fake.png", "GIF89a"),
        ("web", "page.html", "<p>no page</p>"),
        (
            "teams",
            "good.json",
            r#"{"type": "AdaptiveCard", "body": [{"type": "TextBlock"}]}"#,
        ),
    ] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        let path = dir.path().join(sub).join(name);
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    let problems = dump_problems(&files);
    assert_eq!(problems.len(), 7, "{problems:#?}");
    assert!(!problems.iter().any(|it| it.contains("good.json")));
}

/// Replaces every Teams `Chart.*` element by its fallback (which the 1.5 schema knows).
fn charts_to_fallback(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.starts_with("Chart."))
            {
                *value = map.get("fallback").cloned().expect("chart fallback");
                charts_to_fallback(value);
                return;
            }
            map.values_mut().for_each(charts_to_fallback);
        }
        Value::Array(items) => items.iter_mut().for_each(charts_to_fallback),
        _ => {}
    }
}

/// Text of a card element as a reader sees it: TextBlock text, a RichTextBlock's runs, facts.
fn element_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some("TextBlock" | "TextRun") = map.get("type").and_then(Value::as_str) {
                out.push(map["text"].as_str().unwrap_or_default().to_string());
            }
            if let Some(facts) = map.get("facts").and_then(Value::as_array) {
                for fact in facts {
                    for key in ["title", "value"] {
                        out.push(fact[key].as_str().unwrap_or_default().to_string());
                    }
                }
            }
            map.iter()
                .filter(|(key, _)| key.as_str() != "fallback")
                .for_each(|(_, it)| element_texts(it, out));
        }
        Value::Array(items) => items.iter().for_each(|it| element_texts(it, out)),
        _ => {}
    }
}

/// Every `Table` element in a card, fallbacks included.
fn tables(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("Table")) {
                out.push(value.clone());
            }
            map.values().for_each(|it| tables(it, out));
        }
        Value::Array(items) => items.iter().for_each(|it| tables(it, out)),
        _ => {}
    }
}

/// Usable width of a Teams card on a 360 px phone: the card minus its 16 px padding each side.
const PHONE_WIDTH_PX: u32 = 360 - 2 * 16;
/// The least a prose column keeps at 360 px, so a title still reads word by word.
const PROSE_MIN_PX: u32 = 90;

/// The layout rules of issue 14 on one card; returns what it breaks.
fn layout_problems(card: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut found = Vec::new();
    tables(card, &mut found);
    for table in &found {
        let columns = table["columns"].as_array().expect("columns");
        if columns.len() > 4 {
            problems.push(format!("{} columns, over 4", columns.len()));
        }
        let pixels: Vec<Option<u32>> = columns
            .iter()
            .map(|column| {
                column["width"]
                    .as_str()
                    .and_then(|it| it.strip_suffix("px"))
                    .and_then(|it| it.parse().ok())
            })
            .collect();
        let weighted = pixels.iter().filter(|it| it.is_none()).count();
        if weighted > 1 {
            problems.push(format!("{weighted} weighted columns, over 1"));
        }
        let fixed: u32 = pixels.iter().flatten().sum();
        let budget = PHONE_WIDTH_PX - if weighted > 0 { PROSE_MIN_PX } else { 0 };
        if fixed > budget {
            problems.push(format!("short columns take {fixed} px, over {budget} px"));
        }
        // Cells of a pixel column never wrap. The weighted column either wraps everywhere
        // (prose) or nowhere (a short first column filling the width of a table without prose).
        let rows = table["rows"].as_array().expect("rows");
        for (index, width) in pixels.iter().enumerate() {
            let wraps: Vec<&Value> = rows
                .iter()
                .flat_map(|row| {
                    row["cells"][index]["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                })
                .filter(|item| item["type"] == "TextBlock")
                .map(|item| &item["wrap"])
                .collect();
            let consistent = wraps.windows(2).all(|pair| pair[0] == pair[1]);
            if width.is_some() && wraps.iter().any(|wrap| **wrap != json!(false)) {
                problems.push(format!("column {index}: a short column wraps"));
            }
            if width.is_none() && !consistent {
                problems.push(format!("column {index}: wraps in some cells only"));
            }
        }
    }
    let mut texts = Vec::new();
    element_texts(&card["body"], &mut texts);
    for text in texts.iter().filter(|text| text.contains('`')) {
        problems.push(format!("raw backtick shown: {text:?}"));
    }
    let fallback = card["fallbackText"].as_str().unwrap_or_default();
    if fallback.trim().is_empty() {
        problems.push("no fallbackText".to_string());
    }
    problems
}

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(include_str!("../schemas/adaptive-card-1.5.0.json")).unwrap();
    jsonschema::draft6::new(&schema).unwrap()
}

/// The card as the 1.5 schema knows it: no `msteams`, `Chart.*` replaced by its fallback.
fn without_teams_extensions(value: &mut Value) {
    charts_to_fallback(value);
    if let Value::Object(map) = value {
        map.remove("msteams");
    }
}

#[tokio::test]
async fn every_card_follows_the_chat_layout_rules_and_the_schema() {
    let validator = validator();
    let mut problems = Vec::new();
    let cards = catalogue().await;
    assert!(cards.len() >= 50, "{} cards", cards.len());
    for (name, reply) in &cards {
        let mut card = teams_card(reply);
        for problem in layout_problems(&card) {
            problems.push(format!("{name}: {problem}"));
        }
        without_teams_extensions(&mut card);
        for error in validator.iter_errors(&card) {
            problems.push(format!(
                "{name}: schema: {error} at {}",
                error.instance_path()
            ));
        }
        for (index, message) in block_kit::render(reply).iter().enumerate() {
            let tables = message
                .blocks
                .iter()
                .filter(|block| block["type"] == "table")
                .count();
            if tables > 1 {
                problems.push(format!("{name}: Slack message {index} has {tables} tables"));
            }
            if message.text.trim().is_empty() || message.text == "Sentinel bot" {
                problems.push(format!("{name}: Slack message {index} has no summary text"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn a_broken_layout_is_caught() {
    // The rule checker must be able to fail: a wide grid of wrapping short cells.
    let mut card = json!({
        "type": "AdaptiveCard", "version": "1.5", "body": [{
            "type": "Table",
            "columns": [{"width": 1}, {"width": 1}, {"width": "200px"}, {"width": "100px"}, {"width": 1}],
            "rows": [{"type": "TableRow", "cells": [
                {"type": "TableCell", "items": [{"type": "TextBlock", "text": "`x`", "wrap": true}]},
                {"type": "TableCell", "items": []},
                {"type": "TableCell", "items": [{"type": "TextBlock", "text": "High", "wrap": true}]},
                {"type": "TableCell", "items": []},
                {"type": "TableCell", "items": []}
            ]}]
        }]
    });
    let problems = layout_problems(&card);
    assert_eq!(problems.len(), 6, "{problems:#?}");
    card["fallbackText"] = json!("x");
    assert_eq!(layout_problems(&card).len(), 5);
}

#[tokio::test]
async fn the_busiest_cards_stay_under_28_kb() {
    let cards = catalogue().await;
    for name in [
        "incidents-week",
        "report-week",
        "weekly-post",
        "incidents-30d-all-p1",
    ] {
        let (_, reply) = cards
            .iter()
            .find(|(it, _)| it == name)
            .unwrap_or_else(|| panic!("{name} in the catalogue"));
        let bytes = teams_card(reply).to_string().len();
        assert!(bytes < 28_000, "{name}: {bytes} bytes");
    }
}

#[tokio::test]
async fn confirmations_end_as_their_outcome_with_no_live_buttons() {
    let cards = catalogue().await;
    let find = |name: &str| &cards.iter().find(|(it, _)| it == name).unwrap().1;
    for name in [
        "confirm-close",
        "confirm-assign",
        "confirm-status",
        "confirm-comment",
        "confirm-create",
    ] {
        let asked = find(name);
        assert!(
            asked.actions.iter().all(|action| action.in_place),
            "{name}: Confirm and Cancel replace the card"
        );
    }
    for name in [
        "confirm-close-done",
        "confirm-status-done",
        "confirm-comment-done",
        "confirm-create-done",
        "confirm-assign-cancelled",
    ] {
        let outcome = find(name);
        let labels: Vec<&str> = outcome.actions.iter().map(|it| it.label.as_str()).collect();
        assert_eq!(labels, ["Show incident"], "{name}: the next step only");
        assert!(!outcome.notice, "{name}");
    }
    assert!(
        find("confirm-create-done").actions[0]
            .command
            .starts_with("/incident ")
    );
    for name in [
        "confirm-close-used",
        "confirm-status-other-user",
        "confirm-expired",
    ] {
        let notice = find(name);
        assert!(notice.notice && notice.actions.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn only_parse_errors_say_the_command_could_not_be_read() {
    for (name, reply) in catalogue().await {
        let parse_error = ["parse-error", "unknown-command"].contains(&name.as_str());
        assert_eq!(
            reply.title == "I could not read that command",
            parse_error,
            "{name}: {}",
            reply.title
        );
    }
}

/// A card or message with the web report's random id replaced, so goldens are stable.
fn without_page_ids(mut value: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::String(text) if text.contains("/reports/") => {
                let base = text
                    .split("/reports/")
                    .next()
                    .unwrap_or_default()
                    .to_string();
                *text = format!("{base}/reports/[id]");
            }
            Value::Object(map) => map.values_mut().for_each(walk),
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

#[tokio::test]
async fn golden_layouts_of_the_busiest_cards() {
    let cards = catalogue().await;
    for name in [
        "incidents-week",
        "weekly-post",
        "incident",
        "confirm-close-done",
    ] {
        let (_, reply) = cards.iter().find(|(it, _)| it == name).unwrap();
        insta::assert_json_snapshot!(format!("teams_{name}"), without_page_ids(teams_card(reply)));
        let messages: Vec<Value> = block_kit::render(reply)
            .into_iter()
            .map(|it| json!({"text": it.text, "blocks": it.blocks}))
            .collect();
        insta::assert_json_snapshot!(format!("slack_{name}"), without_page_ids(json!(messages)));
    }
}
