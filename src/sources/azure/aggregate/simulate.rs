//! A stand-in for Log Analytics running `aggregate::summary_query`: evaluates the query's
//! `union` parts over `incident_state` as the service holds it (the report query's answer
//! rows, one per incident: text and JSON text), not over incidents, so a test compares the
//! service's arithmetic with the local path's. Shared by the unit tests (`aggregate::tests`)
//! and the API tests (`tests/api/aggregate.rs`, through `#[path]`), so it may use only
//! `chrono` and `serde_json`, never the library's own types.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn time(text: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.as_str()?)
        .ok()
        .map(|it| it.with_timezone(&Utc))
}

/// The aggregate answer (`Kind`, `Key`, `Key2`, `Count`, `Low`, `High`) for incidents of
/// `latest` (a query API answer, one row per incident) created in `start..end` that `keep`
/// accepts, given their `Severity` and `Status` text as written.
pub fn evaluate(
    latest: &Value,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    keep: &dyn Fn(&str, &str) -> bool,
) -> Value {
    let table = &latest["tables"][0];
    let column = |name: &str| {
        table["columns"]
            .as_array()
            .and_then(|columns| columns.iter().position(|it| it["name"] == name))
            .expect("column")
    };
    let (severity, status, created, first_modified, last_modified, human, closed, additional) = (
        column("Severity"),
        column("Status"),
        column("CreatedTime"),
        column("FirstModifiedTime"),
        column("LastModifiedTime"),
        column("FirstHumanAction"),
        column("ClosedTime"),
        column("AdditionalData"),
    );
    let mut counts: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut triage: Vec<i64> = Vec::new();
    let mut humans: Vec<i64> = Vec::new();
    let mut resolve: Vec<i64> = Vec::new();
    for row in table["rows"].as_array().expect("rows") {
        let Some(created_at) = time(&row[created]) else {
            continue;
        };
        if created_at < start || created_at >= end {
            continue;
        }
        let text = |at: usize| row[at].as_str().unwrap_or("").to_string();
        if !keep(&text(severity), &text(status)) {
            continue;
        }
        *counts
            .entry(("status".into(), text(severity), text(status)))
            .or_default() += 1;
        let data: Value = serde_json::from_str(&text(additional)).unwrap_or(Value::Null);
        let mut tactics: Vec<String> = data["tactics"]
            .as_array()
            .map(|it| {
                it.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        tactics.sort();
        tactics.dedup();
        *counts
            .entry(("tactics".into(), json!(tactics).to_string(), String::new()))
            .or_default() += 1;
        *counts
            .entry((
                "day".into(),
                created_at.format("%Y-%m-%d").to_string(),
                text(severity),
            ))
            .or_default() += 1;
        let changed = time(&row[last_modified]).filter(|at| *at > created_at);
        if let Some(at) = time(&row[first_modified]).or(changed) {
            triage.push((at - created_at).num_milliseconds());
        }
        if let Some(at) = time(&row[human]) {
            humans.push((at - created_at).num_milliseconds());
        }
        if let (Some(at), "Closed") = (time(&row[closed]), text(status).as_str()) {
            resolve.push((at - created_at).num_milliseconds());
        }
    }
    let mut rows: Vec<Value> = counts
        .into_iter()
        .map(|((kind, key, key2), count)| json!([kind, key, key2, count, null, null]))
        .collect();
    for (name, mut values) in [("triage", triage), ("human", humans), ("resolve", resolve)] {
        values.retain(|it| *it >= 0);
        values.sort_unstable();
        let sum: i64 = values.iter().sum();
        rows.push(json!([name, "", "", values.len(), sum, null]));
        let count = values.len();
        if count > 0 {
            let ranks = [count.div_ceil(2), count / 2 + 1];
            rows.push(json!([
                format!("{name}-median"),
                "",
                "",
                null,
                values[ranks[0] - 1],
                values[ranks[1] - 1]
            ]));
        }
    }
    json!({"tables": [{"name": "PrimaryResult", "columns": [
        {"name": "Kind", "type": "string"}, {"name": "Key", "type": "string"},
        {"name": "Key2", "type": "string"}, {"name": "Count", "type": "long"},
        {"name": "Low", "type": "long"}, {"name": "High", "type": "long"}
    ], "rows": rows}]})
}
