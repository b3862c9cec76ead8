//! Reply -> Adaptive Card 1.5 JSON (with Teams chart elements as an option).
//! All Reply text is escaped for the TextBlock markdown subset here.

use super::chart;
use super::escape;
use crate::reply::{ActionStyle, Align, Block, Cell, Chart, ChartKind, Fact, Reply, Table, Tone};
use serde_json::{Value, json};

/// Rendering choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Emit Teams' `Chart.*` elements (Teams only; not in the Adaptive Card schema).
    pub teams_charts: bool,
}

/// Cards above this many bytes get their tables cut (Teams rejects ~100 KB+ messages).
pub const MAX_CARD_BYTES: usize = 80_000;

/// Longest text kept in one TextBlock, in characters.
const MAX_TEXT_CHARS: usize = 10_000;

/// Renders a reply as an Adaptive Card (the attachment `content`).
///
/// Buttons are `Action.Submit` with `data: {"command": "<command text>"}`;
/// the Teams channel reads `value.command` from the resulting message activity.
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
        .map(|action| {
            let mut it = json!({
                "type": "Action.Submit",
                "title": action.label,
                "data": {"command": action.command},
            });
            match action.style {
                ActionStyle::Default => {}
                ActionStyle::Primary => it["style"] = json!("positive"),
                ActionStyle::Danger => it["style"] = json!("destructive"),
            }
            it
        })
        .collect();
    let mut card = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    });
    if !actions.is_empty() {
        card["actions"] = Value::Array(actions);
    }
    if options.teams_charts {
        card["msteams"] = json!({"width": "Full"});
    }
    card
}

/// Escaped, length-capped text for a TextBlock.
fn text(raw: &str) -> String {
    escape::markdown(&escape::truncate(raw, MAX_TEXT_CHARS))
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
        Block::Text(paragraph) => vec![json!({
            "type": "TextBlock",
            "text": text(paragraph),
            "wrap": true,
        })],
        Block::Note(note) => vec![json!({
            "type": "TextBlock",
            "text": text(note),
            "wrap": true,
            "isSubtle": true,
            "size": "Small",
        })],
        Block::Alert(alert) => vec![json!({
            "type": "Container",
            "style": "emphasis",
            "items": [{
                "type": "TextBlock",
                "text": format!("⚠ {}", text(alert)),
                "wrap": true,
                "color": "Attention",
                "weight": "Bolder",
            }],
        })],
        Block::Facts(facts) => vec![render_facts(facts)],
        Block::Table(table) => render_table(table, row_limit),
        Block::Chart(chart) if options.teams_charts => vec![render_teams_chart(chart, row_limit)],
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
    let columns: Vec<Value> = table
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let widest = table
                .rows
                .iter()
                .filter_map(|row| row.get(index))
                .map(|cell| cell.text.chars().count())
                .chain([column.name.chars().count()])
                .max()
                .unwrap_or(1);
            // Relative widths: wide text columns get more room, capped so no column vanishes.
            json!({"width": widest.div_ceil(8).clamp(1, 4)})
        })
        .collect();
    let header: Vec<Value> = table
        .columns
        .iter()
        .map(|column| {
            table_cell(json!({
                "type": "TextBlock",
                "text": text(&column.name),
                "wrap": true,
                "weight": "Bolder",
                "horizontalAlignment": alignment(column.align),
            }))
        })
        .collect();
    let mut rows = vec![json!({"type": "TableRow", "cells": header})];
    for row in table.rows.iter().take(row_limit) {
        let cells: Vec<Value> = table
            .columns
            .iter()
            .enumerate()
            .map(|(index, column)| {
                let empty = Cell::text("");
                let cell = row.get(index).unwrap_or(&empty);
                table_cell(render_cell(cell, column.align))
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

fn table_cell(item: Value) -> Value {
    json!({"type": "TableCell", "items": [item]})
}

fn alignment(align: Align) -> &'static str {
    match align {
        Align::Left => "Left",
        Align::Right => "Right",
    }
}

fn render_cell(cell: &Cell, align: Align) -> Value {
    let label = text(&cell.text);
    let shown = match cell.url.as_deref().and_then(escape::https_url) {
        Some(url) => format!("[{label}]({url})"),
        None => label,
    };
    let mut block = json!({
        "type": "TextBlock",
        "text": shown,
        "wrap": true,
        "horizontalAlignment": alignment(align),
    });
    match cell.tone {
        Tone::Normal => {}
        Tone::Good => block["color"] = json!("Good"),
        Tone::Warning => block["color"] = json!("Warning"),
        Tone::Attention => block["color"] = json!("Attention"),
    }
    block
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
            json!({"legend": it.name, "values": values})
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
                    json!({"legend": category, "value": value})
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
    use crate::reply::{Action, Column};

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

    #[test]
    fn actions_carry_the_command() {
        let card = render(
            &Reply::titled("t").with_action(Action {
                style: ActionStyle::Danger,
                ..Action::new("Close", "/close 7")
            }),
            &Options::default(),
        );
        assert_eq!(card["actions"][0]["data"]["command"], "/close 7");
        assert_eq!(card["actions"][0]["style"], "destructive");
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
            columns: vec![Column::left("Title")],
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
