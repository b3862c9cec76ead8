//! The weekly report as a Teams post sent part by part ([`crate::schedule::post`]): a new
//! channel thread whose first message is a small placeholder card, then replaced by the
//! report card with `UpdateActivity`. Both cards carry the run key in a hidden element, the
//! marker by which the bot recognises its own post when it reads the channel back through
//! Microsoft Graph ([`super::history`]) after a lost answer. The chart is part of the card
//! (Teams' `Chart.*` elements), so a Teams post has one part.

use super::activity::{ADAPTIVE_CARD, Activity, Attachment};
use super::connector::{ChannelThread, Connector, TeamsError};
use super::history::HistoryError;
use crate::config::TeamsChannel;
use crate::render::adaptive_card::{self, Options};
use crate::render::escape::truncate;
use crate::reply::Reply;
use crate::schedule::{Filled, Lookup, Post};
use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

/// The only part of a Teams report post.
pub const MESSAGE_PART: &str = "message:0";
/// Messages are read from this long before the recorded send, for clock skew.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(10);
/// Pages of 50 root messages read at most.
const HISTORY_PAGES: usize = 4;

/// One channel's weekly report for one run.
pub struct ReportPost {
    connector: Connector,
    channel: TeamsChannel,
    marker: String,
    placeholder: Value,
    card: Value,
    /// The report's summary line, for notifications and the chat list.
    summary: String,
}

impl ReportPost {
    /// The `report` for `channel`, marked with `run_key`; the placeholder card shows
    /// `placeholder_text` until it is replaced.
    pub fn new(
        connector: Connector,
        channel: TeamsChannel,
        run_key: &str,
        placeholder_text: &str,
        report: &Reply,
    ) -> ReportPost {
        let marker = marker(run_key, MESSAGE_PART);
        let options = Options::teams();
        let placeholder = marked(
            adaptive_card::render(&Reply::titled(placeholder_text), &options),
            &marker,
        );
        let card = marked(adaptive_card::render(report, &options), &marker);
        ReportPost {
            connector,
            channel,
            marker,
            placeholder,
            card,
            summary: truncate(&report.summary_text(), 500),
        }
    }

    fn check_part(part: &str) -> anyhow::Result<()> {
        anyhow::ensure!(part == MESSAGE_PART, "a Teams report has no part {part}");
        Ok(())
    }
}

#[async_trait::async_trait]
impl Post for ReportPost {
    fn parts(&self) -> Vec<String> {
        vec![MESSAGE_PART.to_string()]
    }

    async fn prepare(&self, part: &str) -> anyhow::Result<Option<String>> {
        ReportPost::check_part(part)?;
        Ok(None)
    }

    async fn send(&self, part: &str, _hint: Option<&str>) -> anyhow::Result<String> {
        ReportPost::check_part(part)?;
        let thread = self
            .connector
            .start_thread_once(
                &self.channel,
                &card_activity(&self.placeholder, &self.summary),
            )
            .await?;
        Ok(receipt(&thread))
    }

    async fn find(
        &self,
        part: &str,
        _hint: Option<&str>,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Lookup> {
        ReportPost::check_part(part)?;
        let messages = match self
            .connector
            .channel_messages(&self.channel, since - CLOCK_SKEW, HISTORY_PAGES)
            .await
        {
            Ok(messages) => messages,
            Err(error @ (HistoryError::NotConfigured(_) | HistoryError::Refused(_))) => {
                return Ok(Lookup::Unavailable(error.to_string()));
            }
            Err(HistoryError::Teams(error)) => return Err(error.into()),
        };
        let app_id = self.connector.app_id();
        let found = messages.iter().find(|message| {
            message.app_id.as_deref() == Some(app_id)
                && message
                    .attachments
                    .iter()
                    .any(|content| carries_marker(content, &self.marker))
        });
        Ok(found.map_or(Lookup::Absent, |message| {
            Lookup::Found(receipt(&ChannelThread {
                conversation_id: format!("{};messageid={}", self.channel.channel_id, message.id),
                activity_id: message.id.clone(),
            }))
        }))
    }

    async fn fill(&self, part: &str, receipt: &str) -> anyhow::Result<Filled> {
        ReportPost::check_part(part)?;
        let thread = parse_receipt(receipt)?;
        let activity = card_activity(&self.card, &self.summary);
        match self
            .connector
            .update_activity(&self.channel.service_url, &thread, &activity)
            .await
        {
            Ok(()) => Ok(Filled::Yes),
            // The message was deleted in the channel.
            Err(TeamsError::Status { status: 404, .. }) => Ok(Filled::Gone),
            Err(error) => Err(error.into()),
        }
    }
}

/// The hidden marker naming one part of one run, e.g.
/// `sentinel-bot-report:report:teams:19:abc@thread.tacv2:2026-W48#message:0`.
pub fn marker(run_key: &str, part: &str) -> String {
    format!("sentinel-bot-report:{run_key}#{part}")
}

/// The card with an invisible first element whose `id` is the marker: Teams never shows
/// it, and Graph returns the card's JSON, where the bot finds it again.
fn marked(mut card: Value, marker: &str) -> Value {
    let element = json!({
        "type": "TextBlock",
        "id": marker,
        "text": marker,
        "isVisible": false,
    });
    if let Some(body) = card.get_mut("body").and_then(Value::as_array_mut) {
        body.insert(0, element);
    }
    card
}

/// Whether an attachment's content (an Adaptive Card's JSON text) has an element with
/// the marker as its `id`.
fn carries_marker(content: &str, marker: &str) -> bool {
    fn walk(value: &Value, marker: &str) -> bool {
        match value {
            Value::Object(map) => {
                map.get("id").and_then(Value::as_str) == Some(marker)
                    || map.values().any(|child| walk(child, marker))
            }
            Value::Array(items) => items.iter().any(|child| walk(child, marker)),
            _ => false,
        }
    }
    serde_json::from_str::<Value>(content).is_ok_and(|card| walk(&card, marker))
}

/// A message activity holding only the card (no text: Teams would split it, protocols.md item 18).
fn card_activity(card: &Value, summary: &str) -> Activity {
    Activity {
        summary: Some(summary.to_string()),
        kind: "message".to_string(),
        attachments: vec![Attachment {
            content_type: ADAPTIVE_CARD.to_string(),
            content: card.clone(),
        }],
        ..Activity::default()
    }
}

/// A thread's receipt: `{"conversation": "…;messageid=…", "activity": "…"}`.
fn receipt(thread: &ChannelThread) -> String {
    json!({"conversation": thread.conversation_id, "activity": thread.activity_id}).to_string()
}

fn parse_receipt(receipt: &str) -> anyhow::Result<ChannelThread> {
    let value: Value = serde_json::from_str(receipt).context("reading a Teams post receipt")?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .with_context(|| format!("the Teams post receipt has no {name}"))
    };
    Ok(ChannelThread {
        conversation_id: field("conversation")?,
        activity_id: field("activity")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_hidden_in_the_card_and_found_in_graphs_copy() {
        let marker = marker("report:teams:19:a@thread.tacv2:2026-W48", MESSAGE_PART);
        let card = marked(
            adaptive_card::render(&Reply::titled("Report"), &Options::default()),
            &marker,
        );
        assert_eq!(card["body"][0]["isVisible"], false);
        assert_eq!(card["body"][0]["id"], marker.as_str());
        // Graph returns the card as JSON text.
        assert!(carries_marker(&card.to_string(), &marker));
        let other = marker.replace("W48", "W49");
        assert!(!carries_marker(&card.to_string(), &other));
        assert!(!carries_marker("not json", &marker));
    }

    #[test]
    fn receipts_round_trip() {
        let thread = ChannelThread {
            conversation_id: "19:a@thread.tacv2;messageid=17".to_string(),
            activity_id: "17".to_string(),
        };
        assert_eq!(parse_receipt(&receipt(&thread)).unwrap(), thread);
        assert!(parse_receipt("{}").is_err());
    }
}
