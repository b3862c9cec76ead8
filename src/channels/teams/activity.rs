//! Bot Framework activity wire types (only the fields the bot reads or writes).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An inbound or outbound activity.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// `message`, `invoke`, `typing`, `conversationUpdate`, ...
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Account>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Account>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// What notifications and the chat list show for a message that holds only a card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_data: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A user or bot account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The Entra object id of a Teams user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad_object_id: Option<String>,
}

/// The conversation an activity belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// A card or file attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub content_type: String,
    pub content: Value,
}

/// Content type of an Adaptive Card attachment.
pub const ADAPTIVE_CARD: &str = "application/vnd.microsoft.card.adaptive";

impl Activity {
    /// The tenant, from `channelData.tenant.id` or `conversation.tenantId`.
    pub fn tenant_id(&self) -> Option<&str> {
        self.channel_data
            .as_ref()
            .and_then(|data| data.pointer("/tenant/id"))
            .and_then(Value::as_str)
            .or_else(|| {
                self.conversation
                    .as_ref()
                    .and_then(|c| c.tenant_id.as_deref())
            })
    }

    /// The command the user asked for: a card button's `command`, else the text with
    /// `<at>..</at>` mentions removed.
    pub fn command_text(&self) -> Option<String> {
        let from_value = |value: &Value| {
            value
                .pointer("/command")
                .or_else(|| value.pointer("/action/data/command"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if let Some(command) = self.value.as_ref().and_then(from_value) {
            return Some(command.trim().to_string());
        }
        self.text.as_deref().map(strip_mentions)
    }
}

/// Removes every `<at>...</at>` span and trims; Teams puts the bot mention in the text.
pub fn strip_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<at>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</at>") {
            Some(end) => rest = &rest[start + end + "</at>".len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strips_bot_mention() {
        assert_eq!(
            strip_mentions("<at>Sentinel</at> incidents week"),
            "incidents week"
        );
        assert_eq!(strip_mentions("help"), "help");
        assert_eq!(strip_mentions("<at>Bot</at>&nbsp;help "), "help");
    }

    #[test]
    fn submit_value_wins_over_text() {
        let activity: Activity = serde_json::from_value(json!({
            "type": "message",
            "value": {"command": "incidents week page 2"}
        }))
        .expect("activity");
        assert_eq!(
            activity.command_text().as_deref(),
            Some("incidents week page 2")
        );
        let invoke: Activity = serde_json::from_value(json!({
            "type": "invoke", "name": "adaptiveCard/action",
            "value": {"action": {"type": "Action.Execute", "data": {"command": "incident 7"}}}
        }))
        .expect("activity");
        assert_eq!(invoke.command_text().as_deref(), Some("incident 7"));
    }

    #[test]
    fn tenant_from_channel_data() {
        let activity: Activity = serde_json::from_value(json!({
            "type": "message", "channelData": {"tenant": {"id": "t1"}}
        }))
        .expect("activity");
        assert_eq!(activity.tenant_id(), Some("t1"));
    }
}
