//! Socket Mode: the same commands, events and interactions over slack-morphism's
//! WebSocket listener, for workspaces without a public URL. Envelopes are
//! reshaped into our HTTP payload types and handled by the same functions.
//!
//! The live socket cannot be tested offline; the routing functions are.

use super::SlackState;
use super::commands::{self, SlashCommand};
use super::events::{self, Envelope};
use super::interactions::{self, Payload};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use slack_morphism::prelude::*;
use std::sync::Arc;

/// Why a Socket Mode envelope could not be turned into our payload types.
#[derive(Debug, thiserror::Error)]
#[error("unexpected Socket Mode payload shape: {0}")]
pub struct RouteError(#[from] serde_json::Error);

fn reshape<T: Serialize, U: DeserializeOwned>(event: &T) -> Result<U, RouteError> {
    Ok(serde_json::from_value(serde_json::to_value(event)?)?)
}

/// A slash command envelope as the HTTP form would have carried it.
pub fn command_of(event: &SlackCommandEvent) -> Result<SlashCommand, RouteError> {
    reshape(event)
}

/// A push event as the Events API would have delivered it.
pub fn envelope_of(event: &SlackPushEventCallback) -> Result<Envelope, RouteError> {
    let mut value: Value = serde_json::to_value(event)?;
    // The outer `type` is implied by the callback kind in Socket Mode.
    value["type"] = Value::String("event_callback".to_string());
    Ok(serde_json::from_value(value)?)
}

/// An interaction as the HTTP `payload` field would have carried it.
pub fn payload_of(event: &SlackInteractionEvent) -> Result<Payload, RouteError> {
    reshape(event)
}

async fn state_of(states: &SlackClientEventsUserState) -> Option<SlackState> {
    states.read().await.get_user_state::<SlackState>().cloned()
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let state = state_of(&states).await.ok_or("Slack state missing")?;
    let ack = commands::accept(&state, command_of(&event)?);
    let text = ack["text"]
        .as_str()
        .unwrap_or(commands::WORKING)
        .to_string();
    Ok(SlackCommandEventResponse::new(
        SlackMessageContent::new().with_text(text),
    ))
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let state = state_of(&states).await.ok_or("Slack state missing")?;
    events::accept(&state, envelope_of(&event)?).await;
    Ok(())
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let state = state_of(&states).await.ok_or("Slack state missing")?;
    interactions::accept(&state, payload_of(&event)?).await;
    Ok(())
}

/// Connects with the app-level token (`xapp-…`, scope `connections:write`) and
/// serves until the process is asked to stop. Answers still go out through
/// `state.api` (chat.postMessage, response_url), exactly as over HTTP.
pub async fn serve(state: SlackState, app_token: &SecretString) -> anyhow::Result<()> {
    let connector = SlackClientHyperConnector::new()?;
    let client = Arc::new(SlackClient::new(connector));
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_command_events(on_command)
        .with_push_events(on_push)
        .with_interaction_events(on_interaction);
    let environment = Arc::new(
        SlackClientEventsListenerEnvironment::new(client)
            .with_error_handler(|error, _client, _states| {
                tracing::error!(%error, "Slack Socket Mode error");
                axum::http::StatusCode::OK
            })
            .with_user_state(state),
    );
    let listener = SlackClientSocketModeListener::new(
        &SlackClientSocketModeConfig::new(),
        environment,
        callbacks,
    );
    let token = SlackApiToken::new(SlackApiTokenValue(app_token.expose_secret().to_string()));
    listener.listen_for(&token).await?;
    listener.serve().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_event_routes_to_the_events_api_envelope() {
        let event: SlackPushEventCallback = serde_json::from_str(include_str!(
            "../../../tests/fixtures/slack/app_mention.json"
        ))
        .expect("slack-morphism reads the fixture");
        let envelope = envelope_of(&event).expect("routable");
        assert_eq!(envelope.kind, "event_callback");
        assert_eq!(envelope.team_id.as_deref(), Some("T1"));
        assert_eq!(envelope.event_id.as_deref(), Some("Ev0MENTION1"));
        assert_eq!(envelope.authorizations[0].user_id.as_deref(), Some("UBOT"));
        let inner = envelope.event.expect("inner event");
        assert_eq!(inner.kind, "app_mention");
        assert_eq!(inner.text, "<@UBOT> help");
        assert_eq!(inner.channel.as_deref(), Some("C1"));
        assert_eq!(inner.user.as_deref(), Some("UANA"));
        assert_eq!(inner.ts.as_deref(), Some("1700000000.000100"));
    }

    #[test]
    fn command_routes_to_the_slash_command_form() {
        let event: SlackCommandEvent = serde_json::from_value(serde_json::json!({
            "team_id": "T1", "channel_id": "C1", "user_id": "UANA",
            "command": "/recommend", "text": "1234",
            "response_url": "https://hooks.slack.com/commands/T1/1/abc",
            "trigger_id": "1.2.3"
        }))
        .expect("slack-morphism reads the command");
        let command = command_of(&event).expect("routable");
        assert_eq!(command.to_request().text, "/recommend 1234");
        // Slack ids are looked up in Slack user groups.
        assert_eq!(command.to_request().user.realm, crate::bot::Realm::Slack);
        assert_eq!(command.team_id.as_deref(), Some("T1"));
        assert_eq!(command.channel_id.as_deref(), Some("C1"));
        assert_eq!(
            command.response_url,
            "https://hooks.slack.com/commands/T1/1/abc"
        );
    }

    #[test]
    fn block_actions_route_to_the_interaction_payload() {
        let fixture = include_str!("../../../tests/fixtures/slack/block_actions.json")
            .replace("RESPONSE_URL", "https://hooks.slack.com/actions/T1/1/abc");
        let event: SlackInteractionEvent =
            serde_json::from_str(&fixture).expect("slack-morphism reads the fixture");
        let payload = payload_of(&event).expect("routable");
        assert_eq!(payload.kind, "block_actions");
        assert_eq!(payload.actions[0].value.as_deref(), Some("help"));
        assert_eq!(payload.user.expect("user").id, "UANA");
        assert_eq!(payload.channel.expect("channel").id, "C1");
        assert_eq!(
            payload.response_url.as_deref(),
            Some("https://hooks.slack.com/actions/T1/1/abc")
        );
    }
}
