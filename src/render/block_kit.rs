//! Reply -> Slack Block Kit messages, within Slack's documented limits.
//! All Reply text is escaped with [`escape::slack`] (no mentions, no links), except in
//! `rich_text` and `raw_text` elements, which Slack shows literally.
//!
//! Tables: Slack allows one `table` block per message, so the reply's main list (the table
//! with a prose column and the most rows, e.g. incidents or recommendations) becomes the
//! native table, and every other table one line per row ("*High* · New 0 · Active 1"),
//! which wraps between words on a phone instead of scrolling a wide grid.

use super::chart;
use super::escape;
use crate::reply::{ActionStyle, Align, Block, Cell, Fact, List, Reply, Table, Tone, Width};
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
/// Prefix of the `action_id` of a button whose answer arrives as a new message.
pub const ACTION_ID_PREFIX: &str = "command-";
/// Prefix of the `action_id` of a button whose answer replaces its message
/// ([`crate::reply::Action::in_place`]): the Slack channel answers with `replace_original`.
pub const REPLACE_ACTION_ID_PREFIX: &str = "replace-";
/// Rows in a `table` block, the header row included.
pub const MAX_TABLE_ROWS: usize = 100;
/// Characters across all cells of a `table` block (Slack refuses larger tables).
pub const MAX_TABLE_CHARS: usize = 9_000;

/// Longest cell text in a table block or a row line, in characters.
const MAX_CELL_TEXT: usize = 300;

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
/// [`ACTION_ID_PREFIX`], or [`REPLACE_ACTION_ID_PREFIX`] for in-place buttons; link buttons
/// carry their `url`. Commands longer than a button value allows are left out. Every message's
/// `text` is [`Reply::summary_text`], for notifications.
pub fn render(reply: &Reply) -> Vec<Message> {
    let mut blocks = Vec::new();
    if !reply.title.trim().is_empty() {
        blocks.push(json!({
            "type": "header",
            "text": {"type": "plain_text", "text": escape::truncate(&one_line(&reply.title), MAX_HEADER)},
        }));
    }
    let native = native_table(reply);
    for (index, block) in reply.blocks.iter().enumerate() {
        blocks.extend(render_block(block, native == Some(index)));
    }
    let buttons: Vec<Value> = reply
        .actions
        .iter()
        .enumerate()
        .filter_map(|(index, action)| render_button(index, action))
        .collect();
    for chunk in buttons.chunks(MAX_ACTIONS) {
        blocks.push(json!({"type": "actions", "elements": chunk}));
    }
    if let Some(page) = reply.page {
        blocks.push(context(&format!("Page {} of {}", page.number, page.of)));
    }
    let fallback = escape::truncate(&escape::slack(&reply.summary_text()), MAX_MESSAGE_TEXT);
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

/// One button, or `None` for a link that is not https or a command too long for a value.
fn render_button(index: usize, action: &crate::reply::Action) -> Option<Value> {
    let mut button = json!({
        "type": "button",
        "text": {"type": "plain_text", "text": escape::truncate(&action.label, MAX_BUTTON_TEXT)},
    });
    if let Some(url) = &action.url {
        button["url"] = json!(escape::https_url(url)?);
        button["action_id"] = json!(format!("link-{index}"));
    } else if action.command.chars().count() <= MAX_BUTTON_VALUE {
        let prefix = if action.in_place {
            REPLACE_ACTION_ID_PREFIX
        } else {
            ACTION_ID_PREFIX
        };
        button["value"] = json!(action.command);
        button["action_id"] = json!(format!("{prefix}{index}"));
    } else {
        return None;
    }
    match action.style {
        ActionStyle::Default => {}
        ActionStyle::Primary => button["style"] = json!("primary"),
        ActionStyle::Danger => button["style"] = json!("danger"),
    }
    Some(button)
}

/// The index of the block drawn as Slack's one native `table`: the table with a prose
/// column and the most rows (the reply's main list), else none.
fn native_table(reply: &Reply) -> Option<usize> {
    reply
        .blocks
        .iter()
        .enumerate()
        .filter_map(|(index, block)| match block {
            Block::Table(table)
                if table.columns.iter().any(|it| it.width == Width::Prose)
                    && !table.rows.is_empty()
                    && table.columns.len() <= 20 =>
            {
                Some((index, table.rows.len()))
            }
            _ => None,
        })
        .max_by_key(|(index, rows)| (*rows, std::cmp::Reverse(*index)))
        .map(|(index, _)| index)
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

fn render_block(block: &Block, native: bool) -> Vec<Value> {
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
        Block::Table(table) if native => native_table_blocks(table),
        Block::Table(table) => row_lines(table),
        Block::List(list) => list_blocks(list),
        Block::Chart(chart) => row_lines(&chart::data_table(chart)),
    }
}

/// A caption (if any), then one `rich_text` block per item: the number in bold and the
/// text, the steps as a `rich_text_list` (bullet, or ordered when numbered), the detail in
/// italics. Rich text elements are shown literally, so nothing is escaped.
fn list_blocks(list: &List) -> Vec<Value> {
    let mut out: Vec<Value> = list
        .title
        .as_ref()
        .map(|title| {
            section(format!(
                "*{}*",
                escape::slack(&escape::truncate(&one_line(title), 500))
            ))
        })
        .into_iter()
        .collect();
    let literal = |text: &str| escape::truncate(text, MAX_SECTION_TEXT);
    for (index, item) in list.items.iter().enumerate() {
        let mut elements = vec![json!({
            "type": "rich_text_section",
            "elements": [
                {"type": "text", "text": format!("{}. ", index + 1), "style": {"bold": true}},
                {"type": "text", "text": literal(&item.text)},
            ],
        })];
        if !item.steps.is_empty() {
            let steps: Vec<Value> = item
                .steps
                .iter()
                .map(|step| {
                    json!({
                        "type": "rich_text_section",
                        "elements": [{"type": "text", "text": literal(&one_line(step))}],
                    })
                })
                .collect();
            elements.push(json!({
                "type": "rich_text_list",
                "style": if item.numbered { "ordered" } else { "bullet" },
                "indent": 0,
                "elements": steps,
            }));
        }
        if let Some(detail) = &item.detail {
            elements.push(json!({
                "type": "rich_text_section",
                "elements": [{"type": "text", "text": literal(detail), "style": {"italic": true}}],
            }));
        }
        out.push(json!({"type": "rich_text", "elements": elements}));
    }
    out
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

fn caption(table: &Table) -> Option<Value> {
    table.title.as_ref().map(|title| {
        section(format!(
            "*{}*",
            escape::slack(&escape::truncate(&one_line(title), 500))
        ))
    })
}

/// Slack's emoji for a tone, shown before the label (colour supplements the word).
fn tone_emoji(tone: Tone) -> Option<&'static str> {
    match tone {
        Tone::Normal => None,
        Tone::Good => Some("large_green_circle"),
        Tone::Warning => Some("large_orange_circle"),
        Tone::Attention => Some("red_circle"),
    }
}

/// A `table` cell: `raw_text` (shown literally, so nothing to escape), or `rich_text` for a
/// link, a tone's emoji, a detail line or text of several lines (a comment with a list keeps
/// its lines). Slack refuses empty cells, so those show "-".
fn table_cell(cell: &Cell) -> Value {
    let url = cell.url.as_deref().and_then(escape::https_url);
    // A link's label is one line; other text keeps its line breaks.
    let label = match url {
        Some(_) => one_line(&cell.text),
        None => cell.text.trim().replace("\r\n", "\n"),
    };
    let label = escape::truncate(&label, MAX_CELL_TEXT);
    let label = if label.trim().is_empty() {
        "-".to_string()
    } else {
        label
    };
    let emoji = tone_emoji(cell.tone);
    if url.is_none() && emoji.is_none() && cell.detail.is_none() && !label.contains('\n') {
        return json!({"type": "raw_text", "text": label});
    }
    let mut elements = Vec::new();
    if let Some(name) = emoji {
        elements.push(json!({"type": "emoji", "name": name}));
        elements.push(json!({"type": "text", "text": " "}));
    }
    elements.push(match url {
        Some(url) => json!({"type": "link", "url": url, "text": label}),
        None => json!({"type": "text", "text": label}),
    });
    if let Some(detail) = &cell.detail {
        let detail = escape::truncate(&one_line(detail), MAX_CELL_TEXT);
        elements.push(
            json!({"type": "text", "text": format!("\n{detail}"), "style": {"italic": true}}),
        );
    }
    json!({
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": elements}],
    })
}

fn cell_chars(cell: &Cell) -> usize {
    cell.text.chars().count().min(MAX_CELL_TEXT)
        + cell
            .detail
            .as_deref()
            .map_or(0, |it| it.chars().count().min(MAX_CELL_TEXT))
}

/// The table as Slack's native `table` block (header row first); a table with more rows or
/// characters than one allows falls back to row lines, which keep every row.
fn native_table_blocks(table: &Table) -> Vec<Value> {
    let chars: usize = table.rows.iter().flatten().map(cell_chars).sum::<usize>()
        + table
            .columns
            .iter()
            .map(|it| it.name.chars().count())
            .sum::<usize>();
    if chars > MAX_TABLE_CHARS || table.rows.len() >= MAX_TABLE_ROWS {
        return row_lines(table);
    }
    let mut out: Vec<Value> = caption(table).into_iter().collect();
    let header: Vec<Value> = table
        .columns
        .iter()
        .map(|column| table_cell(&Cell::text(&column.name)))
        .collect();
    let mut rows = vec![header];
    let empty = Cell::text("");
    for row in &table.rows {
        let cells: Vec<Value> = (0..table.columns.len())
            .map(|index| table_cell(row.get(index).unwrap_or(&empty)))
            .collect();
        rows.push(cells);
    }
    let settings: Vec<Value> = table
        .columns
        .iter()
        .map(|column| {
            let align = match column.align {
                Align::Left => "left",
                Align::Right => "right",
            };
            json!({"align": align, "is_wrapped": column.width == Width::Prose})
        })
        .collect();
    out.push(json!({"type": "table", "rows": rows, "column_settings": settings}));
    out
}

/// A cell as mrkdwn: escaped text, an https link, a tone's emoji, the detail in brackets.
fn row_cell(cell: &Cell) -> String {
    let label = escape::slack(&escape::truncate(&one_line(&cell.text), MAX_CELL_TEXT));
    let label = match cell.url.as_deref().and_then(escape::https_url) {
        Some(url) => format!("<{url}|{label}>"),
        None => label,
    };
    let label = match tone_emoji(cell.tone) {
        Some(name) => format!(":{name}: {label}"),
        None => label,
    };
    match &cell.detail {
        Some(detail) => format!(
            "{label} ({})",
            escape::slack(&escape::truncate(&one_line(detail), MAX_CELL_TEXT))
        ),
        None => label,
    }
}

/// One mrkdwn line per row: the first cell in bold, then each other cell, numbers with their
/// column name ("Active 1"), text as it is; sections split within the section limit.
fn row_lines(table: &Table) -> Vec<Value> {
    let mut out: Vec<Value> = caption(table).into_iter().collect();
    let lines = table.rows.iter().map(|row| {
        let mut parts = Vec::new();
        for (index, column) in table.columns.iter().enumerate() {
            let Some(cell) = row.get(index).filter(|cell| !cell.text.trim().is_empty()) else {
                continue;
            };
            let shown = row_cell(cell);
            parts.push(match (index, column.align) {
                (0, _) => format!("*{shown}*"),
                (_, Align::Right) => format!(
                    "{} {shown}",
                    escape::slack(&escape::truncate(&one_line(&column.name), 60))
                ),
                (_, Align::Left) => shown,
            });
        }
        escape::truncate(&parts.join(" · "), MAX_SECTION_TEXT)
    });
    let mut current = String::new();
    for line in lines {
        let needed = current.chars().count() + line.chars().count() + 1;
        if !current.is_empty() && needed > MAX_SECTION_TEXT {
            out.push(section(std::mem::take(&mut current)));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(section(current));
    }
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
