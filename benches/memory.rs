//! Resident memory of the bot: idle after start-up, and at the peak of building the
//! weekly report from a 100,000-incident Log Analytics answer.
//!
//! The parent process generates the answer and serves it from a fake Entra ID + Log
//! Analytics on 127.0.0.1; the measuring is done by fresh child
//! processes of this same binary, so neither the generator nor the fakes count:
//!
//! - `report`: starts the server as `serve` does (store on a temporary SQLite file, the
//!   Azure source pointed at the fake, Slack routes, metrics), reads `VmRSS`/`VmHWM` from
//!   `/proc/self/status` when idle, then builds the report the way the weekly schedule
//!   does (`Bot::weekly_report`: both periods' queries, parse, dedupe, aggregate, advice)
//!   and renders it for Slack and Teams, and reads them again; last, once all of it is
//!   dropped, to show what `serve` keeps after a large report.
//! - `parse`: only the Log Analytics client and the parse path the Azure source uses
//!   (`query_incidents`, then `collapse`), with the figures after each step.
//! - `generic`: the same with the generic reader (`query` into JSON tables, then
//!   `incident_rows`), which the Azure source used before, for comparison.
//!
//! Linux only (it reads `/proc`). Run: `cargo bench --bench memory`.

#[path = "support/fake_azure.rs"]
mod fake_azure;
#[path = "support/incidents.rs"]
mod incidents;
#[path = "support/memory.rs"]
mod memory;
#[path = "support/server.rs"]
mod server;

use sentinel_bot::incident::collapse;
use sentinel_bot::render::{adaptive_card, block_kit};
use sentinel_bot::report::{self, Layout};
use sentinel_bot::sources::azure::RetryPolicy;
use sentinel_bot::sources::azure::kql::{incidents_query, lookback_start, timespan};
use sentinel_bot::sources::azure::log_analytics::{LogAnalyticsClient, incident_rows};
use sentinel_bot::sources::azure::token::{Credential, TokenProvider};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Incidents in the generated answer.
const INCIDENTS: usize = 100_000;

/// Prints one line of figures: what was just done, VmRSS now and VmHWM so far.
fn report_memory(what: &str, started: Option<Instant>) {
    let figures = memory::read().expect("/proc/self/status is readable (Linux)");
    let time = started.map_or(String::new(), |started| {
        format!(" ({:.0} ms)", incidents::millis_since(started))
    });
    println!(
        "  {what:<46} VmRSS {:>7.1} MiB   VmHWM {:>7.1} MiB{time}",
        memory::mib(figures.rss_kib),
        memory::mib(figures.peak_kib)
    );
}

/// Checks the server answers `/healthz` with a raw HTTP/1.1 request, so no extra HTTP
/// client is loaded into the process being measured.
async fn assert_healthy(server_url: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("server listens");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .expect("request sent");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .expect("answer read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Child: the whole server, idle and then through the weekly report.
async fn measure_report(azure_url: &str) {
    // Nothing is posted to Slack here, so its Web API points at a closed local port.
    let bot = server::start("http://127.0.0.1:9", Some(azure_url), "").await;
    assert_healthy(&bot.url).await;
    // Let start-up work (migrations, pool connections) settle before reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    report_memory("idle after start-up", None);
    let window = incidents::week();
    let started = Instant::now();
    let weekly = bot
        .app
        .bot
        .weekly_report(window, incidents::report_now(window))
        .await
        .expect("the report builds");
    assert!(!weekly.facts.incidents().is_empty());
    report_memory("after Bot::weekly_report (100k incidents)", Some(started));
    let started = Instant::now();
    let reply = report::to_reply(&weekly, Layout::Chat);
    let messages = block_kit::render(&reply);
    let card = adaptive_card::render(&reply, &adaptive_card::Options::teams());
    assert!(!messages.is_empty() && card.is_object());
    report_memory("after rendering Block Kit and Adaptive Card", Some(started));
    // What `serve` holds once the report is posted: nothing of it should stay resident.
    drop((weekly, reply, messages, card));
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    report_memory("1 s after the report and renders are dropped", None);
    assert_healthy(&bot.url).await;
}

/// The Log Analytics client alone, pointed at the fake.
fn client(azure_url: &str) -> LogAnalyticsClient {
    let policy = RetryPolicy::default();
    let http = reqwest::Client::new();
    let tokens = Arc::new(TokenProvider::new(
        http.clone(),
        Credential::ClientSecret {
            tenant_id: "tenant-1".into(),
            client_id: "app-1".into(),
            secret: "bench".into(),
        },
        azure_url,
        azure_url,
        policy,
    ));
    LogAnalyticsClient::new(
        http,
        tokens,
        azure_url,
        &[(
            "11111111-1111-1111-1111-111111111111".to_string(),
            sentinel_bot::incident::Workspace::ONLY,
        )],
        policy,
    )
}

/// Child: the parse path the Azure source uses, step by step.
async fn measure_parse(azure_url: &str) {
    report_memory("start", None);
    let client = client(azure_url);
    let window = incidents::week();
    let started = Instant::now();
    let answer = client
        .query_incidents(
            &incidents_query(window),
            &timespan(lookback_start(window), window.end),
        )
        .await
        .expect("query");
    report_memory("after query_incidents (fetch + parse)", Some(started));
    let started = Instant::now();
    let incidents = collapse(answer.rows);
    assert_eq!(incidents.len(), INCIDENTS);
    report_memory("after collapse", Some(started));
}

/// Child: the generic reader, step by step, for comparison.
async fn measure_generic(azure_url: &str) {
    report_memory("start", None);
    let client = client(azure_url);
    let window = incidents::week();
    let started = Instant::now();
    let result = client
        .query(
            &incidents_query(window),
            &timespan(lookback_start(window), window.end),
        )
        .await
        .expect("query");
    report_memory(
        "after query (fetch + parse into JSON tables)",
        Some(started),
    );
    let started = Instant::now();
    let rows = incident_rows(&result);
    report_memory("after incident_rows", Some(started));
    let started = Instant::now();
    drop(result);
    report_memory("after dropping the JSON tables", Some(started));
    let started = Instant::now();
    let incidents = collapse(rows);
    assert_eq!(incidents.len(), INCIDENTS);
    report_memory("after collapse", Some(started));
}

/// Runs this binary again as a child and passes its output through.
fn run_child(arguments: &[&str]) {
    let executable = std::env::current_exe().expect("own path");
    let output = Command::new(executable)
        .args(arguments)
        .output()
        .expect("child runs");
    print!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(
        output.status.success(),
        "child {arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    if let Some(position) = arguments.iter().position(|it| it == "--child") {
        let role = arguments.get(position + 1).map(String::as_str);
        let azure_url = arguments.get(position + 2).cloned().unwrap_or_default();
        match role {
            Some("report") => runtime.block_on(measure_report(&azure_url)),
            Some("parse") => runtime.block_on(measure_parse(&azure_url)),
            Some("generic") => runtime.block_on(measure_generic(&azure_url)),
            other => panic!("unknown child role {other:?}"),
        }
        return;
    }

    let window = incidents::week();
    let rows = incidents::rows(INCIDENTS, window, 7);
    let body = incidents::log_analytics_body(&rows);
    drop(rows);
    let body_mib = body.len() as f64 / (1024.0 * 1024.0);
    let report_timespan = timespan(lookback_start(window), window.end);
    let azure_url = runtime.block_on(fake_azure::start(body.into(), report_timespan));
    println!("Resident memory of the bot (Linux /proc/self/status; fresh process per part)");
    println!(
        "Report server: idle, then the weekly report from a {INCIDENTS}-incident answer ({body_mib:.1} MiB JSON)"
    );
    run_child(&["--child", "report", &azure_url]);
    println!("Parse path alone (Log Analytics client, same answer), figures after each step:");
    run_child(&["--child", "parse", &azure_url]);
    println!(
        "For comparison, the generic reader into JSON tables (the Azure source's path before):"
    );
    run_child(&["--child", "generic", &azure_url]);
}
