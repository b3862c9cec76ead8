//! Readable plain text from the HTML that Sentinel and Defender XDR send: incident
//! descriptions, comments (the bot's own triage comments among them), recommended actions
//! and threat intelligence summaries. The sources' readers call [`to_text`] on every such
//! field, so the model holds plain text only and no view needs to know HTML; renderers then
//! escape it for their platform as for any other text. Imports nothing from the project.
//!
//! The HTML is parsed by the `html2text` crate (html5ever underneath); this module only
//! decides what counts as HTML and how lists and links read in chat.

use html2text::render::{TaggedLine, TaggedLineElement, TextDecorator};
use std::borrow::Cow;

/// Element names whose tag marks a text as HTML. Text without one of them is plain text and
/// passes unchanged, so a description that merely mentions `<script>` or `a < b` keeps it, and
/// `&amp;` in plain text is never decoded.
const TAGS: [&str; 43] = [
    "a",
    "abbr",
    "b",
    "blockquote",
    "body",
    "br",
    "caption",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "html",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
];

/// The bullet an unordered list item starts with: not a Markdown list marker, so the
/// renderers' escaping leaves it as it is and every platform shows the same list.
pub const BULLET: &str = "• ";

/// `text` as readable plain text when it is HTML (see [`is_html`]), else `text` unchanged.
///
/// Paragraphs are separated by a blank line; list items are lines starting with [`BULLET`]
/// or their number (`1. `), nested lists indented; entities are decoded; a link keeps its
/// text, followed by its URL in brackets when the URL says more than the text (an `http`,
/// `https` or `mailto` target that the text does not already show). Lines are never wrapped.
/// Trailing spaces and blank lines at either end are removed. Markup the parser cannot read
/// leaves the text unchanged.
pub fn to_text(text: &str) -> Cow<'_, str> {
    if !is_html(text) {
        return Cow::Borrowed(text);
    }
    match convert(text) {
        Some(converted) => Cow::Owned(converted),
        None => Cow::Borrowed(text),
    }
}

/// [`to_text`] for an owned string: no copy when it is plain text.
pub fn into_text(text: String) -> String {
    match to_text(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(converted) => converted,
    }
}

/// True when `text` holds an opening or closing tag of an element in [`TAGS`] (any case,
/// e.g. `<p>`, `</LI>`, `<br/>`, `<a href=...>`).
pub fn is_html(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'<', bytes).any(|at| starts_tag(&bytes[at + 1..]))
}

fn starts_tag(rest: &[u8]) -> bool {
    let rest = rest.strip_prefix(b"/").unwrap_or(rest);
    let name_length = rest
        .iter()
        .take_while(|byte| byte.is_ascii_alphanumeric())
        .count();
    let ends = matches!(
        rest.get(name_length),
        Some(b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r')
    );
    ends && name_length > 0 && {
        let name = String::from_utf8_lossy(&rest[..name_length]).to_ascii_lowercase();
        TAGS.contains(&name.as_str())
    }
}

/// The text is rendered this much wider than its own length, so nothing is ever wrapped:
/// nested list indents and link targets are the only text the rendering adds.
const WIDTH_SLACK: usize = 1_000;

fn convert(html: &str) -> Option<String> {
    let width = html.chars().count() + WIDTH_SLACK;
    // The markup is untrusted: a panic inside the parser on some odd input must cost this
    // one field its conversion, not the whole answer.
    let lines = std::panic::catch_unwind(|| {
        html2text::config::with_decorator(ChatDecorator)
            .raw_mode(true)
            .allow_width_overflow()
            .lines_from_read(html.as_bytes(), width)
    })
    .ok()?
    .ok()?;
    let mut out = String::with_capacity(html.len());
    let mut blank_run = 0;
    for line in &lines {
        let text = line_text(line);
        let text = text.trim_end();
        if text.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            // One blank line between paragraphs at most.
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(text);
    }
    Some(out)
}

/// What the renderer writes before an unordered list item, replaced by [`BULLET`].
const ASCII_BULLET: &str = "* ";

/// One rendered line, a list item's bullet as [`BULLET`] and each link's URL written after
/// its text where it adds something.
fn line_text(line: &TaggedLine<Vec<Link>>) -> String {
    let mut out = String::new();
    // The link being written: its target and the text written for it so far.
    let mut open: Option<(&str, String)> = None;
    for element in line.iter() {
        let TaggedLineElement::Str(piece) = element else {
            continue;
        };
        let target = piece.tag.iter().rev().find_map(|link| link.0.as_deref());
        if open.as_ref().map(|(url, _)| *url) != target {
            close_link(&mut out, open.take());
            open = target.map(|url| (url, String::new()));
        }
        if let Some((_, text)) = open.as_mut() {
            text.push_str(&piece.s);
        }
        out.push_str(&piece.s);
    }
    close_link(&mut out, open);
    let indent = out.len() - out.trim_start_matches(' ').len();
    if out[indent..].starts_with(ASCII_BULLET) {
        out.replace_range(indent..indent + ASCII_BULLET.len(), BULLET);
    }
    out
}

/// Writes ` (url)` after a link whose URL says more than its text.
fn close_link(out: &mut String, link: Option<(&str, String)>) {
    let Some((url, text)) = link else {
        return;
    };
    let shown = url.strip_prefix("mailto:").unwrap_or(url);
    let useful = ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| url.len() > scheme.len() && url[..scheme.len()].eq_ignore_ascii_case(scheme))
        && !text.contains(shown.trim_end_matches('/'));
    if useful {
        out.push_str(" (");
        out.push_str(shown);
        out.push(')');
    }
}

/// A link's target, attached to the text inside it; the default (no link) is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Link(Option<String>);

/// Renders markup as plain text for chat: no emphasis marks, bullets and numbers for lists,
/// links as annotations that [`line_text`] turns into text.
#[derive(Debug, Clone, Copy)]
struct ChatDecorator;

impl TextDecorator for ChatDecorator {
    type Annotation = Link;

    fn decorate_link_start(&mut self, url: &str) -> (String, Link) {
        (String::new(), Link(Some(url.trim().to_string())))
    }

    fn decorate_link_end(&mut self) -> String {
        String::new()
    }

    fn decorate_em_start(&self) -> (String, Link) {
        (String::new(), Link::default())
    }

    fn decorate_em_end(&self) -> String {
        String::new()
    }

    fn decorate_strong_start(&self) -> (String, Link) {
        (String::new(), Link::default())
    }

    fn decorate_strong_end(&self) -> String {
        String::new()
    }

    fn decorate_strikeout_start(&self) -> (String, Link) {
        (String::new(), Link::default())
    }

    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }

    fn decorate_code_start(&self) -> (String, Link) {
        (String::new(), Link::default())
    }

    fn decorate_code_end(&self) -> String {
        String::new()
    }

    fn decorate_preformat_first(&self) -> Link {
        Link::default()
    }

    fn decorate_preformat_cont(&self) -> Link {
        Link::default()
    }

    fn decorate_image(&mut self, _src: &str, title: &str) -> (String, Link) {
        (title.to_string(), Link::default())
    }

    fn header_prefix(&self, _level: usize) -> String {
        String::new()
    }

    fn quote_prefix(&self) -> String {
        "> ".to_string()
    }

    fn unordered_item_prefix(&self) -> String {
        // ASCII: html2text sizes prefixes in bytes and columns alike, and a multi-byte
        // bullet makes it underflow; [`line_text`] writes the bullet.
        ASCII_BULLET.to_string()
    }

    fn ordered_item_prefix(&self, i: i64) -> String {
        format!("{i}. ")
    }

    fn make_subblock_decorator(&self) -> Self {
        *self
    }

    fn decorate_superscript_start(&self) -> (String, Link) {
        (String::new(), Link::default())
    }

    fn decorate_superscript_end(&self) -> String {
        String::new()
    }

    fn finalise(&mut self, _urls: Vec<String>) -> Vec<TaggedLine<Link>> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playbook_comment_reads_as_text_with_its_list() {
        assert_eq!(
            to_text(
                "<p><strong>Playbook</strong> ran &amp; isolated</p><ul><li>a</li><li>b</li></ul>"
            ),
            "Playbook ran & isolated\n• a\n• b"
        );
    }

    #[test]
    fn plain_text_passes_unchanged() {
        for plain in [
            "AT&T &amp; friends",
            "a < b and c > d",
            "The query carried <script>alert(1)</script> in a parameter.",
            "line one\n\n\nline three  ",
            "<at>Dana</at> <@U123>",
            "",
        ] {
            assert!(!is_html(plain), "{plain}");
            assert!(matches!(to_text(plain), Cow::Borrowed(same) if same == plain));
        }
    }

    #[test]
    fn ordered_and_nested_lists_keep_their_structure() {
        let text = to_text(
            "<p>Recommended next steps</p><ol><li>Isolate<ul><li>device 1</li></ul></li><li>Reset</li></ol>",
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "Recommended next steps",
                "1. Isolate",
                "   • device 1",
                "2. Reset"
            ]
        );
    }

    #[test]
    fn links_keep_their_text_and_a_url_that_adds_something() {
        assert_eq!(
            to_text(
                r##"<p>See <a href="https://learn.microsoft.com/x">the guide</a> or <a href="https://contoso.com">https://contoso.com</a>, mail <a href="mailto:soc@contoso.com">the SOC</a>, <a href="#top">top</a>.</p>"##
            ),
            "See the guide (https://learn.microsoft.com/x) or https://contoso.com, mail the SOC (soc@contoso.com), top."
        );
    }

    #[test]
    fn long_paragraphs_are_not_wrapped_and_breaks_are_kept() {
        let long = "word ".repeat(400);
        let html = format!("<div>{long}</div>first<br>second");
        let text = to_text(&html);
        assert_eq!(text.lines().count(), 2 + 1, "{text}");
        assert!(text.lines().next().is_some_and(|line| line.len() >= 1_999));
        assert!(text.ends_with("first\nsecond"), "{text}");
    }

    #[test]
    fn paragraphs_tables_headings_and_quotes_read_as_lines() {
        assert_eq!(
            to_text(
                "<p><b>Impact:</b> y</p><table><tr><td>a</td><td>b</td></tr></table><h2>Head</h2><blockquote>q</blockquote>"
            ),
            "Impact: y\n\na\nb\n\nHead\n\n> q"
        );
    }

    proptest::proptest! {
        /// Any mix of tags, entities and text converts without a panic, to text with no tag
        /// of its own left in it.
        #[test]
        fn any_markup_becomes_text(pieces in proptest::collection::vec(proptest::sample::select(vec![
            "<p>", "</p>", "<ul>", "</ul>", "<ol>", "</ol>", "<li>", "</li>", "<br>", "<b>", "</b>",
            "<a href=\"https://x.example\">", "</a>", "<table><tr><td>", "</td></tr></table>",
            "&amp;", "&lt;", "&nbsp;", "word", " ", "\n", "é 😀", "1.", "- ",
        ]), 0..40)) {
            let html = pieces.concat();
            let text = to_text(&html);
            for tag in ["<p>", "<li>", "<ul>", "<b>", "</a>", "<td>"] {
                proptest::prop_assert!(!text.contains(tag), "{html:?} -> {text:?}");
            }
        }
    }

    #[test]
    fn tags_are_recognised_in_any_case_with_attributes() {
        assert!(is_html("<P>x</P>"));
        assert!(is_html("x<br/>y"));
        assert!(is_html("<a href=\"https://x\">x</a>"));
        assert!(is_html("text</li>"));
        assert!(!is_html("<pa>x"));
        assert!(!is_html("<>"));
        assert!(!is_html("1 <2 and 3> 1"));
    }
}
