//! The weekly incident report: figures from analytics, advice sections from the
//! advisor, laid out as a `Reply` in the order analysts read it. Pure: the caller
//! fetches incidents and advice and passes `now`.

use crate::advice::{Recommendation, WeeklyAdvice};
use crate::analytics::{self, Listing, OpenIncident, PeriodFacts};
use crate::incident::{ArcStr, Classification, Incident, Severity, Status, Tactic};
use crate::period::Window;
use crate::present::{self as views, change};
use crate::reply::{Block, Cell, Column, Fact, Reply, Table};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde::Serialize;
use std::borrow::Cow;

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
    /// For chat: a summary that reads on a phone (key figures, status by severity, tactics,
    /// the open High incidents, the top recommendations); the rest is in the full report.
    Chat,
    /// For the web page and exports: every section and every row.
    Full,
}

/// Open High incidents listed in the chat summary.
pub const CHAT_OPEN_HIGH_ROWS: usize = 10;

/// Recommendations in the chat summary.
pub const CHAT_RECOMMENDATIONS: usize = 4;

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
    match layout {
        Layout::Chat => summary_reply(report),
        Layout::Full => {
            let mut deferred = full_reply(report);
            if let Some(at) = deferred.detail_at
                && let Some(Block::Table(table)) = deferred.reply.blocks.get_mut(at)
            {
                table.rows = detail_rows(report).collect();
            }
            deferred.reply
        }
    }
}

/// The full layout with the incident-detail table's rows left out, for exports that write
/// each row as it is laid out ([`detail_rows`]) instead of holding a cell per field of every
/// incident: with them, the same reply as [`to_reply`] with [`Layout::Full`].
#[derive(Debug, Clone)]
pub struct DeferredReply {
    pub reply: Reply,
    /// The position in `reply.blocks` of the incident-detail table (a [`Block::Table`] with
    /// no rows); `None` when no incident was created in the period.
    pub detail_at: Option<usize>,
}

/// The rows of the incident-detail table, one per incident created in the period, in
/// [`PeriodFacts::incidents`]'s order.
pub fn detail_rows(report: &WeeklyReport) -> impl Iterator<Item = Vec<Cell>> + '_ {
    report.facts.incidents().iter().map(detail_row)
}

/// "Incident report, Mon 16 Nov 2026 to Mon 23 Nov 2026"; with times when the period does
/// not start and end at midnight UTC (`/report 1h`), so its title says which hour.
fn title(report: &WeeklyReport) -> String {
    let window = report.facts.window;
    let midnight = |time: DateTime<Utc>| time.time() == chrono::NaiveTime::MIN;
    let format = match midnight(window.start) && midnight(window.end) {
        true => "%a %d %b %Y",
        false => "%a %d %b %Y %H:%M UTC",
    };
    format!(
        "Incident report, {} to {}",
        window.start.format(format),
        window.end.format(format)
    )
}

/// One line for notifications: what was created, what is open now.
fn summary_line(report: &WeeklyReport) -> String {
    let facts = &report.facts;
    let change = facts
        .comparison
        .as_ref()
        .map(|comparison| format!(" ({} on the period before)", change(&comparison.total)))
        .unwrap_or_default();
    format!(
        "{}: {} created{change}, {} open now, {} open High",
        title(report),
        facts.created.total,
        facts.backlog.open,
        facts.backlog.by_severity[Severity::High.index()]
    )
}

/// The chat card: key figures, the chart, status by severity, tactics, the open High
/// incidents and the top recommendations; small enough for Teams and Slack on a phone.
fn summary_reply(report: &WeeklyReport) -> Reply {
    let facts = &report.facts;
    let summary = &facts.created;
    let mut reply = Reply::titled(title(report)).with_summary(summary_line(report));
    for block in views::headline_blocks(facts) {
        reply = reply.with(block);
    }
    reply = reply
        .with(Block::Heading("Volume".to_string()))
        .with(Block::Facts(volume_facts(report)));
    for block in views::daily_blocks(summary) {
        reply = reply.with(block);
    }
    if summary.total > 0 {
        reply = reply
            .with(Block::Heading(
                "Status by severity (created in this period)".to_string(),
            ))
            .with(Block::Table(views::status_by_severity(summary)))
            .with(Block::Heading(
                "MITRE ATT&CK tactics (created in this period)".to_string(),
            ))
            .with(Block::Table(tactic_table(report)))
            .with(Block::Note(views::TACTIC_NOTE.to_string()));
    }
    let open_high = &facts.backlog.open_high;
    reply = reply.with(Block::Heading(
        "Open High-severity incidents (open backlog now, any age)".to_string(),
    ));
    if open_high.is_empty() {
        reply = reply.with(Block::Text("None.".to_string()));
    } else {
        let shown: Vec<&OpenIncident> = open_high.iter().take(CHAT_OPEN_HIGH_ROWS).collect();
        reply = reply.with(Block::Table(views::open_incidents_table(None, &shown)));
        if open_high.len() > shown.len() {
            reply = reply.with(Block::Note(format!(
                "{} of {} shown, oldest first.",
                shown.len(),
                open_high.len()
            )));
        }
    }
    let advice = &report.advice;
    let top: Vec<Recommendation> = top_recommendations(
        &advice.posture_from_defender,
        &advice.from_threat_intel,
        CHAT_RECOMMENDATIONS,
    );
    reply = reply.with(Block::Heading("Top recommendations".to_string()));
    // When Defender XDR could not be read, the summary says so rather than "none".
    let unread = advice.posture_unread.as_deref();
    reply = reply.with(recommendation_block(
        &top,
        unread.unwrap_or(
            "No recommendations from Defender XDR or threat intelligence for this period.",
        ),
    ));
    if let (false, Some(unread)) = (top.is_empty(), unread) {
        reply = reply.with(Block::Note(unread.to_string()));
    }
    if let Some(note) = &advice.note {
        reply = reply.with(Block::Note(note.clone()));
    }
    reply.with(Block::Note(views::definitions(facts)))
}

/// Up to `count` recommendations, alternating Defender XDR posture and threat intelligence so
/// both sources are heard, each list in its own order.
fn top_recommendations(
    posture: &[Recommendation],
    intel: &[Recommendation],
    count: usize,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let (mut posture, mut intel) = (posture.iter(), intel.iter());
    while out.len() < count {
        let before = out.len();
        out.extend(posture.next().cloned());
        if out.len() < count {
            out.extend(intel.next().cloned());
        }
        if out.len() == before {
            break;
        }
    }
    out
}

/// The full report: every section, for the web page and exports; the incident-detail rows
/// are left to [`detail_rows`] (see [`DeferredReply`]).
pub fn full_reply(report: &WeeklyReport) -> DeferredReply {
    let facts = &report.facts;
    let summary = &facts.created;
    let mut reply = Reply::titled(title(report)).with_summary(summary_line(report));
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
    reply = reply.with(Block::Heading(
        "Status (created in this period)".to_string(),
    ));
    reply = match summary.total {
        0 => reply.with(Block::Text(
            "No incidents were created in this period.".to_string(),
        )),
        _ => reply
            .with(Block::Table(views::status_table(summary)))
            .with(Block::Table(views::status_by_severity(summary)))
            .with(Block::Heading(
                "MITRE ATT&CK tactics (created in this period)".to_string(),
            ))
            .with(Block::Table(tactic_table(report)))
            .with(Block::Note(views::TACTIC_NOTE.to_string())),
    };

    // 3. MTTT, MTTR and the resolution rate, then the open backlog's lists.
    reply = reply
        .with(Block::Heading(
            "Resolution, MTTT and MTTR (created in this period)".to_string(),
        ))
        .with(Block::Facts(resolution_facts(report)))
        .with(Block::Heading(
            "Open High and long-open incidents (open backlog now)".to_string(),
        ));
    reply = open_lists(reply, &facts.backlog);

    // 4. Incident detail.
    let mut detail_at = None;
    if !facts.incidents().is_empty() {
        detail_at = Some(reply.blocks.len() + 1);
        reply = reply
            .with(Block::Heading(
                "Incident detail (created in this period)".to_string(),
            ))
            .with(Block::Table(Table {
                title: None,
                columns: vec![
                    Column::right("#"),
                    Column::prose("Title"),
                    Column::left("Severity"),
                    Column::left("Status"),
                    Column::left("Owner"),
                    Column::prose("Tactics"),
                    Column::left("Created"),
                    Column::right("Triage"),
                    Column::right("Resolve"),
                ],
                rows: Vec::new(),
            }));
    }

    // 5. Recommendations with their sources.
    let advice = &report.advice;
    reply = reply.with(Block::Heading(
        "Security posture recommendations from Defender XDR".to_string(),
    ));
    reply = reply.with(recommendation_block(
        &advice.posture_from_defender,
        advice.posture_unread.as_deref().unwrap_or(
            "No Defender XDR recommended actions for the open incidents or this period's true positives.",
        ),
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
    DeferredReply {
        reply: reply.with(Block::Note(views::definitions(facts))),
        detail_at,
    }
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
fn open_lists(mut reply: Reply, backlog: &analytics::Backlog) -> Reply {
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
            reply = reply.with(Block::Text(format!("{title}: none.")));
            continue;
        }
        let shown: Vec<&OpenIncident> = listed.iter().collect();
        reply = reply.with(Block::Table(views::open_incidents_table(
            Some(title),
            &shown,
        )));
    }
    reply
}

fn detail_row(it: &Incident) -> Vec<Cell> {
    let number = views::number_cell(it.key(), it.url.as_ref());
    let tactics: Vec<Cow<str>> = it.tactics.iter().map(Tactic::name).collect();
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
        Cell::text(day_and_clock(it.created)),
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

/// `Mon 16 09:05`, chrono's `%a %d %H:%M` without reading a format string for every
/// incident of the detail table.
fn day_and_clock(time: DateTime<Utc>) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let day = DAYS[time.weekday().num_days_from_monday() as usize];
    format!(
        "{day} {:02} {:02}:{:02}",
        time.day(),
        time.hour(),
        time.minute()
    )
}

/// Tactics of the incidents created: tactic (ATT&CK id under it), count, share, change.
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
                views::tactic_cell(tactic),
                Cell::text(trend.current),
                Cell::text(views::share(trend.current, summary.total)),
                Cell::text(change(trend)),
            ]
        })
        .collect();
    if summary.without_tactics > 0 {
        rows.push(vec![
            Cell::text("No tactic"),
            Cell::text(summary.without_tactics),
            Cell::text(views::share(summary.without_tactics, summary.total)),
            Cell::text("-"),
        ]);
    }
    Table {
        title: None,
        columns: vec![
            Column::prose("Tactic"),
            Column::right("Count"),
            Column::right("Share"),
            Column::right("Change"),
        ],
        rows,
    }
}

fn recommendation_block(items: &[Recommendation], empty: &str) -> Block {
    if items.is_empty() {
        return Block::Text(empty.to_string());
    }
    Block::List(views::recommendations_list(None, items))
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
            "Volume is steady against the previous period ({} -> {}, {}).",
            trend.previous,
            trend.current,
            views::change_pct(pct)
        )),
        None if trend.current > 0 => lines.push(format!(
            "{} incidents this period; none in the previous one.",
            trend.current
        )),
        None => lines.push("No incidents in this period or the previous one.".to_string()),
    }
    if let Some((tactic, count)) = summary.by_tactic.first() {
        lines.push(format!(
            "The most frequent tactic is {}, in {} of {} incidents.",
            tactic.name_with_id(),
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
        let open = report
            .facts
            .incidents()
            .iter()
            .filter(|it| it.severity == Severity::High && it.status.is_open())
            .count();
        let then = match open {
            0 => "all of them are closed now; review the analytics rules and entities behind them so the rise does not repeat.".to_string(),
            open => format!("{open} of them are open: review the analytics rules and entities behind them first, and make sure each is assigned within the hour."),
        };
        lines.push(format!(
            "High-severity incidents rose from {} to {}: {then}",
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
                "{} grew from {} to {} incidents: check detections and mitigations for this stage of the attack chain.",
                tactic.name_with_id(),
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
    if report.facts.listing == Listing::Aggregated {
        return vec![
            "Insights from single incidents need the incident list, which was not fetched for this period.".to_string(),
        ];
    }
    let incidents = report.facts.incidents();
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
    let mut products: Vec<(ArcStr, usize)> = Vec::new();
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn day_and_clock_writes_what_chrono_writes() {
        // One of each weekday, single-digit days, hours and minutes, and the day's last minute.
        let first = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 5, 59)
            .single()
            .expect("valid");
        for step in 0..40 {
            let time = first + Duration::minutes(step * 1_501);
            assert_eq!(day_and_clock(time), time.format("%a %d %H:%M").to_string());
        }
    }
}
