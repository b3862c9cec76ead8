//! Pieces of `Reply` shared by the chat views and the report: figures formatted
//! for people (durations, percentages, shares), severity tones, the status and
//! tactic tables and the daily chart. Knows nothing of chat platforms or the bot core.

use crate::analytics::{Backlog, Durations, Listing, OpenIncident, PeriodFacts, Summary};
use crate::incident::{Incident, IncidentKey, Severity, Skipped, Status};
use crate::reply::{
    Block, Cell, Chart, ChartKind, Column, Fact, List, ListItem, Series, Table, Tone,
};
use crate::sources::OPEN_LOOKBACK_DAYS;
use chrono::{DateTime, Duration, Utc};

/// Heading of the figures about incidents created in the period.
pub const CREATED_HEADING: &str = "Created in this period";

/// Heading of the figures about incidents open now, whatever their creation date.
pub const BACKLOG_HEADING: &str = "Open backlog now";

/// Said under every tactic table: why shares may add up to more than 100%.
pub const TACTIC_NOTE: &str = "An incident with several tactics counts once for each, so shares can add up to more than 100%.";

/// The figures of the incidents created in the period, labelled the same in every view.
pub fn created_facts(summary: &Summary) -> Vec<Fact> {
    let count = |status: Status| summary.by_status[status.index()];
    vec![
        Fact::new("Created", summary.total),
        Fact::new(
            "Open (New or Active)",
            count(Status::New) + count(Status::Active),
        ),
        Fact::new("Closed", count(Status::Closed)),
        Fact::new("Resolution rate", percent(summary.resolution_rate)),
        Fact::new("MTTT (mean time to triage)", mean(&summary.time_to_triage)),
        Fact::new(
            "Mean time to first human action",
            mean(&summary.time_to_first_human_action),
        ),
        Fact::new(
            "MTTR (mean time to respond)",
            mean(&summary.time_to_resolve),
        ),
    ]
}

/// The figures of the open backlog now, labelled the same in every view.
pub fn backlog_facts(backlog: &Backlog) -> Vec<Fact> {
    vec![
        Fact::new("Open now", backlog.open),
        Fact::new(
            "Open High severity",
            backlog.by_severity[Severity::High.index()],
        ),
        Fact::new("Open without an owner", backlog.unowned),
        Fact::new(
            format!("Open longer than {}", duration(backlog.long_open_after)),
            backlog.long_unresolved.len(),
        ),
    ]
}

/// Both groups of headline figures, each under its heading, then the note on rows that
/// could not be read when there were any ([`skipped_note`]).
pub fn headline_blocks(facts: &PeriodFacts) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(CREATED_HEADING.to_string()),
        Block::Facts(created_facts(&facts.created)),
        Block::Heading(format!(
            "{BACKLOG_HEADING} (as of {})",
            facts.backlog.as_of.format("%a %d %b %H:%M UTC")
        )),
        Block::Facts(backlog_facts(&facts.backlog)),
    ];
    blocks.extend(skipped_note(facts).map(Block::Note));
    blocks.extend(not_listed_note(facts).map(Block::Note));
    blocks
}

/// One line when the incidents created in the period were too many to list
/// ([`Listing::Aggregated`]): how many there were, that their figures were computed in Log
/// Analytics, and what that leaves out; `None` when they are listed.
pub fn not_listed_note(facts: &PeriodFacts) -> Option<String> {
    (facts.listing == Listing::Aggregated).then(|| {
        format!(
            "The incidents created in this period ({}) were too many to list one by one: their figures were computed in Log Analytics, and only the open backlog is listed. Insights that need single incidents (false and benign positives, alert products, techniques) are left out.",
            facts.created.total
        )
    })
}

/// One line on the `SecurityIncident` rows the figures leave out because they could not be
/// read, e.g. "2 SecurityIncident rows could not be read and were skipped (no CreatedTime);
/// the figures do not count them."; `None` when every row was read.
pub fn skipped_note(facts: &PeriodFacts) -> Option<String> {
    let period = (!facts.skipped.is_empty()).then(|| {
        let rows = facts.skipped.rows();
        let (them, were) = if rows == 1 {
            ("it", "was")
        } else {
            ("them", "were")
        };
        format!(
            "{} could not be read and {were} skipped ({}); the figures do not count {them}.",
            rows_of(rows),
            reasons(&facts.skipped)
        )
    });
    let before = (!facts.skipped_before.is_empty()).then(|| {
        let rows = facts.skipped_before.rows();
        format!(
            "In the period before, {} could not be read ({}); the comparison leaves {} out.",
            rows_of(rows),
            reasons(&facts.skipped_before),
            if rows == 1 { "it" } else { "them" }
        )
    });
    let sentences: Vec<String> = period.into_iter().chain(before).collect();
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

/// "1 SecurityIncident row", "2 SecurityIncident rows".
fn rows_of(rows: usize) -> String {
    let plural = if rows == 1 { "" } else { "s" };
    format!("{rows} SecurityIncident row{plural}")
}

/// "no CreatedTime", or "no CreatedTime: 2, unreadable TimeGenerated: 1" for several reasons.
fn reasons(skipped: &Skipped) -> String {
    let reasons: Vec<(String, usize)> = skipped
        .by_reason()
        .map(|(reason, rows)| (reason.to_string(), rows))
        .collect();
    match reasons.as_slice() {
        [(only, _)] => only.clone(),
        several => several
            .iter()
            .map(|(reason, rows)| format!("{reason}: {rows}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `text` with no-break spaces, so a short phrase like "open 2d 4h" stays on one line.
pub fn unbroken(text: &str) -> String {
    text.replace(' ', "\u{a0}")
}

/// The number cell of an incident: `5`, or `5@contoso` when several workspaces are
/// configured (the form `/incident` reads back), a link to the portal when there is one.
pub fn number_cell(number: IncidentKey, url: Option<&String>) -> Cell {
    match url {
        Some(url) => Cell::link(number, url.clone()),
        None => Cell::text(number),
    }
}

/// The columns of a compact incident list, narrow enough for a phone: the number, the title
/// taking the remaining width (status, owner and age on a muted line under it), the severity.
fn incident_list_columns() -> Vec<Column> {
    vec![
        Column::right("#"),
        Column::prose("Incident"),
        Column::left("Severity"),
    ]
}

/// Open incidents as compact rows: number, title (status, owner and age under it), severity.
pub fn open_incidents_table(title: Option<String>, listed: &[&OpenIncident]) -> Table {
    let rows = listed
        .iter()
        .map(|open| {
            vec![
                number_cell(open.key(), open.url.as_ref()),
                Cell::text(&open.title).with_detail(format!(
                    "{} · {} · {}",
                    open.status,
                    open.owner.label().unwrap_or("Unassigned"),
                    unbroken(&format!("open {}", duration(open.age)))
                )),
                Cell::toned(open.severity, severity_tone(open.severity)),
            ]
        })
        .collect();
    Table {
        title,
        columns: incident_list_columns(),
        rows,
    }
}

/// Incidents per Sentinel status, with their share of those created.
pub fn status_table(summary: &Summary) -> Table {
    let rows = Status::ALL
        .iter()
        .map(|status| {
            let count = summary.by_status[status.index()];
            vec![
                Cell::text(status),
                Cell::text(count),
                Cell::text(share(count, summary.total)),
            ]
        })
        .collect();
    Table {
        title: None,
        columns: vec![
            Column::left("Status"),
            Column::right("Incidents"),
            Column::right("Share"),
        ],
        rows,
    }
}

/// The daily chart, with the partial-day note and the unusual-volume alert when they apply.
pub fn daily_blocks(summary: &Summary) -> Vec<Block> {
    if summary.total == 0 {
        return Vec::new();
    }
    let mut blocks = vec![Block::Chart(daily_chart(summary))];
    if summary.daily.iter().any(|day| day.partial) {
        blocks.push(Block::Note(match summary.daily.len() > DAILY_BARS_UP_TO {
            true => PARTIAL_WEEK_NOTE.to_string(),
            false => PARTIAL_DAY_NOTE.to_string(),
        }));
    }
    if let Some(alert) = unusual_volume(summary) {
        blocks.push(Block::Alert(alert));
    }
    blocks
}

/// "Unusual volume on Fri 04 Dec (27 incidents)." for the flagged days, if any.
pub fn unusual_volume(summary: &Summary) -> Option<String> {
    let days: Vec<String> = summary
        .daily
        .iter()
        .filter(|day| day.anomaly)
        .map(|day| format!("{} ({} incidents)", day.date.format("%a %d %b"), day.total))
        .collect();
    (!days.is_empty()).then(|| format!("Unusual volume on {}.", days.join(", ")))
}

/// Every definition behind the figures, with its source; the same text in every view.
pub fn definitions(facts: &PeriodFacts) -> String {
    format!(
        "Definitions. Created in this period: incidents whose CreatedTime falls in the period, with their status now. \
         Open = New or Active; Closed = Closed (Sentinel's statuses). Resolution rate = of the incidents created in the period, the share closed now. \
         MTTT, mean time to triage = FirstModifiedTime - CreatedTime, the time from creation to the first change (Microsoft Sentinel Security Operations Efficiency workbook). \
         Mean time to first human action = creation to the first change by a person: changes by automation rules, playbooks, alert grouping, Fusion and incident creation are left out (the workbook's ModifiedBy filter). \
         MTTR, mean time to respond = ClosedTime - CreatedTime, over incidents closed now (the workbook's time to closure); a reopened incident has none. \
         Open backlog now = incidents New or Active now, whatever their creation date (created in the {OPEN_LOOKBACK_DAYS} days before the period's end); open longer than {} = open for more than {}. \
         Daily average = incidents created / the period's length in days (n/a for a period shorter than a day). Days are UTC days; a day the period covers only in part is marked * and left out of the anomaly baseline. \
         Unusual volume = a whole day more than 3 scaled median absolute deviations above the median whole day and at least twice it. \
         Tactics and techniques: MITRE ATT&CK names and ids; an incident with several tactics counts once for each; a technique is listed only under the tactics ATT&CK assigns it (ATT&CK Enterprise v18.1); a tactic value Sentinel sends that ATT&CK does not name (a rule author's own) is kept as its own row, \"Other: name\". \
         Changes compare with the {} just before the period ({} to {} UTC), counted the same way. Source: Sentinel's SecurityIncident table, latest row per incident; computed {}.",
        duration(facts.backlog.long_open_after),
        duration(facts.backlog.long_open_after),
        duration(facts.window.length()),
        facts.window.previous().start.format("%Y-%m-%d %H:%M"),
        facts.window.previous().end.format("%Y-%m-%d %H:%M"),
        facts.generated.format("%Y-%m-%d %H:%M UTC"),
    )
}

/// A compact row for an incident in a list: number, title (status, owner and age at `now`
/// under it), severity.
pub fn incident_row(it: &Incident, now: DateTime<Utc>) -> Vec<Cell> {
    vec![
        number_cell(it.key(), it.url.as_ref()),
        Cell::text(&it.title).with_detail(format!(
            "{} · {} · {}",
            it.status,
            it.owner.label().unwrap_or("Unassigned"),
            unbroken(&format!("created {} ago", duration(now - it.created)))
        )),
        Cell::toned(it.severity, severity_tone(it.severity)),
    ]
}

/// Incidents as compact rows: number, title (status, owner and age under it), severity.
pub fn incidents_table(listed: &[&Incident], now: DateTime<Utc>) -> Table {
    Table {
        title: None,
        columns: incident_list_columns(),
        rows: listed.iter().map(|it| incident_row(it, now)).collect(),
    }
}

/// The combined status x severity table: a row a severity and a total row, a column a
/// Sentinel status (four columns, so it fits a phone).
pub fn status_by_severity(summary: &Summary) -> Table {
    let mut rows: Vec<Vec<Cell>> = Severity::ALL
        .iter()
        .map(|severity| {
            let counts = summary.status_by_severity[severity.index()];
            let mut row = vec![Cell::toned(severity, severity_tone(*severity))];
            row.extend(counts.iter().map(Cell::text));
            row
        })
        .collect();
    let mut total = vec![Cell::text("Total")];
    total.extend(summary.by_status.iter().map(Cell::text));
    rows.push(total);
    let mut columns = vec![Column::left("Severity")];
    columns.extend(
        Status::ALL
            .iter()
            .map(|status| Column::right(status.as_str())),
    );
    Table {
        title: None,
        columns,
        rows,
    }
}

/// Recommendations as a numbered list: each one's text, its steps under it (a Defender XDR
/// action's lines, numbered or bulleted as Defender wrote them), and a muted line with its
/// source and the incidents and devices it applies to. A list rather than a table, so steps
/// stay lines of their own instead of running together in a cell.
pub fn recommendations_list(title: Option<&str>, rows: &[crate::advice::Recommendation]) -> List {
    List {
        title: title.map(str::to_string),
        items: rows
            .iter()
            .map(|it| ListItem {
                text: it.text.clone(),
                steps: it.steps.clone(),
                numbered: it.numbered,
                detail: Some(applies_to(it)),
            })
            .collect(),
    }
}

/// Incidents and devices named under one recommendation; more are counted.
const MAX_NAMED: usize = 6;

/// "Source: Defender XDR · incidents 12, 15 · devices WS-1, WS-2 and 3 more".
fn applies_to(it: &crate::advice::Recommendation) -> String {
    let mut parts = vec![format!("Source: {}", it.source)];
    let named = |noun: &str, names: Vec<String>| {
        let shown = names.len().min(MAX_NAMED);
        let mut text = format!("{noun} {}", names[..shown].join(", "));
        if names.len() > shown {
            text.push_str(&format!(" and {} more", names.len() - shown));
        }
        text
    };
    match it.incidents.len() {
        0 => {}
        1 => parts.push(format!("incident {}", it.incidents[0])),
        _ => parts.push(named(
            "incidents",
            it.incidents.iter().map(ToString::to_string).collect(),
        )),
    }
    match it.devices.len() {
        0 => {}
        1 => parts.push(format!("device {}", it.devices[0])),
        _ => parts.push(named("devices", it.devices.clone())),
    }
    parts.join(" · ")
}

/// A tactic's cell: its name (`Other: <name>` for a name outside Sentinel's enum, escaped
/// by the renderers like any cell text), with its ATT&CK id, when it has one, under it.
pub fn tactic_cell(tactic: &crate::incident::Tactic) -> Cell {
    let cell = Cell::text(tactic.name());
    match tactic.id() {
        Some(id) => cell.with_detail(id),
        None => cell,
    }
}

/// The tactics table: tactic (with its ATT&CK id), count, share of the incidents created.
pub fn tactics(summary: &Summary) -> Table {
    let mut rows: Vec<Vec<Cell>> = summary
        .by_tactic
        .iter()
        .map(|(tactic, count)| {
            vec![
                tactic_cell(tactic),
                Cell::text(count),
                Cell::text(share(*count, summary.total)),
            ]
        })
        .collect();
    if summary.without_tactics > 0 {
        rows.push(vec![
            Cell::text("No tactic"),
            Cell::text(summary.without_tactics),
            Cell::text(share(summary.without_tactics, summary.total)),
        ]);
    }
    Table {
        title: None,
        columns: vec![
            Column::prose("Tactic"),
            Column::right("Count"),
            Column::right("Share"),
        ],
        rows,
    }
}

/// Said under the daily chart when a day is only partly in the period.
pub const PARTIAL_DAY_NOTE: &str =
    "* Partial day: the period covers only part of it, so its bar is not comparable.";

/// Said under a weekly chart when a bar holds a day only partly in the period.
pub const PARTIAL_WEEK_NOTE: &str = "* Partial week: the bar holds a day the period covers only in part, or fewer than 7 days (shown in brackets), so it is not comparable.";

/// Periods up to this many days are charted a bar a day; longer ones a bar a week.
pub const DAILY_BARS_UP_TO: usize = 14;

/// Volume by severity as a stacked bar chart: a bar a day up to [`DAILY_BARS_UP_TO`] days,
/// else a bar a week (weeks end on the last day; the oldest may be shorter, and its label says
/// how many days it covers, e.g. "24 Aug (2d)"), so the chart stays readable at 30 and 90 days. A bar holding a partial day is
/// labelled with `*` ([`PARTIAL_DAY_NOTE`]).
pub fn daily_chart(summary: &Summary) -> Chart {
    let days = &summary.daily;
    let daily = days.len() <= DAILY_BARS_UP_TO;
    let buckets: Vec<&[crate::analytics::DayVolume]> = if daily {
        days.chunks(1).collect()
    } else {
        let mut buckets = Vec::new();
        let mut end = days.len();
        while end > 0 {
            let start = end.saturating_sub(7);
            buckets.push(&days[start..end]);
            end = start;
        }
        buckets.reverse();
        buckets
    };
    let label = |bucket: &[crate::analytics::DayVolume]| {
        let partial = if bucket.iter().any(|day| day.partial) {
            "*"
        } else {
            ""
        };
        // A week bar shorter than seven days says how many it covers.
        let short = if daily || bucket.len() == 7 {
            String::new()
        } else {
            format!(" ({}d)", bucket.len())
        };
        bucket.first().map_or_else(String::new, |day| {
            let format = if daily { "%a %d" } else { "%d %b" };
            format!("{}{partial}{short}", day.date.format(format))
        })
    };
    let x_label = if daily { "Day (UTC)" } else { "Week of (UTC)" };
    Chart {
        title: if daily {
            "Incidents per day by severity".to_string()
        } else {
            "Incidents per week by severity".to_string()
        },
        kind: ChartKind::StackedBar,
        categories: buckets.iter().map(|bucket| label(bucket)).collect(),
        series: Severity::ALL
            .iter()
            .map(|severity| Series {
                name: severity.as_str().to_string(),
                values: buckets
                    .iter()
                    .map(|bucket| {
                        bucket
                            .iter()
                            .map(|day| day.by_severity[severity.index()])
                            .sum::<usize>() as f64
                    })
                    .collect(),
            })
            .collect(),
        x_label: Some(x_label.to_string()),
        y_label: Some("Incidents".to_string()),
    }
}

/// Colour for a severity.
pub fn severity_tone(severity: Severity) -> Tone {
    match severity {
        Severity::High => Tone::Attention,
        Severity::Medium => Tone::Warning,
        Severity::Low | Severity::Informational => Tone::Normal,
    }
}

/// A duration as analysts read it: `45m`, `3h 20m`, `6h`, `2d 4h`, `3d` (rounded down to
/// the minute below a day and to the hour above).
pub fn duration(value: Duration) -> String {
    let minutes = value.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match (days, hours, mins) {
        (0, 0, _) => format!("{mins}m"),
        (0, _, 0) => format!("{hours}h"),
        (0, _, _) => format!("{hours}h {mins}m"),
        (_, 0, _) => format!("{days}d"),
        _ => format!("{days}d {hours}h"),
    }
}

/// The mean of a duration set, or "n/a".
pub fn mean(values: &Durations) -> String {
    values
        .mean
        .map(duration)
        .unwrap_or_else(|| "n/a".to_string())
}

/// A 0..1 ratio as a percentage with one decimal, or "n/a".
pub fn percent(ratio: Option<f64>) -> String {
    ratio
        .map(|ratio| format!("{:.1}%", ratio * 100.0))
        .unwrap_or_else(|| "n/a".to_string())
}

/// A change between two periods as whole percent with its sign ("+124%", "-8%"), the one
/// format of a relative change in every view, the export's prose and the model's facts.
pub fn change_pct(pct: f64) -> String {
    format!("{pct:+.0}%")
}

/// A trend's change: [`change_pct`], "new" when the period before had none, else "no change".
pub fn change(trend: &crate::analytics::Trend) -> String {
    match trend.change_pct {
        Some(pct) => change_pct(pct),
        None if trend.current > 0 => "new".to_string(),
        None => "no change".to_string(),
    }
}

/// `count` as a share of `total`, or "n/a".
pub fn share(count: usize, total: usize) -> String {
    percent((total > 0).then(|| count as f64 / total as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skipped_note_counts_rows_by_reason_and_is_absent_without_any() {
        use crate::analytics::DEFAULT_LONG_OPEN;
        use crate::incident::{RequiredColumn, SkipReason};
        use chrono::TimeZone;
        let end = Utc
            .with_ymd_and_hms(2026, 11, 23, 0, 0, 0)
            .single()
            .expect("time");
        let window = crate::period::Window {
            start: end - Duration::days(7),
            end,
        };
        let facts = PeriodFacts::compute(&[], None, window, end, DEFAULT_LONG_OPEN);
        assert_eq!(skipped_note(&facts), None);
        assert!(
            !headline_blocks(&facts)
                .iter()
                .any(|it| matches!(it, Block::Note(_)))
        );

        let mut one = Skipped::default();
        one.add(SkipReason::Missing(RequiredColumn::CreatedTime));
        let mut three = one.clone();
        three.add(SkipReason::Missing(RequiredColumn::CreatedTime));
        three.add(SkipReason::Unreadable(RequiredColumn::TimeGenerated));
        let facts = facts.with_skipped(three, one);
        let note = skipped_note(&facts).expect("a note");
        assert_eq!(
            note,
            "3 SecurityIncident rows could not be read and were skipped (no CreatedTime: 2, \
             unreadable TimeGenerated: 1); the figures do not count them. In the period before, \
             1 SecurityIncident row could not be read (no CreatedTime); the comparison leaves it out."
        );
        assert_eq!(headline_blocks(&facts).last(), Some(&Block::Note(note)));
    }

    #[test]
    fn recommendations_name_their_source_incidents_and_devices() {
        use crate::advice::{Recommendation, Source};
        let grouped = Recommendation {
            steps: vec!["Review the timeline".to_string()],
            incidents: (1..=8).collect(),
            devices: vec!["ws-1".to_string()],
            ..Recommendation::new("Collect artifacts", Source::DefenderXdr)
        };
        let list = recommendations_list(Some("Defender"), &[grouped]);
        assert_eq!(list.title.as_deref(), Some("Defender"));
        assert_eq!(list.items[0].steps, vec!["Review the timeline".to_string()]);
        assert_eq!(
            list.items[0].detail.as_deref(),
            Some("Source: Defender XDR · incidents 1, 2, 3, 4, 5, 6 and 2 more · device ws-1")
        );
    }

    #[test]
    fn durations_read_like_analysts_write_them() {
        assert_eq!(duration(Duration::minutes(45)), "45m");
        assert_eq!(duration(Duration::minutes(370)), "6h 10m");
        assert_eq!(duration(Duration::hours(6)), "6h");
        assert_eq!(duration(Duration::hours(52)), "2d 4h");
        assert_eq!(duration(Duration::days(3)), "3d");
        assert_eq!(duration(Duration::minutes(-5)), "0m");
        assert_eq!(percent(Some(0.619)), "61.9%");
        assert_eq!(share(1, 3), "33.3%");
        assert_eq!(share(1, 0), "n/a");
    }
}
