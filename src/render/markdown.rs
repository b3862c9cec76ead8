//! Reply -> Markdown, for the terminal and report exports.

use crate::bot::reply::Reply;

/// Renders a reply as Markdown.
pub fn render(reply: &Reply) -> String {
    format!("{reply:#?}")
}
