//! The weekly report as a Slack post sent part by part ([`crate::schedule::post`]): each
//! Block Kit message is posted as a placeholder carrying the run key in its message
//! metadata and filled with `chat.update`; each file (the chart PNG, the full report as
//! HTML) is uploaded unshared, then shared.
//! After a lost answer the channel's history (`conversations.history` with
//! `include_all_metadata`) shows what was delivered.

use super::web_api::{HistoryMessage, Metadata, PostedMessage, WebApi, WebApiError};
use crate::render::block_kit::{self, Message};
use crate::reply::Reply;
use crate::schedule::{Filled, Lookup, Post};
use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use std::sync::Arc;

/// Metadata event type of every report message the bot posts.
pub const EVENT_TYPE: &str = "sentinel_bot_report";
/// Part names of files start with this.
const FILE_PART: &str = "file:";

/// A file that follows the report's messages, as its own part of the post.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFile {
    /// The part's name, starting with `file:`, e.g. `file:chart`.
    pub part: &'static str,
    /// The file's name in the channel, e.g. `incidents.png`.
    pub name: &'static str,
    pub title: &'static str,
    pub bytes: Vec<u8>,
}
/// History is read from this long before the recorded send, for clock skew between the
/// bot and Slack.
const CLOCK_SKEW: TimeDelta = TimeDelta::minutes(10);
/// Pages of history read at most (100 messages each, or 15 for rate-limited apps).
const HISTORY_PAGES: usize = 5;
/// Slack error codes meaning the history cannot be read: scope not granted, or the bot
/// posts with `chat:write.public` without being a member.
const HISTORY_REFUSALS: [&str; 2] = ["missing_scope", "not_in_channel"];

/// One channel's weekly report for one run.
pub struct ReportPost {
    api: Arc<WebApi>,
    channel: String,
    run_key: String,
    placeholder: Message,
    messages: Vec<Message>,
    files: Vec<ReportFile>,
}

impl ReportPost {
    /// The report `messages` and `files` for `channel`, marked with `run_key`; the
    /// placeholder shows `placeholder_text` until each message is filled.
    pub fn new(
        api: Arc<WebApi>,
        channel: &str,
        run_key: &str,
        placeholder_text: &str,
        messages: Vec<Message>,
        files: Vec<ReportFile>,
    ) -> ReportPost {
        let placeholder = block_kit::render(&Reply::titled(placeholder_text))
            .into_iter()
            .next()
            .unwrap_or_else(|| Message {
                text: placeholder_text.to_string(),
                blocks: Vec::new(),
            });
        ReportPost {
            api,
            channel: channel.to_string(),
            run_key: run_key.to_string(),
            placeholder,
            messages,
            files,
        }
    }

    fn file(&self, part: &str) -> anyhow::Result<&ReportFile> {
        self.files
            .iter()
            .find(|file| file.part == part)
            .with_context(|| format!("the report has no part {part}"))
    }

    fn metadata(&self, part: &str) -> Metadata {
        Metadata {
            event_type: EVENT_TYPE.to_string(),
            payload: json!({"run_key": self.run_key, "part": part}),
        }
    }

    fn message(&self, part: &str) -> anyhow::Result<&Message> {
        part.strip_prefix("message:")
            .and_then(|index| index.parse::<usize>().ok())
            .and_then(|index| self.messages.get(index))
            .with_context(|| format!("the report has no part {part}"))
    }

    fn is_marked(&self, message: &HistoryMessage, part: &str) -> bool {
        message.metadata.as_ref().is_some_and(|metadata| {
            metadata.event_type == EVENT_TYPE
                && metadata.payload.get("run_key").and_then(|key| key.as_str())
                    == Some(self.run_key.as_str())
                && metadata.payload.get("part").and_then(|name| name.as_str()) == Some(part)
        })
    }
}

#[async_trait::async_trait]
impl Post for ReportPost {
    fn parts(&self) -> Vec<String> {
        let messages = (0..self.messages.len()).map(|index| format!("message:{index}"));
        let files = self.files.iter().map(|file| file.part.to_string());
        messages.chain(files).collect()
    }

    async fn prepare(&self, part: &str) -> anyhow::Result<Option<String>> {
        if !part.starts_with(FILE_PART) {
            return Ok(None);
        }
        let file = self.file(part)?;
        let file_id = self
            .api
            .upload_unshared(file.name, file.bytes.clone())
            .await?;
        Ok(Some(file_id))
    }

    async fn send(&self, part: &str, hint: Option<&str>) -> anyhow::Result<String> {
        if part.starts_with(FILE_PART) {
            let file = self.file(part)?;
            let file_id = hint.with_context(|| format!("{} was not uploaded", file.name))?;
            self.api
                .share_file_once(&self.channel, file_id, file.title)
                .await?;
            return Ok(file_id.to_string());
        }
        self.message(part)?;
        let posted = self
            .api
            .post_message_once(&self.channel, &self.placeholder, &self.metadata(part))
            .await?;
        Ok(receipt(&posted))
    }

    async fn find(
        &self,
        part: &str,
        hint: Option<&str>,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Lookup> {
        let oldest = (since - CLOCK_SKEW).timestamp();
        let history = match self.api.history(&self.channel, oldest, HISTORY_PAGES).await {
            Ok(history) => history,
            Err(WebApiError::Slack { code, .. }) if HISTORY_REFUSALS.contains(&code.as_str()) => {
                return Ok(Lookup::Unavailable(format!(
                    "Slack refused conversations.history: {code}"
                )));
            }
            Err(error) => return Err(error.into()),
        };
        let found = if part.starts_with(FILE_PART) {
            let Some(file_id) = hint else {
                return Ok(Lookup::Absent);
            };
            history
                .iter()
                .any(|message| message.file_ids.iter().any(|id| id == file_id))
                .then(|| file_id.to_string())
        } else {
            history
                .iter()
                .find(|message| self.is_marked(message, part))
                .map(|message| {
                    receipt(&PostedMessage {
                        channel: self.channel.clone(),
                        ts: message.ts.clone(),
                    })
                })
        };
        Ok(found.map_or(Lookup::Absent, Lookup::Found))
    }

    async fn fill(&self, part: &str, receipt: &str) -> anyhow::Result<Filled> {
        if part.starts_with(FILE_PART) {
            return Ok(Filled::Yes);
        }
        let message = self.message(part)?;
        let posted = parse_receipt(receipt)?;
        match self
            .api
            .update_message(&posted, message, &self.metadata(part))
            .await
        {
            Ok(()) => Ok(Filled::Yes),
            Err(WebApiError::Slack { code, .. }) if code == "message_not_found" => Ok(Filled::Gone),
            Err(error) => Err(error.into()),
        }
    }
}

/// A message's receipt: `{"channel": "C…", "ts": "…"}`.
fn receipt(posted: &PostedMessage) -> String {
    json!({"channel": posted.channel, "ts": posted.ts}).to_string()
}

fn parse_receipt(receipt: &str) -> anyhow::Result<PostedMessage> {
    let value: serde_json::Value =
        serde_json::from_str(receipt).context("reading a Slack message receipt")?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(|it| it.as_str())
            .map(str::to_string)
            .with_context(|| format!("the Slack message receipt has no {name}"))
    };
    Ok(PostedMessage {
        channel: field("channel")?,
        ts: field("ts")?,
    })
}
