//! Interactivity: `block_actions` from our buttons. A button's `value` is the
//! command text it runs (that is how the renderer encodes buttons).

use super::{Destination, REFUSAL, SlackState, spawn_answer};
use crate::bot::{Realm, Request, User};
use crate::render::block_kit;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

/// The interaction form: one `payload` field holding JSON.
#[derive(Debug, Deserialize)]
pub struct InteractionForm {
    pub payload: String,
}

/// A `block_actions` payload; only the fields we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Payload {
    #[serde(rename = "type")]
    pub kind: String,
    pub user: Option<Who>,
    pub team: Option<Who>,
    pub channel: Option<Who>,
    pub response_url: Option<String>,
    #[serde(default)]
    pub actions: Vec<ActionTaken>,
    pub container: Option<Container>,
}

/// A user, team or channel reference.
#[derive(Debug, Clone, Deserialize)]
pub struct Who {
    pub id: String,
    pub username: Option<String>,
    pub name: Option<String>,
}

/// One pressed element.
#[derive(Debug, Clone, Deserialize)]
pub struct ActionTaken {
    pub action_id: Option<String>,
    pub value: Option<String>,
}

/// The message the button sat in.
#[derive(Debug, Clone, Deserialize)]
pub struct Container {
    pub channel_id: Option<String>,
    pub thread_ts: Option<String>,
    pub message_ts: Option<String>,
}

/// POST /slack/interactions (signature already verified). Always 200 once parsed:
/// the answer follows through `response_url`.
pub async fn handle(
    State(state): State<SlackState>,
    Form(form): Form<InteractionForm>,
) -> StatusCode {
    match serde_json::from_str::<Payload>(&form.payload) {
        Ok(payload) => {
            accept(&state, payload).await;
            StatusCode::OK
        }
        Err(error) => {
            tracing::warn!(%error, "unreadable Slack interaction payload");
            StatusCode::BAD_REQUEST
        }
    }
}

/// Runs each pressed button's command in the background. Shared by HTTP and Socket Mode.
pub async fn accept(state: &SlackState, payload: Payload) {
    if payload.kind == "block_actions" && !allowed(state, &payload) {
        tracing::info!("refusing a Slack interaction from a team or channel not allowed");
        if let Some(url) = payload.response_url {
            let api = state.api.clone();
            state.tasks.spawn(async move {
                let body = json!({"response_type": "ephemeral", "replace_original": false, "text": REFUSAL});
                if let Err(error) = api.respond(&url, &body).await {
                    tracing::warn!(%error, "could not send the Slack refusal");
                }
            });
        }
        return;
    }
    for (request, destination) in plan(state, &payload) {
        spawn_answer(state, request, destination);
    }
}

/// Whether the payload's team and channel are on the allow-lists.
fn allowed(state: &SlackState, payload: &Payload) -> bool {
    state.settings.allows(
        payload.team.as_ref().map(|it| it.id.as_str()),
        channel_of(payload).as_deref(),
    )
}

/// The channel the button was pressed in.
fn channel_of(payload: &Payload) -> Option<String> {
    payload
        .channel
        .as_ref()
        .map(|it| it.id.clone())
        .or_else(|| {
            payload
                .container
                .as_ref()
                .and_then(|it| it.channel_id.clone())
        })
}

/// The requests a payload asks for and where each answer goes; empty when refused.
pub fn plan(state: &SlackState, payload: &Payload) -> Vec<(Request, Destination)> {
    if payload.kind != "block_actions" {
        return Vec::new();
    }
    let Some(user) = &payload.user else {
        return Vec::new();
    };
    let channel = channel_of(payload);
    if !allowed(state, payload) {
        return Vec::new();
    }
    let thread_ts = payload
        .container
        .as_ref()
        .and_then(|it| it.thread_ts.clone().or_else(|| it.message_ts.clone()));
    let channel_destination = channel.as_ref().map(|channel| Destination::Channel {
        channel: channel.clone(),
        thread_ts: thread_ts.clone(),
    });
    payload
        .actions
        .iter()
        .filter_map(|action| {
            let value = action.value.as_deref().filter(|it| !it.trim().is_empty())?;
            let in_place = action
                .action_id
                .as_deref()
                .is_some_and(|id| id.starts_with(block_kit::REPLACE_ACTION_ID_PREFIX));
            let destination = match &payload.response_url {
                Some(url) if in_place => Destination::Replace(url.clone()),
                Some(url) => Destination::ResponseUrl(url.clone()),
                None => channel_destination.clone()?,
            };
            Some((value, destination))
        })
        .map(|(value, destination)| {
            let request = Request {
                text: value.to_string(),
                user: User {
                    id: user.id.clone(),
                    name: user.username.clone().or_else(|| user.name.clone()),
                    email: None,
                    realm: Realm::Slack,
                },
                thread: match (&channel, &thread_ts) {
                    (Some(channel), Some(ts)) => Some(super::thread_key(channel, ts)),
                    _ => None,
                },
                mentions: Vec::new(),
            };
            (request, destination)
        })
        .collect()
}
