//! The weekly report built from a 100,000-incident Log Analytics answer, stage by stage.
//!
//! Generates the query API body the report query would return for a week with 100,000
//! incidents (every `SecurityIncident` column, dynamic ones as JSON text), then times the
//! code the Azure source and the report run: parse (`log_analytics::parse_incident_rows`),
//! dedupe (`incident::collapse`), aggregate (`report::build`, which runs
//! `analytics::summarize`), lay out (`report::to_reply`) and render (Adaptive Card and
//! Block Kit for chat, Markdown for the full export). Each stage is the median of a few
//! runs. For comparison it also times the generic reader (`parse_response` into JSON
//! tables, then `incident_rows`), which the Azure source used before. Last, the same body
//! is fetched through `AzureSource::incidents` from a fake Log Analytics on 127.0.0.1, to
//! show what the HTTP round trip adds.
//!
//! Run: `cargo bench --bench weekly_report`.

#[path = "support/fake_azure.rs"]
mod fake_azure;
#[path = "support/incidents.rs"]
mod incidents;

use sentinel_bot::advice::WeeklyAdvice;
use sentinel_bot::bot::Settings;
use sentinel_bot::config::{AzureAuth, AzureConfig, AzureEndpoints};
use sentinel_bot::incident::collapse;
use sentinel_bot::render::{adaptive_card, block_kit, markdown};
use sentinel_bot::report::{self, Layout};
use sentinel_bot::sources::IncidentSource;
use sentinel_bot::sources::azure::log_analytics::{
    incident_rows, parse_incident_rows, parse_response,
};
use sentinel_bot::sources::azure::{AzureSource, kql};
use std::time::Instant;

/// Incidents in the generated answer.
const INCIDENTS: usize = 100_000;
/// Timed runs of the whole pipeline; each stage shows the median.
const RUNS: usize = 5;

const STAGES: [&str; 8] = [
    "parse: body -> incident rows",
    "dedupe: collapse by number",
    "aggregate: report::build",
    "lay out: Reply for chat",
    "lay out: Reply, full export",
    "render: Adaptive Card (chat)",
    "render: Block Kit (chat)",
    "render: Markdown (full export)",
];

/// One pass over the pipeline; returns each stage's milliseconds, in `STAGES` order.
fn run_once(body: &[u8]) -> [f64; STAGES.len()] {
    let window = incidents::week();
    let now = incidents::report_now(window);
    let mut times = [0.0; STAGES.len()];
    let mut stage = 0;
    let mut lap = |started: Instant| {
        times[stage] = incidents::millis_since(started);
        stage += 1;
    };

    let started = Instant::now();
    let rows = parse_incident_rows(body).expect("the body parses").rows;
    lap(started);
    let row_count = rows.len();
    let started = Instant::now();
    let incidents = collapse(rows);
    lap(started);
    assert_eq!(incidents.len(), INCIDENTS, "{row_count} rows read");
    let started = Instant::now();
    let weekly = report::build(
        &incidents,
        &[],
        window,
        now,
        Settings::default().long_open_after,
        WeeklyAdvice::default(),
    );
    lap(started);
    let started = Instant::now();
    let chat = report::to_reply(&weekly, Layout::Chat);
    lap(started);
    let started = Instant::now();
    let full = report::to_reply(&weekly, Layout::Full);
    lap(started);
    let started = Instant::now();
    let card = adaptive_card::render(&chat, &adaptive_card::Options::teams());
    lap(started);
    let started = Instant::now();
    let messages = block_kit::render(&chat);
    lap(started);
    let started = Instant::now();
    let export = markdown::render(&full);
    lap(started);
    assert!(card.is_object() && !messages.is_empty() && export.len() > INCIDENTS);
    times
}

/// The generic reader: the whole table as JSON values, then incident rows, then freeing
/// the values. Returns the three steps' milliseconds.
fn generic_once(body: &[u8]) -> [f64; 3] {
    let started = Instant::now();
    let result = parse_response(body).expect("the body parses");
    let parsed = incidents::millis_since(started);
    let started = Instant::now();
    let rows = incident_rows(&result);
    let read = incidents::millis_since(started);
    let started = Instant::now();
    drop(result);
    let freed = incidents::millis_since(started);
    assert_eq!(rows.len(), INCIDENTS);
    [parsed, read, freed]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Fetch, parse and dedupe through the real Azure source against a local fake.
fn through_http(body: Vec<u8>) -> Vec<f64> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let window = incidents::week();
        let timespan = kql::timespan(kql::lookback_start(window), window.end);
        let url = fake_azure::start(body.into(), timespan).await;
        let config = AzureConfig {
            tenant_id: "tenant-1".into(),
            client_id: Some("app-1".into()),
            client_secret: Some("bench".into()),
            auth: AzureAuth::ClientSecret,
            federated_token_file: None,
            subscription_id: "sub-1".into(),
            resource_group: "rg-soc".into(),
            workspace_name: "ws-soc".into(),
            workspace_id: "11111111-1111-1111-1111-111111111111".into(),
            short_name: None,
            extra_workspace_ids: Vec::new(),
            extra_workspaces: Vec::new(),
            use_graph: false,
            // The row path is what this benchmark measures.
            aggregate_above: 0,
            endpoints: AzureEndpoints {
                login: url.clone(),
                log_analytics: url.clone(),
                management: url.clone(),
                graph: url.clone(),
                imds: url,
            },
        };
        let source = AzureSource::new(&config, reqwest::Client::new()).expect("source");
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            let found = source.incidents(window).await.expect("incidents");
            times.push(incidents::millis_since(started));
            assert_eq!(found.incidents.len(), INCIDENTS);
        }
        times
    })
}

fn main() {
    let window = incidents::week();
    let started = Instant::now();
    let rows = incidents::rows(INCIDENTS, window, 7);
    let body = incidents::log_analytics_body(&rows);
    drop(rows);
    println!(
        "Weekly report from a {INCIDENTS}-incident Log Analytics answer ({:.1} MiB of JSON, generated in {:.1} s)",
        body.len() as f64 / (1024.0 * 1024.0),
        started.elapsed().as_secs_f64()
    );
    // One untimed pass first, so page faults of the first large allocations are not counted.
    run_once(&body);
    let runs: Vec<[f64; STAGES.len()]> = (0..RUNS).map(|_| run_once(&body)).collect();
    println!(
        "{:<32} | {:>11} | {:>17}",
        "stage", "median ms", "min - max ms"
    );
    let mut total = 0.0;
    for (index, name) in STAGES.iter().enumerate() {
        let values: Vec<f64> = runs.iter().map(|run| run[index]).collect();
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(0.0, f64::max);
        let middle = median(values);
        total += middle;
        println!("{name:<32} | {middle:>11.1} | {low:>7.1} - {high:>7.1}");
    }
    let totals: Vec<f64> = runs.iter().map(|run| run.iter().sum()).collect();
    println!(
        "{:<32} | {:>11.1} | (median of per-run totals {:.1})",
        "total (sum of stage medians)",
        total,
        median(totals)
    );
    let generic: Vec<[f64; 3]> = (0..RUNS).map(|_| generic_once(&body)).collect();
    let step = |index: usize| median(generic.iter().map(|run| run[index]).collect());
    println!(
        "for comparison, the generic reader (before): parse_response {:.1} ms + incident_rows {:.1} ms + freeing the JSON tables {:.1} ms = {:.1} ms (medians)",
        step(0),
        step(1),
        step(2),
        median(generic.iter().map(|run| run.iter().sum()).collect())
    );
    let fetched = through_http(body);
    println!(
        "AzureSource::incidents over loopback HTTP (token, query, parse, dedupe): median {:.1} ms of {RUNS} runs",
        median(fetched)
    );
}
