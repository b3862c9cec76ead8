//! One copy of each repeated text in an answer.

use crate::incident::ArcStr;
use foldhash::fast::RandomState;
use std::collections::{HashMap, HashSet};

/// The distinct texts of one Log Analytics answer. A week's incidents repeat a few titles,
/// descriptions (an analytics rule's), owners, products, techniques and labels; a report
/// holds every incident at once, so each distinct text is held once and shared.
///
/// Hashed with foldhash (randomly seeded per process), not SipHash: every text of every row
/// passes through here, and SipHash was a tenth of a large report's time. The pool lives for
/// one answer from the team's own workspace.
#[derive(Debug, Default)]
pub(super) struct TextPool {
    texts: HashSet<ArcStr, RandomState>,
    /// Each description as sent (HTML or text) to its plain text, so each distinct one is
    /// converted once ([`crate::html_text::to_text`]).
    descriptions: HashMap<ArcStr, ArcStr, RandomState>,
}

impl TextPool {
    /// `text`, shared with every equal text this pool gave before.
    pub(super) fn share(&mut self, text: &str) -> ArcStr {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        let shared = ArcStr::from(text);
        self.texts.insert(shared.clone());
        shared
    }

    /// A description as plain text, converted from HTML when it is HTML, shared.
    pub(super) fn description(&mut self, sent: &str) -> ArcStr {
        if let Some(text) = self.descriptions.get(sent) {
            return text.clone();
        }
        let text = self.share(&crate::html_text::to_text(sent));
        let sent = self.share(sent);
        self.descriptions.insert(sent, text.clone());
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_copy_and_different_ones_do_not() {
        let mut pool = TextPool::default();
        let first = pool.share("Dana Analyst");
        let again = pool.share(&String::from("Dana Analyst"));
        let other = pool.share("Sam Analyst");
        assert!(ArcStr::ptr_eq(&first, &again));
        assert!(!ArcStr::ptr_eq(&first, &other));
        assert_eq!(
            (first.as_str(), other.as_str()),
            ("Dana Analyst", "Sam Analyst")
        );
    }

    #[test]
    fn a_description_is_converted_once_and_shared() {
        let mut pool = TextPool::default();
        let html = "<p>Review the <b>alerts</b>.</p>";
        let first = pool.description(html);
        let again = pool.description(html);
        assert_eq!(first, "Review the alerts.");
        assert!(ArcStr::ptr_eq(&first, &again));
        assert_eq!(pool.description("Plain text."), "Plain text.");
    }
}
