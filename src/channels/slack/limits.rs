//! Block Kit limits (protocols.md item 40): a checker for outgoing messages and
//! a safe fallback when a rendered message breaks them.

use crate::render::block_kit::Message;
use serde_json::{Value, json};

/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Longest section text.
pub const MAX_SECTION_TEXT: usize = 3000;
/// Most fields in a section.
pub const MAX_FIELDS: usize = 10;
/// Longest section field.
pub const MAX_FIELD_TEXT: usize = 2000;
/// Longest header text.
pub const MAX_HEADER_TEXT: usize = 150;
/// Longest button text.
pub const MAX_BUTTON_TEXT: usize = 75;
/// Longest button value.
pub const MAX_BUTTON_VALUE: usize = 2000;
/// Longest `action_id` or `block_id`.
pub const MAX_ID: usize = 255;
/// Most elements in an actions block.
pub const MAX_ACTIONS: usize = 25;
/// Most elements in a context block.
pub const MAX_CONTEXT: usize = 10;
/// Longest fallback text Slack keeps whole.
pub const MAX_MESSAGE_TEXT: usize = 40_000;

/// Every limit the message breaks, as readable lines; empty when it is fine.
pub fn violations(message: &Message) -> Vec<String> {
    let mut found = Vec::new();
    if message.text.trim().is_empty() {
        found.push("message has no fallback text".to_string());
    }
    if chars(&message.text) > MAX_MESSAGE_TEXT {
        found.push("fallback text over 40,000 characters".to_string());
    }
    if message.blocks.len() > MAX_BLOCKS {
        found.push(format!(
            "{} blocks, over {MAX_BLOCKS}",
            message.blocks.len()
        ));
    }
    for (index, block) in message.blocks.iter().enumerate() {
        check_block(index, block, &mut found);
    }
    found
}

fn check_block(index: usize, block: &Value, found: &mut Vec<String>) {
    let mut over = |what: &str, length: usize, limit: usize| {
        if length > limit {
            found.push(format!("block {index}: {what} is {length}, over {limit}"));
        }
    };
    over("block_id", text_len(&block["block_id"]), MAX_ID);
    match block["type"].as_str() {
        Some("header") => over(
            "header text",
            text_len(&block["text"]["text"]),
            MAX_HEADER_TEXT,
        ),
        Some("section") => {
            over(
                "section text",
                text_len(&block["text"]["text"]),
                MAX_SECTION_TEXT,
            );
            let fields = block["fields"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            over("fields count", fields.len(), MAX_FIELDS);
            for field in fields {
                over("field text", text_len(&field["text"]), MAX_FIELD_TEXT);
            }
        }
        Some("actions") => {
            let elements = block["elements"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            over("actions count", elements.len(), MAX_ACTIONS);
            for element in elements {
                over(
                    "button text",
                    text_len(&element["text"]["text"]),
                    MAX_BUTTON_TEXT,
                );
                over(
                    "button value",
                    text_len(&element["value"]),
                    MAX_BUTTON_VALUE,
                );
                over("action_id", text_len(&element["action_id"]), MAX_ID);
            }
        }
        Some("context") => {
            let elements = block["elements"].as_array().map_or(0, Vec::len);
            over("context count", elements, MAX_CONTEXT);
        }
        _ => {}
    }
}

fn text_len(value: &Value) -> usize {
    value.as_str().map_or(0, chars)
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// The message itself when it is within limits; otherwise its fallback text as
/// one section, cut to fit, so Slack does not refuse the post with `invalid_blocks`.
pub fn within_limits(message: Message) -> Message {
    let found = violations(&message);
    if found.is_empty() {
        return message;
    }
    tracing::warn!(
        ?found,
        "a rendered Slack message broke Block Kit limits; sending text only"
    );
    let text = if message.text.trim().is_empty() {
        "(empty answer)".to_string()
    } else {
        message.text
    };
    let section: String = text.chars().take(MAX_SECTION_TEXT).collect();
    Message {
        text: text.chars().take(MAX_MESSAGE_TEXT).collect(),
        blocks: vec![json!({"type": "section", "text": {"type": "plain_text", "text": section}})],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(blocks: Vec<Value>) -> Message {
        Message {
            text: "fallback".into(),
            blocks,
        }
    }

    #[test]
    fn detects_each_kind_of_overflow() {
        let long = "x".repeat(3001);
        assert!(
            violations(&message(vec![
                json!({"type":"header","text":{"type":"plain_text","text":"ok"}})
            ]))
            .is_empty()
        );
        assert_eq!(
            violations(&message(vec![
                json!({"type":"section","text":{"type":"mrkdwn","text": long}})
            ]))
            .len(),
            1
        );
        assert_eq!(
            violations(&message(vec![json!({"type":"divider"}); 51])).len(),
            1
        );
        let buttons: Vec<Value> = (0..26)
            .map(|_| json!({"type":"button","text":{"type":"plain_text","text":"b"},"value":"v","action_id":"a"}))
            .collect();
        assert_eq!(
            violations(&message(vec![
                json!({"type":"actions","elements": buttons})
            ]))
            .len(),
            1
        );
        assert_eq!(
            violations(&Message {
                text: " ".into(),
                blocks: vec![]
            })
            .len(),
            1
        );
    }

    #[test]
    fn oversized_message_falls_back_to_text_within_limits() {
        let fixed = within_limits(Message {
            text: "y".repeat(5000),
            blocks: vec![json!({"type":"divider"}); 60],
        });
        assert!(violations(&fixed).is_empty());
        assert_eq!(fixed.blocks.len(), 1);
        assert_eq!(fixed.text.len(), 5000);
    }
}
