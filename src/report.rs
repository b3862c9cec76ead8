//! The weekly incident report: figures from analytics, advice sections from the
//! advisor, laid out as a `Reply` in the order analysts read it. Pure: the caller
//! fetches incidents and advice and passes `now`.

use crate::analytics::{self, Comparison, Summary, Trend};
use crate::incident::{Classification, Incident, Severity, Status};
use crate::period::Window;
use crate::present as views;
use crate::reply::{Block, Cell, Column, Fact, Reply, Table};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Rows of the incident detail table shown in chat; exports show all.
pub const CHAT_DETAIL_ROWS: usize = 15;

/// One recommendation and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourcedRecommendation {
    /// What to do; words from Defender, threat intelligence, the knowledge base or the model.
    pub text: String,
    /// Where it came from, e.g. "Defender XDR" or "Threat intelligence (MITRE Initial Access)".
    pub source: String,
}

/// The advice sections of the report.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ReportAdvice {
    /// Security posture recommendations from Defender XDR.
    pub posture: Vec<SourcedRecommendation>,
    /// Why Defender XDR's actions could not be read, when none were (shown instead of "none").
    pub posture_unread: Option<String>,
    /// Recommendations from threat intelligence by MITRE tactic.
    pub threat_intel: Vec<SourcedRecommendation>,
    /// Steps to reduce time to triage and resolve, built on the measured figures.
    pub response_steps: Vec<String>,
    /// Operational insights from the advisor (grounding-checked model text, or figures offline).
    pub insights: Vec<String>,
    /// A note on how the advice was produced (e.g. the model was unavailable).
    pub note: Option<String>,
}

/// Everything the weekly report shows.
#[derive(Debug, Clone, Serialize)]
pub struct WeeklyReport {
    pub window: Window,
    pub summary: Summary,
    pub previous: Summary,
    pub comparison: Comparison,
    /// Incidents created in the window, most severe and newest first.
    pub incidents: Vec<Incident>,
    pub advice: ReportAdvice,
    pub generated: DateTime<Utc>,
    /// Threshold for "unresolved for long".
    pub long_open_after: Duration,
}

/// How much of the report to lay out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// For chat: the detail and long-open tables are cut short.
    Chat,
    /// For exports: every row.
    Full,
}

/// Computes the report's figures from the two periods' incidents.
pub fn build(
    current_incidents: &[Incident],
    previous_incidents: &[Incident],
    window: Window,
    now: DateTime<Utc>,
    long_open_after: Duration,
    advice: ReportAdvice,
) -> WeeklyReport {
    let summary = analytics::summarize(current_incidents, window, now, long_open_after);
    let previous = analytics::summarize(
        previous_incidents,
        window.previous(),
        window.start,
        long_open_after,
    );
    let comparison = analytics::compare(&summary, &previous);
    let mut incidents: Vec<Incident> = current_incidents
        .iter()
        .filter(|it| window.contains(it.created))
        .cloned()
        .collect();
    incidents.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.created.cmp(&a.created)));
    WeeklyReport {
        window,
        summary,
        previous,
        comparison,
        incidents,
        advice,
        generated: now,
        long_open_after,
    }
}

/// Lays the report out as a reply.
pub fn to_reply(report: &WeeklyReport, layout: Layout) -> Reply {
    let summary = &report.summary;
    let window = report.window;
    let mut reply = Reply::titled(format!(
        "Incident report, {} to {}",
        window.start.format("%a %d %b %Y"),
        window.end.format("%a %d %b %Y")
    ));

    // 1. Totals, patterns and anomalies.
    let days = summary.daily.len().max(1);
    let peak = summary
        .daily
        .iter()
        .max_by_key(|day| (day.total, std::cmp::Reverse(day.date)));
    let mut facts = vec![
        Fact::new("Incidents created", summary.total),
        Fact::new(
            "Previous period",
            format!(
                "{} ({})",
                report.comparison.total.previous,
                change(&report.comparison.total)
            ),
        ),
        Fact::new(
            "Daily average",
            format!("{:.1}", summary.total as f64 / days as f64),
        ),
    ];
    if let Some(peak) = peak {
        facts.push(Fact::new(
            "Busiest day",
            format!(
                "{} ({} incidents)",
                peak.date.format("%a %d %b"),
                peak.total
            ),
        ));
    }
    facts.push(Fact::new(
        "High severity",
        format!(
            "{} ({})",
            summary.by_severity[Severity::High.index()],
            change(&report.comparison.by_severity[Severity::High.index()])
        ),
    ));
    reply = reply
        .with(Block::Heading("Volume".to_string()))
        .with(Block::Facts(facts));
    for line in volume_patterns(report) {
        reply = reply.with(Block::Text(line));
    }
    let anomalies: Vec<String> = summary
        .daily
        .iter()
        .filter(|day| day.anomaly)
        .map(|day| format!("{} ({} incidents)", day.date.format("%a %d %b"), day.total))
        .collect();
    if !anomalies.is_empty() {
        reply = reply.with(Block::Alert(format!(
            "Unusual volume on {}.",
            anomalies.join(", ")
        )));
    }
    if summary.total > 0 {
        reply = reply.with(Block::Chart(views::daily_chart(summary)));
    }

    // 2. Status and tactics summaries.
    let status_rows = [
        ("Open (New)", Status::New),
        ("In progress (Active)", Status::Active),
        ("Resolved (Closed)", Status::Closed),
    ]
    .into_iter()
    .map(|(label, status)| {
        let count = summary.by_status[status.index()];
        vec![
            Cell::text(label),
            Cell::text(count),
            Cell::text(views::share(count, summary.total)),
        ]
    })
    .collect();
    reply = reply
        .with(Block::Heading("Status summary".to_string()))
        .with(Block::Table(Table {
            title: None,
            columns: vec![
                Column::left("Status"),
                Column::right("Incidents"),
                Column::right("Share"),
            ],
            rows: status_rows,
        }))
        .with(Block::Table(views::status_by_severity(summary)))
        .with(Block::Heading("Tactics summary (MITRE ATT&CK)".to_string()))
        .with(Block::Table(tactic_table(report)));

    // 3. Resolution rate and long-unresolved incidents.
    reply = reply
        .with(Block::Heading("Resolution".to_string()))
        .with(Block::Facts(vec![
            Fact::new(
                "Resolution rate",
                format!(
                    "{} (previous {})",
                    views::percent(summary.resolution_rate),
                    views::percent(report.previous.resolution_rate)
                ),
            ),
            Fact::new(
                "Mean time to triage",
                format!(
                    "{} (median {})",
                    views::mean(&summary.time_to_triage),
                    median(&summary.time_to_triage)
                ),
            ),
            Fact::new(
                "Mean time to resolve",
                format!(
                    "{} (median {})",
                    views::mean(&summary.time_to_resolve),
                    median(&summary.time_to_resolve)
                ),
            ),
            Fact::new("Unresolved for long", summary.long_unresolved.len()),
        ]));
    if !summary.long_unresolved.is_empty() {
        let limit = match layout {
            Layout::Chat => 10,
            Layout::Full => usize::MAX,
        };
        let rows = summary
            .long_unresolved
            .iter()
            .take(limit)
            .map(|open| {
                let number = match &open.url {
                    Some(url) => Cell::link(open.number, url.clone()),
                    None => Cell::text(open.number),
                };
                vec![
                    number,
                    Cell::text(&open.title),
                    Cell::toned(open.severity, views::severity_tone(open.severity)),
                    Cell::text(open.status),
                    Cell::text(open.owner.as_deref().unwrap_or("Unassigned")),
                    Cell::text(views::duration(open.age)),
                ]
            })
            .collect();
        reply = reply.with(Block::Table(Table {
            title: Some("Incidents unresolved for long".to_string()),
            columns: vec![
                Column::right("#"),
                Column::left("Title"),
                Column::left("Severity"),
                Column::left("Status"),
                Column::left("Owner"),
                Column::right("Open for"),
            ],
            rows,
        }));
        if summary.long_unresolved.len() > limit {
            reply = reply.with(Block::Note(format!(
                "{} more in the full report.",
                summary.long_unresolved.len() - limit
            )));
        }
    }

    // 4. Incident detail.
    let limit = match layout {
        Layout::Chat => CHAT_DETAIL_ROWS,
        Layout::Full => usize::MAX,
    };
    if !report.incidents.is_empty() {
        let rows = report
            .incidents
            .iter()
            .take(limit)
            .map(detail_row)
            .collect();
        reply = reply
            .with(Block::Heading("Incident detail".to_string()))
            .with(Block::Table(Table {
                title: None,
                columns: vec![
                    Column::right("#"),
                    Column::left("Title"),
                    Column::left("Severity"),
                    Column::left("Status"),
                    Column::left("Owner"),
                    Column::left("Tactics"),
                    Column::left("Created"),
                    Column::right("Triage"),
                    Column::right("Resolve"),
                ],
                rows,
            }));
        if report.incidents.len() > limit {
            reply = reply.with(Block::Note(format!(
                "Showing {limit} of {} incidents; the full table is in the export (`sentinel-bot report --format html`).",
                report.incidents.len()
            )));
        }
    }

    // 5. Recommendations with their sources.
    reply = reply.with(Block::Heading(
        "Security posture recommendations from Defender XDR".to_string(),
    ));
    reply = reply.with(recommendation_block(
        &report.advice.posture,
        report
            .advice
            .posture_unread
            .as_deref()
            .unwrap_or("No Defender XDR recommended actions for this period."),
    ));
    reply = reply.with(Block::Heading(
        "Recommendations from threat intelligence based on MITRE tactics".to_string(),
    ));
    reply = reply.with(recommendation_block(
        &report.advice.threat_intel,
        "No threat intelligence for the tactics seen this period.",
    ));
    reply = reply.with(Block::Heading(
        "Steps to reduce time to triage and resolve".to_string(),
    ));
    for step in &report.advice.response_steps {
        reply = reply.with(Block::Text(step.clone()));
    }
    if let Some(note) = &report.advice.note {
        reply = reply.with(Block::Note(note.clone()));
    }

    // 6. Trends and operations, computed from the figures.
    reply = reply.with(Block::Heading(
        "Recommendations from trends in severity and tactics".to_string(),
    ));
    for line in trend_recommendations(report) {
        reply = reply.with(Block::Text(line));
    }
    reply = reply.with(Block::Heading("Operational insights".to_string()));
    for line in operational_insights(report)
        .into_iter()
        .chain(report.advice.insights.iter().cloned())
    {
        reply = reply.with(Block::Text(line));
    }

    // 7. Definitions.
    reply.with(Block::Note(format!(
        "Definitions: open = New or Active; resolved = Closed. Resolution rate = incidents created in the period that are now closed / incidents created in the period. \
         Time to triage = creation to the first change by a person (status left New or an owner was assigned). Time to resolve = creation to closing. \
         Unresolved for long = open for more than {}. Anomalous day = more than 3 scaled median absolute deviations above the median day and at least twice the median. \
         Changes compare with the {} before. Figures are computed from Sentinel's SecurityIncident table; generated {}.",
        views::duration(report.long_open_after),
        views::duration(window.length()),
        report.generated.format("%Y-%m-%d %H:%M UTC"),
    )))
}

fn detail_row(it: &Incident) -> Vec<Cell> {
    let number = match &it.url {
        Some(url) => Cell::link(it.number, url.clone()),
        None => Cell::text(it.number),
    };
    let tactics: Vec<&str> = it.tactics.iter().map(|tactic| tactic.name()).collect();
    vec![
        number,
        Cell::text(&it.title),
        Cell::toned(it.severity, views::severity_tone(it.severity)),
        Cell::text(it.status),
        Cell::text(it.owner.label().unwrap_or("Unassigned")),
        Cell::text(if tactics.is_empty() {
            "-".to_string()
        } else {
            tactics.join(", ")
        }),
        Cell::text(it.created.format("%a %d %H:%M")),
        Cell::text(
            it.first_triaged
                .map(|at| views::duration(at - it.created))
                .unwrap_or_else(|| "-".to_string()),
        ),
        Cell::text(
            it.closed
                .map(|at| views::duration(at - it.created))
                .unwrap_or_else(|| "-".to_string()),
        ),
    ]
}

fn tactic_table(report: &WeeklyReport) -> Table {
    let summary = &report.summary;
    let mut rows: Vec<Vec<Cell>> = report
        .comparison
        .by_tactic
        .iter()
        .filter(|(_, trend)| trend.current > 0)
        .map(|(tactic, trend)| {
            vec![
                Cell::text(tactic.name()),
                Cell::text(tactic.id()),
                Cell::text(trend.current),
                Cell::text(views::share(trend.current, summary.total)),
                Cell::text(change(trend)),
            ]
        })
        .collect();
    if summary.without_tactics > 0 {
        rows.push(vec![
            Cell::text("No tactic"),
            Cell::text("-"),
            Cell::text(summary.without_tactics),
            Cell::text(views::share(summary.without_tactics, summary.total)),
            Cell::text("-"),
        ]);
    }
    Table {
        title: None,
        columns: vec![
            Column::left("Tactic"),
            Column::left("ID"),
            Column::right("Incidents"),
            Column::right("Share"),
            Column::right("vs previous"),
        ],
        rows,
    }
}

fn recommendation_block(items: &[SourcedRecommendation], empty: &str) -> Block {
    if items.is_empty() {
        return Block::Text(empty.to_string());
    }
    Block::Table(Table {
        title: None,
        columns: vec![Column::left("Recommendation"), Column::left("Source")],
        rows: items
            .iter()
            .map(|item| vec![Cell::text(&item.text), Cell::text(&item.source)])
            .collect(),
    })
}

/// Sentences about volume: change against the previous period and the busiest severities.
fn volume_patterns(report: &WeeklyReport) -> Vec<String> {
    let trend = report.comparison.total;
    let mut lines = Vec::new();
    match trend.change_pct {
        Some(pct) if pct.abs() >= 20.0 => lines.push(format!(
            "Volume {} by {:.0}% against the previous period ({} -> {}).",
            if pct > 0.0 { "rose" } else { "fell" },
            pct.abs(),
            trend.previous,
            trend.current
        )),
        Some(pct) => lines.push(format!(
            "Volume is steady against the previous period ({} -> {}, {:+.0}%).",
            trend.previous, trend.current, pct
        )),
        None if trend.current > 0 => lines.push(format!(
            "{} incidents this period; none in the previous one.",
            trend.current
        )),
        None => lines.push("No incidents in this period or the previous one.".to_string()),
    }
    if let Some((tactic, count)) = report.summary.by_tactic.first() {
        lines.push(format!(
            "The most frequent tactic is {} ({}), in {} of {} incidents.",
            tactic.name(),
            tactic.id(),
            count,
            report.summary.total
        ));
    }
    lines
}

/// Recommendations that follow from severity and tactic trends; every figure from analytics.
fn trend_recommendations(report: &WeeklyReport) -> Vec<String> {
    let mut lines = Vec::new();
    let high = report.comparison.by_severity[Severity::High.index()];
    if high.current > high.previous {
        lines.push(format!(
            "High-severity incidents rose from {} to {}: review the analytics rules and entities behind them first, and make sure they are assigned within the hour.",
            high.previous, high.current
        ));
    }
    for (tactic, trend) in report
        .comparison
        .by_tactic
        .iter()
        .filter(|(_, trend)| trend.current >= 3)
        .take(3)
    {
        if trend.change_pct.is_some_and(|pct| pct >= 50.0)
            || (trend.previous == 0 && trend.current > 0)
        {
            lines.push(format!(
                "{} ({}) grew from {} to {} incidents: check detections and mitigations for this stage of the attack chain.",
                tactic.name(),
                tactic.id(),
                trend.previous,
                trend.current
            ));
        }
    }
    if report.summary.without_tactics > 0 {
        lines.push(format!(
            "{} incidents carry no MITRE tactic: map their analytics rules to ATT&CK so trends stay visible.",
            report.summary.without_tactics
        ));
    }
    if lines.is_empty() {
        lines.push("No severity or tactic rose markedly against the previous period.".to_string());
    }
    lines
}

/// Automation, resourcing and monitoring insights from the figures.
fn operational_insights(report: &WeeklyReport) -> Vec<String> {
    let incidents = &report.incidents;
    let mut lines = Vec::new();
    let closed: Vec<&Incident> = incidents
        .iter()
        .filter(|it| it.status == Status::Closed)
        .collect();
    let benign = closed
        .iter()
        .filter(|it| {
            matches!(
                it.classification,
                Some(Classification::FalsePositive | Classification::BenignPositive)
            )
        })
        .count();
    if !closed.is_empty() {
        lines.push(format!(
            "Automation: {} of {} closed incidents ({}) were false or benign positives; tune or auto-close the rules that raise them most.",
            benign,
            closed.len(),
            views::share(benign, closed.len())
        ));
    }
    let unassigned = incidents
        .iter()
        .filter(|it| it.status.is_open() && !it.owner.is_assigned())
        .count();
    if unassigned > 0 {
        lines.push(format!(
            "Resources: {unassigned} open incidents have no owner; an automation rule can assign new incidents by severity or product."
        ));
    }
    let mut products: Vec<(String, usize)> = Vec::new();
    for product in incidents.iter().flat_map(|it| it.alert_products.iter()) {
        match products.iter_mut().find(|(name, _)| name == product) {
            Some((_, count)) => *count += 1,
            None => products.push((product.clone(), 1)),
        }
    }
    products.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if let Some((product, count)) = products.first() {
        lines.push(format!("Monitoring: {product} raised the most incidents ({count}); check its connector health and alert tuning."));
    }
    if lines.is_empty() {
        lines.push("No incidents to draw operational insights from.".to_string());
    }
    lines
}

fn change(trend: &Trend) -> String {
    match trend.change_pct {
        Some(pct) => format!("{pct:+.0}%"),
        None if trend.current > 0 => "new".to_string(),
        None => "no change".to_string(),
    }
}

fn median(values: &analytics::Durations) -> String {
    values
        .median
        .map(views::duration)
        .unwrap_or_else(|| "n/a".to_string())
}
