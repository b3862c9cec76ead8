//! Counts and durations computed in Log Analytics itself (KQL `summarize`), for periods
//! whose incidents would not fit in memory: the service sends a few hundred aggregate
//! rows instead of one row per incident, and only the listed incidents (the open ones, for
//! the backlog and its long-unresolved list: [`open_query`]) travel as rows. The result is
//! the same [`Summary`] that `analytics::summarize` computes from every incident (a test
//! runs both on generated data), under these assumptions about the data, which Sentinel's
//! own values meet:
//! severities and statuses are spelt as Sentinel spells them (local reading also takes
//! loose spellings). Tactics are grouped by the service as written and read here as the row
//! reader reads them ([`Tactic::read`]), so spellings of one tactic merge and other names
//! keep their own rows.
//!
//! Whether a period is aggregated is decided per window by [`estimate_query`] against
//! `azure.aggregate_above` (`AzureSource`'s `IncidentSource::period`).
//!
//! KQL text is built only from typed values, like `kql`.

use super::kql;
use super::log_analytics::QueryResult;
use crate::analytics::{self, CreatedFilter, Durations, Summary, TacticCounts, flag_anomalies};
use crate::incident::{Severity, Status, Tactic};
use crate::period::Window;
use crate::sources::SourceError;
use chrono::{Duration, NaiveDate};
use serde_json::Value;

const SYSTEM: &str = "Log Analytics";

/// The aggregate query for `window`: one table with the columns `Kind`, `Key`, `Key2`,
/// `Count`, `Low`, `High`, one row per group:
///
/// - `status`: `Key` severity, `Key2` status, `Count` incidents created in the window;
/// - `tactics`: `Key` the incident's distinct tactics as a sorted JSON array, `Count`
///   incidents created in the window with exactly that set;
/// - `triage`, `human` and `resolve` (creation to the first change, to the first change by
///   a person, to closing): `Count` durations (milliseconds, negative ones left out, as
///   `analytics::durations` does), `Low` their sum; `triage-median`, `human-median`,
///   `resolve-median`: `Low` and `High` the two middle values (equal for an odd count);
/// - `day`: `Key` the UTC day (`yyyy-MM-dd`), `Key2` severity, `Count` incidents created.
///
/// Every group counts only the incidents `filter` keeps (severity and current status,
/// compared without case as Sentinel spells them), as `analytics::PeriodFacts` narrows the
/// "created" figures.
pub fn summary_query(window: Window, filter: CreatedFilter) -> String {
    let start = kql::datetime(window.start);
    let end = kql::datetime(window.end);
    let kinds = [
        ("triage", "Triaged"),
        ("human", "FirstHumanAction"),
        ("resolve", "Resolved"),
    ];
    let lets: String = kinds
        .iter()
        .map(|(kind, column)| {
            format!(
                "let {kind}_ms = created | extend Ms = tolong(({column} - CreatedTime) / 1ms) | where isnotnull(Ms) and Ms >= 0;\n\
                 let {kind}_count = toscalar({kind}_ms | count);\n"
            )
        })
        .collect();
    // The two middle values are found by rank, so the median is exact (`percentile`
    // would only estimate it).
    let parts: String = kinds
        .iter()
        .map(|(kind, _)| {
            format!(
                "({kind}_ms | summarize Count = count(), Low = sum(Ms) | extend Kind = \"{kind}\"),\n\
                 ({kind}_ms | sort by Ms asc | extend Rank = row_number()\n\
                  | where Rank == ({kind}_count + 1) / 2 or Rank == {kind}_count / 2 + 1\n\
                  | summarize Low = min(Ms), High = max(Ms) | extend Kind = \"{kind}-median\"),\n"
            )
        })
        .collect();
    format!(
        "{incident_state}\n\
         let created = incident_state\n\
         | where CreatedTime >= {start} and CreatedTime < {end}\n\
         {narrowing}\
         | extend Triaged = coalesce(FirstModifiedTime, iff(LastModifiedTime > CreatedTime, LastModifiedTime, datetime(null)))\n\
         | extend Resolved = iff(Status == \"Closed\", ClosedTime, datetime(null));\n\
         {lets}\
         union\n\
         (created | summarize Count = count() by Key = Severity, Key2 = Status | extend Kind = \"status\"),\n\
         (created\n\
          | extend Key = tostring(array_sort_asc(set_union(AdditionalData.tactics, dynamic([]))))\n\
          | summarize Count = count() by Key\n\
          | extend Kind = \"tactics\"),\n\
         {parts}\
         (created\n\
          | summarize Count = count() by Key = format_datetime(startofday(CreatedTime), \"yyyy-MM-dd\"), Key2 = Severity\n\
          | extend Kind = \"day\")\n\
         | project Kind, Key, Key2, Count, Low, High",
        incident_state = incident_state(window),
        narrowing = narrowing(filter),
    )
}

/// `where` lines keeping the incidents `filter` keeps; empty for no filter. Built from the
/// enums' Sentinel names, never from typed text.
fn narrowing(filter: CreatedFilter) -> String {
    let mut lines = String::new();
    if let Some(severity) = filter.severity {
        lines.push_str(&format!("| where Severity =~ \"{}\"\n", severity.as_str()));
    }
    if let Some(statuses) = filter.statuses {
        let names: Vec<String> = statuses
            .iter()
            .map(|status| format!("\"{}\"", status.as_str()))
            .collect();
        lines.push_str(&format!("| where Status in~ ({})\n", names.join(", ")));
    }
    lines
}

/// A cheap estimate of how many incidents were created in `window`: one table, one column
/// `Incidents` (long), one row. `dcount` is an estimate (HyperLogLog, about 1.6% error at its
/// default accuracy: Kusto's `dcount` documentation), good enough to choose between
/// reading rows and aggregating; sent with the timespan `window.start/window.end`.
pub fn estimate_query(window: Window) -> String {
    let start = kql::datetime(window.start);
    let end = kql::datetime(window.end);
    format!(
        "SecurityIncident\n\
         | where TimeGenerated >= {start} and TimeGenerated < {end}\n\
         | where CreatedTime >= {start} and CreatedTime < {end}\n\
         | summarize Incidents = dcount(strcat(TenantId, \"/\", IncidentNumber))"
    )
}

/// The estimate's count from its answer ([`estimate_query`]); an empty answer is zero.
pub fn read_estimate(result: &QueryResult) -> Result<u64, SourceError> {
    let Some(table) = result.tables.first() else {
        return Ok(0);
    };
    let Some(row) = table.rows.first() else {
        return Ok(0);
    };
    table
        .columns
        .iter()
        .position(|column| column.name == "Incidents")
        .and_then(|at| row.get(at))
        .and_then(Value::as_u64)
        .ok_or_else(|| SourceError::Failed {
            system: SYSTEM,
            reason: "the estimate answer lacks a count in the column Incidents".to_string(),
        })
}

/// The listed incidents' query: every incident open at the window's end, in the report
/// query's row shape, for the backlog (`analytics::PeriodFacts`) and its lists.
pub fn open_query(window: Window) -> String {
    format!(
        "{incident_state}\n\
         incident_state\n\
         | where Status != \"Closed\"",
        incident_state = incident_state(window),
    )
}

/// `incident_state`: each incident's latest row as of the window's end with its first
/// change by a person, exactly as the report query reads them (`kql::incidents_query`).
fn incident_state(window: Window) -> String {
    let from = kql::datetime(kql::lookback_start(window));
    let end = kql::datetime(window.end);
    format!(
        "let changes = SecurityIncident\n\
         | where TimeGenerated >= {from} and TimeGenerated < {end}\n\
         | where CreatedTime >= {from};\n\
         let human = changes\n\
         | where LastModifiedTime > CreatedTime and {by_person}\n\
         | summarize FirstHumanAction = min(LastModifiedTime) by TenantId, IncidentNumber;\n\
         let incident_state = changes\n\
         | summarize arg_max(TimeGenerated, *) by TenantId, IncidentNumber\n\
         | join kind=leftouter human on TenantId, IncidentNumber\n\
         | project-away TenantId1, IncidentNumber1;",
        by_person = kql::by_person(),
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

/// The figures for `window` from the aggregate answer ([`summary_query`]).
pub fn read_summary(result: &QueryResult, window: Window) -> Result<Summary, SourceError> {
    let mut status_by_severity = [[0usize; 3]; 4];
    let mut tactic_counts = TacticCounts::default();
    let mut triage = Pieces::default();
    let mut human = Pieces::default();
    let mut resolve = Pieces::default();
    // The day list (with its partial days) as the local path makes it, counts still zero.
    let mut days = analytics::daily_volume(&[], window);
    for group in groups(result)? {
        match group.kind {
            "status" => {
                status_by_severity[severity(group.key).index()][status(group.key2).index()] +=
                    group.count;
            }
            "tactics" => {
                // The service groups by the names as written; reading them here merges
                // spellings of one tactic and keeps other names, as the row reader does.
                let names: Vec<Value> = serde_json::from_str(group.key).unwrap_or_default();
                let tactics: Vec<Tactic> = names
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(Tactic::read)
                    .collect();
                tactic_counts.add(&tactics, group.count);
            }
            "triage" => triage.total = Some((group.count, group.low.unwrap_or(0))),
            "triage-median" => triage.middle = group.low.zip(group.high),
            "human" => human.total = Some((group.count, group.low.unwrap_or(0))),
            "human-median" => human.middle = group.low.zip(group.high),
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
    let day_count =
        window.length().num_milliseconds() as f64 / Duration::days(1).num_milliseconds() as f64;
    Ok(Summary {
        window,
        total,
        by_status,
        by_severity,
        status_by_severity,
        without_tactics: tactic_counts.without(),
        by_tactic: tactic_counts.ranked(),
        resolution_rate: (total > 0).then(|| closed as f64 / total as f64),
        daily_average: (day_count >= 1.0).then(|| total as f64 / day_count),
        time_to_triage: triage.durations(),
        time_to_first_human_action: human.durations(),
        time_to_resolve: resolve.durations(),
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

#[cfg(test)]
mod simulate;

#[cfg(test)]
mod tests {
    //! The aggregate path against the local one on generated data. The service is stood in
    //! for by a small evaluator of the aggregate query's `union` parts, working on the raw
    //! answer rows (text and JSON text, as Log Analytics holds them), not on incidents.
    use super::simulate::evaluate;
    use super::*;
    use crate::analytics;
    use crate::incident::Severity;
    use crate::incident::{IncidentRow, collapse};
    use crate::sources::azure::log_analytics::{
        incident_rows, parse_response, to_log_analytics_response,
    };
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::json;

    /// `incident_state` as the service holds it: the report query's answer rows. Some rows'
    /// tactics are rewritten as people and other products write them: other spellings,
    /// names outside Sentinel's enum, a tactic twice.
    fn latest_rows(now: DateTime<Utc>) -> Value {
        let incidents = collapse(crate::sources::demo::rows(now, 3_000, 17));
        let rows: Vec<IncidentRow> = incidents
            .into_iter()
            .map(|incident| IncidentRow {
                time_generated: incident.last_modified,
                modified_by: None,
                incident,
            })
            .collect();
        let mut answer = to_log_analytics_response(&rows);
        let column = answer["tables"][0]["columns"]
            .as_array()
            .and_then(|columns| columns.iter().position(|it| it["name"] == "AdditionalData"))
            .expect("AdditionalData");
        let variants = [
            json!(["PreAttack"]),
            json!(["ImpairProcessControl", "Inhibit Response Function"]),
            json!(["initial access", "InitialAccess"]),
            json!(["MyCustomTactic"]),
            json!(["MyCustomTactic", "command-and-control", ""]),
        ];
        let table_rows = answer["tables"][0]["rows"].as_array_mut().expect("rows");
        for (index, row) in table_rows
            .iter_mut()
            .enumerate()
            .filter(|(it, _)| it % 4 == 0)
        {
            let mut data: Value =
                serde_json::from_str(row[column].as_str().unwrap_or("{}")).expect("JSON text");
            data["tactics"] = variants[(index / 4) % variants.len()].clone();
            row[column] = Value::String(data.to_string());
        }
        answer
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
        let filters = [
            CreatedFilter::default(),
            CreatedFilter {
                severity: Some(Severity::High),
                statuses: None,
            },
            CreatedFilter {
                severity: None,
                statuses: Some(&[Status::New, Status::Active]),
            },
            CreatedFilter {
                severity: Some(Severity::Medium),
                statuses: Some(&[Status::Closed]),
            },
        ];
        for days in [1, 7, 30] {
            let window = Window {
                start: now - Duration::days(days),
                end: now,
            };
            for filter in filters {
                let kept: Vec<_> = incidents
                    .iter()
                    .filter(|it| filter.keeps(it))
                    .cloned()
                    .collect();
                let local = analytics::summarize(&kept, window);
                assert!(local.total > 0, "{days} days, {filter:?}");
                // The service's `=~` and `in~` on the names as written.
                let keep = |severity: &str, status: &str| {
                    filter
                        .severity
                        .is_none_or(|it| severity.eq_ignore_ascii_case(it.as_str()))
                        && filter.statuses.is_none_or(|them| {
                            them.iter()
                                .any(|it| status.eq_ignore_ascii_case(it.as_str()))
                        })
                };
                let answer = evaluate(&latest, window.start, window.end, &keep).to_string();
                let aggregates = parse_response(answer.as_bytes()).expect("aggregates");
                let remote = read_summary(&aggregates, window).expect("reads");
                assert_eq!(remote, local, "{days} days, {filter:?}");
            }
            let local = analytics::summarize(&incidents, window);
            assert!(
                local.time_to_resolve.count > 0 && local.time_to_triage.count > 0,
                "{days} days"
            );
            let custom = Tactic::Other("MyCustomTactic".into());
            assert!(
                local.by_tactic.iter().any(|(it, _)| *it == custom)
                    && local
                        .by_tactic
                        .iter()
                        .any(|(it, _)| *it == Tactic::PreAttack),
                "{days} days: {:?}",
                local.by_tactic
            );
        }
    }

    /// An aggregate answer as the service sends it (the query API's tables, columns, rows).
    fn answer(rows: Value) -> QueryResult {
        let body = json!({"tables": [{"name": "PrimaryResult", "columns": [
            {"name": "Kind", "type": "string"}, {"name": "Key", "type": "string"},
            {"name": "Key2", "type": "string"}, {"name": "Count", "type": "long"},
            {"name": "Low", "type": "long"}, {"name": "High", "type": "long"}
        ], "rows": rows}]});
        parse_response(body.to_string().as_bytes()).expect("parses")
    }

    #[test]
    fn tactic_groups_count_every_sentinel_value_and_other_names() {
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
        let result = answer(json!([
            ["status", "Medium", "New", 9, null, null],
            ["tactics", "[\"PreAttack\"]", "", 2, null, null],
            ["tactics", "[\"ImpairProcessControl\"]", "", 1, null, null],
            ["tactics", "[\"initial access\"]", "", 1, null, null],
            ["tactics", "[\"MyCustomTactic\"]", "", 1, null, null],
            // Two spellings of one tactic in one set: still one incident under it.
            [
                "tactics",
                "[\"Initial Access\",\"InitialAccess\"]",
                "",
                3,
                null,
                null
            ],
            ["tactics", "[]", "", 1, null, null]
        ]));

        let summary = read_summary(&result, window).expect("reads");

        assert_eq!(
            summary.by_tactic,
            vec![
                (Tactic::InitialAccess, 4),
                (Tactic::PreAttack, 2),
                (Tactic::ImpairProcessControl, 1),
                (Tactic::Other("MyCustomTactic".into()), 1),
            ]
        );
        assert_eq!(summary.without_tactics, 1);
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
        let wrong = parse_response(br#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"Kind","type":"string"}],"rows":[["status"]]}]}"#)
            .expect("parses");
        assert!(read_summary(&wrong, window).is_err());
        let empty =
            parse_response(br#"{"tables":[{"name":"PrimaryResult","columns":[],"rows":[]}]}"#)
                .expect("parses");
        let summary = read_summary(&empty, window).expect("empty");
        assert_eq!(summary, analytics::summarize(&[], window));
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
        let query = summary_query(window, CreatedFilter::default());
        assert!(query.contains("CreatedTime >= datetime(2026-11-16T00:00:00.000Z) and CreatedTime < datetime(2026-11-23T00:00:00.000Z)"), "{query}");
        assert!(query.contains("summarize arg_max(TimeGenerated, *) by TenantId, IncidentNumber"));
        assert!(
            query.contains("FirstHumanAction = min(LastModifiedTime)"),
            "{query}"
        );
        let listed = open_query(window);
        assert!(listed.ends_with("| where Status != \"Closed\""), "{listed}");
        let estimate = estimate_query(window);
        assert!(estimate.contains("CreatedTime >= datetime(2026-11-16T00:00:00.000Z) and CreatedTime < datetime(2026-11-23T00:00:00.000Z)"), "{estimate}");
        assert!(estimate.contains("dcount("), "{estimate}");
        assert!(!query.contains("| where Severity") && !query.contains("| where Status in"));
        let narrowed = summary_query(
            window,
            CreatedFilter {
                severity: Some(Severity::High),
                statuses: Some(&[Status::New, Status::Active]),
            },
        );
        assert!(
            narrowed.contains(
                "CreatedTime < datetime(2026-11-23T00:00:00.000Z)\n| where Severity =~ \"High\"\n| where Status in~ (\"New\", \"Active\")\n| extend Triaged"
            ),
            "{narrowed}"
        );
    }

    #[test]
    fn the_estimate_reads_its_count_and_an_empty_answer_as_zero() {
        let answer = parse_response(
            br#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"Incidents","type":"long"}],"rows":[[123456]]}]}"#,
        )
        .expect("parses");
        assert_eq!(read_estimate(&answer), Ok(123_456));
        let empty =
            parse_response(br#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"Incidents","type":"long"}],"rows":[]}]}"#)
                .expect("parses");
        assert_eq!(read_estimate(&empty), Ok(0));
        let wrong = parse_response(
            br#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"Count","type":"long"}],"rows":[[5]]}]}"#,
        )
        .expect("parses");
        assert!(read_estimate(&wrong).is_err());
    }
}
