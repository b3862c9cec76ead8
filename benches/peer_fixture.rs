//! The Rust half of the peer comparison in `benches/peers/` (see `benches/peers/run.py`).
//!
//! - `generate N FILE`: writes the Log Analytics query answer for a week with N incidents
//!   (the same generator as the `weekly_report` and `memory` benchmarks: every
//!   `SecurityIncident` column, dynamic ones as JSON text) to FILE, and prints the week's
//!   bounds and the report's "now" as JSON, so every peer aggregates the same window.
//! - `serve FILE`: a fake Entra ID and Log Analytics on 127.0.0.1 that answers the report
//!   query for that week with FILE's bytes (and any other query with an empty table), so
//!   `sentinel-bot report` runs exactly as against Sentinel. Prints its URL, then serves
//!   until standard input closes.
//!
//! Run without arguments (as `cargo bench` does) it only checks itself on 1,000 incidents.

#[path = "support/fake_azure.rs"]
mod fake_azure;
#[path = "support/incidents.rs"]
mod incidents;

use sentinel_bot::sources::azure::kql::{lookback_start, timespan};
use sentinel_bot::sources::azure::log_analytics::parse_incident_rows;
use std::io::Read;

/// The window, the report's "now" and the count, as JSON for the Python side.
fn describe(count: usize) -> String {
    let window = incidents::week();
    serde_json::json!({
        "incidents": count,
        "start": window.start.to_rfc3339(),
        "end": window.end.to_rfc3339(),
        "now": incidents::report_now(window).to_rfc3339(),
        "long_open_days": 3,
        // What the report query sends as its `timespan`, so a fake can tell it apart.
        "timespan": timespan(lookback_start(window), window.end),
    })
    .to_string()
}

fn generate(count: usize) -> Vec<u8> {
    let window = incidents::week();
    let rows = incidents::rows(count, window, 7);
    incidents::log_analytics_body(&rows)
}

fn serve(path: &str) {
    let body = std::fs::read(path).expect("the answer file is readable");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let window = incidents::week();
    let url = runtime.block_on(fake_azure::start(
        body.into(),
        timespan(lookback_start(window), window.end),
    ));
    println!("{url}");
    // Serve until the parent closes our standard input.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

fn main() {
    let arguments: Vec<String> = std::env::args()
        .skip(1)
        .filter(|it| it != "--bench")
        .collect();
    match arguments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["generate", count, path] => {
            let count: usize = count.parse().expect("a count of incidents");
            let started = std::time::Instant::now();
            std::fs::write(path, generate(count)).expect("the answer file is writable");
            eprintln!(
                "generated {count} incidents in {:.0} ms",
                incidents::millis_since(started)
            );
            println!("{}", describe(count));
        }
        ["serve", path] => serve(path),
        _ => {
            let body = generate(1_000);
            let rows = parse_incident_rows(&body).expect("parses").rows;
            assert_eq!(rows.len(), 1_000);
            println!(
                "peer_fixture: 1,000 incidents make {} bytes; run benches/peers/run.py for the comparison",
                body.len()
            );
        }
    }
}
