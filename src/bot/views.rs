//! Builds the chat `Reply` documents: help, errors, `/incidents` and `/incident N`.
//! Figures come from analytics; their formatting and shared blocks from `present`.

use super::BotError;
use super::command::{Command, IncidentsQuery, UsageError, Verb};
use crate::analytics::{Listing, OpenIncident, PeriodFacts};
use crate::incident::{Incident, Tactic};
use crate::present::{
    TACTIC_NOTE, daily_blocks, definitions, duration, headline_blocks, incidents_table,
    open_incidents_table, severity_tone, status_by_severity, tactics,
};
use crate::reply::{Action, ActionStyle, Block, Cell, Column, Fact, Page, Reply, Table};
use crate::sources::{IncidentDetail, SourceError};
use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// The help card: every command, or one command's usage. A list rather than a table, so the
/// long usage lines wrap at spaces on a phone; usages are code (monospace in Teams and Slack).
pub fn help(topic: Option<Verb>) -> Reply {
    let verbs: Vec<Verb> = match topic {
        Some(verb) => vec![verb],
        None => Verb::ALL.to_vec(),
    };
    let mut reply = Reply::titled("Sentinel bot commands");
    for verb in &verbs {
        // Spaces around "|" let a long list of choices wrap on a phone.
        let usage = verb.usage().replace('|', " | ");
        reply = reply.with(Block::Text(format!("`{usage}`\n{}", verb.summary())));
    }
    // The periods are explained only where a listed command takes one.
    let periods = match verbs.iter().any(|verb| verb.takes_period()) {
        true => "Periods: today, week, month, Nd (days, up to 90) or Nh (hours). ",
        false => "",
    };
    reply.with(Block::Note(format!(
        "{periods}Commands work with or without the slash, and after an @mention."
    )))
}

/// A parse error: what was wrong, then the help for the command.
pub fn usage_error(error: &UsageError) -> Reply {
    let mut reply = help(error.verb);
    reply.title = "I could not read that command".to_string();
    reply.blocks.insert(0, Block::Alert(error.message.clone()));
    reply.with_summary(format!("I could not read that command: {}", error.message))
}

/// An apology that says which system failed and why; its summary carries the reason, so a
/// notification says more than the headline.
pub fn error(error: &BotError) -> Reply {
    let (title, alert) = match error {
        BotError::Usage(usage) => return usage_error(usage),
        BotError::Source(SourceError::NotFound(number)) => (
            format!("Incident {number}"),
            format!("Incident {number} was not found in the workspace."),
        ),
        BotError::Ambiguous {
            verb,
            number,
            incidents,
        } => return which_workspace(*verb, *number, incidents),
        BotError::Source(unknown @ SourceError::NoSuchWorkspace { .. }) => (
            "Unknown workspace".to_string(),
            format!("{}.", capitalise(&unknown.to_string())),
        ),
        BotError::Source(source) => (
            "Sorry, I could not answer".to_string(),
            sentence(&format!("Sorry: {source}")),
        ),
        BotError::NotAllowed(message) => ("Not allowed".to_string(), message.clone()),
        BotError::Cannot(message) => ("I could not do that".to_string(), message.clone()),
        BotError::Store(message) => (
            "Sorry, I could not answer".to_string(),
            sentence(&format!("Sorry: {message}")),
        ),
    };
    Reply::titled(title.clone())
        .with(Block::Alert(alert.clone()))
        .with_summary(format!("{title}: {alert}"))
}

/// `text` ending in one full stop: a reason quoted from a service often ends in its own
/// (or in the `…` of a cut), and a second would read "..".
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    match text.chars().last() {
        Some('.' | '!' | '?' | '…') => text.to_string(),
        _ => format!("{text}."),
    }
}

/// The question when a bare incident number is in several workspaces: each candidate as
/// `N@workspace` with its severity, status and title, and a button per candidate that runs
/// the command again on it (for a change, shows the incident first; nothing is changed
/// without a confirmation anyway).
fn which_workspace(verb: Verb, number: u64, incidents: &[Incident]) -> Reply {
    let forms: Vec<String> = incidents
        .iter()
        .map(|it| format!("`{}`", it.key()))
        .collect();
    let question = format!(
        "Incident {number} is in {} workspaces: which one? Type the command again with {}.",
        incidents.len(),
        forms.join(" or ")
    );
    let mut reply = Reply::titled(format!("Which incident {number}?"))
        .with(Block::Text(question.clone()))
        .with(Block::Table(Table {
            title: None,
            columns: vec![
                Column::left("Incident"),
                Column::prose("Title"),
                Column::left("Severity"),
            ],
            rows: incidents
                .iter()
                .map(|it| {
                    vec![
                        Cell::text(it.key()),
                        Cell::text(&it.title).with_detail(format!(
                            "{} · {}",
                            it.status,
                            it.owner.label().unwrap_or("Unassigned")
                        )),
                        Cell::toned(it.severity, severity_tone(it.severity)),
                    ]
                })
                .collect(),
        }))
        .with_summary(question);
    for it in incidents {
        let key = it.key();
        reply = reply.with_action(match verb {
            Verb::Recommend => Action::new(format!("Recommend {key}"), format!("/recommend {key}")),
            _ => Action::new(format!("Show {key}"), format!("/incident {key}")),
        });
    }
    reply
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A command this deployment cannot run.
pub fn not_available(command: &Command) -> Reply {
    Reply::titled("Not available").with(Block::Alert(format!(
        "This bot cannot run that command yet ({command:?})."
    )))
}

/// The `/incidents` card: the period's headline figures (created in the period, and the
/// open backlog now), breakdowns of the incidents created, then a paged list: every open
/// High-severity incident whatever its age, or, when filtered, the matching incidents created.
pub fn incidents(query: &IncidentsQuery, facts: &PeriodFacts, page_size: usize) -> Reply {
    let summary = &facts.created;
    let mut title = format!("Incidents, {}", query.period);
    if let Some(severity) = query.severity {
        title.push_str(&format!(", {severity} severity"));
    }
    if let Some(status) = query.status {
        title.push_str(&format!(", {status}"));
    }
    let backlog = &facts.backlog;
    let mut reply = Reply::titled(title.clone()).with_summary(format!(
        "{title}: {} created, {} open now, {} open High",
        summary.total,
        backlog.open,
        backlog.by_severity[crate::incident::Severity::High.index()]
    ));
    for block in headline_blocks(facts) {
        reply = reply.with(block);
    }
    let filtered = query.severity.is_some() || query.status.is_some();
    if filtered {
        reply = reply.with(Block::Note(
            "The filter narrows the incidents created in this period; the open backlog figures count every open incident.".to_string(),
        ));
    }
    if summary.total == 0 {
        reply = reply.with(Block::Text(match filtered {
            true => "No matching incidents were created in this period.".to_string(),
            false => "No incidents were created in this period.".to_string(),
        }));
    } else {
        reply = reply
            .with(Block::Heading(
                "Status by severity (created in this period)".to_string(),
            ))
            .with(Block::Table(status_by_severity(summary)))
            .with(Block::Heading(
                "MITRE ATT&CK tactics (created in this period)".to_string(),
            ))
            .with(Block::Table(tactics(summary)))
            .with(Block::Note(TACTIC_NOTE.to_string()));
        for block in daily_blocks(summary) {
            reply = reply.with(block);
        }
    }

    // Too many incidents to list: the open High ones are listed instead, as without a filter.
    let listed_created = filtered && facts.listing == Listing::Every;
    let total = match listed_created {
        true => facts.incidents().len(),
        false => facts.backlog.open_high.len(),
    };
    let page_count = total.div_ceil(page_size.max(1)).max(1);
    let page = query.page.min(page_count);
    let shown = (page - 1) * page_size..(page * page_size).min(total);
    let (heading, table) = if listed_created {
        let listed: Vec<&Incident> = facts.incidents()[shown].iter().collect();
        (
            "Incidents (created in this period)",
            incidents_table(&listed, facts.generated),
        )
    } else {
        let listed: Vec<&OpenIncident> = facts.backlog.open_high[shown].iter().collect();
        (
            "Open High-severity incidents (open backlog now, any age)",
            open_incidents_table(None, &listed),
        )
    };
    reply = reply.with(Block::Heading(heading.to_string()));
    reply = reply.with(match table.rows.is_empty() {
        true => Block::Text("None.".to_string()),
        false => Block::Table(table),
    });
    if listed_created && page == 1 {
        reply = open_high_after_filter(reply, facts);
    }
    if page_count > 1 {
        reply.page = Some(Page {
            number: page,
            of: page_count,
        });
        // Paging replaces the card in place, so both directions are offered.
        if page > 1 {
            reply = reply
                .with_action(Action::new("Previous page", next_page(query, page - 1)).in_place());
        }
        if page < page_count {
            reply =
                reply.with_action(Action::new("Next page", next_page(query, page + 1)).in_place());
        }
    }
    reply
        .with(Block::Note(definitions(facts)))
        .with_action(Action::new(
            "Recommendations",
            format!("/recommend {}", period_word(query)),
        ))
        .with_action(Action::new("Weekly report", "/report week"))
}

/// Under a filtered list, the open High incidents still, in one line (number, age, owner):
/// a filter must never hide one, and a second table would push a paged card past Teams' 28 KB.
fn open_high_after_filter(reply: Reply, facts: &PeriodFacts) -> Reply {
    let open_high = &facts.backlog.open_high;
    if open_high.is_empty() {
        return reply;
    }
    let listed: Vec<String> = open_high
        .iter()
        .map(|it| {
            format!(
                "{} ({}, {})",
                it.number,
                duration(it.age),
                it.owner.label().unwrap_or("unassigned")
            )
        })
        .collect();
    reply.with(Block::Text(format!(
        "Open High-severity incidents now, any age ({}): {}. `/incident N` shows one.",
        open_high.len(),
        listed.join(", ")
    )))
}

/// The `/incident N` card.
pub fn incident(detail: &IncidentDetail, now: DateTime<Utc>) -> Reply {
    let it = &detail.incident;
    let tactics: Vec<Cow<str>> = it.tactics.iter().map(Tactic::name).collect();
    let mut facts = vec![
        Fact::new("Severity", it.severity),
        Fact::new("Status", it.status),
        Fact::new("Owner", it.owner.label().unwrap_or("Unassigned")),
        Fact::new(
            "Created",
            format!(
                "{} ({} ago)",
                it.created.format("%Y-%m-%d %H:%M UTC"),
                duration(now - it.created)
            ),
        ),
        Fact::new(
            "Tactics",
            if tactics.is_empty() {
                "None".to_string()
            } else {
                tactics.join(", ")
            },
        ),
        Fact::new(
            "Products",
            if it.alert_products.is_empty() {
                "None".to_string()
            } else {
                it.alert_products.join(", ")
            },
        ),
        Fact::new("Alerts", detail.alerts.len()),
    ];
    if let Some(classification) = it.classification {
        facts.push(Fact::new("Classification", classification));
    }
    if let Some(comment) = it
        .classification_comment
        .as_deref()
        .filter(|it| !it.is_empty())
    {
        facts.push(Fact::new("Classification comment", comment));
    }
    if let Some(triage) = it.time_to_triage() {
        facts.push(Fact::new("Time to triage", duration(triage)));
    }
    if let Some(human) = it.time_to_first_human_action() {
        facts.push(Fact::new("Time to first human action", duration(human)));
    }
    if let Some(resolve) = it.time_to_resolve() {
        facts.push(Fact::new("Time to resolve", duration(resolve)));
    }
    let mut reply = Reply::titled(format!("Incident {}: {}", it.key(), it.title))
        .with_summary(format!(
            "Incident {}: {} ({}, {}, {})",
            it.key(),
            it.title,
            it.severity,
            it.status,
            it.owner.label().unwrap_or("Unassigned")
        ))
        .with(Block::Facts(facts));
    if !it.description.trim().is_empty() {
        reply = reply.with(Block::Text(it.description.to_string()));
    }
    if !detail.alerts.is_empty() {
        reply = reply
            .with(Block::Heading("Alerts".to_string()))
            .with(Block::Table(Table {
                title: None,
                columns: vec![Column::prose("Alert"), Column::left("Severity")],
                rows: detail
                    .alerts
                    .iter()
                    .take(20)
                    .map(|alert| {
                        let entities: Vec<String> = alert
                            .entities
                            .iter()
                            .take(5)
                            .map(|e| format!("{}: {}", e.kind, e.name))
                            .collect();
                        let mut about = vec![alert.product.clone()];
                        about.extend(entities);
                        vec![
                            Cell::text(&alert.name).with_detail(about.join(" · ")),
                            Cell::toned(alert.severity, severity_tone(alert.severity)),
                        ]
                    })
                    .collect(),
            }));
    }
    if !detail.comments.is_empty() {
        reply = reply
            .with(Block::Heading("Latest comments".to_string()))
            .with(Block::Table(Table {
                title: None,
                columns: vec![Column::left("When (UTC)"), Column::prose("Comment")],
                rows: detail
                    .comments
                    .iter()
                    .rev()
                    .take(5)
                    .map(|comment| {
                        vec![
                            Cell::text(comment.created.format("%d %b %H:%M")),
                            Cell::text(&comment.message).with_detail(&comment.author),
                        ]
                    })
                    .collect(),
            }));
    }
    let mut reply = reply.with_action(
        Action::new("Recommend", format!("/recommend {}", it.key())).styled(ActionStyle::Primary),
    );
    if it.status.is_open() {
        reply = reply.with_action(Action::new(
            "Assign to me",
            format!("/assign {} me", it.key()),
        ));
    }
    reply
}

/// The period as a command word that reads back as the same period, so a button
/// (Recommendations, paging) covers the same window as the card it is on.
fn period_word(query: &IncidentsQuery) -> String {
    use crate::period::Period;
    match query.period {
        Period::Today => "today".to_string(),
        Period::Week => "week".to_string(),
        Period::Month => "month".to_string(),
        Period::Days(days) => format!("{days}d"),
        Period::Hours(hours) => format!("{hours}h"),
    }
}

fn next_page(query: &IncidentsQuery, page: usize) -> String {
    let period = period_word(query);
    let mut command = format!("/incidents {period}");
    if let Some(severity) = query.severity {
        command.push_str(&format!(" severity={}", severity.as_str().to_lowercase()));
    }
    if let Some(status) = query.status {
        command.push_str(&format!(" status={}", status.as_str().to_lowercase()));
    }
    command.push_str(&format!(" page={page}"));
    command
}
