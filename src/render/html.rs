//! Reply -> a standalone HTML page, for report exports. Charts come as inline PNGs
//! when the caller supplies them, else as tables of their data.

use crate::reply::{Align, Block, Cell, Chart, Reply, Table, Tone};
use std::fmt::Write;

/// Renders a reply as an HTML document; `chart_png` maps each chart (in order) to a PNG, if drawn.
pub fn render(reply: &Reply, chart_pngs: &[Vec<u8>]) -> String {
    use base64::Engine;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
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
            Block::Chart(chart) => match charts.next() {
                Some(png) => {
                    let _ = writeln!(
                        html,
                        "<figure><img alt=\"{}\" src=\"data:image/png;base64,{}\"><figcaption>{}</figcaption></figure>",
                        escape(&chart.title),
                        base64::engine::general_purpose::STANDARD.encode(png),
                        escape(&chart.title)
                    );
                }
                None => table_html(&mut html, &chart_table(chart)),
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
    html.push_str("</body>\n</html>\n");
    html
}

/// A chart's data as a table: one row per category, one column per series.
pub fn chart_table(chart: &Chart) -> Table {
    use crate::reply::Column;
    let mut columns = vec![Column::left(
        chart
            .x_label
            .clone()
            .unwrap_or_else(|| "Category".to_string()),
    )];
    columns.extend(
        chart
            .series
            .iter()
            .map(|series| Column::right(series.name.clone())),
    );
    let rows = chart
        .categories
        .iter()
        .enumerate()
        .map(|(index, category)| {
            let mut row = vec![Cell::text(category)];
            row.extend(chart.series.iter().map(|series| {
                let value = series.values.get(index).copied().unwrap_or(0.0);
                Cell::text(if value.fract() == 0.0 {
                    format!("{value:.0}")
                } else {
                    format!("{value:.1}")
                })
            }));
            row
        })
        .collect();
    Table {
        title: Some(chart.title.clone()),
        columns,
        rows,
    }
}

fn table_html(html: &mut String, table: &Table) {
    html.push_str("<table>\n");
    if let Some(title) = &table.title {
        let _ = writeln!(html, "<caption>{}</caption>", escape(title));
    }
    html.push_str("<thead><tr>");
    for column in &table.columns {
        let _ = write!(
            html,
            "<th{}>{}</th>",
            align(column.align),
            escape(&column.name)
        );
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        html.push_str("<tr>");
        for (index, cell) in row.iter().enumerate() {
            let column_align = table
                .columns
                .get(index)
                .map(|column| column.align)
                .unwrap_or(Align::Left);
            let class = match cell.tone {
                Tone::Normal => "",
                Tone::Good => " class=\"good\"",
                Tone::Warning => " class=\"warning\"",
                Tone::Attention => " class=\"attention\"",
            };
            let text = escape(&cell.text);
            let content = match &cell.url {
                Some(url) if url.starts_with("https://") => {
                    format!("<a href=\"{}\">{text}</a>", escape(url))
                }
                _ => text,
            };
            let _ = write!(html, "<td{}{class}>{content}</td>", align(column_align));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
}

fn align(align: Align) -> &'static str {
    match align {
        Align::Left => "",
        Align::Right => " style=\"text-align:right\"",
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

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1b1b1b}\
table{border-collapse:collapse;margin:1em 0;width:100%}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}caption{text-align:left;font-weight:600;padding:4px 0}dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}\
dt{font-weight:600}dd{margin:0}.note{color:#666;font-size:0.9em}.alert{background:#fff4ce;padding:8px;border-left:4px solid #c19c00}\
.attention{color:#a4262c;font-weight:600}.warning{color:#8a5d00}.good{color:#107c10}img{max-width:100%}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{Column, Fact};

    #[test]
    fn untrusted_text_is_escaped() {
        let reply = Reply::titled("<script>alert(1)</script>")
            .with(Block::Facts(vec![Fact::new("Owner", "a\"b")]))
            .with(Block::Table(Table {
                title: None,
                columns: vec![Column::left("T")],
                rows: vec![vec![Cell::link("<b>x</b>", "javascript:alert(1)")]],
            }));
        let html = render(&reply, &[]);
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("a&quot;b"));
        assert!(!html.contains("javascript:"), "non-https links are dropped");
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
    }

    #[test]
    fn charts_without_png_become_tables() {
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
        assert!(html.contains("<td>Tue</td><td style=\"text-align:right\">2.5</td>"));
        let html = render(
            &Reply::titled("t").with(Block::Chart(chart)),
            &[vec![1, 2, 3]],
        );
        assert!(html.contains("src=\"data:image/png;base64,AQID\""));
    }
}
