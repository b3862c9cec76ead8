//! Escaping and truncation helpers shared by the renderers. Every piece of
//! untrusted `Reply` text passes through one of these before reaching a chat.

/// Characters that start or end Markdown formatting anywhere in a line.
/// Escaping them with a backslash keeps emphasis, links, code spans, HTML and
/// entities inert in CommonMark, GitHub and the Adaptive Card TextBlock parser.
const MARKDOWN_INLINE: &[char] = &[
    '\\', '*', '_', '[', ']', '(', ')', '`', '<', '>', '&', '~', '|', '!', '#',
];

/// Escapes plain text for Markdown (GitHub-flavoured and Adaptive Card TextBlocks).
///
/// Inline specials are backslash-escaped everywhere; list markers (`-`, `+`,
/// `1.`, `1)`) are escaped at the start of a line so that text never turns
/// into a list.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    markdown_into(text, &mut out);
    out
}

/// [`markdown`], appended to `out`: renderers of long documents escape straight into
/// their output instead of allocating a string per piece of text.
pub fn markdown_into(text: &str, out: &mut String) {
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        escape_markdown_line(line, out);
    }
}

/// [`MARKDOWN_INLINE`] as a table by byte (all of them are ASCII).
const INLINE_BYTES: [bool; 128] = {
    let mut table = [false; 128];
    let mut index = 0;
    while index < MARKDOWN_INLINE.len() {
        table[MARKDOWN_INLINE[index] as usize] = true;
        index += 1;
    }
    table
};

fn escape_markdown_line(line: &str, out: &mut String) {
    let body = line.trim_start_matches([' ', '\t']);
    out.push_str(&line[..line.len() - body.len()]);
    let bytes = body.as_bytes();
    // Ordered-list markers are digits followed by `.` or `)`; escape that dot.
    let digits = bytes
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    // A list marker only counts when a space or the line end follows it. Every special
    // character is ASCII, so byte positions up to `digits` are character positions and
    // the text between specials is copied whole.
    let ends_marker = |at: usize| {
        body[at + 1..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace)
    };
    let mut copied = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let inline = INLINE_BYTES
            .get(usize::from(byte))
            .copied()
            .unwrap_or(false);
        let list_marker =
            at == 0 && (byte == b'=' || (matches!(byte, b'-' | b'+') && ends_marker(at)));
        let number_marker =
            digits > 0 && at == digits && matches!(byte, b'.' | b')') && ends_marker(at);
        if inline || list_marker || number_marker {
            out.push_str(&body[copied..at]);
            out.push('\\');
            copied = at;
        }
    }
    out.push_str(&body[copied..]);
}

/// Escapes text for Slack `mrkdwn` and `text` fields: `&`, `<` and `>` become
/// entities, which neutralises `<!channel>`, `<@U123>` and `<url|label>` links.
///
/// Formatting characters (`*`, `_`, `~`, `` ` ``) are kept: they can only
/// change emphasis, and Slack has no escape for them.
pub fn slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Escapes text that goes inside a Slack code block: entities as in [`slack`],
/// newlines as spaces, and a zero-width space after each backtick so a cell
/// can never close the block.
pub fn slack_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in slack(text).chars() {
        match ch {
            '\n' | '\r' | '\t' => out.push(' '),
            '`' => out.push_str("`\u{200B}"),
            _ => out.push(ch),
        }
    }
    out
}

/// Cuts `text` to at most `max` characters, ending with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits `text` into pieces of at most `max` characters, preferring to break
/// after a newline or space in the second half of a piece.
pub fn split(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        let window = &rest[..max];
        let cut = window
            .iter()
            .rposition(|ch| *ch == '\n' || *ch == ' ')
            .filter(|position| *position >= max / 2)
            .map_or(max, |position| position + 1);
        pieces.push(rest[..cut].iter().collect());
        rest.drain(..cut);
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest.into_iter().collect());
    }
    pieces
}

/// Returns `url` when it is an `https` URL that is safe inside a Markdown link
/// target (parentheses, spaces and angle brackets percent-encoded), else `None`.
pub fn https_url(url: &str) -> Option<String> {
    let url = url.trim();
    let scheme = "https://";
    if !url
        .get(..scheme.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
        || url.len() <= scheme.len()
    {
        return None;
    }
    if url.chars().any(char::is_control) {
        return None;
    }
    let mut out = String::with_capacity(url.len());
    for ch in url.chars() {
        match ch {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '[' => out.push_str("%5B"),
            ']' => out.push_str("%5D"),
            '|' => out.push_str("%7C"),
            '"' => out.push_str("%22"),
            '`' => out.push_str("%60"),
            '\\' => out.push_str("%5C"),
            _ => out.push(ch),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {

    /// The character-by-character rules the byte scan must keep.
    fn escape_by_chars(body: &str) -> String {
        let mut out = String::new();
        let digits = body.chars().take_while(char::is_ascii_digit).count();
        let chars: Vec<char> = body.chars().collect();
        for (position, &ch) in chars.iter().enumerate() {
            let ends_marker = chars
                .get(position + 1)
                .is_none_or(|next| next.is_whitespace());
            let list_marker =
                position == 0 && (ch == '=' || (matches!(ch, '-' | '+') && ends_marker));
            let number_marker =
                digits > 0 && position == digits && matches!(ch, '.' | ')') && ends_marker;
            if MARKDOWN_INLINE.contains(&ch) || list_marker || number_marker {
                out.push('\\');
            }
            out.push(ch);
        }
        out
    }

    #[test]
    fn the_byte_scan_escapes_as_the_character_rules_do() {
        for line in [
            "-",
            "- a",
            "-a",
            "+\u{3000}wide space",
            "=",
            "==",
            "12.",
            "12. x",
            "12.x",
            "3)",
            "3) y",
            "é. x",
            "1\u{e9}. x",
            "*_[]()`<>&~|!#\\",
            "plain text with ünïcödé — and 😀",
            "a.b",
            "1",
            "",
            "#1 of 2",
            "7\u{85}",
            "-\u{a0}",
            "99)\u{2003}",
        ] {
            let mut out = String::new();
            escape_markdown_line(line, &mut out);
            assert_eq!(out, escape_by_chars(line), "{line:?}");
        }
    }

    use super::*;

    #[test]
    fn markdown_makes_formatting_inert() {
        assert_eq!(
            markdown("<at>x</at> **bold** [link](http://evil)"),
            r"\<at\>x\</at\> \*\*bold\*\* \[link\]\(http://evil\)"
        );
    }

    #[test]
    fn markdown_escapes_list_markers_only_at_line_start() {
        assert_eq!(
            markdown("- a - b\n  12. c 3. d"),
            "\\- a - b\n  12\\. c 3. d"
        );
        assert_eq!(markdown("# head"), "\\# head");
        assert_eq!(markdown("1.50 -1 2."), "1.50 -1 2.");
        assert_eq!(markdown("2. x"), "2\\. x");
    }

    #[test]
    fn slack_neutralises_mentions_and_links() {
        assert_eq!(
            slack("<!channel> <@U123> <http://evil|click> & co"),
            "&lt;!channel&gt; &lt;@U123&gt; &lt;http://evil|click&gt; &amp; co"
        );
    }

    #[test]
    fn slack_code_cannot_close_the_block() {
        assert!(!slack_code("a```b").contains("```"));
        assert_eq!(slack_code("a\nb"), "a b");
    }

    #[test]
    fn truncate_and_split_respect_limits() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        let pieces = split(&"word ".repeat(100), 42);
        assert!(pieces.iter().all(|piece| piece.chars().count() <= 42));
        assert_eq!(pieces.concat(), "word ".repeat(100));
        assert_eq!(split("", 10), vec![String::new()]);
    }

    #[test]
    fn only_https_urls_are_linked() {
        assert_eq!(https_url("http://evil"), None);
        assert_eq!(https_url("javascript:alert(1)"), None);
        assert_eq!(
            https_url("https://portal.azure.com/x(1) y").as_deref(),
            Some("https://portal.azure.com/x%281%29%20y")
        );
    }
}
