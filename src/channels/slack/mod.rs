//! Slack: signature check, slash commands, events, interactions, Web API posts
//! and Socket Mode. The only code that knows Slack's wire formats.

pub mod commands;
pub mod events;
pub mod interactions;
pub mod layouts;
pub mod limits;
pub mod mentions;
pub mod report_post;
pub mod seen;
pub mod socket_mode;
pub mod text;
pub mod verify;
pub mod web_api;

use crate::bot::{Bot, Request};
use crate::channels::workload::{BUSY, Busy, Workload};
use crate::config::SlackConfig;
use crate::render::block_kit::Message;
use axum::Router;
use axum::routing::post;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

pub use layouts::{Layout, Layouts};
pub use seen::{MemorySeenKeys, SeenKeys};
pub use web_api::{SlackUser, WebApi, WebApiError};

/// Text sent when a team or channel is not on the allow-list.
pub const REFUSAL: &str = "Sorry, this workspace or channel is not allowed to use sentinel-bot. Ask your SOC admin to add it.";
/// Text sent when an answer could not be delivered as rendered.
pub const APOLOGY: &str =
    "Sorry, something went wrong while answering. Please try again in a minute.";

/// A clock, injectable so signature tests can pin "now".
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The Slack settings the handlers need, copied out of [`SlackConfig`].
#[derive(Debug, Clone)]
pub struct SlackSettings {
    /// Required for HTTP routes; Socket Mode needs none.
    pub signing_secret: Option<SecretString>,
    /// Slash-command answers visible to the channel rather than only the caller.
    pub in_channel: bool,
    /// Workspaces (team ids) allowed; empty allows all.
    pub allowed_teams: Vec<String>,
    /// Channels allowed; empty allows all.
    pub allowed_channels: Vec<String>,
    /// Largest body the signature middleware buffers.
    pub body_limit: usize,
}

impl SlackSettings {
    /// Settings from the config file section.
    pub fn from_config(config: &SlackConfig) -> SlackSettings {
        SlackSettings {
            signing_secret: config.signing_secret.clone(),
            in_channel: config.in_channel,
            allowed_teams: config.allowed_teams.clone(),
            allowed_channels: config.allowed_channels.clone(),
            body_limit: 256 * 1024,
        }
    }

    /// Whether a request from this team and channel may be answered.
    pub fn allows(&self, team_id: Option<&str>, channel_id: Option<&str>) -> bool {
        listed(&self.allowed_teams, team_id) && listed(&self.allowed_channels, channel_id)
    }

    /// `in_channel` or `ephemeral`, for slash-command follow-ups.
    pub fn response_type(&self) -> &'static str {
        if self.in_channel {
            "in_channel"
        } else {
            "ephemeral"
        }
    }
}

/// An empty list allows everything; otherwise the id must be present and listed.
fn listed(allowed: &[String], id: Option<&str>) -> bool {
    allowed.is_empty() || id.is_some_and(|id| allowed.iter().any(|it| it == id))
}

/// Everything the Slack handlers share.
#[derive(Clone)]
pub struct SlackState {
    /// The platform-neutral core.
    pub bot: Arc<Bot>,
    /// Web API client for posts and uploads.
    pub api: Arc<WebApi>,
    /// Policy and secrets.
    pub settings: Arc<SlackSettings>,
    /// Dedupe keys for event retries and the threads the bot speaks in.
    pub seen: Arc<dyn SeenKeys>,
    /// The clock; `Utc::now` outside tests.
    pub clock: Clock,
    /// Answers still being delivered after Slack got its acknowledgement; shutdown waits for them.
    pub tasks: TaskTracker,
    /// The bound on answers computed at once and waiting, shared with Teams.
    pub workload: Workload,
    /// Block Kit layouts of shared answers, made once per answer.
    pub layouts: Arc<Layouts>,
}

impl SlackState {
    /// State from the config section and its Web API client, with the real clock.
    pub fn new(
        bot: Arc<Bot>,
        config: &SlackConfig,
        api: Arc<WebApi>,
        seen: Arc<dyn SeenKeys>,
    ) -> SlackState {
        SlackState {
            bot,
            api,
            settings: Arc::new(SlackSettings::from_config(config)),
            seen,
            clock: Arc::new(Utc::now),
            tasks: TaskTracker::new(),
            workload: Workload::default(),
            layouts: Arc::default(),
        }
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

/// The Slack HTTP routes, every one behind the signature check:
/// `/slack/commands`, `/slack/events`, `/slack/interactions`.
pub fn router(state: SlackState) -> Router {
    Router::new()
        .route("/slack/commands", post(commands::handle))
        .route("/slack/events", post(events::handle))
        .route("/slack/interactions", post(interactions::handle))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            verify::require_signature,
        ))
        .with_state(state)
}

/// Where a follow-up answer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A slash command's or button's `response_url`: a new message.
    ResponseUrl(String),
    /// An in-place button's `response_url`: the answer replaces the message the button was
    /// on (`replace_original`), unless the reply is a notice for the presser only.
    Replace(String),
    /// A channel, optionally in a thread.
    Channel {
        channel: String,
        thread_ts: Option<String>,
    },
}

/// Answers `request` in the background within the bounded work, or, when the bot is busy,
/// tells the user so at `destination`. Shared by interactions and events.
pub fn spawn_answer(state: &SlackState, request: Request, destination: Destination) {
    match state.workload.admit() {
        Ok(admitted) => {
            let answer = answer_and_deliver(state.clone(), request, destination);
            state.tasks.spawn(admitted.run(answer));
        }
        Err(Busy) => {
            state.tasks.spawn(deliver_busy(state.clone(), destination));
        }
    }
}

/// Tells the user the bot is busy; no answer is computed.
pub async fn deliver_busy(state: SlackState, destination: Destination) {
    let how = Delivery {
        replace: false,
        notice: true,
    };
    if let Err(error) = deliver(&state, &destination, &plain(BUSY), how).await {
        tracing::warn!(%error, "could not tell the Slack user the bot is busy");
    }
}

/// Answers a request and delivers every rendered message; a failed delivery is
/// followed by an apology, so the user never meets silence. Meant to run in a
/// spawned task after Slack got its acknowledgement.
pub async fn answer_and_deliver(state: SlackState, request: Request, destination: Destination) {
    // Answer and lay out in their own task, so that even a panic there ends in an apology.
    let bot = state.bot.clone();
    let layouts = state.layouts.clone();
    let settings = state.settings.clone();
    let now = state.now();
    let answering = tokio::spawn(async move {
        let reply = bot.answer_shared(&request, now).await;
        layouts.layout(&reply, &settings)
    });
    let layout = match answering.await {
        Ok(layout) => layout,
        Err(error) => {
            tracing::error!(%error, "answering a Slack request panicked");
            Arc::new(Layout::new(vec![apology()], false, &state.settings))
        }
    };
    let notice = layout.notice;
    for (index, message) in layout.messages.iter().enumerate() {
        let how = Delivery {
            replace: index == 0 && !notice,
            notice,
        };
        // A new message at a response_url is the body laid out with the answer, the same
        // bytes for every request sharing it.
        let delivered = match &destination {
            Destination::ResponseUrl(url) => {
                state
                    .api
                    .respond_json(url, layout.response_bodies[index].clone())
                    .await
            }
            _ => deliver(&state, &destination, message, how).await,
        };
        if let Err(error) = delivered {
            tracing::error!(%error, "delivering a Slack answer failed");
            let how = Delivery {
                replace: false,
                notice: true,
            };
            if let Err(error) = deliver(&state, &destination, &apology(), how).await {
                tracing::error!(%error, "delivering the apology failed too");
            }
            return;
        }
    }
    if let Destination::Channel {
        channel,
        thread_ts: Some(thread_ts),
    } = &destination
    {
        let key = thread_key(channel, thread_ts);
        if let Err(error) = state.seen.remember(&key).await {
            tracing::warn!(%error, "could not remember the Slack thread");
        }
    }
}

fn apology() -> Message {
    plain(APOLOGY)
}

fn plain(text: &str) -> Message {
    Message {
        text: text.to_string(),
        blocks: vec![json!({"type": "section", "text": {"type": "plain_text", "text": text}})],
    }
}

/// How one message of an answer is delivered to a `response_url`.
#[derive(Debug, Clone, Copy)]
struct Delivery {
    /// Replace the message the button was on (first message of an in-place answer).
    replace: bool,
    /// Show it only to the person who asked (ephemeral), whatever the channel setting.
    notice: bool,
}

async fn deliver(
    state: &SlackState,
    destination: &Destination,
    message: &Message,
    how: Delivery,
) -> Result<(), WebApiError> {
    let response_type = if how.notice {
        "ephemeral"
    } else {
        state.settings.response_type()
    };
    match destination {
        Destination::ResponseUrl(url) => {
            let body = json!({
                "response_type": response_type,
                "replace_original": false,
                "text": message.text,
                "blocks": message.blocks,
            });
            state.api.respond(url, &body).await
        }
        Destination::Replace(url) => {
            let body = json!({
                "response_type": response_type,
                "replace_original": how.replace,
                "text": message.text,
                "blocks": message.blocks,
            });
            state.api.respond(url, &body).await
        }
        Destination::Channel { channel, thread_ts } => state
            .api
            .post_message(channel, message, thread_ts.as_deref())
            .await
            .map(|_| ()),
    }
}

/// The conversation key of a Slack thread, as the core sees it in `Request.thread`.
pub fn thread_key(channel: &str, thread_ts: &str) -> String {
    format!("slack:{channel}:{thread_ts}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_allow_lists_allow_all_and_lists_need_a_match() {
        let mut settings = SlackSettings {
            signing_secret: None,
            in_channel: false,
            allowed_teams: Vec::new(),
            allowed_channels: Vec::new(),
            body_limit: 1024,
        };
        assert!(settings.allows(Some("T1"), None));
        settings.allowed_teams = vec!["T1".into()];
        settings.allowed_channels = vec!["C1".into()];
        assert!(settings.allows(Some("T1"), Some("C1")));
        assert!(!settings.allows(Some("T2"), Some("C1")));
        assert!(!settings.allows(Some("T1"), Some("C2")));
        assert!(!settings.allows(None, Some("C1")));
        assert_eq!(settings.response_type(), "ephemeral");
    }
}
