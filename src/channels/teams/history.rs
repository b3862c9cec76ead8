//! Reading a Teams channel's recent messages back through Microsoft Graph
//! (`GET /v1.0/teams/{team-id}/channels/{channel-id}/messages`), app-only, under the
//! `ChannelMessage.Read.Group` resource-specific consent a team owner grants when installing
//! the app. The Bot Framework connector cannot read messages at all, and that consent is
//! the narrowest that can: one team's channel messages, no protected-API approval
//! (which only the tenant-wide `ChannelMessage.Read.All` needs).

use super::connector::{Connector, TeamsError};
use crate::config::TeamsChannel;
use crate::upstream::{self, Upstream};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::time::Duration;

/// Messages per page; Graph allows at most 50.
const PAGE_SIZE: &str = "50";
/// Attempts per page, for 429 and 503 (Graph's throttling answers).
const MAX_ATTEMPTS: u32 = 3;
/// Longest Retry-After waited for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A channel's root message, reduced to what finds the bot's own posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMessage {
    /// The message id, which is also the activity id the connector gave it.
    pub id: String,
    /// The app that sent it (`from.application.id`), if an app did.
    pub app_id: Option<String>,
    /// Each attachment's `content` as Graph returns it (an Adaptive Card's JSON text).
    pub attachments: Vec<String>,
    /// `lastModifiedDateTime`, else `createdDateTime`.
    pub modified: Option<DateTime<Utc>>,
}

/// Why a channel's messages could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Nothing to read with: no app password (Agents Playground) or no `team_id` configured.
    #[error("{0}")]
    NotConfigured(&'static str),
    /// Graph refused the app: the team has not granted `ChannelMessage.Read.Group`.
    #[error(
        "Microsoft Graph refused to list the channel's messages (HTTP {0}): the app needs the ChannelMessage.Read.Group consent in this team"
    )]
    Refused(u16),
    /// Any other failure (token, transport, 5xx after retries, unreadable answer).
    #[error(transparent)]
    Teams(#[from] TeamsError),
}

impl Connector {
    /// The channel's root messages changed since `since`, newest first, reading at most
    /// `max_pages` pages of 50.
    pub async fn channel_messages(
        &self,
        channel: &TeamsChannel,
        since: DateTime<Utc>,
        max_pages: usize,
    ) -> Result<Vec<ChannelMessage>, HistoryError> {
        let team_id = channel
            .team_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or(HistoryError::NotConfigured(
                "no team_id is configured for this Teams channel",
            ))?;
        let token =
            self.graph_token(&channel.tenant_id)
                .await?
                .ok_or(HistoryError::NotConfigured(
                    "the bot has no app password, so it has no Graph token",
                ))?;
        let base = self.credentials.graph_url.trim_end_matches('/').to_string();
        let mut url = format!(
            "{base}/v1.0/teams/{}/channels/{}/messages?$top={PAGE_SIZE}",
            urlencoding::encode(team_id),
            urlencoding::encode(&channel.channel_id)
        );
        let mut messages = Vec::new();
        for _ in 0..max_pages.max(1) {
            let page = self.graph_page(&url, token.expose_secret()).await?;
            let before = messages.len();
            messages.extend(
                page.get("value")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(channel_message),
            );
            // Graph lists newest first; a page entirely older than `since` ends the search.
            let page_messages = &messages[before..];
            let older_reached = !page_messages.is_empty()
                && page_messages
                    .iter()
                    .all(|message| message.modified.is_some_and(|at| at < since));
            // The bearer token goes only to Graph itself, whatever the next link says.
            let next = page
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .filter(|next| next.starts_with(&format!("{base}/")));
            match next {
                Some(next) if !older_reached => url = next.to_string(),
                _ => break,
            }
        }
        Ok(messages)
    }

    async fn graph_page(&self, url: &str, token: &str) -> Result<Value, HistoryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = self.http.get(url).bearer_auth(token);
            let response = upstream::send(Upstream::Graph, request)
                .await
                .map_err(TeamsError::from)?;
            let status = response.status().as_u16();
            if response.status().is_success() {
                return Ok(response.json().await.map_err(TeamsError::from)?);
            }
            if matches!(status, 401 | 403) {
                return Err(HistoryError::Refused(status));
            }
            if !matches!(status, 429 | 503) || attempt >= MAX_ATTEMPTS {
                let body = response.text().await.unwrap_or_default();
                return Err(TeamsError::Status { status, body }.into());
            }
            let wait = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map_or(Duration::from_secs(1), Duration::from_secs);
            tokio::time::sleep(wait.min(MAX_RETRY_AFTER)).await;
        }
    }
}

fn channel_message(message: &Value) -> Option<ChannelMessage> {
    let time = |field: &str| {
        message
            .get(field)
            .and_then(Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc))
    };
    Some(ChannelMessage {
        id: message.get("id")?.as_str()?.to_string(),
        app_id: message
            .pointer("/from/application/id")
            .and_then(Value::as_str)
            .map(str::to_string),
        attachments: message
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|attachment| attachment.get("content").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        modified: time("lastModifiedDateTime").or_else(|| time("createdDateTime")),
    })
}
