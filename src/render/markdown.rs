//! Reply -> GitHub-flavoured Markdown, for the terminal and report exports.
//! Untrusted text is escaped with [`escape::markdown`]; nothing here knows chats.

use super::chart;
use super::escape;
use crate::reply::{Align, Block, Cell, Fact, Reply, Table};

/// Renders a reply as Markdown.
pub fn render(reply: &Reply) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !reply.title.is_empty() {
        parts.push(format!("# {}", one_line(&reply.title)));
    }
    for block in &reply.blocks {
        parts.push(render_block(block));
    }
    if !reply.actions.is_empty() {
        let lines: Vec<String> = reply
            .actions
            .iter()
            .filter_map(|action| match &action.url {
                Some(url) => escape::https_url(url)
                    .map(|url| format!("{}: <{url}>", one_line(&action.label))),
                None => Some(format!("Next: {}", code_span(&action.command))),
            })
            .collect();
        parts.push(lines.join("  \n"));
    }
    if let Some(page) = reply.page {
        parts.push(format!("_Page {} of {}_", page.number, page.of));
    }
    let mut out = parts.join("\n\n");
    out.push('\n');
    out
}

fn render_block(block: &Block) -> String {
    match block {
        Block::Heading(text) => format!("## {}", one_line(text)),
        Block::Text(text) => escape::markdown(text),
        Block::Note(text) => format!("_{}_", escape::markdown(text)),
        Block::Alert(text) => quote(&format!("⚠ {}", escape::markdown(text))),
        Block::Facts(facts) => render_facts(facts),
        Block::Table(table) => render_table(table),
        Block::Chart(chart) => render_table(&chart::data_table(chart)),
    }
}

/// A heading must stay on one line, or its tail becomes a paragraph.
fn one_line(text: &str) -> String {
    escape::markdown(&text.replace(['\r', '\n'], " "))
}

/// Prefixes every line with `> ` so a multi-line alert stays one quote.
fn quote(text: &str) -> String {
    text.split('\n')
        .map(|line| format!("> {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn render_facts(facts: &[Fact]) -> String {
    facts
        .iter()
        .map(|fact| format!("**{}:** {}", one_line(&fact.label), one_line(&fact.value)))
        .collect::<Vec<_>>()
        .join("  \n")
}

fn render_table(table: &Table) -> String {
    let mut lines = Vec::new();
    if let Some(title) = &table.title {
        lines.push(format!("**{}**", one_line(title)));
        lines.push(String::new());
    }
    if table.columns.is_empty() {
        return lines.join("\n");
    }
    let header: Vec<String> = table
        .columns
        .iter()
        .map(|column| table_text(&column.name))
        .collect();
    lines.push(format!("| {} |", header.join(" | ")));
    let rule: Vec<&str> = table
        .columns
        .iter()
        .map(|column| match column.align {
            Align::Left => "---",
            Align::Right => "---:",
        })
        .collect();
    lines.push(format!("| {} |", rule.join(" | ")));
    for row in &table.rows {
        let cells: Vec<String> = (0..table.columns.len())
            .map(|index| row.get(index).map(table_cell).unwrap_or_default())
            .collect();
        lines.push(format!("| {} |", cells.join(" | ")));
    }
    lines.join("\n")
}

/// Cell text on one line with `|` escaped (by [`escape::markdown`]).
fn table_text(text: &str) -> String {
    one_line(text)
}

fn table_cell(cell: &Cell) -> String {
    let text = table_text(&cell.text);
    let text = match cell.url.as_deref().and_then(escape::https_url) {
        Some(url) => format!("[{text}]({url})"),
        None => text,
    };
    match &cell.detail {
        Some(detail) => format!("{text} — _{}_", table_text(detail)),
        None => text,
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
