//! Events API: url_verification, `app_mention` and thread replies that start or
//! continue a conversation, with retries deduplicated by `event_id`.

use super::{
    Destination, REFUSAL, SlackState, answer_and_deliver, deliver_busy, mentions, thread_key,
};
use crate::bot::{Realm, Request, User};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// An Events API envelope; only the fields we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    pub kind: String,
    /// Set on `url_verification`.
    pub challenge: Option<String>,
    pub team_id: Option<String>,
    pub event_id: Option<String>,
    pub event: Option<Event>,
    /// Who the event is delivered for; holds the bot's own user id.
    #[serde(default)]
    pub authorizations: Vec<Authorization>,
}

/// One installation the event was delivered to.
#[derive(Debug, Clone, Deserialize)]
pub struct Authorization {
    pub user_id: Option<String>,
}

/// The inner event of an `event_callback`.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub subtype: Option<String>,
    pub user: Option<String>,
    pub bot_id: Option<String>,
    #[serde(default)]
    pub text: String,
    pub channel: Option<String>,
    pub ts: Option<String>,
    pub thread_ts: Option<String>,
}

/// What to do with an event, decided without side effects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Answer the URL verification challenge.
    Challenge(String),
    /// Answer `request` in `channel`, thread `thread_ts`.
    Answer {
        request: Request,
        channel: String,
        thread_ts: String,
    },
    /// Answer in this thread only if the bot already spoke there.
    ContinueThread {
        request: Request,
        channel: String,
        thread_ts: String,
    },
    /// Tell the user, privately, that this team or channel may not use the bot.
    Refuse { channel: String, user: String },
    /// Nothing to do (bot messages, edits, other event types, refused thread replies).
    Ignore,
}

/// POST /slack/events (signature already verified).
pub async fn handle(State(state): State<SlackState>, body: Bytes) -> Response {
    let envelope: Envelope = match serde_json::from_slice(&body) {
        Ok(envelope) => envelope,
        Err(error) => {
            tracing::warn!(%error, "unreadable Slack event");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    match accept(&state, envelope).await {
        Some(challenge) => Json(json!({"challenge": challenge})).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

/// Deduplicates, plans and spawns the answer; returns the challenge to echo, if any.
/// Shared by the HTTP route and Socket Mode.
pub async fn accept(state: &SlackState, envelope: Envelope) -> Option<String> {
    let plan = plan(state, &envelope);
    if let Plan::Challenge(challenge) = plan {
        return Some(challenge);
    }
    if plan == Plan::Ignore {
        return None;
    }
    if let Some(event_id) = &envelope.event_id {
        match state
            .seen
            .first_time(&format!("slack:event:{event_id}"))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(event_id, "ignoring a repeated Slack event");
                return None;
            }
            // Answering twice is better than never answering.
            Err(error) => tracing::warn!(%error, "event dedupe store failed"),
        }
    }
    let bot_user = bot_user(&envelope).map(str::to_string);
    let state = state.clone();
    state.tasks.clone().spawn(async move {
        let (request, channel, thread_ts) = match plan {
            Plan::Refuse { channel, user } => {
                if let Err(error) = state.api.post_ephemeral(&channel, &user, REFUSAL).await {
                    tracing::warn!(%error, "could not send the Slack refusal");
                }
                return;
            }
            Plan::Answer {
                request,
                channel,
                thread_ts,
            } => (request, channel, thread_ts),
            Plan::ContinueThread {
                request,
                channel,
                thread_ts,
            } => {
                let key = thread_key(&channel, &thread_ts);
                if !state.seen.contains(&key).await.unwrap_or(false) {
                    return;
                }
                (request, channel, thread_ts)
            }
            Plan::Challenge(_) | Plan::Ignore => return,
        };
        let request = mentions::read_request(&state.api, request, bot_user.as_deref()).await;
        let destination = Destination::Channel {
            channel,
            thread_ts: Some(thread_ts),
        };
        match state.workload.admit() {
            Ok(admitted) => {
                admitted
                    .run(answer_and_deliver(state, request, destination))
                    .await;
            }
            Err(_) => deliver_busy(state, destination).await,
        }
    });
    None
}

/// Decides what an envelope asks for.
pub fn plan(state: &SlackState, envelope: &Envelope) -> Plan {
    if envelope.kind == "url_verification" {
        return Plan::Challenge(envelope.challenge.clone().unwrap_or_default());
    }
    let Some(event) = &envelope.event else {
        return Plan::Ignore;
    };
    // Our own posts and edits come back as events; answering them would loop.
    if envelope.kind != "event_callback" || event.bot_id.is_some() || event.subtype.is_some() {
        return Plan::Ignore;
    }
    let (Some(user), Some(channel), Some(ts)) = (&event.user, &event.channel, &event.ts) else {
        return Plan::Ignore;
    };
    let bot_user = bot_user(envelope);
    if bot_user == Some(user.as_str()) {
        return Plan::Ignore;
    }
    if !state
        .settings
        .allows(envelope.team_id.as_deref(), Some(channel))
    {
        tracing::info!(
            channel,
            "refusing a Slack event from a team or channel not allowed"
        );
        // Only a mention deserves an answer; plain thread chatter is ignored.
        return if event.kind == "app_mention" {
            Plan::Refuse {
                channel: channel.clone(),
                user: user.clone(),
            }
        } else {
            Plan::Ignore
        };
    }
    let thread_ts = event.thread_ts.clone().unwrap_or_else(|| ts.clone());
    // The text stays in Slack's formatting here; it is decoded, and its mentions resolved,
    // in the background task (`mentions::read_request`).
    let request = Request {
        text: event.text.clone(),
        user: User {
            id: user.clone(),
            realm: Realm::Slack,
            ..User::default()
        },
        thread: Some(thread_key(channel, &thread_ts)),
        mentions: Vec::new(),
    };
    match event.kind.as_str() {
        "app_mention" => Plan::Answer {
            request,
            channel: channel.clone(),
            thread_ts,
        },
        "message" if event.thread_ts.is_some() => {
            // A reply that mentions the bot also arrives as app_mention; answer that one only.
            let mentions_bot = match bot_user {
                Some(bot) => event.text.contains(&format!("<@{bot}>")),
                None => event.text.contains("<@"),
            };
            if mentions_bot {
                Plan::Ignore
            } else {
                Plan::ContinueThread {
                    request,
                    channel: channel.clone(),
                    thread_ts,
                }
            }
        }
        _ => Plan::Ignore,
    }
}

/// The bot's own user id, from the installation the event was delivered to.
fn bot_user(envelope: &Envelope) -> Option<&str> {
    envelope
        .authorizations
        .iter()
        .find_map(|it| it.user_id.as_deref())
}
