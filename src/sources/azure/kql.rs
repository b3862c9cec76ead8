//! KQL text for the `SecurityIncident` queries, built only from typed values (times,
//! numbers), so no user text can ever change a query's meaning.

use crate::analytics::CreatedFilter;
use crate::incident::{AUTOMATION_MARKERS, AUTOMATION_MODIFIERS, Severity, Status};
use crate::period::Window;
use crate::sources::OPEN_LOOKBACK_DAYS;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

/// A KQL `datetime(...)` literal; RFC 3339 output of a typed time cannot contain a quote or paren.
pub(crate) fn datetime(time: DateTime<Utc>) -> String {
    format!(
        "datetime({})",
        time.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

/// The earliest change row a report for `window` needs: incidents still open at the end
/// may have been created up to [`OPEN_LOOKBACK_DAYS`] before it.
pub fn lookback_start(window: Window) -> DateTime<Utc> {
    window
        .start
        .min(window.end - Duration::days(OPEN_LOOKBACK_DAYS))
}

/// One query for a report window: the latest state of each incident as of the window's
/// end (`arg_max(TimeGenerated, *)`), its first change by a person from the history rows
/// (`FirstHumanAction`; `FirstModifiedTime` is a column of the table), kept
/// when it was created in the window or is still open. Grouping by `TenantId` as well keeps
/// incidents of different workspaces apart in a cross-workspace (MSSP) query.
pub fn incidents_query(window: Window) -> String {
    let from = datetime(lookback_start(window));
    let end = datetime(window.end);
    let start = datetime(window.start);
    format!(
        "let changes = SecurityIncident\n\
         | where TimeGenerated >= {from} and TimeGenerated < {end}\n\
         | where CreatedTime >= {from};\n\
         let human = changes\n\
         | where LastModifiedTime > CreatedTime and {by_person}\n\
         | summarize FirstHumanAction = min(LastModifiedTime) by TenantId, IncidentNumber;\n\
         changes\n\
         | summarize arg_max(TimeGenerated, *) by TenantId, IncidentNumber\n\
         | where (CreatedTime >= {start} and CreatedTime < {end}) or Status != \"Closed\"\n\
         | join kind=leftouter human on TenantId, IncidentNumber\n\
         | project-away TenantId1, IncidentNumber1",
        by_person = by_person()
    )
}

/// A KQL condition true for rows whose `ModifiedBy` is a person, the same rule as
/// [`crate::incident::is_automation`]; built from constants, never from user text.
pub(crate) fn by_person() -> String {
    let quoted = |names: &[&str]| -> Vec<String> {
        names.iter().map(|name| format!("\"{name}\"")).collect()
    };
    let mut condition = format!(
        "isnotempty(ModifiedBy) and not(ModifiedBy in~ ({}))",
        quoted(&AUTOMATION_MODIFIERS).join(", ")
    );
    for marker in quoted(&AUTOMATION_MARKERS) {
        condition.push_str(&format!(" and ModifiedBy !contains {marker}"));
    }
    condition
}

/// The latest state of each incident created in `window`, for auto-triage: no history
/// join and no open-incident lookback, so a poll every minute stays cheap.
pub fn created_query(window: Window) -> String {
    let start = datetime(window.start);
    let end = datetime(window.end);
    format!(
        "SecurityIncident\n\
         | where TimeGenerated >= {start}\n\
         | where CreatedTime >= {start} and CreatedTime < {end}\n\
         | summarize arg_max(TimeGenerated, *) by TenantId, IncidentNumber"
    )
}

/// Every query the bot can send about `window`, named, for the test that checks each with
/// Microsoft's Kusto language service (`tests/api/kusto.rs`). A new query builder belongs here.
pub fn every_query(window: Window) -> Vec<(&'static str, String)> {
    vec![
        ("incidents_query", incidents_query(window)),
        ("created_query", created_query(window)),
        (
            "aggregate::estimate_query",
            super::aggregate::estimate_query(window),
        ),
        (
            "aggregate::summary_query",
            super::aggregate::summary_query(window, CreatedFilter::default()),
        ),
        (
            "aggregate::summary_query, filtered",
            super::aggregate::summary_query(
                window,
                CreatedFilter {
                    severity: Some(Severity::High),
                    statuses: Some(&[Status::New, Status::Active]),
                },
            ),
        ),
        (
            "aggregate::open_query",
            super::aggregate::open_query(window),
        ),
    ]
}

/// The ISO 8601 interval sent as the query's `timespan`, so the service scans no more
/// than the query needs.
pub fn timespan(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    format!(
        "{}/{}",
        start.to_rfc3339_opts(SecondsFormat::Secs, true),
        end.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn week() -> Window {
        Window {
            start: Utc
                .with_ymd_and_hms(2026, 11, 16, 0, 0, 0)
                .single()
                .expect("time"),
            end: Utc
                .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
                .single()
                .expect("time"),
        }
    }

    #[test]
    fn the_report_query_uses_typed_window_bounds_and_dedupes_by_number() {
        let query = incidents_query(week());
        assert!(
            query.contains("TimeGenerated < datetime(2026-11-23T00:00:00.000Z)"),
            "{query}"
        );
        assert!(
            query.contains("CreatedTime >= datetime(2026-11-16T00:00:00.000Z)"),
            "{query}"
        );
        // 90 days of open incidents before the end.
        assert!(
            query.contains("TimeGenerated >= datetime(2026-08-25T00:00:00.000Z)"),
            "{query}"
        );
        assert!(query.contains("summarize arg_max(TimeGenerated, *) by TenantId, IncidentNumber"));
        assert!(query.contains("FirstHumanAction = min(LastModifiedTime)"));
        assert!(
            query.contains("ModifiedBy !contains \"Automation rule\""),
            "{query}"
        );
    }

    #[test]
    fn the_triage_query_reads_only_incidents_created_in_the_window() {
        let query = created_query(week());
        assert!(
            query.contains(
                "CreatedTime >= datetime(2026-11-16T00:00:00.000Z) and CreatedTime < datetime(2026-11-23T00:00:00.000Z)"
            ),
            "{query}"
        );
        assert!(query.contains("summarize arg_max(TimeGenerated, *) by TenantId, IncidentNumber"));
        assert!(!query.contains("join"), "{query}");
    }

    #[test]
    fn long_windows_reach_back_to_their_own_start() {
        let window = Window {
            start: week().end - Duration::days(120),
            end: week().end,
        };
        assert_eq!(lookback_start(window), window.start);
    }

    #[test]
    fn timespan_is_an_iso_interval() {
        let window = week();
        assert_eq!(
            timespan(window.start, window.end),
            "2026-11-16T00:00:00Z/2026-11-23T00:00:00Z"
        );
    }
}
