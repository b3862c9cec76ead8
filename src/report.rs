//! The weekly incident report: figures from analytics, advice sections from the
//! advisor, laid out as a `Reply` in the order analysts read it. Pure: the caller
//! fetches incidents and advice and passes `now`.

use crate::advice::{Recommendation, WeeklyAdvice};
use crate::analytics::{self, OpenIncident, PeriodFacts, Trend};
use crate::incident::{Classification, Incident, Severity, Status};
use crate::period::Window;
use crate::present as views;
use crate::reply::{Block, Cell, Column, Fact, Reply, Table};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Rows of the incident detail table shown in chat; exports show all.
pub const CHAT_DETAIL_ROWS: usize = 15;

/// Everything the weekly report shows: the period's facts, computed once, and the advice
/// built from those same facts.
#[derive(Debug, Clone, Serialize)]
pub struct WeeklyReport {
    pub facts: PeriodFacts,
    pub advice: WeeklyAdvice,
}

/// How much of the report to lay out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// For chat: the detail and long-open tables are cut short.
    Chat,
    /// For exports: every row.
    Full,
}

/// Computes the report's facts from the two periods' incidents and attaches `advice`.
pub fn build(
    current_incidents: &[Incident],
    previous_incidents: &[Incident],
    window: Window,
    now: DateTime<Utc>,
    long_open_after: Duration,
    advice: WeeklyAdvice,
) -> WeeklyReport {
    WeeklyReport {
        facts: PeriodFacts::compute(
            current_incidents,
            Some(previous_incidents),
            window,
            now,
            long_open_after,
        ),
        advice,
    }
}

/// Lays the report out as a reply.
pub fn to_reply(report: &WeeklyReport, layout: Layout) -> Reply {
    let facts = &report.facts;
    let summary = &facts.created;
    let window = facts.window;
    let limit = match layout {
        Layout::Chat => 10,
        Layout::Full => usize::MAX,
    };
    let mut reply = Reply::titled(format!(
        "Incident report, {} to {}",
        window.start.format("%a %d %b %Y"),
        window.end.format("%a %d %b %Y")
    ));
    for block in views::headline_blocks(facts) {
        reply = reply.with(block);
    }

    // 1. Volume, patterns and anomalies of the incidents created in the period.
    reply = reply
        .with(Block::Heading("Volume".to_string()))
        .with(Block::Facts(volume_facts(report)));
    for line in volume_patterns(report) {
        reply = reply.with(Block::Text(line));
    }
    for block in views::daily_blocks(summary) {
        reply = reply.with(block);
    }

    // 2. Status and tactics of the incidents created in the period.
    reply = reply
        .with(Block::Heading(
            "Status (created in this period)".to_string(),
        ))
        .with(Block::Table(views::status_table(summary)))
        .with(Block::Table(views::status_by_severity(summary)))
        .with(Block::Heading(
            "MITRE ATT&CK tactics (created in this period)".to_string(),
        ))
        .with(Block::Table(tactic_table(report)))
        .with(Block::Note(views::TACTIC_NOTE.to_string()));

    // 3. MTTT, MTTR and the resolution rate, then the open backlog's lists.
    reply = reply
        .with(Block::Heading(
            "Resolution, MTTT and MTTR (created in this period)".to_string(),
        ))
        .with(Block::Facts(resolution_facts(report)));
    reply = open_lists(reply, &facts.backlog, limit);

    // 4. Incident detail.
    let limit = match layout {
        Layout::Chat => CHAT_DETAIL_ROWS,
        Layout::Full => usize::MAX,
    };
    if !facts.incidents.is_empty() {
        let rows = facts.incidents.iter().take(limit).map(detail_row).collect();
        reply = reply
            .with(Block::Heading(
                "Incident detail (created in this period)".to_string(),
            ))
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
        if facts.incidents.len() > limit {
            reply = reply.with(Block::Note(format!(
                "Showing {limit} of {} incidents; the full table is in the export (`sentinel-bot report --format html`).",
                facts.incidents.len()
            )));
        }
    }

    // 5. Recommendations with their sources.
    let advice = &report.advice;
    reply = reply.with(Block::Heading(
        "Security posture recommendations from Defender XDR".to_string(),
    ));
    reply = reply.with(recommendation_block(
        &advice.posture_from_defender,
        "No Defender XDR recommended actions for the open incidents or this period's true positives.",
    ));
    reply = reply.with(Block::Heading(
        "Recommendations from threat intelligence based on MITRE tactics".to_string(),
    ));
    reply = reply.with(recommendation_block(
        &advice.from_threat_intel,
        "No threat intelligence for the tactics seen this period.",
    ));
    reply = reply.with(Block::Heading("Steps to reduce MTTT and MTTR".to_string()));
    for step in &advice.mttt_mttr_steps {
        reply = reply.with(Block::Text(step.clone()));
    }
    if let Some(note) = &advice.note {
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
        .chain(advice.operational_insights.iter().cloned())
    {
        reply = reply.with(Block::Text(line));
    }

    // 7. Definitions.
    reply.with(Block::Note(views::definitions(facts)))
}

/// Totals of the incidents created in the period against the period before.
fn volume_facts(report: &WeeklyReport) -> Vec<Fact> {
    let summary = &report.facts.created;
    let mut facts = Vec::new();
    if let Some(comparison) = &report.facts.comparison {
        facts.push(Fact::new(
            "Previous period",
            format!(
                "{} ({})",
                comparison.total.previous,
                change(&comparison.total)
            ),
        ));
    }
    facts.push(Fact::new(
        "Daily average",
        summary
            .daily_average
            .map_or_else(|| "n/a".to_string(), |average| format!("{average:.1}")),
    ));
    let peak = summary
        .daily
        .iter()
        .filter(|day| !day.partial)
        .max_by_key(|day| (day.total, std::cmp::Reverse(day.date)));
    if let Some(peak) = peak {
        facts.push(Fact::new(
            "Busiest whole day",
            format!(
                "{} ({} incidents)",
                peak.date.format("%a %d %b"),
                peak.total
            ),
        ));
    }
    let high = summary.by_severity[Severity::High.index()];
    facts.push(Fact::new(
        "High severity",
        match &report.facts.comparison {
            Some(comparison) => format!(
                "{high} ({})",
                change(&comparison.by_severity[Severity::High.index()])
            ),
            None => high.to_string(),
        },
    ));
    facts
}

/// Medians and the previous period's values beside the headline means; labels differ from
/// the headline's so each label means one figure everywhere.
fn resolution_facts(report: &WeeklyReport) -> Vec<Fact> {
    let summary = &report.facts.created;
    let median = |values: &analytics::Durations| {
        values
            .median
            .map_or_else(|| "n/a".to_string(), views::duration)
    };
    let mut facts = vec![
        Fact::new("MTTT median", median(&summary.time_to_triage)),
        Fact::new(
            "Median time to first human action",
            median(&summary.time_to_first_human_action),
        ),
        Fact::new("MTTR median", median(&summary.time_to_resolve)),
    ];
    if let Some(previous) = &report.facts.previous {
        facts.push(Fact::new(
            "Resolution rate, previous period",
            views::percent(previous.resolution_rate),
        ));
        facts.push(Fact::new(
            "MTTT, previous period",
            views::mean(&previous.time_to_triage),
        ));
        facts.push(Fact::new(
            "MTTR, previous period",
            views::mean(&previous.time_to_resolve),
        ));
    }
    facts
}

/// The open High incidents and the long-unresolved ones, whatever their creation date.
fn open_lists(mut reply: Reply, backlog: &analytics::Backlog, limit: usize) -> Reply {
    let long_title = format!(
        "Open longer than {} (open backlog now)",
        views::duration(backlog.long_open_after)
    );
    for (title, listed) in [
        (
            "Open High-severity incidents (open backlog now)".to_string(),
            &backlog.open_high,
        ),
        (long_title, &backlog.long_unresolved),
    ] {
        if listed.is_empty() {
            continue;
        }
        let shown: Vec<&OpenIncident> = listed.iter().take(limit).collect();
        reply = reply.with(Block::Table(views::open_incidents_table(
            Some(title),
            &shown,
        )));
        if listed.len() > limit {
            reply = reply.with(Block::Note(format!(
                "{} more in the full report.",
                listed.len() - limit
            )));
        }
    }
    reply
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
            it.time_to_triage()
                .map_or_else(|| "-".to_string(), views::duration),
        ),
        Cell::text(
            it.time_to_resolve()
                .map_or_else(|| "-".to_string(), views::duration),
        ),
    ]
}

fn tactic_table(report: &WeeklyReport) -> Table {
    let summary = &report.facts.created;
    let Some(comparison) = &report.facts.comparison else {
        return views::tactics(summary);
    };
    let mut rows: Vec<Vec<Cell>> = comparison
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

fn recommendation_block(items: &[Recommendation], empty: &str) -> Block {
    if items.is_empty() {
        return Block::Text(empty.to_string());
    }
    Block::Table(Table {
        title: None,
        columns: vec![Column::left("Recommendation"), Column::left("Source")],
        rows: items
            .iter()
            .map(|item| vec![Cell::text(&item.text), Cell::text(item.source)])
            .collect(),
    })
}

/// Sentences about volume: change against the previous period and the busiest severities.
fn volume_patterns(report: &WeeklyReport) -> Vec<String> {
    let summary = &report.facts.created;
    let mut lines = Vec::new();
    let Some(trend) = report.facts.comparison.as_ref().map(|it| it.total) else {
        return lines;
    };
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
    if let Some((tactic, count)) = summary.by_tactic.first() {
        lines.push(format!(
            "The most frequent tactic is {} ({}), in {} of {} incidents.",
            tactic.name(),
            tactic.id(),
            count,
            summary.total
        ));
    }
    lines
}

/// Recommendations that follow from severity and tactic trends; every figure from analytics.
fn trend_recommendations(report: &WeeklyReport) -> Vec<String> {
    let summary = &report.facts.created;
    let mut lines = Vec::new();
    let Some(comparison) = &report.facts.comparison else {
        return lines;
    };
    let high = comparison.by_severity[Severity::High.index()];
    if high.current > high.previous {
        lines.push(format!(
            "High-severity incidents rose from {} to {}: review the analytics rules and entities behind them first, and make sure they are assigned within the hour.",
            high.previous, high.current
        ));
    }
    for (tactic, trend) in comparison
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
    if summary.without_tactics > 0 {
        lines.push(format!(
            "{} incidents carry no MITRE tactic: map their analytics rules to ATT&CK so trends stay visible.",
            summary.without_tactics
        ));
    }
    if lines.is_empty() {
        lines.push("No severity or tactic rose markedly against the previous period.".to_string());
    }
    lines
}

/// Automation, resourcing and monitoring insights from the figures.
fn operational_insights(report: &WeeklyReport) -> Vec<String> {
    let incidents = &report.facts.incidents;
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
            "Automation: {} of the {} incidents created in the period and closed now ({}) were false or benign positives; tune or auto-close the rules that raise them most.",
            benign,
            closed.len(),
            views::share(benign, closed.len())
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
