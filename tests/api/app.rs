//! The wired application: demo data, the SQL store behind the core's traits, and the
//! demo week's report as golden Markdown.

use chrono::{TimeZone, Utc};
use sentinel_bot::app;
use sentinel_bot::bot::{Request, User};
use sentinel_bot::config::Config;
use sentinel_bot::render;
use sentinel_bot::reply::Block;
use sentinel_bot::report::{self, Layout};

fn config(dir: &tempfile::TempDir, allowed: &str) -> Config {
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let env = vec![
        ("SENTINEL_BOT__STORE__URL".to_string(), url),
        (
            "SENTINEL_BOT__ACTIONS__ALLOWED_USERS".to_string(),
            format!("[\"{allowed}\"]"),
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
            email: None,
            ..User::default()
        },
        ..Request::default()
    }
}

#[tokio::test]
async fn confirmed_action_is_audited_in_the_sql_store_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    let app = app::build(&config(&dir, "U-DANA"), now).await.unwrap();

    let ask = app
        .bot
        .answer(&request("/status 1400 active", "U-DANA"), now)
        .await;
    assert_eq!(ask.title, "Please confirm");
    let confirm = ask
        .actions
        .iter()
        .find(|action| action.label == "Confirm")
        .unwrap()
        .command
        .clone();
    assert!(
        app.store.audit_entries(10).await.unwrap().is_empty(),
        "nothing is audited before confirmation"
    );

    // The pending confirmation lives in the store, so another process (replica) can honour it.
    let replica = app::build(&config(&dir, "U-DANA"), now).await.unwrap();
    let done = replica.bot.answer(&request(&confirm, "U-DANA"), now).await;
    assert_eq!(done.title, "Done", "{done:?}");
    let entries = replica.store.audit_entries(10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "U-DANA (Dana)");
    assert_eq!(entries[0].action, "Set incident 1400 to Active");
    assert_eq!(entries[0].incident.as_deref(), Some("1400"));
    assert_eq!(entries[0].result, "ok");

    let refused = app
        .bot
        .answer(&request("/status 1400 new", "U-MALLORY"), now)
        .await;
    assert_eq!(refused.title, "Not allowed");
    let entries = app.store.audit_entries(10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[0].result.starts_with("refused"), "{entries:?}");
}

#[tokio::test]
async fn demo_week_report_is_stable_golden_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let app = app::build(&config(&dir, "nobody"), now).await.unwrap();
    let report = app
        .bot
        .weekly_report(sentinel_bot::period::Period::Week.window(now), now)
        .await
        .unwrap();
    let reply = report::to_reply(&report, Layout::Full);

    // The report's sections come in the order analysts read them.
    let headings: Vec<&str> = reply
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Heading(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        headings,
        [
            "Created in this period",
            "Open backlog now (as of Mon 23 Nov 08:00 UTC)",
            "Volume",
            "Status (created in this period)",
            "MITRE ATT&CK tactics (created in this period)",
            "Resolution, MTTT and MTTR (created in this period)",
            "Open High and long-open incidents (open backlog now)",
            "Incident detail (created in this period)",
            "Security posture recommendations from Defender XDR",
            "Recommendations from threat intelligence based on MITRE tactics",
            "Steps to reduce MTTT and MTTR",
            "Recommendations from trends in severity and tactics",
            "Operational insights",
        ]
    );
    // The full layout lists every incident of the week.
    let detail_rows = reply
        .blocks
        .iter()
        .skip_while(
            |block| !matches!(block, Block::Heading(text) if text.starts_with("Incident detail")),
        )
        .find_map(|block| match block {
            Block::Table(table) => Some(table.rows.len()),
            _ => None,
        })
        .unwrap();
    assert_eq!(detail_rows, report.facts.created.total);

    // The chat layout is a summary: key figures, status by severity, tactics, open High, advice.
    let chat = report::to_reply(&report, Layout::Chat);
    let chat_headings: Vec<&str> = chat
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Heading(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        chat_headings,
        [
            "Created in this period",
            "Open backlog now (as of Mon 23 Nov 08:00 UTC)",
            "Volume",
            "Status by severity (created in this period)",
            "MITRE ATT&CK tactics (created in this period)",
            "Open High-severity incidents (open backlog now, any age)",
            "Top recommendations",
        ]
    );
    let summary = chat.summary.as_deref().expect("a summary line");
    assert!(
        summary.starts_with(
            "Incident report, Mon 16 Nov 2026 08:00 UTC to Mon 23 Nov 2026 08:00 UTC: "
        ),
        "{summary}"
    );
    assert!(summary.contains(&format!("{} created", report.facts.created.total)));

    insta::assert_snapshot!("demo_week_report", render::markdown::render(&reply));

    // The CLI's export writes each incident's row as it is laid out: the same bytes.
    let deferred = report::full_reply(&report);
    let at = deferred.detail_at.expect("the demo week has incidents");
    assert!(matches!(&deferred.reply.blocks[at], Block::Table(table) if table.rows.is_empty()));
    let mut streamed = Vec::new();
    render::markdown::render_to(
        &deferred.reply,
        Some((at, report::detail_rows(&report))),
        &mut streamed,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(streamed).unwrap(),
        render::markdown::render(&reply)
    );
}

#[tokio::test]
async fn scheduled_weekly_report_reaches_slack_once_across_a_restart() {
    use sentinel_bot::schedule::{ReportSchedule, Scheduler};
    use wiremock::matchers::{body_string_contains, header, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let slack = MockServer::start().await;
    // A placeholder first, then the report fills it.
    Mock::given(path("/chat.postMessage"))
        .and(header("authorization", "Bearer xoxb-test"))
        .and(body_string_contains("C-SOC"))
        .and(body_string_contains("preparing"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": true, "channel": "C-SOC", "ts": "1.1"})),
        )
        .mount(&slack)
        .await;
    Mock::given(path("/chat.update"))
        .and(header("authorization", "Bearer xoxb-test"))
        .and(body_string_contains("Incident report"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": true, "channel": "C-SOC", "ts": "1.1"})),
        )
        .mount(&slack)
        .await;
    // Two files follow the post: the chart (PNG) and the full report (HTML).
    Mock::given(path("/files.getUploadURLExternal"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "ok": true, "upload_url": format!("{}/upload/F1", slack.uri()), "file_id": "F1"
        })))
        .expect(2)
        .mount(&slack)
        .await;
    Mock::given(path("/upload/F1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&slack)
        .await;
    Mock::given(path("/files.completeUploadExternal"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": true, "files": [{"id": "F1"}]})),
        )
        .expect(2)
        .mount(&slack)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&dir, "nobody");
    let slack_toml = format!(
        "[slack]\nbot_token = \"xoxb-test\"\nsigning_secret = \"s\"\nreport_channels = [\"C-SOC\"]\napi_url = \"{}\"\n",
        slack.uri()
    );
    config.slack = Config::from_sources(&slack_toml, Vec::new()).unwrap().slack;
    // Monday 08:00 UTC is the slot; the bot is started at 08:05.
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 5, 0).unwrap();
    for _restart in 0..2 {
        let app = app::build(&config, now).await.unwrap();
        let scheduler = Scheduler::new(
            app.store.clone(),
            ReportSchedule::from_config(&config.report).unwrap(),
            sentinel_bot::schedule::report_channels(&config),
            app::report_poster(&app, &config),
        );
        scheduler.tick(now).await;
    }
    let received = slack.received_requests().await.unwrap();
    let messages = received
        .iter()
        .filter(|request| request.url.path() == "/chat.postMessage")
        .count();
    assert!(messages >= 1, "the report was posted");
    let uploads: Vec<&wiremock::Request> = received
        .iter()
        .filter(|request| request.url.path() == "/upload/F1")
        .collect();
    assert_eq!(
        uploads.len(),
        2,
        "one chart and one report file: the second start saw the week's post done"
    );
    assert!(uploads[0].body.starts_with(b"\x89PNG"));
    let page = String::from_utf8_lossy(&uploads[1].body);
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<h1>Incident report, "));
    let names: Vec<String> = received
        .iter()
        .filter(|request| request.url.path() == "/files.getUploadURLExternal")
        .map(|request| String::from_utf8_lossy(&request.body).to_string())
        .collect();
    assert!(
        names[1].contains("filename=incident-report.html"),
        "{names:?}"
    );
    let first = received
        .iter()
        .find(|request| request.url.path() == "/chat.update")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(
        (&body["channel"], &body["ts"]),
        (&"C-SOC".into(), &"1.1".into())
    );
    assert!(
        body["blocks"]
            .as_array()
            .is_some_and(|blocks| !blocks.is_empty() && blocks.len() <= 50)
    );
}
