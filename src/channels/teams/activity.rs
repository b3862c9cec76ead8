//! Bot Framework activity wire types (only the fields the bot reads or writes).

use crate::channels::without_invisible;
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
    /// `plain`, `markdown` or `xml`; Teams sends HTML-escaped text either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_format: Option<String>,
    /// Mentions, client info and the like; only `mention` entities are read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Value>,
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

    /// The command a card button carries (`value.command`, or `value.action.data.command`
    /// for `Action.Execute`).
    pub fn button_command(&self) -> Option<String> {
        let value = self.value.as_ref()?;
        value
            .pointer("/command")
            .or_else(|| value.pointer("/action/data/command"))
            .and_then(Value::as_str)
            .map(|command| command.trim().to_string())
    }

    /// The command the user asked for: a card button's command, else the typed text with no
    /// mention resolved ([`Activity::typed_text`]).
    pub fn command_text(&self) -> Option<String> {
        if let Some(command) = self.button_command() {
            return Some(command);
        }
        self.text.as_ref().map(|_| self.typed_text(&[]))
    }

    /// The `mention` entities of other people than the bot (Teams lists the bot's own too).
    pub fn other_mentions(&self) -> Vec<MentionEntity> {
        self.mention_entities()
            .into_iter()
            .filter(|mention| !self.is_recipient(&mention.account))
            .collect()
    }

    fn mention_entities(&self) -> Vec<MentionEntity> {
        self.entities
            .iter()
            .filter(|entity| entity.get("type").and_then(Value::as_str) == Some("mention"))
            .filter_map(|entity| {
                Some(MentionEntity {
                    text: entity.get("text")?.as_str()?.to_string(),
                    account: serde_json::from_value(entity.get("mentioned")?.clone()).ok()?,
                })
            })
            .collect()
    }

    fn is_recipient(&self, account: &Account) -> bool {
        self.recipient
            .as_ref()
            .is_some_and(|recipient| recipient.id == account.id)
    }

    /// What the user typed, as plain text: the bot's own mentions removed (entities whose
    /// `mentioned.id` is the recipient's id, protocols.md item 22), each other mention replaced
    /// by its key in `keys` (`(entity text, key)`), HTML normalised (tags dropped, entities such
    /// as `&nbsp;` and `&amp;` decoded), characters that show as nothing (zero-width space,
    /// byte order mark; [`crate::channels::without_invisible`]) dropped, and a bot name typed
    /// as plain text at the start (`@Test Bot incident 1492`) dropped.
    pub fn typed_text(&self, keys: &[(String, String)]) -> String {
        let mut text = without_invisible(self.text.as_deref().unwrap_or_default());
        for mention in self.mention_entities() {
            let replacement = if self.is_recipient(&mention.account) {
                " ".to_string()
            } else {
                match keys.iter().find(|(entity, _)| *entity == mention.text) {
                    Some((_, key)) => format!(" {key} "),
                    None => continue,
                }
            };
            text = text.replacen(&without_invisible(&mention.text), &replacement, 1);
        }
        let text = without_invisible(&plain_text(&untagged_mentions(&text)));
        let bot_name = self.recipient.as_ref().and_then(|bot| bot.name.as_deref());
        let text = match bot_name {
            Some(name) => strip_typed_name(&text, name),
            None => text.as_str(),
        };
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A `mention` entity: the `<at>...</at>` text it stands for and who is mentioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionEntity {
    /// Exactly as it appears in the activity's text, e.g. `<at id="1">Dana Example</at>`.
    pub text: String,
    /// `mentioned`: the Bot Framework id (`29:...`), the name, and sometimes `aadObjectId`.
    pub account: Account,
}

/// `<at>` spans no entity explained: the one the text starts with is taken as the bot's
/// (Teams only delivers channel messages that mention the bot, first); others become `@Name`.
fn untagged_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<at") {
        let after = &rest[start + 3..];
        let Some(open_end) = after.find('>').filter(|_| after.starts_with(['>', ' '])) else {
            out.push_str(&rest[..start + 3]);
            rest = after;
            continue;
        };
        let inner = &after[open_end + 1..];
        let Some(close) = inner.find("</at>") else {
            out.push_str(&rest[..start + 3]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..start]);
        if !without_invisible(&plain_text(&out)).trim().is_empty() {
            let name: String = plain_text(&inner[..close])
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            out.push_str(&format!(" @{name} "));
        }
        rest = &inner[close + "</at>".len()..];
    }
    out.push_str(rest);
    out
}

/// HTML (as Teams sends message text) to plain text: line-breaking tags become spaces,
/// other tags are dropped, character references are decoded, no-break spaces become spaces.
/// Only `<` followed by a letter or `/` starts a tag, so `a < b` and `<3` survive.
fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let is_tag = after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/');
        match after.find('>').filter(|_| is_tag) {
            Some(end) if !after[..end].contains('<') => {
                out.push(' ');
                rest = &after[end + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    html_escape::decode_html_entities(&out).replace('\u{a0}', " ")
}

/// The text without a leading `@{name}` (the bot's name typed rather than picked).
fn strip_typed_name<'a>(text: &'a str, name: &str) -> &'a str {
    let trimmed = text.trim_start();
    let Some(after_at) = trimmed.strip_prefix('@') else {
        return text;
    };
    match after_at.get(..name.len()) {
        Some(prefix)
            if prefix.eq_ignore_ascii_case(name)
                && after_at[name.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_whitespace() || c == ',' || c == ':') =>
        {
            after_at[name.len()..].trim_start_matches([',', ':'])
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed(value: Value) -> String {
        let activity: Activity = serde_json::from_value(value).expect("activity");
        activity.typed_text(&[])
    }

    #[test]
    fn strips_a_leading_bot_mention_without_entities() {
        assert_eq!(
            typed(json!({"type": "message", "text": "<at>Sentinel</at> incidents week"})),
            "incidents week"
        );
        assert_eq!(typed(json!({"type": "message", "text": "help"})), "help");
        assert_eq!(
            typed(json!({"type": "message", "text": "<at>Bot</at>&nbsp;help "})),
            "help"
        );
    }

    #[test]
    fn zero_width_spaces_and_byte_order_marks_are_ignored() {
        // Raw, and as the character references Teams' HTML text may carry.
        assert_eq!(
            typed(
                json!({"type": "message", "text": "\u{FEFF}<at>Sentinel</at>\u{200B} incidents\u{200B} week"})
            ),
            "incidents week"
        );
        assert_eq!(
            typed(
                json!({"type": "message", "textFormat": "xml", "text": "<p>&#xFEFF;incident&#8203; 1200</p>"})
            ),
            "incident 1200"
        );
    }

    #[test]
    fn only_the_recipients_mention_is_stripped() {
        let activity = json!({
            "type": "message",
            "text": "<at id=\"0\">Sentinel Bot</at> assign 501 <at id=\"1\">Dana Example</at>",
            "recipient": {"id": "28:bot", "name": "Sentinel Bot"},
            "entities": [
                {"type": "mention", "text": "<at id=\"0\">Sentinel Bot</at>", "mentioned": {"id": "28:bot", "name": "Sentinel Bot"}},
                {"type": "mention", "text": "<at id=\"1\">Dana Example</at>", "mentioned": {"id": "29:dana", "name": "Dana Example"}},
                {"type": "clientInfo", "locale": "en-US"}
            ]
        });
        let parsed: Activity = serde_json::from_value(activity.clone()).expect("activity");
        let others = parsed.other_mentions();
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].account.id, "29:dana");
        let key = vec![(others[0].text.clone(), "dana@contoso.com".to_string())];
        assert_eq!(parsed.typed_text(&key), "assign 501 dana@contoso.com");
        // Unresolved, the other mention is kept as a name, never silently dropped.
        assert_eq!(typed(activity), "assign 501 @DanaExample");
    }

    #[test]
    fn html_text_is_normalised() {
        assert_eq!(
            typed(json!({
                "type": "message", "textFormat": "xml",
                "text": "<p><at>Sentinel</at>&nbsp;comment 501 blocked 10.0.0.5 &amp; 10.0.0.6<br/>&lt;see ticket&gt;</p>"
            })),
            "comment 501 blocked 10.0.0.5 & 10.0.0.6 <see ticket>"
        );
        assert_eq!(
            typed(json!({"type": "message", "text": "comment 5 a < b and <3"})),
            "comment 5 a < b and <3"
        );
    }

    #[test]
    fn a_bot_name_typed_as_text_is_recognised() {
        let personal = |text: &str| {
            typed(json!({
                "type": "message", "text": text,
                "recipient": {"id": "28:bot", "name": "Test Bot"},
                "conversation": {"id": "a:1", "conversationType": "personal"}
            }))
        };
        assert_eq!(personal("@Test Bot /incident 1492"), "/incident 1492");
        assert_eq!(personal("@test bot, incidents week"), "incidents week");
        assert_eq!(personal("@Test Botany"), "@Test Botany");
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
