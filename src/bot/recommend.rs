//! `/recommend`: runs the advisor for an incident or a period and builds the replies
//! (impact, a recommendations table with each row's source, posture tables, MTTT/MTTR steps).

use super::command::{Target, Verb};
use super::{Bot, BotError, Request};
use crate::advice::{Advisor, IncidentAdvice, Recommendation, Source};
use crate::incident::Incident;
use crate::period::Period;
use crate::present;
use crate::reply::{Action, Block, Reply};
use crate::report::WeeklyReport;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Answers `/recommend N` or `/recommend week|Nd`.
pub async fn run(
    bot: &Bot,
    target: Target,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Reply, BotError> {
    // With no advisor wired, the offline knowledge base and the sources still answer.
    let advisor = match &bot.advisor {
        Some(advisor) => advisor.clone(),
        None => Arc::new(Advisor::new(None, bot.intel.clone())),
    };
    match target {
        Target::Incident(number) => {
            let key = bot.resolve(Verb::Recommend, &number).await?;
            let detail = bot.source.incident(key).await?;
            let advice = advisor
                .incident_advice(&detail, request.thread.as_deref())
                .await;
            Ok(incident(&detail.incident, &advice))
        }
        Target::Period(period) => {
            let report = bot.weekly_report(period.window(now), now).await?;
            Ok(weekly(period, &report))
        }
    }
}

/// Answers free text typed in a thread where `/recommend` ran before, continuing that
/// conversation; `None` when the request has no thread, no advisor is wired, or the thread has
/// no conversation (the caller then answers as usual, e.g. with usage help). The answer is
/// only text: it is never parsed as a command.
pub async fn follow_up(bot: &Bot, request: &Request) -> Option<Reply> {
    let thread = request.thread.as_deref()?;
    let advisor = bot.advisor.as_ref()?;
    let answer = advisor.follow_up(thread, &request.text).await?;
    let mut reply = Reply::titled("Follow-up").with(Block::Text(answer.text));
    if answer.unverified > 0 {
        reply = reply.with(Block::Note(format!(
            "{} figure(s) in the model's answer are not in the facts given to it and are marked [unverified].",
            answer.unverified
        )));
    }
    Some(reply)
}

/// The reply to `/recommend N`.
pub fn incident(incident: &Incident, advice: &IncidentAdvice) -> Reply {
    let mut reply = Reply::titled(format!(
        "Recommendations for incident {}: {}",
        incident.key(),
        incident.title
    ))
    .with(Block::Heading("Impact for the organisation".to_string()))
    .with(Block::Text(advice.impact.clone()))
    .with(Block::Note(if advice.impact_from_model {
        "Written by the model from the incident's facts; figures not in those facts are marked [unverified].".to_string()
    } else {
        "Written from the incident's fields and the offline MITRE ATT&CK knowledge base.".to_string()
    }))
    .with(Block::Heading("Recommendations".to_string()));
    if advice.recommendations.is_empty() {
        reply = reply.with(Block::Text(
            "No recommendations are available for this incident.".to_string(),
        ));
    } else {
        reply = reply.with(Block::List(recommendations_list(
            None,
            &advice.recommendations,
        )));
    }
    for note in &advice.notes {
        reply = reply.with(Block::Note(note.clone()));
    }
    reply.with_action(Action::new(
        "Show incident",
        format!("/incident {}", incident.key()),
    ))
}

/// The reply to `/recommend week|Nd`: the period's headline figures (the same as in
/// `/incidents` and `/report`), then the advice built from those facts.
pub fn weekly(period: Period, report: &WeeklyReport) -> Reply {
    let advice = &report.advice;
    let mut reply = Reply::titled(format!("Posture recommendations for {period}"));
    for block in present::headline_blocks(&report.facts) {
        reply = reply.with(block);
    }
    reply = section(
        reply,
        "Security posture recommendations from Defender XDR",
        &advice.posture_from_defender,
        advice.posture_unread.as_deref().unwrap_or(
            "No Defender XDR recommended actions for the open incidents or this period's true positives.",
        ),
    );
    reply = section(
        reply,
        "Recommendations from threat intelligence based on MITRE tactics",
        &advice.from_threat_intel,
        "No MITRE tactics were recorded in this period.",
    );
    for (heading, lines) in [
        ("Steps to reduce MTTT and MTTR", &advice.mttt_mttr_steps),
        ("Trends", &advice.trend_notes),
        ("Operational insights", &advice.operational_insights),
    ] {
        if !lines.is_empty() {
            reply = reply.with(Block::Heading(heading.to_string()));
            for line in lines {
                reply = reply.with(Block::Text(line.clone()));
            }
        }
    }
    if let Some(note) = &advice.note {
        reply = reply.with(Block::Note(note.clone()));
    }
    reply.with(Block::Note(present::definitions(&report.facts)))
}

fn section(reply: Reply, title: &str, rows: &[Recommendation], empty: &str) -> Reply {
    if rows.is_empty() {
        reply
            .with(Block::Heading(title.to_string()))
            .with(Block::Text(empty.to_string()))
    } else {
        reply.with(Block::List(recommendations_list(Some(title), rows)))
    }
}

pub use crate::present::recommendations_list;

/// The Source column's text.
pub fn source_label(source: Source) -> String {
    source.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advice::WeeklyAdvice;
    use crate::analytics::{DEFAULT_LONG_OPEN, PeriodFacts};
    use crate::incident::Tactic;

    #[test]
    fn weekly_reply_has_the_two_report_lists() {
        let now = chrono::Utc::now();
        let window = Period::Week.window(now);
        let facts = PeriodFacts::compute(&[], None, window, now, DEFAULT_LONG_OPEN);
        let advice = WeeklyAdvice {
            posture_from_defender: vec![Recommendation::new(
                "Turn on tamper protection",
                Source::DefenderXdr,
            )],
            from_threat_intel: vec![Recommendation::new(
                "Enforce MFA",
                Source::OfflineKnowledgeBase(Tactic::InitialAccess),
            )],
            mttt_mttr_steps: vec!["MTTT (mean time to triage) is 1h".to_string()],
            ..WeeklyAdvice::default()
        };
        let reply = weekly(Period::Week, &WeeklyReport { facts, advice });
        let titles: Vec<_> = reply
            .blocks
            .iter()
            .filter_map(|block| match block {
                Block::List(list) => list.title.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(
            titles,
            vec![
                "Security posture recommendations from Defender XDR".to_string(),
                "Recommendations from threat intelligence based on MITRE tactics".to_string()
            ]
        );
        assert!(
            reply
                .blocks
                .contains(&Block::Text("MTTT (mean time to triage) is 1h".to_string()))
        );
    }
}
