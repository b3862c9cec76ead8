//! Reply -> a standalone HTML page, for report exports and the web report. Charts come as
//! inline PNGs when the caller supplies them, else as tables of their data. Every piece of
//! Reply text is escaped with [`escape`]; links only to https URLs.
//!
//! The page reads on a phone (viewport meta, tables scroll sideways inside their box, short
//! columns never wrap) and in dark mode; tone colours keep over 4.5:1 contrast in both and
//! come with the text label, never instead of it. It asks search engines not to index it.

use super::chart;
use crate::reply::{Align, Block, Cell, List, Reply, Table, Tone, Width};
use std::fmt::Write;

/// Renders a reply as an HTML document; `chart_pngs` maps each chart (in order) to a PNG, if drawn.
pub fn render(reply: &Reply, chart_pngs: &[Vec<u8>]) -> String {
    use base64::Engine;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex, nofollow\">\n\
         <title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        escape(&reply.title),
        STYLE,
        escape(&reply.title)
    );
    let mut charts = chart_pngs.iter();
    for block in &reply.blocks {
        match block {
            Block::Heading(text) => {
                let _ = writeln!(html, "<h2>{}</h2>", escape(text));
            }
            Block::Text(text) => {
                let _ = writeln!(html, "<p>{}</p>", escape(text));
            }
            Block::Note(text) => {
                let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(text));
            }
            Block::Alert(text) => {
                let _ = writeln!(html, "<p class=\"alert\">{}</p>", escape(text));
            }
            Block::Facts(facts) => {
                html.push_str("<dl>\n");
                for fact in facts {
                    let _ = writeln!(
                        html,
                        "<dt>{}</dt><dd>{}</dd>",
                        escape(&fact.label),
                        escape(&fact.value)
                    );
                }
                html.push_str("</dl>\n");
            }
            Block::Table(table) => table_html(&mut html, table),
            Block::List(list) => list_html(&mut html, list),
            Block::Chart(chart) => match charts.next() {
                Some(png) => {
                    let _ = writeln!(
                        html,
                        "<figure><img alt=\"{}\" src=\"data:image/png;base64,{}\"><figcaption>{}</figcaption></figure>",
                        escape(&chart.title),
                        base64::engine::general_purpose::STANDARD.encode(png),
                        escape(&chart.title)
                    );
                    // The numbers behind the chart, for screen readers and exact values.
                    html.push_str("<details><summary>Chart data</summary>\n");
                    table_html(&mut html, &chart::data_table(chart));
                    html.push_str("</details>\n");
                }
                None => table_html(&mut html, &chart::data_table(chart)),
            },
        }
    }
    if let Some(page) = reply.page {
        let _ = writeln!(
            html,
            "<p class=\"note\">Page {} of {}</p>",
            page.number, page.of
        );
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

fn table_html(html: &mut String, table: &Table) {
    html.push_str("<div class=\"scroll\"><table>\n");
    if let Some(title) = &table.title {
        let _ = writeln!(html, "<caption>{}</caption>", escape(title));
    }
    html.push_str("<thead><tr>");
    for column in &table.columns {
        let _ = write!(
            html,
            "<th{}>{}</th>",
            classes(column.align, column.width),
            escape(&column.name)
        );
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        html.push_str("<tr>");
        for (index, cell) in row.iter().enumerate() {
            let (align, width) = table
                .columns
                .get(index)
                .map(|column| (column.align, column.width))
                .unwrap_or((Align::Left, Width::Prose));
            let _ = write!(
                html,
                "<td{}>{}</td>",
                classes(align, width),
                cell_html(cell)
            );
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table></div>\n");
}

/// The caption as a paragraph, then an ordered list: each item's text, its steps a nested
/// list (ordered when numbered), its detail muted.
fn list_html(html: &mut String, list: &List) {
    if let Some(title) = &list.title {
        let _ = writeln!(html, "<p class=\"caption\">{}</p>", escape(title));
    }
    html.push_str("<ol class=\"items\">\n");
    for item in &list.items {
        let _ = write!(html, "<li>{}", escape(&item.text));
        if !item.steps.is_empty() {
            let tag = if item.numbered { "ol" } else { "ul" };
            let _ = write!(html, "<{tag}>");
            for step in &item.steps {
                let _ = write!(html, "<li>{}</li>", escape(step));
            }
            let _ = write!(html, "</{tag}>");
        }
        if let Some(detail) = &item.detail {
            let _ = write!(html, "<div class=\"detail\">{}</div>", escape(detail));
        }
        html.push_str("</li>\n");
    }
    html.push_str("</ol>\n");
}

fn cell_html(cell: &Cell) -> String {
    let text = escape(&cell.text);
    let mut content = match &cell.url {
        Some(url) if url.starts_with("https://") => {
            format!("<a href=\"{}\">{text}</a>", escape(url))
        }
        _ => text,
    };
    let tone = match cell.tone {
        Tone::Normal => None,
        Tone::Good => Some("good"),
        Tone::Warning => Some("warning"),
        Tone::Attention => Some("attention"),
    };
    if let Some(tone) = tone {
        content = format!(
            "<span class=\"{tone}\"><span class=\"mark\" aria-hidden=\"true\">●</span> {content}</span>"
        );
    }
    if let Some(detail) = &cell.detail {
        let _ = write!(content, "<div class=\"detail\">{}</div>", escape(detail));
    }
    content
}

fn classes(align: Align, width: Width) -> &'static str {
    match (align, width) {
        (Align::Right, Width::Short) => " class=\"short num\"",
        (Align::Left, Width::Short) => " class=\"short\"",
        (Align::Right, Width::Prose) => " class=\"num\"",
        (Align::Left, Width::Prose) => "",
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Light and dark colours; every text colour keeps at least 5:1 against its background.
const STYLE: &str = ":root{color-scheme:light dark;--fg:#1b1b1b;--muted:#595959;--bg:#fff;--line:#d0d0d0;--head:#f3f3f3;--link:#0b5cad;\
--attention:#a4262c;--warning:#8a5d00;--good:#107c10;--alert-bg:#fff4ce;--alert-edge:#8a5d00}\
@media (prefers-color-scheme:dark){:root{--fg:#e6e6e6;--muted:#b3b3b3;--bg:#1b1b1b;--line:#444;--head:#2a2a2a;--link:#8ab4f8;\
--attention:#ff9b9b;--warning:#f2c661;--good:#7fd17f;--alert-bg:#3a3220;--alert-edge:#f2c661}}\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:var(--bg);color:var(--fg);margin:0;line-height:1.45}\
main{max-width:1100px;margin:0 auto;padding:1em}h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}a{color:var(--link)}\
.scroll{overflow-x:auto;margin:1em 0}table{border-collapse:collapse;width:100%}\
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}th{background:var(--head)}\
.short{white-space:nowrap}.num{text-align:right}caption{text-align:left;font-weight:600;padding:4px 0}\
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{font-weight:600}dd{margin:0}\
.note,.detail{color:var(--muted);font-size:0.9em}.alert{background:var(--alert-bg);padding:8px;border-left:4px solid var(--alert-edge)}\
.attention{color:var(--attention);font-weight:600}.warning{color:var(--warning)}.good{color:var(--good)}\
img{max-width:100%;height:auto}figure{margin:1em 0}details{margin:0 0 1em}\
.caption{font-weight:600}ol.items>li{margin:0 0 0.6em}p,td{white-space:pre-line}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{Chart, Column, Fact};

    #[test]
    fn untrusted_text_is_escaped() {
        let reply = Reply::titled("<script>alert(1)</script>")
            .with(Block::Facts(vec![Fact::new("Owner", "a\"b")]))
            .with(Block::Table(Table {
                title: None,
                columns: vec![Column::prose("T")],
                rows: vec![vec![
                    Cell::link("<b>x</b>", "javascript:alert(1)").with_detail("<i>owner</i>"),
                ]],
            }));
        let html = render(&reply, &[]);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("a&quot;b"));
        assert!(!html.contains("javascript:"), "non-https links are dropped");
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(html.contains("<div class=\"detail\">&lt;i&gt;owner&lt;/i&gt;</div>"));
        assert!(html.contains("<meta name=\"robots\" content=\"noindex, nofollow\">"));
    }

    #[test]
    fn charts_without_png_become_tables_and_with_png_keep_their_data() {
        let chart = Chart {
            title: "Per day".to_string(),
            kind: crate::reply::ChartKind::StackedBar,
            categories: vec!["Mon".to_string(), "Tue".to_string()],
            series: vec![crate::reply::Series {
                name: "High".to_string(),
                values: vec![1.0, 2.5],
            }],
            x_label: None,
            y_label: None,
        };
        let html = render(&Reply::titled("t").with(Block::Chart(chart.clone())), &[]);
        assert!(html.contains("<caption>Per day</caption>"));
        assert!(html.contains("<td class=\"short\">Tue</td><td class=\"short num\">2.50</td>"));
        let html = render(
            &Reply::titled("t").with(Block::Chart(chart)),
            &[vec![1, 2, 3]],
        );
        assert!(html.contains("src=\"data:image/png;base64,AQID\""));
        assert!(html.contains("<summary>Chart data</summary>"));
    }

    #[test]
    fn toned_cells_keep_their_label() {
        let table = Table {
            title: None,
            columns: vec![Column::left("Severity")],
            rows: vec![vec![Cell::toned("High", Tone::Attention)]],
        };
        let html = render(&Reply::titled("t").with(Block::Table(table)), &[]);
        assert!(html.contains("<span class=\"attention\"><span class=\"mark\" aria-hidden=\"true\">●</span> High</span>"));
    }
}
