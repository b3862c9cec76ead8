//! What the bot answers to text that is no command: a near miss of a command word is read as
//! that command and says so; a question in a conversation goes to the model; without a model
//! it gets a short, honest answer naming the commands that work offline.
//! Must not know Teams, Slack or HTTP.

use super::command::{self, Suggestion, UsageError};
use super::{Bot, Request, recommend, views};
use crate::reply::{Action, Block, Reply};
use chrono::{DateTime, Utc};

/// Answers text the grammar could not read as any command (`error` says why).
pub async fn answer(bot: &Bot, request: &Request, error: &UsageError, now: DateTime<Utc>) -> Reply {
    if let Some(suggestion) = command::suggest(&request.text) {
        return corrected(bot, request, suggestion, now).await;
    }
    // Free text in a thread where the bot advised earlier is a follow-up question.
    if let Some(reply) = recommend::follow_up(bot, request).await {
        return reply;
    }
    if request.thread.is_some() && !bot.has_model() {
        return offline(&request.text);
    }
    views::usage_error(error)
}

/// Answers a command whose arguments did not read (`error` says why): as the corrected
/// command when a slip such as `/incidents wek` has one that reads, else with the usage.
pub async fn misread_arguments(
    bot: &Bot,
    request: &Request,
    error: &UsageError,
    now: DateTime<Utc>,
) -> Reply {
    match command::suggest(&request.text) {
        Some(suggestion) if suggestion.parsed.is_ok() => {
            corrected(bot, request, suggestion, now).await
        }
        _ => views::usage_error(error),
    }
}

/// Runs the corrected command, or explains what is still wrong with it, saying how the text
/// was read.
async fn corrected(
    bot: &Bot,
    request: &Request,
    suggestion: Suggestion,
    now: DateTime<Utc>,
) -> Reply {
    let question = format!("Did you mean `{}`?", suggestion.text);
    match suggestion.parsed {
        Ok(parsed) => {
            let mut reply = match bot.run(parsed, request, now).await {
                Ok(reply) => reply,
                Err(error) => views::error(&error),
            };
            reply
                .blocks
                .insert(0, Block::Note(format!("{question} That is how I read it.")));
            reply
        }
        Err(usage) => views::usage_error(&UsageError {
            message: format!("{question} {}", usage.message),
            verb: usage.verb,
        }),
    }
}

/// The answer to a question when no model is configured: what the bot can do offline and the
/// commands that do it, using an incident number from the question when it names one.
pub fn offline(question: &str) -> Reply {
    let number = incident_number(question);
    let incident = number.map_or("N".to_string(), |number| number.to_string());
    let lines = [
        format!("`/incident {incident}`: the incident's details, alerts, entities and comments."),
        format!(
            "`/recommend {incident}`: its impact and recommendations from Defender XDR, threat intelligence and the MITRE ATT&CK knowledge base."
        ),
        "`/incidents week`: counts by status, severity and tactic, and the open high-severity incidents.".to_string(),
        "`/report week`: the incident report for the week.".to_string(),
    ];
    let mut reply = Reply::titled("I can only answer commands here").with(Block::Text(
        "No language model is configured for this bot, so I cannot answer questions in free text. These commands answer from Sentinel's data and the offline knowledge base:".to_string(),
    ));
    for line in lines {
        reply = reply.with(Block::Text(line));
    }
    reply = reply.with(Block::Note("`/help` lists every command.".to_string()));
    if let Some(number) = number {
        reply = reply
            .with_action(Action::new(
                format!("Show incident {number}"),
                format!("/incident {number}"),
            ))
            .with_action(Action::new(
                format!("Recommend for {number}"),
                format!("/recommend {number}"),
            ));
    }
    reply
}

/// The first `123` or `#123` in the text that could be an incident number.
fn incident_number(text: &str) -> Option<u64> {
    text.split(|c: char| !c.is_ascii_digit() && c != '#')
        .map(|word| word.trim_start_matches('#'))
        .filter(|word| {
            !word.is_empty() && word.len() <= 12 && word.chars().all(|c| c.is_ascii_digit())
        })
        .find_map(|word| word.parse::<u64>().ok().filter(|number| *number > 0))
}
