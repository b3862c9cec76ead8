//! Reply -> Adaptive Card 1.5 JSON (with Teams chart elements as an option).

use crate::bot::reply::Reply;
use serde_json::{Value, json};

/// Rendering choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Emit Teams' `Chart.*` elements (Teams only; not in the Adaptive Card schema).
    pub teams_charts: bool,
}

/// Renders a reply as an Adaptive Card (the attachment `content`).
pub fn render(reply: &Reply, options: &Options) -> Value {
    let _ = options;
    json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": reply.title, "wrap": true}],
    })
}
