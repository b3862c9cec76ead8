//! Inbound adapters: the chat platforms (the only code that knows Teams or Slack wire
//! formats) and the Sentinel automation webhook.

pub mod slack;
pub mod teams;
pub mod webhook;
pub mod workload;

/// Characters that show as nothing yet end up in typed text, from copy and paste or a
/// client's editor: zero-width space (U+200B), word joiner (U+2060) and the byte order mark,
/// or zero-width no-break space (U+FEFF). Zero-width joiner and non-joiner are not among
/// them: they change how emoji and some scripts look.
const INVISIBLE: [char; 3] = ['\u{200B}', '\u{2060}', '\u{FEFF}'];

/// `text` without the characters that show as nothing ([`INVISIBLE`]), so that what the
/// core reads is what the person saw: `\u{FEFF}/incidents\u{200B} week` is
/// `/incidents week`. Applied by each channel after decoding its format.
pub fn without_invisible(text: &str) -> String {
    text.chars().filter(|c| !INVISIBLE.contains(c)).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn invisible_characters_are_dropped_and_visible_ones_kept() {
        assert_eq!(
            super::without_invisible("\u{FEFF}/incidents\u{200B} week\u{2060}"),
            "/incidents week"
        );
        let emoji = "fixed \u{1F468}\u{200D}\u{1F4BB} caf\u{E9}";
        assert_eq!(super::without_invisible(emoji), emoji);
    }
}
