//! Slash commands (`/incidents`, `/incident`, `/recommend`, `/report`): ack at
//! once, answer to the command's `response_url` in the background.

use super::{Destination, REFUSAL, SlackState, answer_and_deliver};
use crate::bot::{Realm, Request, User};
use crate::channels::workload::BUSY;
use axum::Form;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

/// Text of the immediate acknowledgement.
pub const WORKING: &str = "Working on it…";

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
    /// The request the core answers: `"{command} {text}"`.
    pub fn to_request(&self) -> Request {
        Request {
            text: format!("{} {}", self.command, self.text).trim().to_string(),
            user: User {
                id: self.user_id.clone(),
                name: self.user_name.clone(),
                email: None,
                realm: Realm::Slack,
            },
            thread: None,
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
    state
        .tasks
        .spawn(admitted.run(answer_and_deliver(state.clone(), request, destination)));
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
}
