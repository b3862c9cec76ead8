//! Slash commands (`/incidents`, `/incident`, `/recommend`, `/report`, the actions, and the
//! umbrella `/sentinel` for every command): ack at once, decode the text and resolve its
//! mentions, and answer to the command's `response_url`, all in the background.

use super::{Destination, REFUSAL, SlackState, answer_and_deliver, mentions};
use crate::bot::{Realm, Request, User};
use crate::channels::workload::BUSY;
use axum::Form;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

/// Text of the immediate acknowledgement.
pub const WORKING: &str = "Working on it…";

/// The slash command that runs any command given as its text (`/sentinel status 5 active`),
/// for commands Slack reserves (`/status`) or that would clash with other apps (`/help`).
pub const UMBRELLA: &str = "/sentinel";

/// The command text the core reads for a slash command: `/incidents week` for `/incidents`
/// with `week`; the umbrella's text alone, which when empty asks for help.
pub fn request_text(command: &str, text: &str) -> String {
    if command.eq_ignore_ascii_case(UMBRELLA) {
        let text = text.trim();
        return if text.is_empty() {
            "help".to_string()
        } else {
            text.to_string()
        };
    }
    format!("{command} {text}").trim().to_string()
}

/// The fields of a slash-command form we use (protocols.md item 34).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SlashCommand {
    /// The command, e.g. `/incidents`.
    pub command: String,
    /// Everything after the command.
    #[serde(default)]
    pub text: String,
    pub team_id: Option<String>,
    pub channel_id: Option<String>,
    pub user_id: String,
    pub user_name: Option<String>,
    /// Where follow-ups go (up to 5 posts within 30 minutes).
    pub response_url: String,
}

impl SlashCommand {
    /// The request as Slack sent it: [`request_text`], still in Slack's formatting
    /// (see [`mentions::read_request`]).
    pub fn to_request(&self) -> Request {
        Request {
            text: request_text(&self.command, &self.text),
            user: User {
                id: self.user_id.clone(),
                name: self.user_name.clone(),
                email: None,
                realm: Realm::Slack,
            },
            thread: None,
            mentions: Vec::new(),
        }
    }
}

/// POST /slack/commands (signature already verified).
pub async fn handle(
    State(state): State<SlackState>,
    Form(command): Form<SlashCommand>,
) -> Json<Value> {
    Json(accept(&state, command))
}

/// Checks the allow-lists, spawns the answer and returns the acknowledgement body.
/// Shared by the HTTP route and Socket Mode.
pub fn accept(state: &SlackState, command: SlashCommand) -> Value {
    if !state
        .settings
        .allows(command.team_id.as_deref(), command.channel_id.as_deref())
    {
        return json!({"response_type": "ephemeral", "text": REFUSAL});
    }
    let request = command.to_request();
    let destination = Destination::ResponseUrl(command.response_url);
    let Ok(admitted) = state.workload.admit() else {
        return json!({"response_type": "ephemeral", "text": BUSY});
    };
    let answering = state.clone();
    state.tasks.spawn(admitted.run(async move {
        let request = mentions::read_request(&answering.api, request, None).await;
        answer_and_deliver(answering, request, destination).await;
    }));
    json!({"response_type": "ephemeral", "text": WORKING})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_text_joins_command_and_arguments() {
        let command = SlashCommand {
            command: "/incidents".into(),
            text: "week high".into(),
            team_id: Some("T1".into()),
            channel_id: Some("C1".into()),
            user_id: "U1".into(),
            user_name: Some("ana".into()),
            response_url: "http://127.0.0.1/r".into(),
        };
        let request = command.to_request();
        assert_eq!(request.text, "/incidents week high");
        assert_eq!(request.user.id, "U1");
        let bare = SlashCommand {
            text: String::new(),
            ..command
        };
        assert_eq!(bare.to_request().text, "/incidents");
    }

    #[test]
    fn the_umbrella_command_passes_its_text_alone() {
        assert_eq!(
            request_text("/sentinel", "status 5 active"),
            "status 5 active"
        );
        assert_eq!(request_text("/sentinel", "  "), "help");
        assert_eq!(request_text("/assign", "5 me"), "/assign 5 me");
    }
}
