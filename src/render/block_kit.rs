//! Reply -> Slack Block Kit messages, within Slack's documented limits.

use crate::bot::reply::Reply;
use serde_json::{Value, json};

/// One Slack message: fallback text plus blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Plain fallback for notifications and clients without blocks.
    pub text: String,
    pub blocks: Vec<Value>,
}

/// Renders a reply as one or more messages, each within Block Kit limits.
pub fn render(reply: &Reply) -> Vec<Message> {
    vec![Message {
        text: reply.title.clone(),
        blocks: vec![
            json!({"type": "header", "text": {"type": "plain_text", "text": reply.title}}),
        ],
    }]
}
