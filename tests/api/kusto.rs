//! Every KQL query the bot can send, checked by Microsoft's Kusto language service
//! (`@kusto/language-service-next`, run by `tools/kusto/check.js` under Node) against the
//! `SecurityIncident` schema: it must parse and bind with no diagnostic at all.
//!
//! Needs Node and `npm ci --prefix tools/kusto`; without them the test says "skipped" on
//! stderr, except under CI (`CI` set), where a missing checker fails the run: CI installs it.

use chrono::{Duration, TimeZone, Utc};
use sentinel_bot::period::{Period, Window};
use sentinel_bot::sources::azure::kql;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn checker() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/kusto")
}

/// Runs the checker over `queries`; `None` when Node or the package is missing.
fn diagnostics(queries: &[(String, String)]) -> Option<Vec<(String, Vec<String>)>> {
    let directory = checker();
    if !directory
        .join("node_modules/@kusto/language-service-next")
        .exists()
    {
        return None;
    }
    let mut child = Command::new("node")
        .arg("check.js")
        .current_dir(&directory)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let input = json!(
        queries
            .iter()
            .map(|(name, query)| json!({"name": name, "query": query}))
            .collect::<Vec<_>>()
    );
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.to_string().as_bytes())
        .expect("the checker reads its input");
    let output = child.wait_with_output().expect("the checker runs");
    assert!(output.status.success(), "the Kusto checker failed");
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).expect("checker output");
    Some(
        results
            .iter()
            .map(|result| {
                let found = result["diagnostics"]
                    .as_array()
                    .expect("diagnostics")
                    .iter()
                    .map(|it| it.as_str().unwrap_or_default().to_string())
                    .collect();
                (
                    result["name"].as_str().unwrap_or_default().to_string(),
                    found,
                )
            })
            .collect(),
    )
}

/// The windows the bot asks about: every period a command can name, at one instant.
fn windows() -> Vec<(String, Window)> {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 8, 30, 0)
        .single()
        .expect("time");
    [
        Period::Today,
        Period::Week,
        Period::Month,
        Period::Days(90),
        Period::Hours(1),
    ]
    .into_iter()
    .map(|period| (format!("{period:?}"), period.window(now)))
    .chain([(
        "previous week".to_string(),
        Period::Week.window(now - Duration::days(7)),
    )])
    .collect()
}

#[test]
fn every_query_parses_and_binds_against_the_security_incident_schema() {
    let queries: Vec<(String, String)> = windows()
        .into_iter()
        .flat_map(|(label, window)| {
            kql::every_query(window)
                .into_iter()
                .map(move |(name, query)| (format!("{name} ({label})"), query))
        })
        .collect();
    assert!(queries.len() >= 12, "{} queries", queries.len());
    let Some(results) = diagnostics(&queries) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the Kusto check: `npm ci --prefix tools/kusto` and Node are missing"
        );
        eprintln!(
            "every_query_parses_and_binds_against_the_security_incident_schema: skipped, \
             run `npm ci --prefix tools/kusto` (Node 20) to check the KQL"
        );
        return;
    };
    assert_eq!(results.len(), queries.len());
    let failures: Vec<String> = results
        .iter()
        .zip(&queries)
        .filter(|((_, found), _)| !found.is_empty())
        .map(|((name, found), (_, query))| format!("{name}: {found:?}\n{query}"))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_checker_catches_a_wrong_column() {
    let broken = vec![(
        "misspelt".to_string(),
        "SecurityIncident | where IncidentNumbr == 1".to_string(),
    )];
    let Some(results) = diagnostics(&broken) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the Kusto check"
        );
        eprintln!("the_checker_catches_a_wrong_column: skipped (no Kusto checker)");
        return;
    };
    assert!(
        results[0].1.iter().any(|it| it.contains("IncidentNumbr")),
        "{results:?}"
    );
}
