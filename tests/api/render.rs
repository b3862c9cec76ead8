//! Renderer tests: Adaptive Card schema validation, Block Kit limits, escaping
//! and golden snapshots of every renderer on one sample reply.

use chrono::{NaiveDate, TimeZone, Utc};
use sentinel_bot::analytics::{DEFAULT_LONG_OPEN, DayVolume, Durations, PeriodFacts, Summary};
use sentinel_bot::bot::BotError;
use sentinel_bot::bot::command::{IncidentsQuery, UsageError, Verb};
use sentinel_bot::bot::views;
use sentinel_bot::incident::Tactic;
use sentinel_bot::period::{Period, Window};
use sentinel_bot::render::block_kit::{self, Message};
use sentinel_bot::render::{adaptive_card, chart, markdown};
use sentinel_bot::reply::{
    Action, ActionStyle, Block, Cell, Chart, ChartKind, Column, Fact, Page, Reply, Series, Table,
    Tone,
};
use serde_json::Value;

const HOSTILE: &str = "<at>x</at> **bold** [link](http://evil)";

fn chart_of(kind: ChartKind) -> Chart {
    Chart {
        title: format!("{kind:?} chart"),
        kind,
        categories: ["11-16", "11-17", "11-18"].map(String::from).to_vec(),
        series: vec![
            Series {
                name: "High".to_string(),
                values: vec![1.0, 0.0, 2.0],
            },
            Series {
                name: "Medium".to_string(),
                values: vec![3.0, 2.0, 1.5],
            },
        ],
        x_label: Some("Day".to_string()),
        y_label: Some("Incidents".to_string()),
    }
}

/// A reply with every block kind, every tone, every action style and a page.
fn sample() -> Reply {
    Reply {
        page: Some(Page { number: 1, of: 3 }),
        ..Reply::titled(format!("Incidents, week {HOSTILE}"))
    }
    .with(Block::Heading("Totals & <status>".to_string()))
    .with(Block::Text(format!(
        "Paragraph with {HOSTILE}\n- not a list\n1. not a list"
    )))
    .with(Block::Note("Source: Sentinel SecurityIncident".to_string()))
    .with(Block::Alert(
        "Defender XDR did not answer <!channel>".to_string(),
    ))
    .with(Block::Facts(vec![
        Fact::new("Total", 42),
        Fact::new("Resolution rate", "71%"),
        Fact::new("Owner <@U123>", HOSTILE),
    ]))
    .with(Block::Table(Table {
        title: Some("Open high-severity incidents".to_string()),
        columns: vec![
            Column::right("#"),
            Column::prose("Title"),
            Column::left("Severity"),
        ],
        rows: vec![
            vec![
                Cell::link(1234, "https://portal.azure.com/#incident/1234"),
                Cell::text(HOSTILE).with_detail(format!("Owner {HOSTILE}")),
                Cell::toned("High", Tone::Attention),
            ],
            vec![
                Cell::link(1235, "http://evil.example/"),
                Cell::text("Pipe | and `code` and <http://evil|click>"),
                Cell::toned("Medium", Tone::Warning),
            ],
            vec![
                Cell::text(1236),
                Cell::text("Closed one"),
                Cell::toned("Low", Tone::Good),
            ],
            vec![
                Cell::text(1237),
                Cell::text("Plain"),
                Cell::toned("Informational", Tone::Normal),
            ],
        ],
    }))
    .with(Block::Chart(chart_of(ChartKind::StackedBar)))
    .with(Block::Chart(chart_of(ChartKind::Donut)))
    .with(Block::Chart(chart_of(ChartKind::Line)))
    .with_action(Action::new("Recommend", "/recommend 1234").styled(ActionStyle::Primary))
    .with_action(Action::new("Close", "/close 1234").styled(ActionStyle::Danger))
    .with_action(Action::new("Next page", "/incidents week page=2").in_place())
    .with_action(Action::link(
        "Open full report",
        "https://bot.example/reports/abc",
    ))
}

fn summary() -> Summary {
    let start = Utc
        .with_ymd_and_hms(2026, 11, 16, 0, 0, 0)
        .single()
        .expect("valid date");
    let end = Utc
        .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
        .single()
        .expect("valid date");
    let durations = Durations {
        count: 0,
        mean: None,
        median: None,
    };
    Summary {
        window: Window { start, end },
        total: 5,
        by_status: [2, 1, 2],
        by_severity: [1, 2, 1, 1],
        status_by_severity: [[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 1]],
        by_tactic: vec![(Tactic::InitialAccess, 3), (Tactic::Execution, 1)],
        without_tactics: 1,
        resolution_rate: Some(0.4),
        time_to_triage: durations,
        time_to_first_human_action: durations,
        time_to_resolve: durations,
        daily_average: Some(5.0 / 7.0),
        daily: (16..23)
            .map(|day| DayVolume {
                date: NaiveDate::from_ymd_opt(2026, 11, day).expect("valid day"),
                by_severity: [1, 0, 1, 0],
                total: 2,
                partial: false,
                anomaly: day == 20,
            })
            .collect(),
    }
}

/// The facts of the sample week: its summary and an empty backlog.
fn facts() -> PeriodFacts {
    let created = summary();
    let mut facts = PeriodFacts::compute(
        &[],
        None,
        created.window,
        created.window.end,
        DEFAULT_LONG_OPEN,
    );
    facts.created = created;
    facts
}

/// Replies built by the real views, plus the sample.
fn all_replies() -> Vec<Reply> {
    let usage = UsageError {
        message: format!("unknown period {HOSTILE}"),
        verb: Some(Verb::Incidents),
    };
    let query = IncidentsQuery {
        period: Period::Week,
        severity: None,
        status: None,
        page: 1,
    };
    vec![
        sample(),
        Reply::titled(""),
        views::help(None),
        views::help(Some(Verb::Recommend)),
        views::usage_error(&usage),
        views::error(&BotError::Usage(usage.clone())),
        views::incidents(&query, &facts(), 10),
    ]
}

fn validator() -> jsonschema::Validator {
    let text = include_str!("../schemas/adaptive-card-1.5.0.json");
    let schema: Value = serde_json::from_str(text).expect("schema is JSON");
    jsonschema::draft6::new(&schema).expect("schema compiles")
}

/// Removes Teams-only extensions: `msteams`, and `Chart.*` replaced by their fallback.
fn strip_teams(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("msteams");
            let is_chart = map
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.starts_with("Chart."));
            if is_chart {
                let fallback = map.get("fallback").cloned().expect("chart has a fallback");
                *value = fallback;
                strip_teams(value);
                return;
            }
            map.values_mut().for_each(strip_teams);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_teams),
        _ => {}
    }
}

fn assert_valid(card: &Value) {
    let validator = validator();
    let errors: Vec<String> = validator
        .iter_errors(card)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid card: {errors:#?}\n{card:#}");
}

#[test]
fn every_card_validates_against_the_1_5_schema() {
    for reply in all_replies() {
        assert_valid(&adaptive_card::render(
            &reply,
            &adaptive_card::Options::default(),
        ));
        let mut teams = adaptive_card::render(&reply, &adaptive_card::Options::teams());
        let wide = reply
            .blocks
            .iter()
            .any(|block| matches!(block, Block::Table(_) | Block::Chart(_)));
        assert_eq!(teams["msteams"]["width"] == "Full", wide, "{}", reply.title);
        strip_teams(&mut teams);
        assert_valid(&teams);
    }
}

#[test]
fn schema_rejects_an_invalid_card() {
    // Guards against a validator that accepts everything.
    let mut card = adaptive_card::render(&sample(), &adaptive_card::Options::teams());
    assert!(!validator().is_valid(&card));
    strip_teams(&mut card);
    card["body"][0]["type"] = Value::from("NoSuchElement");
    assert!(!validator().is_valid(&card));
}

#[test]
fn teams_charts_have_the_documented_shapes() {
    let card = adaptive_card::render(&sample(), &adaptive_card::Options::teams());
    let charts: Vec<&Value> = card["body"]
        .as_array()
        .expect("body")
        .iter()
        .filter(|it| {
            it["type"]
                .as_str()
                .is_some_and(|kind| kind.starts_with("Chart."))
        })
        .collect();
    assert_eq!(charts.len(), 3);
    assert_eq!(charts[0]["type"], "Chart.VerticalBar.Grouped");
    assert_eq!(charts[0]["stacked"], true);
    assert_eq!(
        charts[0]["data"][0]["values"][0],
        serde_json::json!({"x": "11-16", "y": 1.0})
    );
    assert_eq!(charts[1]["type"], "Chart.Donut");
    assert_eq!(
        charts[1]["data"][0],
        serde_json::json!({"legend": "11-16", "value": 4.0})
    );
    assert_eq!(charts[2]["type"], "Chart.Line");
    assert_eq!(charts[2]["fallback"]["type"], "Container");
}

fn texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|it| texts(it, out)),
        Value::Object(map) => map.values().for_each(|it| texts(it, out)),
        _ => {}
    }
}

fn mrkdwn_texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) if map.get("type") == Some(&Value::from("mrkdwn")) => {
            out.push(map["text"].as_str().expect("mrkdwn text").to_string());
        }
        Value::Object(map) => map.values().for_each(|it| mrkdwn_texts(it, out)),
        Value::Array(items) => items.iter().for_each(|it| mrkdwn_texts(it, out)),
        _ => {}
    }
}

#[test]
fn hostile_text_is_inert_in_every_renderer() {
    let card = adaptive_card::render(&sample(), &adaptive_card::Options::default());
    let mut card_texts = Vec::new();
    texts(&card, &mut card_texts);
    for text in &card_texts {
        assert!(!text.contains("<at>"), "{text}");
        assert!(!text.contains("**bold**"), "{text}");
        assert!(!text.contains("[link](http://evil)"), "{text}");
        assert!(!text.contains("](http://"), "{text}");
    }
    assert!(
        card_texts
            .iter()
            .any(|it| it.contains("[1234](https://portal.azure.com/#incident/1234)"))
    );

    for message in block_kit::render(&sample()) {
        // plain_text (header, button labels) is shown literally by Slack; mrkdwn is parsed.
        let mut slack_texts = vec![message.text.clone()];
        message
            .blocks
            .iter()
            .for_each(|it| mrkdwn_texts(it, &mut slack_texts));
        for text in &slack_texts {
            // The only angle brackets left are https links of cells: `<https://...|label>`.
            let without_links = text.replace("<https://portal.azure.com/#incident/1234|1234>", "");
            assert!(
                !without_links.contains('<') && !without_links.contains('>'),
                "{text}"
            );
        }
        assert!(slack_texts.iter().any(|it| it.contains("&lt;!channel&gt;")));
    }

    let text = markdown::render(&sample());
    assert!(!text.contains("<at>") && !text.contains("**bold**") && !text.contains("[link]("));
}

/// Asserts every Block Kit limit from protocols.md item 40 on one message.
fn check_limits(message: &Message) {
    let count = |text: &str| text.chars().count();
    assert!(!message.text.is_empty(), "fallback text must be set");
    assert!(count(&message.text) <= 40_000);
    // A message without blocks is valid: Slack shows `text`.
    assert!(
        message.blocks.len() <= 50,
        "{} blocks",
        message.blocks.len()
    );
    let mut action_ids = std::collections::HashSet::new();
    let mut tables = 0;
    for block in &message.blocks {
        match block["type"].as_str().expect("block type") {
            "header" => {
                assert_eq!(block["text"]["type"], "plain_text");
                let text = block["text"]["text"].as_str().expect("header text");
                assert!(!text.is_empty() && count(text) <= 150);
            }
            "section" => {
                if let Some(text) = block["text"]["text"].as_str() {
                    assert!(
                        !text.is_empty() && count(text) <= 3000,
                        "section of {}",
                        count(text)
                    );
                }
                if let Some(fields) = block["fields"].as_array() {
                    assert!(!fields.is_empty() && fields.len() <= 10);
                    for field in fields {
                        let text = field["text"].as_str().expect("field text");
                        assert!(count(text) <= 2000);
                    }
                }
                assert!(block["text"].is_object() || block["fields"].is_array());
            }
            "context" => {
                let elements = block["elements"].as_array().expect("context elements");
                assert!(!elements.is_empty() && elements.len() <= 10);
                for element in elements {
                    assert!(count(element["text"].as_str().expect("context text")) <= 3000);
                }
            }
            "table" => {
                tables += 1;
                let rows = block["rows"].as_array().expect("table rows");
                assert!(!rows.is_empty() && rows.len() <= 100, "{} rows", rows.len());
                let width = rows[0].as_array().expect("row").len();
                for row in rows {
                    let cells = row.as_array().expect("row cells");
                    assert!(cells.len() == width && cells.len() <= 20);
                    for cell in cells {
                        if cell["type"] == "raw_text" {
                            assert!(!cell["text"].as_str().expect("cell").is_empty());
                        } else {
                            assert_eq!(cell["type"], "rich_text");
                        }
                    }
                }
            }
            "actions" => {
                let elements = block["elements"].as_array().expect("action elements");
                assert!(!elements.is_empty() && elements.len() <= 25);
                for button in elements {
                    assert_eq!(button["type"], "button");
                    assert!(count(button["text"]["text"].as_str().expect("label")) <= 75);
                    match button["url"].as_str() {
                        Some(url) => assert!(url.starts_with("https://") && count(url) <= 3000),
                        None => assert!(count(button["value"].as_str().expect("value")) <= 2000),
                    }
                    let action_id = button["action_id"].as_str().expect("action_id");
                    assert!(count(action_id) <= 255);
                    assert!(
                        action_ids.insert(action_id.to_string()),
                        "duplicate {action_id}"
                    );
                }
            }
            other => panic!("unexpected block type {other}"),
        }
        if let Some(block_id) = block["block_id"].as_str() {
            assert!(count(block_id) <= 255);
        }
    }
    assert!(tables <= 1, "Slack allows one table block per message");
}

#[test]
fn block_kit_respects_every_limit() {
    let big_table = Table {
        title: Some("Many".to_string()),
        columns: vec![
            Column::right("#"),
            Column::left("Title"),
            Column::left("Owner"),
        ],
        rows: (0..500)
            .map(|index| {
                vec![
                    Cell::text(index),
                    Cell::text("t&<".repeat(30)),
                    Cell::text("someone"),
                ]
            })
            .collect(),
    };
    let facts = (0..100)
        .map(|index| Fact::new(format!("Fact {index}"), "v".repeat(3000)))
        .collect();
    let long = "<&>".repeat(5000);
    let mut replies = all_replies();
    replies.push(Reply::titled("table").with(Block::Table(big_table)));
    replies.push(Reply::titled("facts").with(Block::Facts(facts)));
    replies.push(
        Reply::titled(long.clone())
            .with(Block::Heading(long.clone()))
            .with(Block::Text(long.clone()))
            .with(Block::Note(long.clone()))
            .with(Block::Alert(long.clone())),
    );
    let mut actions = Reply::titled("actions");
    for index in 0..30 {
        actions = actions.with_action(Action::new("L".repeat(100), format!("/incident {index}")));
    }
    replies.push(actions);
    for reply in &replies {
        let messages = block_kit::render(reply);
        assert!(!messages.is_empty());
        messages.iter().for_each(check_limits);
    }
    // The 500-row table keeps every row, spread over sections.
    let messages = block_kit::render(&replies[replies.len() - 4]);
    let all: String = messages
        .iter()
        .flat_map(|it| it.blocks.iter())
        .filter_map(|it| it["text"]["text"].as_str())
        .collect();
    assert!(all.contains("*499* · t&amp;&lt;"));
    // 100 facts need 10 sections.
    assert_eq!(
        block_kit::render(&replies[replies.len() - 3])[0]
            .blocks
            .len(),
        11
    );
}

#[test]
fn many_blocks_split_into_several_messages() {
    let mut reply = Reply::titled("long");
    for index in 0..120 {
        reply = reply.with(Block::Text(format!("paragraph {index}")));
    }
    let messages = block_kit::render(&reply);
    assert_eq!(messages.len(), 3);
    messages.iter().for_each(check_limits);
    assert_eq!(
        messages.iter().map(|it| it.blocks.len()).sum::<usize>(),
        121
    );
}

#[test]
fn golden_adaptive_card() {
    insta::assert_json_snapshot!(adaptive_card::render(
        &sample(),
        &adaptive_card::Options::default()
    ));
}

#[test]
fn golden_adaptive_card_teams() {
    insta::assert_json_snapshot!(adaptive_card::render(
        &sample(),
        &adaptive_card::Options::teams()
    ));
}

#[test]
fn golden_block_kit() {
    let messages: Vec<Value> = block_kit::render(&sample())
        .into_iter()
        .map(|it| serde_json::json!({"text": it.text, "blocks": it.blocks}))
        .collect();
    insta::assert_json_snapshot!(messages);
}

#[test]
fn golden_markdown() {
    insta::assert_snapshot!(markdown::render(&sample()));
}

#[test]
fn chart_png_from_the_incidents_view() {
    let chart = sentinel_bot::present::daily_chart(&summary());
    let bytes = chart::png(&chart, 800, 400).expect("chart renders");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    // Set RENDER_PNG_DIR to look at the images by eye.
    if let Some(dir) = std::env::var_os("RENDER_PNG_DIR") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("daily.png"), &bytes).expect("write png");
        for kind in [ChartKind::StackedBar, ChartKind::Donut, ChartKind::Line] {
            let bytes = chart::png(&chart_of(kind), 640, 360).expect("chart renders");
            std::fs::write(dir.join(format!("{kind:?}.png")), bytes).expect("write png");
        }
    }
}
