//! Every card the bot produces on the demo data: every command, every page, every
//! confirmation state and the weekly post. Checks the layout rules on the JSON (column
//! widths, wrapping, size) and, with `CARD_DUMP_DIR` set, writes each card (Teams attachment
//! JSON) and Slack message there for `tests/cards/check-cards.sh` to validate and render.

use chrono::{DateTime, TimeZone, Utc};
use sentinel_bot::app;
use sentinel_bot::bot::{Request, User};
use sentinel_bot::config::Config;
use sentinel_bot::render::adaptive_card::{self, Options};
use sentinel_bot::render::block_kit;
use sentinel_bot::reply::Reply;
use serde_json::{Value, json};

const ANALYST: &str = "U-DANA";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

fn config(dir: &tempfile::TempDir) -> Config {
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let env = vec![
        ("SENTINEL_BOT__STORE__URL".to_string(), url),
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
        thread: None,
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
async fn catalogue() -> Vec<(String, Reply)> {
    let dir = tempfile::tempdir().unwrap();
    let app = app::build(&config(&dir), now()).await.unwrap();
    let bot = &app.bot;
    let mut out: Vec<(String, Reply)> = Vec::new();
    let mut ask = async |name: &str, text: &str, user: &str| -> Reply {
        let reply = bot.answer(&request(text, user), now()).await;
        out.push((name.to_string(), reply.clone()));
        reply
    };
    ask("help", "/help", ANALYST).await;
    ask("help-incidents", "/help incidents", ANALYST).await;
    ask("parse-error", "/incidents fortnight", ANALYST).await;
    ask("unknown-command", "/frobnicate", ANALYST).await;
    for period in ["today", "1d", "week", "30d", "90d"] {
        ask(
            &format!("incidents-{period}"),
            &format!("/incidents {period}"),
            ANALYST,
        )
        .await;
    }
    ask(
        "incidents-week-high",
        "/incidents week severity=high",
        ANALYST,
    )
    .await;
    // Every page of a paged list.
    let mut page = ask(
        "incidents-30d-all-p1",
        "/incidents 30d status=closed",
        ANALYST,
    )
    .await;
    let mut number = 1;
    while let Some(next) = page.actions.iter().find(|a| a.label == "Next page") {
        number += 1;
        let command = next.command.clone();
        page = ask(&format!("incidents-30d-all-p{number}"), &command, ANALYST).await;
    }
    let open_high = first_open_high(&app).await;
    ask("incident", &format!("/incident {open_high}"), ANALYST).await;
    ask("incident-not-found", "/incident 999999", ANALYST).await;
    ask(
        "recommend-incident",
        &format!("/recommend {open_high}"),
        ANALYST,
    )
    .await;
    ask("recommend-week", "/recommend week", ANALYST).await;
    ask("report-week", "/report week", ANALYST).await;
    ask("report-30d", "/report 30d", ANALYST).await;

    // Confirmation states: asked, done, used again, cancelled, refused, other user.
    let asked = ask(
        "confirm-close",
        &format!("/close {open_high} FalsePositive IncorrectAlertLogic noisy rule"),
        ANALYST,
    )
    .await;
    let confirm = button(&asked, "Confirm");
    ask("confirm-close-done", &confirm, ANALYST).await;
    ask("confirm-close-used", &confirm, ANALYST).await;
    let asked = ask(
        "confirm-assign",
        &format!("/assign {open_high} me"),
        ANALYST,
    )
    .await;
    ask(
        "confirm-assign-cancelled",
        &button(&asked, "Cancel"),
        ANALYST,
    )
    .await;
    let asked = ask(
        "confirm-status",
        &format!("/status {open_high} active"),
        ANALYST,
    )
    .await;
    ask(
        "confirm-status-other-user",
        &button(&asked, "Confirm"),
        "U-OTHER",
    )
    .await;
    ask("confirm-status-done", &button(&asked, "Confirm"), ANALYST).await;
    let asked = ask(
        "confirm-comment",
        &format!("/comment {open_high} Host re-imaged; closing after review."),
        ANALYST,
    )
    .await;
    ask("confirm-comment-done", &button(&asked, "Confirm"), ANALYST).await;
    let asked = ask(
        "confirm-create",
        "/create \"Lost laptop at the airport\" high Reported by the owner at 09:10.",
        ANALYST,
    )
    .await;
    ask("confirm-create-done", &button(&asked, "Confirm"), ANALYST).await;
    ask(
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
        bot.answer(&no_identity, now()).await,
    ));
    out
}

async fn first_open_high(app: &app::App) -> u64 {
    let window = sentinel_bot::period::Period::Week.window(now());
    let incidents = app.bot.source.incidents(window).await.unwrap();
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

#[tokio::test]
async fn dump_every_card_when_asked() {
    let cards = catalogue().await;
    let Some(dir) = std::env::var_os("CARD_DUMP_DIR") else {
        eprintln!(
            "CARD_DUMP_DIR not set: {} cards built, none written",
            cards.len()
        );
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(dir.join("teams")).unwrap();
    std::fs::create_dir_all(dir.join("slack")).unwrap();
    let mut sizes = Vec::new();
    for (name, reply) in &cards {
        let card = teams_card(reply);
        let text = serde_json::to_string_pretty(&card).unwrap();
        sizes.push(json!({"name": name, "bytes": card.to_string().len()}));
        std::fs::write(dir.join("teams").join(format!("{name}.json")), text).unwrap();
        let messages: Vec<Value> = block_kit::render(reply)
            .into_iter()
            .map(|it| json!({"text": it.text, "blocks": it.blocks}))
            .collect();
        for (index, message) in messages.iter().enumerate() {
            std::fs::write(
                dir.join("slack").join(format!("{name}-{}.json", index + 1)),
                serde_json::to_string_pretty(message).unwrap(),
            )
            .unwrap();
        }
    }
    std::fs::write(
        dir.join("sizes.json"),
        serde_json::to_string_pretty(&sizes).unwrap(),
    )
    .unwrap();
}
