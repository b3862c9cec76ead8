//! Pieces of `Reply` shared by the chat views and the report: figures formatted
//! for people (durations, percentages, shares), severity tones, the status and
//! tactic tables and the daily chart. Knows nothing of chat platforms or the bot core.

use crate::analytics::{Durations, Summary};
use crate::incident::{Incident, Severity, Status};
use crate::reply::{Cell, Chart, ChartKind, Column, Series, Table, Tone};
use chrono::Duration;

/// A table row for an incident in a list.
pub fn incident_row(it: &Incident) -> Vec<Cell> {
    let number = match &it.url {
        Some(url) => Cell::link(it.number, url.clone()),
        None => Cell::text(it.number),
    };
    vec![
        number,
        Cell::text(&it.title),
        Cell::toned(it.severity, severity_tone(it.severity)),
        Cell::text(it.status),
        Cell::text(it.owner.label().unwrap_or("Unassigned")),
    ]
}

/// The combined status x severity table.
pub fn status_by_severity(summary: &Summary) -> Table {
    let mut rows: Vec<Vec<Cell>> = Severity::ALL
        .iter()
        .map(|severity| {
            let counts = summary.status_by_severity[severity.index()];
            let mut row = vec![Cell::toned(severity, severity_tone(*severity))];
            row.extend(counts.iter().map(Cell::text));
            row.push(Cell::text(summary.by_severity[severity.index()]));
            row
        })
        .collect();
    let mut total = vec![Cell::text("Total")];
    total.extend(summary.by_status.iter().map(Cell::text));
    total.push(Cell::text(summary.total));
    rows.push(total);
    let mut columns = vec![Column::left("Severity")];
    columns.extend(
        Status::ALL
            .iter()
            .map(|status| Column::right(status.as_str())),
    );
    columns.push(Column::right("Total"));
    Table {
        title: None,
        columns,
        rows,
    }
}

/// The tactics table, with ATT&CK ids.
pub fn tactics(summary: &Summary) -> Table {
    let mut rows: Vec<Vec<Cell>> = summary
        .by_tactic
        .iter()
        .map(|(tactic, count)| {
            vec![
                Cell::text(tactic.name()),
                Cell::text(tactic.id()),
                Cell::text(count),
                Cell::text(share(*count, summary.total)),
            ]
        })
        .collect();
    if summary.without_tactics > 0 {
        rows.push(vec![
            Cell::text("No tactic"),
            Cell::text("-"),
            Cell::text(summary.without_tactics),
            Cell::text(share(summary.without_tactics, summary.total)),
        ]);
    }
    Table {
        title: None,
        columns: vec![
            Column::left("Tactic"),
            Column::left("ID"),
            Column::right("Incidents"),
            Column::right("Share"),
        ],
        rows,
    }
}

/// Periods up to this many days are charted a bar a day; longer ones a bar a week.
pub const DAILY_BARS_UP_TO: usize = 14;

/// Volume by severity as a stacked bar chart: a bar a day up to [`DAILY_BARS_UP_TO`] days,
/// else a bar a week (weeks end on the last day; the oldest may be shorter, and the axis says
/// so), so the chart stays readable at 30 and 90 days.
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
        bucket.first().map_or_else(String::new, |day| {
            let format = if daily { "%a %d" } else { "%d %b" };
            day.date.format(format).to_string()
        })
    };
    let x_label = match buckets.first() {
        _ if daily => "Day (UTC)".to_string(),
        Some(first) if first.len() < 7 => format!(
            "Week starting (UTC); the first bar covers {} day{}",
            first.len(),
            if first.len() == 1 { "" } else { "s" }
        ),
        _ => "Week starting (UTC)".to_string(),
    };
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
        x_label: Some(x_label),
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

/// A duration as analysts read it: `45m`, `3h 20m`, `2d 4h`.
pub fn duration(value: Duration) -> String {
    let minutes = value.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m"),
        (0, _) => format!("{hours}h {mins}m"),
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

/// `count` as a share of `total`, or "n/a".
pub fn share(count: usize, total: usize) -> String {
    percent((total > 0).then(|| count as f64 / total as f64))
}
