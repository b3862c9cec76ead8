//! Periods too large to read row by row (`azure.aggregate_above`): the counts and durations
//! come from Log Analytics (KQL `summarize`), the open incidents as rows, and every figure
//! equals the one computed from every row. Real bot and Azure clients against a fake Log
//! Analytics on 127.0.0.1 that holds one row per generated incident and answers each query
//! the bot sends by what the query text asks: the estimate (`dcount`), the aggregate (run by
//! the same KQL stand-in as the unit tests, `simulate.rs`), the open incidents, the rows.

#[path = "../../src/sources/azure/aggregate/simulate.rs"]
mod simulate;

use crate::azure::{config, mount_token, quick_policy, week};
use crate::chat::{notes, request};
use chrono::{DateTime, TimeZone, Utc};
use sentinel_bot::analytics::{CreatedFilter, Listing, PeriodFacts};
use sentinel_bot::bot::{Bot, Settings};
use sentinel_bot::incident::{IncidentRow, Severity, Status, collapse};
use sentinel_bot::render::{html, markdown};
use sentinel_bot::reply::Block;
use sentinel_bot::report::{self, Layout};
use sentinel_bot::sources::azure::AzureSource;
use sentinel_bot::sources::azure::log_analytics::to_log_analytics_response;
use serde_json::{Value, json};
use std::sync::Arc;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

/// The end of the week `crate::azure::week` covers.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
}

/// What the note under the headline figures starts with when the period was aggregated.
const NOT_LISTED: &str = "The incidents created in this period (";

/// The workspace: one `SecurityIncident` row per generated incident, in its latest state.
fn workspace() -> Value {
    let rows: Vec<IncidentRow> = collapse(sentinel_bot::sources::demo::rows(now(), 3_000, 17))
        .into_iter()
        .map(|incident| IncidentRow {
            time_generated: incident.last_modified,
            modified_by: None,
            incident,
        })
        .collect();
    to_log_analytics_response(&rows)
}

/// The `datetime(...)` literal after `marker` in `query`, when there is one.
fn time_after(query: &str, marker: &str) -> Option<DateTime<Utc>> {
    let start = query.find(marker)? + marker.len();
    let end = start + query[start..].find(')')?;
    DateTime::parse_from_rfc3339(&query[start..end])
        .ok()
        .map(|it| it.with_timezone(&Utc))
}

/// The quoted names in `query` after `marker` up to the closing paren or line end.
fn names_after(query: &str, marker: &str) -> Option<Vec<String>> {
    let start = query.find(marker)? + marker.len();
    let line = query[start..].lines().next().unwrap_or_default();
    Some(
        line.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

/// A window's start and end, as a query's `CreatedTime` bounds give them.
type Bounds = (DateTime<Utc>, DateTime<Utc>);

/// A fake Log Analytics query API over [`workspace`]. It reads from each query only what
/// the bot's builders put there: the bounds (`TimeGenerated < end`, the lookback
/// `CreatedTime >= from;`, the window `CreatedTime >= start and CreatedTime < end`), the
/// filter lines (`Severity =~`, `Status in~`) and which query it is. `fail` names a kind of
/// query answered with the service's error instead.
struct FakeLogAnalytics {
    latest: Value,
    fail: Option<&'static str>,
    /// How long row answers take. The source asks for the rows and the estimate together
    /// and takes rows that arrive whole first; slow rows let the estimate decide.
    rows_delay: std::time::Duration,
}

impl FakeLogAnalytics {
    /// The rows the query's scope holds, and the window its "created" part asks about.
    fn scope(&self, query: &str) -> (Value, Option<Bounds>) {
        let table = &self.latest["tables"][0];
        let position = |name: &str| {
            table["columns"]
                .as_array()
                .and_then(|columns| columns.iter().position(|it| it["name"] == name))
                .expect("column")
        };
        let (created, generated) = (position("CreatedTime"), position("TimeGenerated"));
        let end = time_after(query, "TimeGenerated < datetime(").expect("an end");
        let window = query
            .match_indices("CreatedTime >= datetime(")
            .find_map(|(at, _)| {
                let rest = &query[at..];
                let start = time_after(rest, "CreatedTime >= datetime(")?;
                let close = rest.find(')')?;
                let bound = ") and CreatedTime < datetime(";
                let end = time_after(&rest[close..], bound)
                    .filter(|_| rest[close..].starts_with(bound))?;
                Some((start, end))
            });
        let lookback = query
            .match_indices("CreatedTime >= datetime(")
            .find_map(|(at, _)| {
                let rest = &query[at..];
                let close = rest.find(')')?;
                rest[close..]
                    .starts_with(");")
                    .then(|| time_after(rest, "CreatedTime >= datetime("))?
            });
        let time = |row: &Value, at: usize| {
            DateTime::parse_from_rfc3339(row[at].as_str().unwrap_or_default())
                .map(|it| it.with_timezone(&Utc))
                .ok()
        };
        let rows: Vec<Value> = table["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|row| time(row, generated).is_some_and(|at| at < end))
            .filter(|row| {
                lookback.is_none_or(|from| time(row, created).is_some_and(|at| at >= from))
            })
            .cloned()
            .collect();
        let mut scoped = self.latest.clone();
        scoped["tables"][0]["rows"] = json!(rows);
        (scoped, window)
    }
}

/// Which query the bot sent, by its text.
fn kind(query: &str) -> &'static str {
    if query.contains("dcount(") {
        "estimate"
    } else if query.contains("union") {
        "summary"
    } else if query.contains("or Status != \"Closed\"") {
        "rows"
    } else if query.trim_end().ends_with("| where Status != \"Closed\"") {
        "open"
    } else {
        "other"
    }
}

fn keep_rows(answer: &mut Value, keep: impl Fn(&[Value], &dyn Fn(&str) -> usize) -> bool) {
    let columns = answer["tables"][0]["columns"].clone();
    let position = |name: &str| {
        columns
            .as_array()
            .and_then(|columns| columns.iter().position(|it| it["name"] == name))
            .expect("column")
    };
    let rows: Vec<Value> = answer["tables"][0]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|row| keep(row.as_array().expect("row"), &position))
        .cloned()
        .collect();
    answer["tables"][0]["rows"] = json!(rows);
}

fn created_in(row: &[Value], at: usize, window: Bounds) -> bool {
    DateTime::parse_from_rfc3339(row[at].as_str().unwrap_or_default())
        .map(|it| it.with_timezone(&Utc))
        .is_ok_and(|it| it >= window.0 && it < window.1)
}

impl Respond for FakeLogAnalytics {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        let query = body["query"].as_str().expect("query text");
        let kind = kind(query);
        if self.fail == Some(kind) {
            return ResponseTemplate::new(400).set_body_json(json!({"error": {
                "code": "BadArgumentError",
                "message": "The request had some invalid properties",
                "innererror": {"code": "SemanticError", "message": "A semantic error occurred."}
            }}));
        }
        let (mut answer, window) = self.scope(query);
        let answer = match kind {
            "estimate" => {
                let window = window.expect("the estimate names its window");
                keep_rows(&mut answer, |row, position| {
                    created_in(row, position("CreatedTime"), window)
                });
                let count = answer["tables"][0]["rows"].as_array().map_or(0, Vec::len);
                json!({"tables": [{"name": "PrimaryResult",
                    "columns": [{"name": "Incidents", "type": "long"}], "rows": [[count]]}]})
            }
            "summary" => {
                let window = window.expect("the aggregate names its window");
                let severity = names_after(query, "| where Severity =~ ");
                let statuses = names_after(query, "| where Status in~ (");
                let keep = |row_severity: &str, row_status: &str| {
                    severity.as_ref().is_none_or(|names| {
                        names.iter().any(|it| it.eq_ignore_ascii_case(row_severity))
                    }) && statuses.as_ref().is_none_or(|names| {
                        names.iter().any(|it| it.eq_ignore_ascii_case(row_status))
                    })
                };
                simulate::evaluate(&answer, window.0, window.1, &keep)
            }
            "rows" => {
                let window = window.expect("the report query names its window");
                keep_rows(&mut answer, |row, position| {
                    created_in(row, position("CreatedTime"), window)
                        || row[position("Status")] != "Closed"
                });
                return ResponseTemplate::new(200)
                    .set_body_json(answer)
                    .set_delay(self.rows_delay);
            }
            "open" => {
                keep_rows(&mut answer, |row, position| {
                    row[position("Status")] != "Closed"
                });
                answer
            }
            _ => return ResponseTemplate::new(400),
        };
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

/// A bot reading the fake workspace through a real `AzureSource` with `aggregate_above`;
/// the server records what was asked. With a finite threshold the rows answer slowly, so
/// the estimate, not a race with it, decides how a period is read.
async fn bot(aggregate_above: u64, fail: Option<&'static str>) -> (Bot, MockServer) {
    // A server of its own, not one from wiremock's pool: a request the bot dropped (rows
    // beside an estimate, the open query beside a failed summary) may still arrive after
    // its test ended, and must not be counted by the next test that borrows the server.
    let server = MockServer::builder().start().await;
    mount_token(&server).await;
    let rows_delay = match aggregate_above {
        0 | u64::MAX => std::time::Duration::ZERO,
        _ => std::time::Duration::from_secs(2),
    };
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/workspaces/[^/]+/query$"))
        .respond_with(FakeLogAnalytics {
            latest: workspace(),
            fail,
            rows_delay,
        })
        .mount(&server)
        .await;
    let mut settings = config(&server);
    settings.aggregate_above = aggregate_above;
    // Advice is not under test; with Graph off no Graph call is made.
    settings.use_graph = false;
    let source = Arc::new(
        AzureSource::with_policy(&settings, reqwest::Client::new(), quick_policy())
            .expect("source builds"),
    );
    let bot = Bot {
        source: source.clone(),
        intel: source,
        ledger: Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        settings: Settings::default(),
        advisor: None,
    };
    (bot, server)
}

/// The kinds of query `server` received, in order.
async fn asked(server: &MockServer) -> Vec<&'static str> {
    server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|request| request.url.path().ends_with("/query"))
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
            kind(body["query"].as_str().expect("query text"))
        })
        .collect()
}

/// How many of `kinds` were row queries, and the others sorted. A row query asked beside an
/// estimate and dropped when the estimate calls for aggregation may or may not have reached
/// the server by then.
fn rows_apart(kinds: Vec<&'static str>) -> (usize, Vec<&'static str>) {
    let (rows, mut others): (Vec<_>, Vec<_>) = kinds.into_iter().partition(|it| *it == "rows");
    others.sort_unstable();
    (rows.len(), others)
}

/// `facts` as exported, without the list of incidents created and its `listing`.
fn figures(facts: &PeriodFacts) -> Value {
    let mut exported = serde_json::to_value(facts).expect("serialises");
    let object = exported.as_object_mut().expect("an object");
    object.remove("incidents");
    object.remove("listing");
    exported
}

/// Asserts that two exports are equal, naming the fields that differ (an export is too
/// long to read whole in a failure).
fn assert_same(actual: &Value, expected: &Value, context: &str) {
    let (actual, expected) = (
        actual.as_object().expect("an object"),
        expected.as_object().expect("an object"),
    );
    let differing: Vec<String> = expected
        .iter()
        .filter(|(key, value)| actual.get(*key) != Some(*value))
        .map(|(key, value)| {
            let shown = |it: Option<&Value>| {
                let text = it.map(Value::to_string).unwrap_or_default();
                text.chars().take(600).collect::<String>()
            };
            format!(
                "{key}:\n  aggregated {}\n  from rows  {}",
                shown(actual.get(key)),
                shown(Some(value))
            )
        })
        .collect();
    assert!(
        differing.is_empty() && actual.len() == expected.len(),
        "{context}:\n{}",
        differing.join("\n")
    );
}

#[tokio::test]
async fn incidents_facts_aggregated_in_log_analytics_equal_those_from_every_row() {
    let (from_rows, rows_server) = bot(u64::MAX, None).await;
    let (aggregated, aggregate_server) = bot(1, None).await;
    let filters = [
        CreatedFilter::default(),
        CreatedFilter {
            severity: Some(Severity::High),
            statuses: None,
        },
        CreatedFilter {
            severity: Some(Severity::Medium),
            statuses: Some(&[Status::New, Status::Active]),
        },
        CreatedFilter {
            severity: None,
            statuses: Some(&[Status::Closed]),
        },
    ];

    for filter in filters {
        let reference = from_rows
            .period_facts(week(), now(), false, filter)
            .await
            .expect("facts from rows");
        let facts = aggregated
            .period_facts(week(), now(), false, filter)
            .await
            .expect("aggregated facts");

        assert!(
            reference.created.total > 0 && reference.created.time_to_triage.count > 0,
            "{filter:?}: the generated week must have something to compare"
        );
        assert_same(
            &figures(&facts),
            &figures(&reference),
            &format!("{filter:?}"),
        );
        assert_eq!(reference.listing, Listing::Every);
        assert_eq!(reference.incidents().len(), reference.created.total);
        assert_eq!(facts.listing, Listing::Aggregated);
        assert!(facts.incidents().is_empty());
    }
    let backlog = &from_rows
        .period_facts(week(), now(), false, CreatedFilter::default())
        .await
        .expect("facts")
        .backlog;
    assert!(
        !backlog.open_high.is_empty() && !backlog.long_unresolved.is_empty(),
        "the backlog lists must have something to compare"
    );
    assert!(
        asked(&rows_server)
            .await
            .iter()
            .all(|it| *it == "estimate" || *it == "rows")
    );
    assert!(
        asked(&aggregate_server)
            .await
            .iter()
            .all(|it| ["estimate", "summary", "open", "rows"].contains(it))
    );
}

#[tokio::test]
async fn the_report_export_aggregated_in_log_analytics_equals_the_one_from_every_row() {
    let (from_rows, _rows_server) = bot(u64::MAX, None).await;
    let (aggregated, server) = bot(1, None).await;

    let reference = from_rows
        .weekly_report(week(), now())
        .await
        .expect("report from rows");
    let report = aggregated
        .weekly_report(week(), now())
        .await
        .expect("aggregated report");

    assert!(
        reference
            .facts
            .previous
            .as_ref()
            .is_some_and(|it| it.total > 0)
    );
    assert_same(
        &figures(&report.facts),
        &figures(&reference.facts),
        "report",
    );
    let full = report::to_reply(&report, Layout::Full);
    for (format, text) in [
        ("Markdown", markdown::render(&full)),
        ("HTML", html::render(&full, &[])),
    ] {
        assert_eq!(
            text.matches("computed in Log Analytics").count(),
            1,
            "{format}"
        );
        assert!(
            !text.contains("No incidents to draw operational insights from"),
            "{format}"
        );
    }
    let exported = serde_json::to_value(&report).expect("serialises");
    assert_eq!(exported["facts"]["listing"], "aggregated");
    assert_eq!(exported["facts"]["incidents"], json!([]));
    // Each period estimated, then aggregated; the period before needs no open incidents.
    // The rows asked beside each estimate are dropped, maybe before they were sent.
    let (rows, kinds) = rows_apart(asked(&server).await);
    assert_eq!(
        kinds,
        vec!["estimate", "estimate", "open", "summary", "summary"]
    );
    assert!(rows <= 2, "{rows}");
}

#[tokio::test]
async fn each_period_decides_on_its_own_and_the_comparison_is_the_same() {
    let (from_rows, _rows_server) = bot(u64::MAX, None).await;
    let reference = from_rows
        .weekly_report(week(), now())
        .await
        .expect("report from rows");
    let (this_week, the_week_before) = (
        reference.facts.created.total as u64,
        reference
            .facts
            .previous
            .as_ref()
            .map_or(0, |it| it.total as u64),
    );
    assert!(the_week_before < this_week, "{the_week_before} {this_week}");
    // Between the two: this week is aggregated, the week before read row by row.
    let (mixed, server) = bot(the_week_before, None).await;

    let report = mixed.weekly_report(week(), now()).await.expect("report");

    assert_same(&figures(&report.facts), &figures(&reference.facts), "mixed");
    assert_eq!(report.facts.listing, Listing::Aggregated);
    // The week before's rows are read; this week's, asked beside its estimate, are
    // dropped, maybe before they were sent.
    let (rows, kinds) = rows_apart(asked(&server).await);
    assert_eq!(kinds, vec!["estimate", "estimate", "open", "summary"]);
    assert!((1..=2).contains(&rows), "{rows}");
}

#[tokio::test]
async fn every_view_of_an_aggregated_period_says_once_that_it_was_too_large_to_list() {
    let (from_rows, _rows_server) = bot(u64::MAX, None).await;
    let (aggregated, _server) = bot(1, None).await;

    for text in [
        "/incidents week",
        "/incidents week high",
        "/report week",
        "/recommend week",
    ] {
        let reply = aggregated.answer(&request(text), now()).await;
        let said: Vec<&str> = notes(&reply)
            .into_iter()
            .filter(|it| it.starts_with(NOT_LISTED))
            .collect();
        assert_eq!(said.len(), 1, "{text}: {:?}", notes(&reply));
        assert!(said[0].contains("computed in Log Analytics"), "{said:?}");
        let markdown = markdown::render(&reply);
        assert_eq!(
            markdown.matches("computed in Log Analytics").count(),
            1,
            "{text}:\n{markdown}"
        );

        let reference = from_rows.answer(&request(text), now()).await;
        assert!(
            notes(&reference)
                .iter()
                .all(|it| !it.starts_with(NOT_LISTED)),
            "{text}"
        );
    }
    // A filtered list of incidents created cannot be shown: the open High ones are, not
    // an empty table.
    let reply = aggregated
        .answer(&request("/incidents week high"), now())
        .await;
    let headings: Vec<&str> = reply
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Heading(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        headings.contains(&"Open High-severity incidents (open backlog now, any age)")
            && !headings.contains(&"Incidents (created in this period)"),
        "{headings:?}"
    );
}

#[tokio::test]
async fn a_period_under_the_threshold_reads_rows_asked_beside_one_estimate() {
    let (bot, server) = bot(1_000_000, None).await;

    let facts = bot
        .period_facts(week(), now(), false, CreatedFilter::default())
        .await
        .expect("facts");

    assert_eq!(facts.listing, Listing::Every);
    let mut kinds = asked(&server).await;
    kinds.sort_unstable();
    assert_eq!(kinds, vec!["estimate", "rows"]);
}

#[tokio::test]
async fn rows_that_arrive_before_the_estimate_are_the_answer() {
    let (reference, _rows_server) = bot(u64::MAX, None).await;
    let (bot, server) = bot(1, None).await;
    server.reset().await;
    mount_token(&server).await;
    // The estimate (which would call for aggregation) takes longer than the rows.
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/workspaces/[^/]+/query$"))
        .respond_with(FakeLogAnalytics {
            latest: workspace(),
            fail: None,
            rows_delay: std::time::Duration::ZERO,
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/workspaces/[^/]+/query$"))
        .and(wiremock::matchers::body_string_contains("dcount("))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(5)))
        .with_priority(1)
        .mount(&server)
        .await;

    let facts = bot
        .period_facts(week(), now(), false, CreatedFilter::default())
        .await
        .expect("facts");
    let expected = reference
        .period_facts(week(), now(), false, CreatedFilter::default())
        .await
        .expect("facts from rows");

    assert_eq!(facts.listing, Listing::Every);
    assert_eq!(facts.incidents(), expected.incidents());
    assert!(!facts.incidents().is_empty());
}

#[tokio::test]
async fn a_failed_estimate_leaves_the_rows_as_the_answer() {
    let (reference, _rows_server) = bot(u64::MAX, None).await;
    let (bot, server) = bot(10, Some("estimate")).await;

    let reply = bot.answer(&request("/incidents week"), now()).await;
    let expected = reference.answer(&request("/incidents week"), now()).await;

    assert_eq!(reply, expected);
    let mut kinds = asked(&server).await;
    kinds.sort_unstable();
    assert_eq!(kinds, vec!["estimate", "rows"]);
}

#[tokio::test]
async fn failed_rows_with_an_estimate_over_the_threshold_are_aggregated() {
    let (reference, _rows_server) = bot(u64::MAX, None).await;
    // The rows fail at once (as an answer over the query API's limits would), the
    // estimate calls for aggregation: the figures come from Log Analytics.
    let (bot, _server) = bot(1, Some("rows")).await;

    let facts = bot
        .period_facts(week(), now(), false, CreatedFilter::default())
        .await
        .expect("facts");
    let expected = reference
        .period_facts(week(), now(), false, CreatedFilter::default())
        .await
        .expect("facts from rows");

    assert_eq!(facts.listing, Listing::Aggregated);
    assert_same(
        &figures(&facts),
        &figures(&expected),
        "aggregated after failed rows",
    );
}

#[tokio::test]
async fn failed_rows_under_the_threshold_apologise_naming_log_analytics() {
    let (bot, _server) = bot(1_000_000, Some("rows")).await;

    let reply = bot.answer(&request("/incidents week"), now()).await;

    assert!(
        reply
            .summary_text()
            .contains("Log Analytics failed: HTTP 400 Bad Request: BadArgumentError"),
        "{}",
        reply.summary_text()
    );
}

#[tokio::test]
async fn aggregation_turned_off_reads_rows_without_an_estimate() {
    let (bot, server) = bot(0, None).await;

    let facts = bot
        .period_facts(week(), now(), false, CreatedFilter::default())
        .await
        .expect("facts");

    assert_eq!(facts.listing, Listing::Every);
    assert_eq!(asked(&server).await, vec!["rows"]);
}

#[tokio::test]
async fn a_failing_aggregate_query_apologises_naming_log_analytics() {
    let (bot, server) = bot(1, Some("summary")).await;

    let reply = bot.answer(&request("/incidents week"), now()).await;

    let alert = reply
        .blocks
        .iter()
        .find_map(|block| match block {
            Block::Alert(text) => Some(text.as_str()),
            _ => None,
        })
        .expect("an apology");
    assert_eq!(
        alert,
        "Sorry: Log Analytics failed: HTTP 400 Bad Request: BadArgumentError: The request had some invalid properties."
    );
    assert!(asked(&server).await.contains(&"summary"));
}
