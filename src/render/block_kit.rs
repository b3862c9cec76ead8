//! Reply -> Slack Block Kit messages, within Slack's documented limits.
//! All Reply text is escaped with [`escape::slack`] (no mentions, no links).

use super::chart;
use super::escape;
use crate::reply::{ActionStyle, Align, Block, Fact, Reply, Table};
use serde_json::{Value, json};

/// Blocks per message.
pub const MAX_BLOCKS: usize = 50;
/// Characters in a section `text`.
pub const MAX_SECTION_TEXT: usize = 3000;
/// Fields per section.
pub const MAX_FIELDS: usize = 10;
/// Characters per section field.
pub const MAX_FIELD_TEXT: usize = 2000;
/// Characters in a header.
pub const MAX_HEADER: usize = 150;
/// Characters in a button label.
pub const MAX_BUTTON_TEXT: usize = 75;
/// Characters in a button value.
pub const MAX_BUTTON_VALUE: usize = 2000;
/// Elements in an actions block.
pub const MAX_ACTIONS: usize = 25;
/// Characters in a message's fallback `text`.
pub const MAX_MESSAGE_TEXT: usize = 40_000;
/// Prefix of every button's `action_id`; the Slack channel matches on it.
pub const ACTION_ID_PREFIX: &str = "command-";

/// Widest table cell shown in a code block, in characters.
const MAX_CELL_WIDTH: usize = 40;

/// One Slack message: fallback text plus blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Plain fallback for notifications and clients without blocks.
    pub text: String,
    pub blocks: Vec<Value>,
}

/// Renders a reply as one or more messages, each within Block Kit limits.
///
/// Buttons carry the command text as `value` and an `action_id` starting with
/// [`ACTION_ID_PREFIX`]. Commands longer than a button value allows are left out.
pub fn render(reply: &Reply) -> Vec<Message> {
    let mut blocks = Vec::new();
    if !reply.title.trim().is_empty() {
        blocks.push(json!({
            "type": "header",
            "text": {"type": "plain_text", "text": escape::truncate(&one_line(&reply.title), MAX_HEADER)},
        }));
    }
    for block in &reply.blocks {
        blocks.extend(render_block(block));
    }
    let buttons: Vec<Value> = reply
        .actions
        .iter()
        .enumerate()
        .filter(|(_, action)| action.command.chars().count() <= MAX_BUTTON_VALUE)
        .map(|(index, action)| {
            let mut button = json!({
                "type": "button",
                "text": {"type": "plain_text", "text": escape::truncate(&action.label, MAX_BUTTON_TEXT)},
                "value": action.command,
                "action_id": format!("{ACTION_ID_PREFIX}{index}"),
            });
            match action.style {
                ActionStyle::Default => {}
                ActionStyle::Primary => button["style"] = json!("primary"),
                ActionStyle::Danger => button["style"] = json!("danger"),
            }
            button
        })
        .collect();
    for chunk in buttons.chunks(MAX_ACTIONS) {
        blocks.push(json!({"type": "actions", "elements": chunk}));
    }
    if let Some(page) = reply.page {
        blocks.push(context(&format!("Page {} of {}", page.number, page.of)));
    }
    let fallback = escape::truncate(&escape::slack(&fallback_text(reply)), MAX_MESSAGE_TEXT);
    if blocks.is_empty() {
        return vec![Message {
            text: fallback,
            blocks,
        }];
    }
    let count = blocks.len().div_ceil(MAX_BLOCKS);
    blocks
        .chunks(MAX_BLOCKS)
        .enumerate()
        .map(|(index, chunk)| Message {
            text: if index == 0 {
                fallback.clone()
            } else {
                escape::truncate(
                    &format!("{fallback} ({} of {count})", index + 1),
                    MAX_MESSAGE_TEXT,
                )
            },
            blocks: chunk.to_vec(),
        })
        .collect()
}

/// The title, or else the first text of the body: Slack needs a non-empty `text`.
fn fallback_text(reply: &Reply) -> String {
    let body = reply.blocks.iter().find_map(|block| match block {
        Block::Heading(text) | Block::Text(text) | Block::Note(text) | Block::Alert(text)
            if !text.trim().is_empty() =>
        {
            Some(text.as_str())
        }
        _ => None,
    });
    let chosen = [Some(reply.title.as_str()), body]
        .into_iter()
        .flatten()
        .find(|text| !text.trim().is_empty())
        .unwrap_or("Sentinel bot");
    one_line(chosen)
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// A mrkdwn text object; `verbatim` stops Slack from auto-linking URLs and names.
fn mrkdwn(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text, "verbatim": true})
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": mrkdwn(text)})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [mrkdwn(text.to_string())]})
}

/// Sections of escaped text, each within the section limit once `prefix` is added.
fn sections(raw: &str, prefix: &str) -> Vec<Value> {
    let budget = MAX_SECTION_TEXT - prefix.chars().count();
    split_escaped(raw, budget)
        .into_iter()
        .map(|piece| section(format!("{prefix}{piece}")))
        .collect()
}

/// Escapes then splits, so an entity like `&amp;` is never cut in half.
fn split_escaped(raw: &str, budget: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    for raw_piece in escape::split(raw, budget) {
        let escaped = escape::slack(&raw_piece);
        if escaped.chars().count() <= budget {
            pieces.push(escaped);
        } else {
            // Entities grew the piece: split the raw piece smaller (5 is the longest entity).
            pieces.extend(
                escape::split(&raw_piece, budget / 5)
                    .iter()
                    .map(|it| escape::slack(it)),
            );
        }
    }
    pieces
}

fn render_block(block: &Block) -> Vec<Value> {
    match block {
        Block::Heading(text) => vec![section(format!(
            "*{}*",
            escape::slack(&escape::truncate(&one_line(text), MAX_SECTION_TEXT / 5))
        ))],
        Block::Text(text) => sections(text, ""),
        Block::Note(text) => split_escaped(text, MAX_SECTION_TEXT)
            .into_iter()
            .map(|piece| json!({"type": "context", "elements": [mrkdwn(piece)]}))
            .collect(),
        Block::Alert(text) => sections(text, ":warning: "),
        Block::Facts(facts) => render_facts(facts),
        Block::Table(table) => render_table(table),
        Block::Chart(chart) => render_table(&chart::data_table(chart)),
    }
}

fn render_facts(facts: &[Fact]) -> Vec<Value> {
    let fields: Vec<Value> = facts
        .iter()
        .map(|fact| {
            let label = escape::slack(&escape::truncate(&one_line(&fact.label), 150));
            let budget = MAX_FIELD_TEXT - label.chars().count() - 3;
            let value = escape::slack(&escape::truncate(&fact.value, budget / 5));
            mrkdwn(format!("*{label}*\n{value}"))
        })
        .collect();
    fields
        .chunks(MAX_FIELDS)
        .map(|chunk| json!({"type": "section", "fields": chunk}))
        .collect()
}

/// A caption section and the table as padded monospaced lines in code blocks.
fn render_table(table: &Table) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(title) = &table.title {
        out.push(section(format!(
            "*{}*",
            escape::slack(&escape::truncate(&one_line(title), 500))
        )));
    }
    if table.columns.is_empty() {
        return out;
    }
    let cell_text = |text: &str| escape::truncate(&one_line(text), MAX_CELL_WIDTH);
    let header: Vec<String> = table.columns.iter().map(|it| cell_text(&it.name)).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| {
            (0..table.columns.len())
                .map(|index| {
                    row.get(index)
                        .map(|cell| cell_text(&cell.text))
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..table.columns.len())
        .map(|index| {
            rows.iter()
                .map(|row| row[index].chars().count())
                .chain([header[index].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Pad on the raw text (what the reader sees), then escape.
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .zip(&table.columns)
            .map(|((cell, width), column)| match column.align {
                Align::Left => format!("{cell:<width$}"),
                Align::Right => format!("{cell:>width$}"),
            })
            .collect();
        escape::truncate(&escape::slack_code(padded.join("  ").trim_end()), 1000)
    };
    let header_line = line(&header);
    let rule = "-".repeat(header_line.chars().count().min(1000));
    let fence_cost = "```\n\n```".len();
    let mut current = vec![header_line.clone(), rule.clone()];
    let mut length: usize = current.iter().map(|it| it.chars().count() + 1).sum();
    for row in &rows {
        let row_line = line(row);
        let cost = row_line.chars().count() + 1;
        if length + cost + fence_cost > MAX_SECTION_TEXT && current.len() > 2 {
            out.push(section(format!("```\n{}\n```", current.join("\n"))));
            current = vec![header_line.clone(), rule.clone()];
            length = current.iter().map(|it| it.chars().count() + 1).sum();
        }
        length += cost;
        current.push(row_line);
    }
    out.push(section(format!("```\n{}\n```", current.join("\n"))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_links_are_neutralised() {
        let reply = Reply::titled("x").with(Block::Text(
            "<!channel> <@U123> <http://evil|click>".to_string(),
        ));
        let messages = render(&reply);
        let text = messages[0].blocks[1]["text"]["text"]
            .as_str()
            .expect("section text");
        assert_eq!(
            text,
            "&lt;!channel&gt; &lt;@U123&gt; &lt;http://evil|click&gt;"
        );
    }

    #[test]
    fn header_is_truncated() {
        let messages = render(&Reply::titled("t".repeat(400)));
        let header = messages[0].blocks[0]["text"]["text"]
            .as_str()
            .expect("header");
        assert_eq!(header.chars().count(), MAX_HEADER);
    }
}
