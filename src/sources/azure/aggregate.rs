//! Counts and durations computed in Log Analytics itself (KQL `summarize`), for periods
//! whose incidents would not fit in memory: the service sends a few hundred aggregate
//! rows instead of one row per incident, and only the listed incidents (the
//! long-unresolved ones) travel as rows. The result is the same [`Summary`] that
//! `analytics::summarize` computes from every incident (a test runs both on generated
//! data), under these assumptions about the data, which Sentinel's own values meet:
//! severities and statuses are spelt as Sentinel spells them (local reading also takes
//! loose spellings), and tactics are compared as Sentinel writes them.
//!
//! KQL text is built only from typed values, like `kql`.

use super::kql;
use super::log_analytics::QueryResult;
use crate::analytics::{DayVolume, Durations, LongOpen, Summary, flag_anomalies};
use crate::incident::{Incident, Severity, Status, Tactic};
use crate::period::Window;
use crate::sources::SourceError;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;
use std::cmp::Reverse;

const SYSTEM: &str = "Log Analytics";

/// The aggregate query for `window`: one table with the columns `Kind`, `Key`, `Key2`,
/// `Count`, `Low`, `High`, one row per group:
///
/// - `status`: `Key` severity, `Key2` status, `Count` incidents created in the window;
/// - `tactics`: `Key` the incident's distinct tactics as a sorted JSON array, `Count`
///   incidents created in the window with exactly that set;
/// - `triage` / `resolve`: `Count` durations (milliseconds, negative ones left out, as
///   `analytics::durations` does), `Low` their sum; `triage-median` / `resolve-median`:
///   `Low` and `High` the two middle values (equal for an odd count);
/// - `day`: `Key` the UTC day (`yyyy-MM-dd`), `Key2` severity, `Count` incidents created.
pub fn summary_query(window: Window) -> String {
    let start = kql::datetime(window.start);
    let end = kql::datetime(window.end);
    format!(
        "{latest}\n\
         let created = incident_state\n\
         | where CreatedTime >= {start} and CreatedTime < {end};\n\
         let triage = created\n\
         | extend Ms = tolong((FirstTriaged - CreatedTime) / 1ms)\n\
         | where isnotnull(Ms) and Ms >= 0;\n\
         let resolve = created\n\
         | where Status == \"Closed\"\n\
         | extend Ms = tolong((ClosedTime - CreatedTime) / 1ms)\n\
         | where isnotnull(Ms) and Ms >= 0;\n\
         let triage_count = toscalar(triage | count);\n\
         let resolve_count = toscalar(resolve | count);\n\
         union\n\
         (created | summarize Count = count() by Key = Severity, Key2 = Status | extend Kind = \"status\"),\n\
         (created\n\
          | extend Key = tostring(array_sort_asc(set_union(AdditionalData.tactics, dynamic([]))))\n\
          | summarize Count = count() by Key\n\
          | extend Kind = \"tactics\"),\n\
         (triage | summarize Count = count(), Low = sum(Ms) | extend Kind = \"triage\"),\n\
         (triage | sort by Ms asc | extend Rank = row_number()\n\
          | where Rank == (triage_count + 1) / 2 or Rank == triage_count / 2 + 1\n\
          | summarize Low = min(Ms), High = max(Ms) | extend Kind = \"triage-median\"),\n\
         (resolve | summarize Count = count(), Low = sum(Ms) | extend Kind = \"resolve\"),\n\
         (resolve | sort by Ms asc | extend Rank = row_number()\n\
          | where Rank == (resolve_count + 1) / 2 or Rank == resolve_count / 2 + 1\n\
          | summarize Low = min(Ms), High = max(Ms) | extend Kind = \"resolve-median\"),\n\
         (created\n\
          | summarize Count = count() by Key = format_datetime(startofday(CreatedTime), \"yyyy-MM-dd\"), Key2 = Severity\n\
          | extend Kind = \"day\")\n\
         | project Kind, Key, Key2, Count, Low, High",
        latest = latest_with_triage(window),
    )
}

/// The listed incidents' query: every incident still open at `now` that was created more
/// than `long_open_after` before it, in the report query's row shape.
pub fn long_open_query(window: Window, now: DateTime<Utc>, long_open_after: Duration) -> String {
    let before = kql::datetime(now - long_open_after);
    format!(
        "{latest}\n\
         incident_state\n\
         | where Status != \"Closed\" and CreatedTime < {before}",
        latest = latest_with_triage(window),
    )
}

/// `incident_state`: each incident's latest row as of the window's end with its first triage
/// time, exactly as the report query reads them (`kql::incidents_query`).
fn latest_with_triage(window: Window) -> String {
    let from = kql::datetime(kql::lookback_start(window));
    let end = kql::datetime(window.end);
    format!(
        "let changes = SecurityIncident\n\
         | where TimeGenerated >= {from} and TimeGenerated < {end}\n\
         | where CreatedTime >= {from};\n\
         let triage_times = changes\n\
         | where Status != \"New\" or isnotempty(tostring(Owner.assignedTo)) or isnotempty(tostring(Owner.objectId))\n\
         | summarize FirstTriaged = min(TimeGenerated) by TenantId, IncidentNumber;\n\
         let incident_state = changes\n\
         | summarize arg_max(TimeGenerated, *) by TenantId, IncidentNumber\n\
         | join kind=leftouter triage_times on TenantId, IncidentNumber\n\
         | project-away TenantId1, IncidentNumber1;"
    )
}

/// One aggregate row.
struct Group<'a> {
    kind: &'a str,
    key: &'a str,
    key2: &'a str,
    count: usize,
    low: Option<i64>,
    high: Option<i64>,
}

fn groups(result: &QueryResult) -> Result<Vec<Group<'_>>, SourceError> {
    let Some(table) = result.tables.first().filter(|it| !it.rows.is_empty()) else {
        return Ok(Vec::new());
    };
    let position = |name: &str| {
        table
            .columns
            .iter()
            .position(|column| column.name == name)
            .ok_or_else(|| SourceError::Failed {
                system: SYSTEM,
                reason: format!("the aggregate answer lacks the column {name}"),
            })
    };
    let [kind, key, key2, count, low, high] =
        ["Kind", "Key", "Key2", "Count", "Low", "High"].map(position);
    let (kind, key, key2, count, low, high) = (kind?, key?, key2?, count?, low?, high?);
    fn text(row: &[Value], at: usize) -> &str {
        row.get(at).and_then(Value::as_str).unwrap_or("")
    }
    fn number(row: &[Value], at: usize) -> Option<i64> {
        row.get(at).and_then(Value::as_i64)
    }
    table
        .rows
        .iter()
        .map(|row| {
            Ok(Group {
                kind: text(row, kind),
                key: text(row, key),
                key2: text(row, key2),
                count: number(row, count)
                    .and_then(|it| usize::try_from(it).ok())
                    .unwrap_or(0),
                low: number(row, low),
                high: number(row, high),
            })
        })
        .collect()
}

/// Reads a severity or status as the row reader does: loose spellings, unknown ones as
/// Informational and Active.
fn severity(text: &str) -> Severity {
    text.parse().unwrap_or(Severity::Informational)
}

fn status(text: &str) -> Status {
    text.parse().unwrap_or(Status::Active)
}

/// The figures for `window` from the aggregate answer and the listed long-open incidents
/// (read by the usual row reader from [`long_open_query`]'s answer).
pub fn read_summary(
    result: &QueryResult,
    long_open: &[Incident],
    window: Window,
    now: DateTime<Utc>,
    long_open_after: Duration,
) -> Result<Summary, SourceError> {
    let mut status_by_severity = [[0usize; 3]; 4];
    let mut tactic_counts = [0usize; Tactic::ALL.len()];
    let mut without_tactics = 0;
    let mut triage = Pieces::default();
    let mut resolve = Pieces::default();
    let mut days: Vec<DayVolume> = day_list(window);
    for group in groups(result)? {
        match group.kind {
            "status" => {
                status_by_severity[severity(group.key).index()][status(group.key2).index()] +=
                    group.count;
            }
            "tactics" => {
                let mut seen = [false; Tactic::ALL.len()];
                let names: Vec<Value> = serde_json::from_str(group.key).unwrap_or_default();
                for name in names.iter().filter_map(Value::as_str) {
                    if let Ok(tactic) = name.parse::<Tactic>() {
                        seen[tactic.index()] = true;
                    }
                }
                if seen.iter().any(|&present| present) {
                    for (count, present) in tactic_counts.iter_mut().zip(seen) {
                        *count += if present { group.count } else { 0 };
                    }
                } else {
                    without_tactics += group.count;
                }
            }
            "triage" => triage.total = Some((group.count, group.low.unwrap_or(0))),
            "triage-median" => triage.middle = group.low.zip(group.high),
            "resolve" => resolve.total = Some((group.count, group.low.unwrap_or(0))),
            "resolve-median" => resolve.middle = group.low.zip(group.high),
            "day" => {
                let Ok(date) = NaiveDate::parse_from_str(group.key, "%Y-%m-%d") else {
                    continue;
                };
                if let Some(day) = days.iter_mut().find(|day| day.date == date) {
                    day.by_severity[severity(group.key2).index()] += group.count;
                    day.total += group.count;
                }
            }
            _ => {}
        }
    }
    flag_anomalies(&mut days);
    let by_status =
        Status::ALL.map(|it| status_by_severity.iter().map(|row| row[it.index()]).sum());
    let by_severity = Severity::ALL.map(|it| status_by_severity[it.index()].iter().sum());
    let total: usize = by_severity.iter().sum();
    let closed: usize = by_status[Status::Closed.index()];
    Ok(Summary {
        window,
        total,
        by_status,
        by_severity,
        status_by_severity,
        by_tactic: rank_tactics(&tactic_counts),
        without_tactics,
        resolution_rate: (total > 0).then(|| closed as f64 / total as f64),
        time_to_triage: triage.durations(),
        time_to_resolve: resolve.durations(),
        long_unresolved: long_unresolved(long_open, now, long_open_after),
        daily: days,
    })
}

/// A set of durations as the service sums them: count and sum, and the middle pair.
#[derive(Default)]
struct Pieces {
    total: Option<(usize, i64)>,
    middle: Option<(i64, i64)>,
}

impl Pieces {
    /// Mean and median in whole milliseconds, rounded as `analytics::durations` rounds.
    fn durations(&self) -> Durations {
        match (self.total, self.middle) {
            (Some((count, sum)), Some((low, high))) if count > 0 => {
                let divisor = i128::try_from(count).unwrap_or(i128::MAX);
                let mean = i128::from(sum) / divisor;
                let median = (i128::from(low) + i128::from(high)) / 2;
                Durations {
                    count,
                    mean: Some(millis(mean)),
                    median: Some(millis(median)),
                }
            }
            _ => Durations {
                count: 0,
                mean: None,
                median: None,
            },
        }
    }
}

fn millis(value: i128) -> Duration {
    Duration::milliseconds(i64::try_from(value).unwrap_or(i64::MAX))
}

/// One empty entry per UTC day the window touches.
fn day_list(window: Window) -> Vec<DayVolume> {
    if window.end <= window.start {
        return Vec::new();
    }
    let last = (window.end - Duration::nanoseconds(1)).date_naive();
    window
        .start
        .date_naive()
        .iter_days()
        .take_while(|date| *date <= last)
        .map(|date| DayVolume {
            date,
            by_severity: [0; 4],
            total: 0,
            anomaly: false,
        })
        .collect()
}

fn rank_tactics(counts: &[usize; Tactic::ALL.len()]) -> Vec<(Tactic, usize)> {
    let mut ranked: Vec<(Tactic, usize)> = Tactic::ALL
        .into_iter()
        .zip(counts.iter().copied())
        .filter(|&(_, count)| count > 0)
        .collect();
    ranked.sort_by_key(|&(_, count)| Reverse(count));
    ranked
}

fn long_unresolved(
    incidents: &[Incident],
    now: DateTime<Utc>,
    long_open_after: Duration,
) -> Vec<LongOpen> {
    let mut found: Vec<LongOpen> = incidents
        .iter()
        .filter(|it| it.status.is_open() && now - it.created > long_open_after)
        .map(|it| LongOpen {
            number: it.number,
            title: it.title.clone(),
            severity: it.severity,
            status: it.status,
            owner: it.owner.label().map(str::to_string),
            created: it.created,
            age: now - it.created,
            url: it.url.clone(),
        })
        .collect();
    found.sort_by(|left, right| {
        left.created
            .cmp(&right.created)
            .then(left.number.cmp(&right.number))
    });
    found.dedup_by_key(|entry| entry.number);
    found
}

#[cfg(test)]
mod tests {
    //! The aggregate path against the local one on generated data. The service is stood in
    //! for by a small evaluator of the aggregate query's `union` parts, working on the raw
    //! answer rows (text and JSON text, as Log Analytics holds them), not on incidents.
    use super::*;
    use crate::analytics::{self, DEFAULT_LONG_OPEN};
    use crate::incident::{IncidentRow, collapse};
    use crate::sources::azure::log_analytics::{
        incident_rows, parse_response, to_log_analytics_response,
    };
    use chrono::TimeZone;
    use serde_json::json;
    use std::collections::BTreeMap;

    /// `incident_state` as the service holds it: the report query's answer rows.
    fn latest_rows(now: DateTime<Utc>) -> Value {
        let incidents = collapse(crate::sources::demo::rows(now, 3_000, 17));
        let rows: Vec<IncidentRow> = incidents
            .into_iter()
            .map(|incident| IncidentRow {
                time_generated: incident.last_modified,
                incident,
            })
            .collect();
        to_log_analytics_response(&rows)
    }

    fn time(text: &Value) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text.as_str()?)
            .ok()
            .map(|it| it.with_timezone(&Utc))
    }

    /// Evaluates the aggregate query's parts over `incident_state`.
    fn evaluate(latest: &Value, window: Window) -> Value {
        let table = &latest["tables"][0];
        let column = |name: &str| {
            table["columns"]
                .as_array()
                .and_then(|columns| columns.iter().position(|it| it["name"] == name))
                .expect("column")
        };
        let (severity, status, created, triaged, closed, additional) = (
            column("Severity"),
            column("Status"),
            column("CreatedTime"),
            column("FirstTriaged"),
            column("ClosedTime"),
            column("AdditionalData"),
        );
        let mut counts: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        let mut triage: Vec<i64> = Vec::new();
        let mut resolve: Vec<i64> = Vec::new();
        for row in table["rows"].as_array().expect("rows") {
            let Some(created_at) = time(&row[created]) else {
                continue;
            };
            if !window.contains(created_at) {
                continue;
            }
            let text = |at: usize| row[at].as_str().unwrap_or("").to_string();
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
            if let Some(at) = time(&row[triaged]) {
                triage.push((at - created_at).num_milliseconds());
            }
            if let (Some(at), "Closed") = (time(&row[closed]), text(status).as_str()) {
                resolve.push((at - created_at).num_milliseconds());
            }
        }
        let mut rows: Vec<Value> = counts
            .into_iter()
            .map(|((kind, key, key2), count)| json!([kind, key, key2, count, null, null]))
            .collect();
        for (name, mut values) in [("triage", triage), ("resolve", resolve)] {
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

    #[test]
    fn aggregates_equal_the_local_analytics_on_generated_data() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 23, 8, 0, 0)
            .single()
            .expect("time");
        let latest = latest_rows(now);
        let body = latest.to_string();
        let incidents = collapse(incident_rows(
            &parse_response(body.as_bytes()).expect("rows"),
        ));
        for days in [1, 7, 30] {
            let window = Window {
                start: now - Duration::days(days),
                end: now,
            };
            let local = analytics::summarize(&incidents, window, now, DEFAULT_LONG_OPEN);
            assert!(
                local.total > 0 && local.time_to_resolve.count > 0,
                "{days} days"
            );
            let answer = evaluate(&latest, window).to_string();
            let aggregates = parse_response(answer.as_bytes()).expect("aggregates");
            // Only the long-open incidents travel as rows.
            let listed: Vec<Incident> = incidents
                .iter()
                .filter(|it| it.status.is_open() && it.created < now - DEFAULT_LONG_OPEN)
                .cloned()
                .collect();
            let remote =
                read_summary(&aggregates, &listed, window, now, DEFAULT_LONG_OPEN).expect("reads");
            assert_eq!(remote, local, "{days} days");
        }
    }

    #[test]
    fn an_answer_without_the_columns_is_an_error_and_an_empty_one_is_zero() {
        let window = Window {
            start: Utc
                .with_ymd_and_hms(2026, 11, 16, 0, 0, 0)
                .single()
                .expect("time"),
            end: Utc
                .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
                .single()
                .expect("time"),
        };
        let now = window.end;
        let wrong = parse_response(br#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"Kind","type":"string"}],"rows":[["status"]]}]}"#)
            .expect("parses");
        assert!(read_summary(&wrong, &[], window, now, DEFAULT_LONG_OPEN).is_err());
        let empty =
            parse_response(br#"{"tables":[{"name":"PrimaryResult","columns":[],"rows":[]}]}"#)
                .expect("parses");
        let summary = read_summary(&empty, &[], window, now, DEFAULT_LONG_OPEN).expect("empty");
        assert_eq!(
            summary,
            analytics::summarize(&[], window, now, DEFAULT_LONG_OPEN)
        );
    }

    #[test]
    fn the_queries_read_only_typed_bounds() {
        let window = Window {
            start: Utc
                .with_ymd_and_hms(2026, 11, 16, 0, 0, 0)
                .single()
                .expect("time"),
            end: Utc
                .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
                .single()
                .expect("time"),
        };
        let query = summary_query(window);
        assert!(query.contains("CreatedTime >= datetime(2026-11-16T00:00:00.000Z) and CreatedTime < datetime(2026-11-23T00:00:00.000Z)"), "{query}");
        assert!(query.contains("summarize arg_max(TimeGenerated, *) by TenantId, IncidentNumber"));
        let listed = long_open_query(window, window.end, DEFAULT_LONG_OPEN);
        assert!(
            listed.contains("CreatedTime < datetime(2026-11-20T00:00:00.000Z)"),
            "{listed}"
        );
    }
}
