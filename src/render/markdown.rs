//! Reply -> GitHub-flavoured Markdown, for the terminal and report exports.
//! Untrusted text is escaped with [`escape::markdown`]; nothing here knows chats.
//!
//! Everything is written into one output string: a full export lists every incident of
//! the period (100,000 rows are normal for a large SOC), so no piece gets its own string.

use super::chart;
use super::escape;
use crate::reply::{Align, Block, Cell, Fact, List, Reply, Table};
use std::fmt::Write as _;

/// Renders a reply as Markdown.
pub fn render(reply: &Reply) -> String {
    let mut out = String::new();
    let rendered = render_with(reply, &mut out, |_, block, out| {
        render_block(block, out);
        Ok(())
    });
    debug_assert!(rendered.is_ok(), "rendering into a string cannot fail");
    out
}

/// Output written to the writer in pieces of about this many bytes.
const PIECE: usize = 1 << 16;

/// Renders `reply` as [`render`] does into `writer`, with the rows `deferred` gives appended
/// to the table at that block position (an export's incident-detail table, see
/// [`crate::report::DeferredReply`]): each row is rendered as it comes and the text is
/// written in pieces, so neither the rows nor the whole text are ever held.
pub fn render_to<W: std::io::Write + ?Sized>(
    reply: &Reply,
    deferred: Option<(usize, impl Iterator<Item = Vec<Cell>>)>,
    writer: &mut W,
) -> std::io::Result<()> {
    let (at, mut rows) = match deferred {
        Some((at, rows)) => (Some(at), Some(rows)),
        None => (None, None),
    };
    let mut out = String::with_capacity(PIECE * 2);
    let flush = |out: &mut String, writer: &mut W| -> std::io::Result<()> {
        if out.len() >= PIECE {
            writer.write_all(out.as_bytes())?;
            out.clear();
        }
        Ok(())
    };
    render_with(reply, &mut out, |index, block, out| {
        match (block, Some(index) == at, rows.as_mut()) {
            (Block::Table(table), true, Some(rows)) => {
                render_table(table, out);
                for row in rows {
                    render_row(table.columns.len(), &row, out);
                    flush(out, writer)?;
                }
            }
            _ => render_block(block, out),
        }
        flush(out, writer)
    })?;
    writer.write_all(out.as_bytes())
}

/// The reply's parts in order, each block through `block` (given its position).
fn render_with(
    reply: &Reply,
    out: &mut String,
    mut block: impl FnMut(usize, &Block, &mut String) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // Parts are separated by a blank line, even a part that renders as nothing.
    let mut parts = 0;
    let mut separate = |out: &mut String| {
        if parts > 0 {
            out.push_str("\n\n");
        }
        parts += 1;
    };
    if !reply.title.is_empty() {
        separate(out);
        out.push_str("# ");
        one_line(&reply.title, out);
    }
    for (index, part) in reply.blocks.iter().enumerate() {
        separate(out);
        block(index, part, out)?;
    }
    if !reply.actions.is_empty() {
        separate(out);
        let mut first = true;
        for action in &reply.actions {
            // A link to a non-https page is left out, as in every renderer.
            let url = action.url.as_deref().map(escape::https_url);
            if let Some(None) = url {
                continue;
            }
            if !first {
                out.push_str("  \n");
            }
            first = false;
            match url.flatten() {
                Some(url) => {
                    one_line(&action.label, out);
                    let _ = write!(out, ": <{url}>");
                }
                None => {
                    out.push_str("Next: ");
                    out.push_str(&code_span(&action.command));
                }
            }
        }
    }
    if let Some(page) = reply.page {
        separate(out);
        let _ = write!(out, "_Page {} of {}_", page.number, page.of);
    }
    out.push('\n');
    Ok(())
}

fn render_block(block: &Block, out: &mut String) {
    match block {
        Block::Heading(text) => {
            out.push_str("## ");
            one_line(text, out);
        }
        Block::Text(text) => escape::markdown_into(text, out),
        Block::Note(text) => {
            out.push('_');
            escape::markdown_into(text, out);
            out.push('_');
        }
        Block::Alert(text) => quote(&format!("⚠ {}", escape::markdown(text)), out),
        Block::Facts(facts) => render_facts(facts, out),
        Block::Table(table) => render_table(table, out),
        Block::List(list) => render_list(list, out),
        Block::Chart(chart) => render_table(&chart::data_table(chart), out),
    }
}

/// A heading (or cell) must stay on one line, or its tail becomes a paragraph.
fn one_line(text: &str, out: &mut String) {
    if text.contains(['\r', '\n']) {
        escape::markdown_into(&text.replace(['\r', '\n'], " "), out);
    } else {
        escape::markdown_into(text, out);
    }
}

/// Prefixes every line with `> ` so a multi-line alert stays one quote.
fn quote(text: &str, out: &mut String) {
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str("> ");
        out.push_str(line);
    }
}

fn render_facts(facts: &[Fact], out: &mut String) {
    for (index, fact) in facts.iter().enumerate() {
        if index > 0 {
            out.push_str("  \n");
        }
        out.push_str("**");
        one_line(&fact.label, out);
        out.push_str(":** ");
        one_line(&fact.value, out);
    }
}

fn render_table(table: &Table, out: &mut String) {
    let mut lines = 0;
    if let Some(title) = &table.title {
        out.push_str("**");
        one_line(title, out);
        out.push_str("**\n");
        lines += 1;
    }
    if table.columns.is_empty() {
        return;
    }
    if lines > 0 {
        out.push('\n');
    }
    out.push('|');
    for column in &table.columns {
        out.push(' ');
        one_line(&column.name, out);
        out.push_str(" |");
    }
    out.push_str("\n|");
    for column in &table.columns {
        out.push_str(match column.align {
            Align::Left => " --- |",
            Align::Right => " ---: |",
        });
    }
    for row in &table.rows {
        render_row(table.columns.len(), row, out);
    }
}

/// One table row of `columns` cells (missing cells empty), on a line of its own.
fn render_row(columns: usize, row: &[Cell], out: &mut String) {
    out.push_str("\n|");
    for index in 0..columns {
        out.push(' ');
        if let Some(cell) = row.get(index) {
            table_cell(cell, out);
        }
        out.push_str(" |");
    }
}

/// A caption in bold, then an ordered list: each item's text with its detail after a dash in
/// italics, its steps a nested list (indented under the item's text).
fn render_list(list: &List, out: &mut String) {
    if let Some(title) = &list.title {
        out.push_str("**");
        one_line(title, out);
        out.push_str("**\n\n");
    }
    for (index, item) in list.items.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let marker = format!("{}. ", index + 1);
        out.push_str(&marker);
        one_line(&item.text, out);
        if let Some(detail) = &item.detail {
            out.push_str(" — _");
            one_line(detail, out);
            out.push('_');
        }
        let indent = " ".repeat(marker.len());
        for (step, line) in item.steps.iter().enumerate() {
            out.push('\n');
            out.push_str(&indent);
            match item.numbered {
                true => {
                    let _ = write!(out, "{}. ", step + 1);
                }
                false => out.push_str("- "),
            }
            one_line(line, out);
        }
    }
}

/// Cell text on one line with `|` escaped (by [`escape::markdown`]), linked when it has
/// a safe `https` URL, with its detail line after a dash in italics.
fn table_cell(cell: &Cell, out: &mut String) {
    match cell.url.as_deref().and_then(escape::https_url) {
        Some(url) => {
            out.push('[');
            one_line(&cell.text, out);
            out.push_str("](");
            out.push_str(&url);
            out.push(')');
        }
        None => one_line(&cell.text, out),
    }
    if let Some(detail) = &cell.detail {
        out.push_str(" — _");
        one_line(detail, out);
        out.push('_');
    }
}

/// A code span that survives backticks inside the command.
fn code_span(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let longest_run = text.split(|ch| ch != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    if longest_run > 0 {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{Action, Column, Page};

    #[test]
    fn renders_title_table_actions_and_page() {
        let reply = Reply {
            page: Some(Page { number: 2, of: 3 }),
            ..Reply::titled("Incidents")
        }
        .with(Block::Table(Table {
            title: None,
            columns: vec![Column::left("Title"), Column::right("Count")],
            rows: vec![vec![Cell::text("a | b\nc"), Cell::text(3)]],
        }))
        .with_action(Action::new("Recommend", "/recommend 1234"));
        let text = render(&reply);
        assert!(text.starts_with("# Incidents\n"));
        assert!(text.contains("| Title | Count |\n| --- | ---: |\n| a \\| b c | 3 |"));
        assert!(text.contains("Next: `/recommend 1234`"));
        assert!(text.ends_with("_Page 2 of 3_\n"));
    }

    #[test]
    fn untrusted_text_is_inert() {
        let reply = Reply::titled("<at>x</at> **bold** [link](http://evil)")
            .with(Block::Text("# not a heading\n- not a list".to_string()));
        let text = render(&reply);
        assert!(text.contains(r"# \<at\>x\</at\> \*\*bold\*\* \[link\]\(http://evil\)"));
        assert!(text.contains("\\# not a heading\n\\- not a list"));
    }

    #[test]
    fn code_span_handles_backticks() {
        assert_eq!(code_span("a`b"), "`` a`b ``");
    }
}
