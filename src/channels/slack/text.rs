//! Slack's message text read back as what the person typed: the three escaped characters
//! (`&amp; &lt; &gt;`) unescaped, and the control sequences Slack wraps around users,
//! channels, special mentions, links and e-mail addresses (`<@U123|dana>`, `<#C123|soc>`,
//! `<!here>`, `<https://x|label>`, `<mailto:a@x|a@x>`) turned into their text, with user
//! mentions kept apart so the channel can resolve them. Rules: Slack's "Formatting text for
//! app surfaces" (docs.slack.dev, "Escaping text" and "Advanced formatting"): only `&`, `<`
//! and `>` are escaped, and a literal `<` or `>` always opens or closes a control sequence.
//!
//! slack-morphism 2.x builds messages but does not read this syntax back, so this small
//! decoder lives here.

/// A piece of Slack text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text as the person saw it.
    Text(String),
    /// A user mention, `<@U123>` or `<@U123|name>`.
    User { id: String, label: Option<String> },
}

/// Splits Slack text into plain text and user mentions; every other control sequence
/// becomes the text Slack displays for it. Never fails: an unclosed `<` is kept as text.
pub fn parse(raw: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = raw;
    while let Some(open) = rest.find('<') {
        text.push_str(&unescape(&rest[..open]));
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            text.push_str(&unescape(&rest[open..]));
            rest = "";
            break;
        };
        let inner = &after[..close];
        rest = &after[close + 1..];
        match control(inner) {
            Piece::Text(shown) => text.push_str(&shown),
            user => {
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(user);
            }
        }
    }
    text.push_str(&unescape(rest));
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    pieces
}

/// The text of a control sequence's inside (between `<` and `>`).
fn control(inner: &str) -> Piece {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(unescape(label)).filter(|it| !it.is_empty())),
        None => (inner, None),
    };
    if let Some(id) = target.strip_prefix('@') {
        return Piece::User {
            id: id.to_string(),
            label,
        };
    }
    let shown = if let Some(id) = target.strip_prefix('#') {
        format!("#{}", label.unwrap_or_else(|| id.to_string()))
    } else if let Some(special) = target.strip_prefix('!') {
        special_mention(special, label)
    } else if let Some(address) = target.strip_prefix("mailto:") {
        unescape(address)
    } else {
        link(&unescape(target), label)
    };
    Piece::Text(shown)
}

/// `<!here>` → `@here`; `<!subteam^S1|@soc>` → `@soc`; `<!date^…|fallback>` → the fallback.
fn special_mention(special: &str, label: Option<String>) -> String {
    if let Some(label) = label {
        return if special.starts_with("subteam^") && !label.starts_with('@') {
            format!("@{label}")
        } else {
            label
        };
    }
    let name = special.split('^').next().unwrap_or(special);
    format!("@{name}")
}

/// A link's text: the label when it is what was typed (`evil.com` for `http://evil.com`),
/// else `label (url)` so neither the text nor the target is lost.
fn link(url: &str, label: Option<String>) -> String {
    let Some(label) = label else {
        return url.to_string();
    };
    let bare = url.split_once("://").map_or(url, |(_, rest)| rest);
    let trimmed = bare.trim_end_matches('/');
    if label == url || label == bare || label == trimmed || url.starts_with("tel:") {
        label
    } else {
        format!("{label} ({url})")
    }
}

/// Undoes Slack's escaping of `&`, `<` and `>`, in one pass so `&amp;lt;` stays `&lt;`.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (decoded, length) = if tail.starts_with("&amp;") {
            ('&', 5)
        } else if tail.starts_with("&lt;") {
            ('<', 4)
        } else if tail.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(decoded);
        rest = &tail[length..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(raw: &str) -> String {
        parse(raw)
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(text) => text,
                Piece::User { id, .. } => format!("{{user {id}}}"),
            })
            .collect()
    }

    #[test]
    fn the_three_escapes_are_undone_once() {
        assert_eq!(
            text("blocked 10.0.0.5 &amp; 10.0.0.6"),
            "blocked 10.0.0.5 & 10.0.0.6"
        );
        assert_eq!(text("a &lt;b&gt; c"), "a <b> c");
        // Someone who typed `&lt;` literally gets `&lt;` back, not `<`.
        assert_eq!(text("&amp;lt; &amp;amp;"), "&lt; &amp;");
        assert_eq!(text("AT&T & co"), "AT&T & co");
    }

    #[test]
    fn control_sequences_become_their_text() {
        assert_eq!(
            text("mail <mailto:dana@contoso.com|dana@contoso.com>"),
            "mail dana@contoso.com"
        );
        assert_eq!(
            text("see <https://intranet.example/runbook|the runbook>"),
            "see the runbook (https://intranet.example/runbook)"
        );
        assert_eq!(
            text("blocked <http://evil.com|evil.com>"),
            "blocked evil.com"
        );
        assert_eq!(
            text("<https://evil.com/a?x=1&amp;y=2>"),
            "https://evil.com/a?x=1&y=2"
        );
        assert_eq!(text("ask <#C123|soc> now"), "ask #soc now");
        assert_eq!(text("ask <#C123|>"), "ask #C123");
        assert_eq!(text("<!here> and <!channel>"), "@here and @channel");
        assert_eq!(text("<!subteam^S0SOC|@soc-team> look"), "@soc-team look");
        assert_eq!(
            text("<!date^1392734382^{date_num}|2014-02-18 6:39 AM>"),
            "2014-02-18 6:39 AM"
        );
        assert_eq!(text("call <tel:+15551234|+1 555 1234>"), "call +1 555 1234");
    }

    #[test]
    fn user_mentions_stay_apart() {
        assert_eq!(
            parse("assign 501 <@U123ABC|dana>"),
            vec![
                Piece::Text("assign 501 ".to_string()),
                Piece::User {
                    id: "U123ABC".to_string(),
                    label: Some("dana".to_string())
                }
            ]
        );
        assert_eq!(
            parse("<@UBOT> hi"),
            vec![
                Piece::User {
                    id: "UBOT".to_string(),
                    label: None
                },
                Piece::Text(" hi".to_string())
            ]
        );
    }

    #[test]
    fn unclosed_brackets_are_text() {
        assert_eq!(text("a <b"), "a <b");
        assert_eq!(text("<"), "<");
        assert_eq!(text(">"), ">");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(raw in "\\PC{0,200}") {
            let _ = parse(&raw);
        }

        /// What Slack sends for typed text without `<` `>` sequences decodes to exactly that text.
        #[test]
        fn escaped_text_decodes_to_what_was_typed(typed in "\\PC{0,80}") {
            let escaped = typed.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            prop_assert_eq!(text(&escaped), typed);
        }
    }
}
