//! Reply -> Adaptive Card 1.5 JSON (with Teams' chart elements, full width and Universal
//! Actions as an option). All Reply text is escaped for the TextBlock markdown subset here.
//!
//! Layout rules, for cards people read on a 360 px phone as well as a laptop:
//! - a short table column ([`Width::Short`]: numbers, ids, severities, statuses) gets an
//!   explicit pixel width from its widest value and `wrap: false`, so no value is ever broken
//!   inside a word; only a prose column takes the remaining width and wraps (in a table
//!   without prose, the first column takes it, still without wrapping);
//! - a toned cell (severity) keeps its label in the default text colour, which has over 4.5:1
//!   contrast in Teams' light and dark themes, and adds a coloured dot before it: Teams'
//!   "warning" yellow is 1.5:1 on white and its dark-theme "attention" red 3.2:1, so colour
//!   only supplements the label;
//! - text with `code` spans becomes a RichTextBlock with monospace runs, because the TextBlock
//!   markdown subset has no code and would show the backticks;
//! - buttons go in rows that fit a 360 px phone: the renderer squeezes a row's buttons until
//!   their labels end in "…", so when they do not all fit in one row, each row becomes an
//!   `ActionSet` at the end of the body instead of the card's `actions`.

use super::chart;
use super::escape;
use crate::reply::{
    Action, ActionStyle, Align, Block, Cell, Chart, ChartKind, Fact, List, Reply, Table, Tone,
    Width,
};
use serde_json::{Value, json};

/// Rendering choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Teams host features: `Chart.*` elements, `msteams.width = "Full"` (for cards with a
    /// table or chart), and `Action.Execute`
    /// (with an `Action.Submit` fallback) for buttons that replace their card. None is in the
    /// Adaptive Card schema.
    pub teams: bool,
}

impl Options {
    /// The options for Microsoft Teams.
    pub fn teams() -> Options {
        Options { teams: true }
    }
}

/// Cards above this many bytes get their tables cut (Teams rejects ~100 KB+ messages).
pub const MAX_CARD_BYTES: usize = 80_000;

/// The verb of every `Action.Execute` the bot sends; `data.command` holds the command.
pub const EXECUTE_VERB: &str = "command";

/// Longest text kept in one TextBlock, in characters.
const MAX_TEXT_CHARS: usize = 10_000;

/// A short column wider than this (estimated) becomes a wrapping column instead.
const MAX_SHORT_COLUMN_PX: f64 = 190.0;

/// Padding and border of a table cell in Teams' host config (spacing "small" on both sides).
const CELL_CHROME_PX: f64 = 19.0;

/// The dot that carries a tone's colour in front of its label.
const TONE_MARK: &str = "●";

/// Width of a row of buttons in a card on a 360 px phone: the card less its 16 px padding on
/// each side (measured in the reference renderer by `tests/cards/measure-buttons.mjs`).
const PHONE_ACTION_ROW_PX: f64 = 328.0;

/// A button's width beyond its label (in the label's bold advances): 10 px padding and a 2 px
/// border each side, from Teams' container CSS, as measured by `measure-buttons.mjs`.
const BUTTON_CHROME_PX: f64 = 24.0;

/// Space between two buttons of a row: `actions.buttonSpacing` of Teams' host config.
const BUTTON_GAP_PX: f64 = 8.0;

/// Renders a reply as an Adaptive Card (the attachment `content`).
///
/// Buttons are `Action.Submit` with `data: {"command": "<command text>"}`, or with Teams
/// options and [`Action::in_place`], `Action.Execute` (verb [`EXECUTE_VERB`], same data) so the
/// answer comes back in the invoke response and replaces the card. Link buttons are
/// `Action.OpenUrl` (https only). `fallbackText` carries [`Reply::summary_text`].
pub fn render(reply: &Reply, options: &Options) -> Value {
    let mut row_limit = usize::MAX;
    loop {
        let card = render_with_limit(reply, options, row_limit);
        let size = card.to_string().len();
        let largest = largest_table(reply);
        if size <= MAX_CARD_BYTES || row_limit <= 1 || largest <= 1 {
            return card;
        }
        row_limit = row_limit.min(largest) / 2;
    }
}

fn largest_table(reply: &Reply) -> usize {
    reply
        .blocks
        .iter()
        .map(|block| match block {
            Block::Table(table) => table.rows.len(),
            Block::Chart(chart) => chart.categories.len(),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

fn render_with_limit(reply: &Reply, options: &Options, row_limit: usize) -> Value {
    let mut body = Vec::new();
    if !reply.title.is_empty() {
        body.push(json!({
            "type": "TextBlock",
            "text": text(&reply.title),
            "wrap": true,
            "size": "Large",
            "weight": "Bolder",
            "style": "heading",
        }));
    }
    for block in &reply.blocks {
        body.extend(render_block(block, options, row_limit));
    }
    if let Some(page) = reply.page {
        body.push(json!({
            "type": "TextBlock",
            "text": format!("Page {} of {}", page.number, page.of),
            "isSubtle": true,
            "size": "Small",
            "wrap": true,
        }));
    }
    let actions: Vec<Value> = reply
        .actions
        .iter()
        .filter_map(|action| render_action(action, options))
        .collect();
    let mut rows = action_rows(actions);
    let actions = match rows.len() {
        0 | 1 => rows.pop().unwrap_or_default(),
        _ => {
            body.extend(rows.into_iter().enumerate().map(|(index, row)| {
                // The first row keeps the space card actions get; the next sit as close
                // as the buttons within a row.
                let spacing = if index == 0 { "Default" } else { "Small" };
                json!({"type": "ActionSet", "spacing": spacing, "actions": row})
            }));
            Vec::new()
        }
    };
    let mut card = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        // Hosts may read fallbackText as markdown, so it is escaped like any TextBlock.
        "fallbackText": text(&escape::truncate(&reply.summary_text(), 500)),
        "body": body,
    });
    if !actions.is_empty() {
        card["actions"] = Value::Array(actions);
    }
    // Full width helps tables and charts on a laptop; short cards (confirmations, errors)
    // read better at Teams' normal card width.
    let wide = reply
        .blocks
        .iter()
        .any(|block| matches!(block, Block::Table(_) | Block::Chart(_)));
    if options.teams && wide {
        card["msteams"] = json!({"width": "Full"});
    }
    card
}

/// One button; `None` for a link that is not `https`.
fn render_action(action: &Action, options: &Options) -> Option<Value> {
    let mut it = match &action.url {
        Some(url) => {
            json!({"type": "Action.OpenUrl", "title": action.label, "url": escape::https_url(url)?})
        }
        None => json!({
            "type": "Action.Submit",
            "title": action.label,
            "data": {"command": action.command},
        }),
    };
    match action.style {
        ActionStyle::Default => {}
        ActionStyle::Primary => it["style"] = json!("positive"),
        ActionStyle::Danger => it["style"] = json!("destructive"),
    }
    if action.url.is_none() && action.in_place && options.teams {
        let mut execute = it.clone();
        execute["type"] = json!("Action.Execute");
        execute["verb"] = json!(EXECUTE_VERB);
        execute["fallback"] = it;
        return Some(execute);
    }
    Some(it)
}

/// Splits buttons, in order, into rows that fit [`PHONE_ACTION_ROW_PX`] (a button wider than
/// that alone gets a row of its own). Widths are estimated from the labels; see
/// [`button_px`].
fn action_rows(actions: Vec<Value>) -> Vec<Vec<Value>> {
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut used = 0.0;
    for action in actions {
        let width = button_px(action["title"].as_str().unwrap_or_default());
        match rows.last_mut() {
            Some(row) if used + BUTTON_GAP_PX + width <= PHONE_ACTION_ROW_PX => {
                used += BUTTON_GAP_PX + width;
                row.push(action);
            }
            _ => {
                used = width;
                rows.push(vec![action]);
            }
        }
    }
    rows
}

/// Estimated width in pixels of a button with this label (Teams draws button titles in
/// semibold, which the bold advances match within a pixel).
fn button_px(label: &str) -> f64 {
    text_px(label, true) + BUTTON_CHROME_PX
}

/// Every button of a card in order: its `actions`, then those of each `ActionSet` in its body
/// (where rows of buttons go when they do not fit one row; see [`render`]).
pub fn buttons(card: &Value) -> Vec<&Value> {
    let card_actions = card["actions"].as_array().into_iter().flatten();
    let rows = card["body"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|element| element["type"] == "ActionSet")
        .flat_map(|set| set["actions"].as_array().into_iter().flatten());
    card_actions.chain(rows).collect()
}

/// Escaped, length-capped text for a TextBlock.
fn text(raw: &str) -> String {
    escape::markdown(&escape::truncate(raw, MAX_TEXT_CHARS))
}

/// How a run of text looks; applied to a TextBlock or to every run of a RichTextBlock.
#[derive(Clone, Copy, Default)]
struct Look {
    size: Option<&'static str>,
    weight: Option<&'static str>,
    color: Option<&'static str>,
    subtle: bool,
}

impl Look {
    fn apply(&self, element: &mut Value) {
        if let Some(size) = self.size {
            element["size"] = json!(size);
        }
        if let Some(weight) = self.weight {
            element["weight"] = json!(weight);
        }
        if let Some(color) = self.color {
            element["color"] = json!(color);
        }
        if self.subtle {
            element["isSubtle"] = json!(true);
        }
    }
}

/// A wrapping paragraph: a TextBlock, or RichTextBlocks when the text has `code` spans. Text
/// of several lines gets an element a line, in a Container (see [`line_elements`]).
fn paragraph(raw: &str, look: Look) -> Value {
    let raw = escape::truncate(raw, MAX_TEXT_CHARS);
    let plain = code_spans(&raw).iter().all(|(_, code)| !code);
    let mut lines = line_elements(&raw, |line| match plain {
        true => {
            let mut block =
                json!({"type": "TextBlock", "text": escape::markdown(line), "wrap": true});
            look.apply(&mut block);
            block
        }
        false => rich_line(line, look),
    });
    if lines.len() == 1 {
        return lines.remove(0);
    }
    json!({"type": "Container", "items": lines})
}

/// One element (made by `make`) per line of `raw`, because a single newline is only a soft
/// break in TextBlock Markdown and lines such as a comment's list items would run together.
/// A line after a blank one gets a paragraph's spacing, the others none; leading spaces
/// (a nested list's indent) become no-break spaces, which hosts keep. Always one element.
fn line_elements(raw: &str, make: impl Fn(&str) -> Value) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut after_blank = false;
    for line in raw.split('\n') {
        let line = line.trim_end();
        if line.is_empty() {
            after_blank = true;
            continue;
        }
        let body = line.trim_start_matches(' ');
        let indent = "\u{a0}".repeat(line.len() - body.len());
        let mut element = make(&format!("{indent}{body}"));
        if !out.is_empty() {
            element["spacing"] = json!(if after_blank { "Small" } else { "None" });
        }
        after_blank = false;
        out.push(element);
    }
    if out.is_empty() {
        out.push(make(""));
    }
    out
}

/// One line as a RichTextBlock, `code` spans in monospace. TextRun text is shown literally
/// (no markdown), so it needs no escaping.
fn rich_line(line: &str, look: Look) -> Value {
    let inlines: Vec<Value> = code_spans(line)
        .into_iter()
        .filter(|(piece, _)| !piece.is_empty())
        .map(|(piece, code)| {
            let mut run = json!({"type": "TextRun", "text": piece});
            look.apply(&mut run);
            if code {
                run["fontType"] = json!("Monospace");
            }
            run
        })
        .collect();
    json!({"type": "RichTextBlock", "inlines": inlines})
}

/// Splits text into (piece, is_code) at paired backticks; an unpaired backtick stays text.
fn code_spans(text: &str) -> Vec<(String, bool)> {
    let pieces: Vec<&str> = text.split('`').collect();
    if pieces.len() < 3 {
        return vec![(text.to_string(), false)];
    }
    let paired = if pieces.len() % 2 == 1 {
        pieces.len()
    } else {
        pieces.len() - 1
    };
    let mut out: Vec<(String, bool)> = pieces[..paired]
        .iter()
        .enumerate()
        .map(|(index, piece)| (piece.to_string(), index % 2 == 1))
        .collect();
    if paired < pieces.len()
        && let Some((last, _)) = out.last_mut()
    {
        last.push('`');
        last.push_str(pieces[paired]);
    }
    out
}

fn render_block(block: &Block, options: &Options, row_limit: usize) -> Vec<Value> {
    match block {
        Block::Heading(heading) => vec![json!({
            "type": "TextBlock",
            "text": text(heading),
            "wrap": true,
            "size": "Medium",
            "weight": "Bolder",
            "style": "heading",
            "spacing": "Medium",
        })],
        Block::Text(raw) => vec![paragraph(raw, Look::default())],
        Block::Note(note) => vec![paragraph(
            note,
            Look {
                size: Some("Small"),
                subtle: true,
                ..Look::default()
            },
        )],
        Block::Alert(alert) => vec![json!({
            "type": "Container",
            "style": "emphasis",
            "items": [paragraph(&format!("⚠ {alert}"), Look {
                weight: Some("Bolder"),
                ..Look::default()
            })],
        })],
        Block::Facts(facts) => vec![render_facts(facts)],
        Block::Table(table) => render_table(table, row_limit),
        Block::List(list) => render_list(list),
        Block::Chart(chart) if options.teams => vec![render_teams_chart(chart, row_limit)],
        Block::Chart(chart) => render_table(&chart::data_table(chart), row_limit),
    }
}

fn render_facts(facts: &[Fact]) -> Value {
    let facts: Vec<Value> = facts
        .iter()
        .map(|fact| json!({"title": text(&fact.label), "value": text(&fact.value)}))
        .collect();
    json!({"type": "FactSet", "facts": facts})
}

/// Advance widths, in tenths of a pixel, of ASCII 32..=126 in the reference renderer's 14 px
/// text (its stand-in for Segoe UI), measured with `tests/cards/measure-font.mjs`.
const REGULAR_TENTHS: [u8; 95] = [
    39, 39, 50, 78, 78, 124, 93, 27, 47, 47, 54, 82, 39, 47, 39, 39, 78, 78, 78, 78, 78, 78, 78,
    78, 78, 78, 39, 39, 82, 82, 82, 78, 142, 93, 93, 101, 101, 93, 86, 109, 101, 39, 70, 93, 78,
    117, 101, 109, 93, 109, 101, 93, 86, 101, 93, 132, 93, 93, 86, 39, 39, 39, 66, 78, 47, 78, 78,
    70, 78, 78, 36, 78, 78, 31, 31, 70, 31, 117, 78, 78, 78, 78, 47, 70, 39, 78, 70, 101, 70, 70,
    70, 47, 36, 47, 82,
];
/// The same for bold text.
const BOLD_TENTHS: [u8; 95] = [
    39, 47, 66, 78, 78, 124, 101, 33, 47, 47, 54, 82, 39, 47, 39, 39, 78, 78, 78, 78, 78, 78, 78,
    78, 78, 78, 47, 47, 82, 82, 82, 86, 137, 101, 101, 101, 101, 93, 86, 109, 101, 39, 78, 101, 86,
    117, 101, 109, 93, 109, 101, 93, 86, 101, 93, 132, 93, 93, 86, 47, 39, 47, 82, 78, 47, 78, 86,
    78, 86, 78, 47, 86, 86, 39, 39, 78, 39, 124, 86, 86, 86, 86, 54, 78, 47, 86, 78, 109, 78, 78,
    70, 54, 39, 54, 82,
];

/// Estimated width in pixels of text in Teams' 14 px font (bold when `bold`), from the
/// reference renderer's measured advances plus 8% for fonts and hosts that run wider.
fn text_px(text: &str, bold: bool) -> f64 {
    let table = if bold { &BOLD_TENTHS } else { &REGULAR_TENTHS };
    let tenths: u32 = text
        .chars()
        .map(|ch| match u32::from(ch) {
            code @ 32..=126 => u32::from(table[(code - 32) as usize]),
            _ => 100,
        })
        .sum();
    f64::from(tenths) / 10.0 * 1.08
}

/// Pixel width a cell needs on one line: its text, its tone mark, its detail line (small).
fn cell_px(cell: &Cell) -> f64 {
    let bold = cell.tone == Tone::Attention;
    // The dot and its space.
    let mark = if cell.tone == Tone::Normal { 0.0 } else { 14.0 };
    let detail = cell
        .detail
        .as_deref()
        .map_or(0.0, |detail| text_px(detail, false) * 12.0 / 14.0);
    (text_px(&cell.text, bold) + mark).max(detail)
}

/// How a column is laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fit {
    /// Short: exactly this many pixels, no wrapping.
    Pixels(u32),
    /// Prose, or a short column too wide to be short: the remaining width, wrapping.
    Wrap,
    /// The first short column of a table without prose: the remaining width (at least its
    /// content, which the others leave), no wrapping, so the table spans the card.
    Fill,
}

/// How each column is laid out; see [`Fit`].
fn column_fits(table: &Table) -> Vec<Fit> {
    let mut fits: Vec<Fit> = table
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            if column.width == Width::Prose {
                return Fit::Wrap;
            }
            let widest = table
                .rows
                .iter()
                .filter_map(|row| row.get(index))
                .map(cell_px)
                .fold(text_px(&column.name, true), f64::max);
            if widest <= MAX_SHORT_COLUMN_PX {
                Fit::Pixels((widest + CELL_CHROME_PX).ceil() as u32)
            } else {
                Fit::Wrap
            }
        })
        .collect();
    if !fits.contains(&Fit::Wrap)
        && let Some(first) = fits.first_mut()
    {
        *first = Fit::Fill;
    }
    fits
}

/// A caption TextBlock (if any), the `Table`, and a note when rows were cut.
fn render_table(table: &Table, row_limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(title) = &table.title {
        out.push(json!({
            "type": "TextBlock",
            "text": text(title),
            "wrap": true,
            "weight": "Bolder",
            "spacing": "Medium",
        }));
    }
    if table.columns.is_empty() {
        return out;
    }
    let fits = column_fits(table);
    let columns: Vec<Value> = fits
        .iter()
        .map(|fit| match fit {
            Fit::Pixels(px) => json!({"width": format!("{px}px")}),
            Fit::Wrap | Fit::Fill => json!({"width": 1}),
        })
        .collect();
    let header: Vec<Value> = table
        .columns
        .iter()
        .zip(&fits)
        .map(|(column, fit)| {
            table_cell(vec![json!({
                "type": "TextBlock",
                "text": text(&column.name),
                "wrap": *fit == Fit::Wrap,
                "weight": "Bolder",
                "horizontalAlignment": alignment(column.align),
            })])
        })
        .collect();
    let mut rows = vec![json!({"type": "TableRow", "cells": header})];
    for row in table.rows.iter().take(row_limit) {
        let cells: Vec<Value> = table
            .columns
            .iter()
            .zip(&fits)
            .enumerate()
            .map(|(index, (column, fit))| {
                let empty = Cell::text("");
                let cell = row.get(index).unwrap_or(&empty);
                table_cell(render_cell(cell, column.align, *fit == Fit::Wrap))
            })
            .collect();
        rows.push(json!({"type": "TableRow", "cells": cells}));
    }
    out.push(json!({"type": "Table", "columns": columns, "rows": rows}));
    if table.rows.len() > row_limit {
        out.push(json!({
            "type": "TextBlock",
            "text": format!("Showing the first {row_limit} of {} rows.", table.rows.len()),
            "wrap": true,
            "isSubtle": true,
            "size": "Small",
        }));
    }
    out
}

/// A caption (if any), then per item a Container: the number in bold and the text, a row per
/// step (see [`step_row`]), and the detail line, small and muted.
fn render_list(list: &List) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(title) = &list.title {
        out.push(json!({
            "type": "TextBlock",
            "text": text(title),
            "wrap": true,
            "weight": "Bolder",
            "spacing": "Medium",
        }));
    }
    for (index, item) in list.items.iter().enumerate() {
        let mut items = vec![json!({
            "type": "TextBlock",
            "text": format!("**{}.** {}", index + 1, text(&item.text)),
            "wrap": true,
        })];
        for (step, line) in item.steps.iter().enumerate() {
            let marker = match item.numbered {
                true => format!("{}.", step + 1),
                false => "•".to_string(),
            };
            items.push(step_row(&marker, line, step == 0));
        }
        if let Some(detail) = &item.detail {
            items.push(json!({
                "type": "TextBlock",
                "text": text(detail),
                "wrap": true,
                "isSubtle": true,
                "size": "Small",
                "spacing": "None",
            }));
        }
        out.push(json!({"type": "Container", "items": items, "spacing": "Medium"}));
    }
    out
}

/// One step of a list item: its bullet or number in a narrow column and its text beside it,
/// so a wrapped step hangs under its own text. Markdown lists in a TextBlock would say the
/// same, but the reference renderer lets their indent push the text past the card's edge.
fn step_row(marker: &str, line: &str, first: bool) -> Value {
    json!({
        "type": "ColumnSet",
        "spacing": if first { "Small" } else { "None" },
        "columns": [
            {
                "type": "Column",
                "width": "24px",
                "items": [{"type": "TextBlock", "text": text(marker), "horizontalAlignment": "Right"}],
            },
            {
                "type": "Column",
                "width": "stretch",
                "items": [{
                    "type": "TextBlock",
                    "text": text(&line.replace(['\r', '\n'], " ")),
                    "wrap": true,
                }],
            },
        ],
    })
}

fn table_cell(items: Vec<Value>) -> Value {
    json!({"type": "TableCell", "items": items})
}

fn alignment(align: Align) -> &'static str {
    match align {
        Align::Left => "Left",
        Align::Right => "Right",
    }
}

/// The card colour of a tone's mark.
fn tone_color(tone: Tone) -> Option<&'static str> {
    match tone {
        Tone::Normal => None,
        Tone::Good => Some("Good"),
        Tone::Warning => Some("Warning"),
        Tone::Attention => Some("Attention"),
    }
}

/// A cell's items: its text (a link when it has an https URL; a dot plus label when toned),
/// and its muted detail line.
fn render_cell(cell: &Cell, align: Align, wrap: bool) -> Vec<Value> {
    let mut items = match tone_color(cell.tone) {
        // TextRun text is literal, so the label needs no markdown escaping.
        Some(color) => vec![json!({
            "type": "RichTextBlock",
            "horizontalAlignment": alignment(align),
            "inlines": [
                {"type": "TextRun", "text": format!("{TONE_MARK} "), "color": color},
                {
                    "type": "TextRun",
                    "text": escape::truncate(&cell.text, MAX_TEXT_CHARS),
                    "weight": if cell.tone == Tone::Attention { "Bolder" } else { "Default" },
                },
            ],
        })],
        None => match cell.url.as_deref().and_then(escape::https_url) {
            Some(url) => vec![json!({
                "type": "TextBlock",
                "text": format!("[{}]({url})", text(&cell.text.replace(['\r', '\n'], " "))),
                "wrap": wrap,
                "horizontalAlignment": alignment(align),
            })],
            // A comment's lines stay lines: a TextBlock each.
            None => line_elements(&escape::truncate(&cell.text, MAX_TEXT_CHARS), |line| {
                json!({
                    "type": "TextBlock",
                    "text": escape::markdown(line),
                    "wrap": wrap,
                    "horizontalAlignment": alignment(align),
                })
            }),
        },
    };
    if let Some(detail) = &cell.detail {
        items.push(json!({
            "type": "TextBlock",
            "text": text(detail),
            "wrap": wrap,
            "isSubtle": true,
            "size": "Small",
            "spacing": "None",
            "horizontalAlignment": alignment(align),
        }));
    }
    items
}

/// Teams chart colours by series name: severities get distinct named colours that stay apart
/// for colour-blind readers (red, marigold, blue, grey differ in lightness as well as hue);
/// Teams accepts only its named colours, so the PNG's Okabe-Ito values cannot be used here.
fn teams_color(name: &str) -> Option<&'static str> {
    match name.trim().to_ascii_lowercase().as_str() {
        "high" => Some("categoricalRed"),
        "medium" => Some("categoricalMarigold"),
        "low" => Some("categoricalBlue"),
        "informational" => Some("neutral"),
        _ => None,
    }
}

/// A Teams `Chart.*` element; its `fallback` is the data table for other hosts.
fn render_teams_chart(chart: &Chart, row_limit: usize) -> Value {
    let fallback = json!({
        "type": "Container",
        "items": render_table(&chart::data_table(chart), row_limit),
    });
    let point = |index: usize, values: &[f64]| -> Value {
        json!({"x": chart.categories[index], "y": values.get(index).copied().unwrap_or(0.0)})
    };
    let series: Vec<Value> = chart
        .series
        .iter()
        .map(|it| {
            let values: Vec<Value> = (0..chart.categories.len())
                .map(|index| point(index, &it.values))
                .collect();
            let mut series = json!({"legend": it.name, "values": values});
            if let Some(color) = teams_color(&it.name) {
                series["color"] = json!(color);
            }
            series
        })
        .collect();
    let mut element = match chart.kind {
        ChartKind::StackedBar => json!({
            "type": "Chart.VerticalBar.Grouped",
            "stacked": true,
            "data": series,
        }),
        ChartKind::Line => json!({"type": "Chart.Line", "data": series}),
        ChartKind::Donut => {
            let slices: Vec<Value> = chart
                .categories
                .iter()
                .enumerate()
                .map(|(index, category)| {
                    let value: f64 = chart
                        .series
                        .iter()
                        .map(|it| it.values.get(index).copied().unwrap_or(0.0))
                        .sum();
                    let mut slice = json!({"legend": category, "value": value});
                    if let Some(color) = teams_color(category) {
                        slice["color"] = json!(color);
                    }
                    slice
                })
                .collect();
            json!({"type": "Chart.Donut", "data": slices})
        }
    };
    element["title"] = json!(chart.title);
    if let Some(label) = &chart.x_label {
        element["xAxisTitle"] = json!(label);
    }
    if let Some(label) = &chart.y_label {
        element["yAxisTitle"] = json!(label);
    }
    element["fallback"] = fallback;
    element
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Column;

    #[test]
    fn title_is_escaped_and_inert() {
        let card = render(
            &Reply::titled("<at>x</at> **bold** [link](http://evil)"),
            &Options::default(),
        );
        let title = card["body"][0]["text"].as_str().expect("title text");
        assert_eq!(
            title,
            r"\<at\>x\</at\> \*\*bold\*\* \[link\]\(http://evil\)"
        );
    }

    #[test]
    fn only_https_cells_become_links() {
        let table = Table {
            title: None,
            columns: vec![Column::left("A"), Column::left("B")],
            rows: vec![vec![
                Cell::link("safe", "https://portal.azure.com/#x"),
                Cell::link("evil", "http://evil"),
            ]],
        };
        let card = render(
            &Reply::titled("t").with(Block::Table(table)),
            &Options::default(),
        );
        let cells = &card["body"][1]["rows"][1]["cells"];
        assert_eq!(
            cells[0]["items"][0]["text"],
            "[safe](https://portal.azure.com/#x)"
        );
        assert_eq!(cells[1]["items"][0]["text"], "evil");
        assert!(card["body"][1].get("firstRowAsHeaders").is_none());
    }

    fn labels(buttons: &[&Value]) -> Vec<String> {
        buttons
            .iter()
            .map(|it| it["title"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn buttons_that_fit_a_phone_row_stay_card_actions() {
        let card = render(
            &Reply::titled("t")
                .with_action(Action::new("Confirm", "/confirm x"))
                .with_action(Action::new("Cancel", "/cancel x")),
            &Options::teams(),
        );
        assert_eq!(labels(&buttons(&card)), ["Confirm", "Cancel"]);
        assert_eq!(card["actions"].as_array().map(Vec::len), Some(2));
        assert!(!card["body"].to_string().contains("ActionSet"), "{card:#}");
    }

    #[test]
    fn buttons_that_do_not_fit_a_phone_row_go_in_rows_of_action_sets() {
        // The paged /incidents card: 120 + 91 + 150 + 117 px of buttons (measured), 328 px a row.
        let paged = Reply::titled("t")
            .with(Block::Text("body".to_string()))
            .with_action(Action::new("Previous page", "/incidents 30d page=1").in_place())
            .with_action(Action::new("Next page", "/incidents 30d page=3").in_place())
            .with_action(Action::new("Recommendations", "/recommend 30d"))
            .with_action(Action::new("Weekly report", "/report week"));
        let card = render(&paged, &Options::teams());
        assert!(card.get("actions").is_none(), "{card:#}");
        let body = card["body"].as_array().expect("body");
        let sets: Vec<&Value> = body.iter().filter(|it| it["type"] == "ActionSet").collect();
        let rows: Vec<Vec<String>> = sets
            .iter()
            .map(|set| {
                labels(
                    &set["actions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                vec!["Previous page", "Next page"],
                vec!["Recommendations", "Weekly report"]
            ]
        );
        assert_eq!(body.last(), Some(sets[1]), "the rows end the card");
        assert_eq!(sets[0]["actions"][0]["type"], "Action.Execute");
        assert_eq!(
            labels(&buttons(&card)),
            [
                "Previous page",
                "Next page",
                "Recommendations",
                "Weekly report"
            ]
        );
        // The triage announcement: two fit, the third takes a second row.
        let triage = Reply::titled("t")
            .with_action(Action::new("Recommend", "/recommend 7").styled(ActionStyle::Primary))
            .with_action(Action::new("Show incident", "/incident 7"))
            .with_action(Action::new("Assign to me", "/assign 7 me"));
        let card = render(&triage, &Options::teams());
        let sets: Vec<usize> = card["body"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|it| it["type"] == "ActionSet")
            .map(|set| set["actions"].as_array().unwrap().len())
            .collect();
        assert_eq!(sets, [2, 1]);
    }

    #[test]
    fn every_row_of_buttons_fits_the_phone_estimate() {
        let rows = action_rows(
            [
                "Show incident 1234",
                "Recommend for 1234",
                "Open full report",
                "x",
            ]
            .iter()
            .map(|label| json!({"title": label}))
            .collect(),
        );
        for row in &rows {
            let width: f64 = row
                .iter()
                .map(|it| button_px(it["title"].as_str().unwrap()))
                .sum::<f64>()
                + BUTTON_GAP_PX * (row.len() - 1) as f64;
            assert!(width <= PHONE_ACTION_ROW_PX, "{row:?}: {width} px");
        }
        // 154 + 8 + 166 px measured: exactly the row, too tight for fonts that run wider.
        let sizes: Vec<usize> = rows.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 2, 1], "{rows:?}");
        assert!(action_rows(Vec::new()).is_empty());
    }

    #[test]
    fn actions_carry_the_command() {
        let card = render(
            &Reply::titled("t")
                .with_action(Action::new("Close", "/close 7").styled(ActionStyle::Danger)),
            &Options::default(),
        );
        assert_eq!(card["actions"][0]["type"], "Action.Submit");
        assert_eq!(card["actions"][0]["data"]["command"], "/close 7");
        assert_eq!(card["actions"][0]["style"], "destructive");
    }

    #[test]
    fn in_place_buttons_are_execute_in_teams_with_a_submit_fallback() {
        let reply = Reply::titled("t")
            .with_action(Action::new("Next page", "/incidents week page=2").in_place())
            .with_action(Action::link(
                "Open full report",
                "https://bot.example/reports/x",
            ))
            .with_action(Action::link("Bad link", "http://bot.example/reports/x"));
        let card = render(&reply, &Options::teams());
        let actions = card["actions"].as_array().expect("actions");
        assert_eq!(actions.len(), 2, "the http link is dropped");
        assert_eq!(actions[0]["type"], "Action.Execute");
        assert_eq!(actions[0]["verb"], EXECUTE_VERB);
        assert_eq!(actions[0]["data"]["command"], "/incidents week page=2");
        assert_eq!(actions[0]["fallback"]["type"], "Action.Submit");
        assert_eq!(actions[1]["type"], "Action.OpenUrl");
        assert_eq!(actions[1]["url"], "https://bot.example/reports/x");
        // Outside Teams an in-place button is a plain submit.
        let card = render(&reply, &Options::default());
        assert_eq!(card["actions"][0]["type"], "Action.Submit");
    }

    #[test]
    fn short_columns_get_pixel_widths_and_never_wrap() {
        let table = Table {
            title: None,
            columns: vec![
                Column::right("#"),
                Column::left("Severity"),
                Column::prose("Title"),
            ],
            rows: vec![vec![
                Cell::text(1423),
                Cell::toned("Informational", Tone::Normal),
                Cell::text("A long title that wraps").with_detail("Dana · Active"),
            ]],
        };
        let card = render(
            &Reply::titled("t").with(Block::Table(table)),
            &Options::default(),
        );
        let element = &card["body"][1];
        let widths: Vec<&Value> = element["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|column| &column["width"])
            .collect();
        assert!(widths[0].as_str().is_some_and(|it| it.ends_with("px")));
        let severity_px: u32 = widths[1]
            .as_str()
            .and_then(|it| it.strip_suffix("px"))
            .and_then(|it| it.parse().ok())
            .expect("pixel width");
        // "Informational" measured 81 px in the reference renderer; plus the cell padding.
        assert!((100..=115).contains(&severity_px), "{severity_px}");
        assert_eq!(widths[2], &json!(1));
        let cells = &element["rows"][1]["cells"];
        assert_eq!(cells[0]["items"][0]["wrap"], false);
        assert_eq!(cells[1]["items"][0]["wrap"], false);
        assert_eq!(cells[2]["items"][0]["wrap"], true);
        assert_eq!(cells[2]["items"][1]["text"], "Dana · Active");
        assert_eq!(cells[2]["items"][1]["isSubtle"], true);
    }

    #[test]
    fn toned_labels_keep_the_default_colour_and_add_a_coloured_dot() {
        let table = Table {
            title: None,
            columns: vec![Column::left("Severity")],
            rows: vec![vec![Cell::toned("Medium", Tone::Warning)]],
        };
        let card = render(
            &Reply::titled("t").with(Block::Table(table)),
            &Options::default(),
        );
        let item = &card["body"][1]["rows"][1]["cells"][0]["items"][0];
        assert_eq!(item["type"], "RichTextBlock");
        assert_eq!(item["inlines"][0]["color"], "Warning");
        assert_eq!(item["inlines"][1]["text"], "Medium");
        assert!(item["inlines"][1].get("color").is_none());
    }

    #[test]
    fn code_spans_become_monospace_runs_without_backticks() {
        let card = render(
            &Reply::titled("t").with(Block::Text(
                "Run `sentinel-bot report` then *relax* `".to_string(),
            )),
            &Options::default(),
        );
        let block = &card["body"][1];
        assert_eq!(block["type"], "RichTextBlock");
        let runs = block["inlines"].as_array().expect("runs");
        assert_eq!(runs[0]["text"], "Run ");
        assert_eq!(runs[1]["text"], "sentinel-bot report");
        assert_eq!(runs[1]["fontType"], "Monospace");
        assert_eq!(runs[2]["text"], " then *relax* `");
        assert!(!card.to_string().contains("`sentinel-bot"));
        assert_eq!(code_spans("no code"), vec![("no code".to_string(), false)]);
    }

    #[test]
    fn fallback_text_is_the_summary() {
        let card = render(
            &Reply::titled("Incidents").with_summary("84 incidents, 25 open"),
            &Options::default(),
        );
        assert_eq!(card["fallbackText"], "84 incidents, 25 open");
        assert_eq!(
            render(&Reply::titled("Incidents"), &Options::default())["fallbackText"],
            "Incidents"
        );
    }

    #[test]
    fn huge_tables_are_cut_to_fit() {
        let rows = (0..5000)
            .map(|index| {
                vec![Cell::text(format!(
                    "incident number {index} with a long title"
                ))]
            })
            .collect();
        let table = Table {
            title: None,
            columns: vec![Column::prose("Title")],
            rows,
        };
        let card = render(
            &Reply::titled("t").with(Block::Table(table)),
            &Options::default(),
        );
        assert!(card.to_string().len() <= MAX_CARD_BYTES);
        assert!(card.to_string().contains("Showing the first"));
    }
}
