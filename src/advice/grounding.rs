//! The grounding check: finds every figure in the model's text and marks those the
//! prompt's facts do not contain. The model writes words; code writes numbers.
//!
//! Rules (documented here because callers and tests rely on them):
//! - A figure is an integer, a decimal (`12.5`, `1,234`), a percentage (`40%`, `40 percent`)
//!   or a duration (`3h`, `45 min`, `2 days`, `1 week`, `48-hour`).
//! - Durations are compared in minutes, so `48h` is grounded by a fact `2d`. Other figures
//!   are compared by value, rounded to two decimals.
//! - Digits glued to letters before them are identifiers, not figures: ATT&CK ids (`T1059.001`,
//!   `TA0001`, `M1032`), hostnames like `srv01`. They are left alone.
//! - `0` and `1` are exempt (articles and list numbering). Years are NOT exempt: a year is
//!   grounded only when the facts contain it (the facts carry the period's dates).
//!
//! Numbers written as English words are figures too, checked the same way (value, unit,
//! exemptions), so "seventeen mailboxes" needs a 17 in the facts and "two hundred messages"
//! a 200 (and a fact written in words grounds the digits). Words are read by the `text2num`
//! crate; what counts as a claim is decided here:
//! - Cardinals: `two`..`nineteen`, the tens, compounds (`twenty-one`, `two hundred and five`,
//!   `a hundred`, `a thousand`, `three million`) and decimals (`two point five`). `one` and
//!   `zero` are exempt like `1` and `0`, so "one of the incidents" is never marked.
//! - A number word hyphen-joined to a following word is a compound modifier, not a count
//!   ("two-factor", "three-way handshake", "third-party"), unless that word is a time unit
//!   ("four-hour window" is a duration of 240 minutes, as is "4-hour").
//! - Ordinals state a count only after "the" ("the fifth phishing incident", "for the third
//!   time" claim 5 and 3). Elsewhere they order or mean "another" ("Second, rotate the keys",
//!   "a second look") and are not figures, nor are they before a word naming a period or a
//!   stage ("the second half", "the third stage").
//! - Quantity words that state a specific count: "a dozen" (12), "two dozen" (24), "half a
//!   dozen" (6).
//! - Vague quantity words cannot be checked and are left alone: "several", "a few", "many",
//!   "a couple of" (an indefinite small number in common use), "a handful", and plural
//!   magnitudes without a multiplier ("dozens", "hundreds", "thousands of alerts").
//! - Ratios and multipliers ("twice", "double", "half") are not checked.
//!
//! No I/O.

use std::collections::BTreeSet;

mod words;

/// What an unverified figure is replaced with.
pub const MARK: &str = "[unverified]";

/// How a figure is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Percent,
    /// Converted to minutes.
    Duration,
}

/// One figure found in a text.
#[derive(Debug, Clone, PartialEq)]
struct Figure {
    /// Byte range in the text, including any unit.
    start: usize,
    end: usize,
    /// Value rounded to hundredths (minutes for durations).
    key: i64,
    kind: Kind,
}

/// The figures a prompt's facts contain; anything else in an answer is unverified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grounding {
    values: BTreeSet<i64>,
    minutes: BTreeSet<i64>,
}

/// A model text after the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The text with every unverified figure replaced by [`MARK`].
    pub text: String,
    /// The figures that were replaced, as the model wrote them.
    pub unverified: Vec<String>,
}

impl Grounding {
    /// Collects every figure in the facts text given to the model.
    pub fn from_facts(facts: &str) -> Grounding {
        let mut grounding = Grounding::default();
        grounding.add(facts);
        grounding
    }

    /// Adds the figures of more fact text (e.g. an earlier turn's facts).
    pub fn add(&mut self, facts: &str) {
        for figure in figures(facts) {
            match figure.kind {
                Kind::Duration => {
                    self.minutes.insert(figure.key);
                }
                Kind::Plain | Kind::Percent => {
                    self.values.insert(figure.key);
                }
            }
        }
    }

    fn contains(&self, figure: &Figure) -> bool {
        match figure.kind {
            Kind::Duration => self.minutes.contains(&figure.key),
            Kind::Plain | Kind::Percent => {
                figure.key == 0 || figure.key == 100 || self.values.contains(&figure.key)
            }
        }
    }

    /// Replaces every figure of `text` that the facts do not contain by [`MARK`].
    pub fn check(&self, text: &str) -> Checked {
        let mut out = String::with_capacity(text.len());
        let mut unverified = Vec::new();
        let mut copied_to = 0;
        for figure in figures(text) {
            if self.contains(&figure) {
                continue;
            }
            out.push_str(&text[copied_to..figure.start]);
            out.push_str(MARK);
            unverified.push(text[figure.start..figure.end].to_string());
            copied_to = figure.end;
        }
        out.push_str(&text[copied_to..]);
        Checked {
            text: out,
            unverified,
        }
    }
}

/// Minutes per unit word, or `None` for a percent sign/word or an unknown word.
fn unit(word: &str) -> Option<(Kind, f64)> {
    let kind = match word.to_ascii_lowercase().as_str() {
        "%" | "percent" | "pct" => (Kind::Percent, 1.0),
        "m" | "min" | "mins" | "minute" | "minutes" => (Kind::Duration, 1.0),
        "h" | "hr" | "hrs" | "hour" | "hours" => (Kind::Duration, 60.0),
        "d" | "day" | "days" => (Kind::Duration, 1440.0),
        "w" | "wk" | "week" | "weeks" => (Kind::Duration, 10080.0),
        _ => return None,
    };
    Some(kind)
}

/// Every figure of `text`, digits and words, in order of position.
fn figures(text: &str) -> Vec<Figure> {
    let digits = digit_figures(text);
    // Words never hold digits, so the two cannot overlap; the filter keeps that an invariant.
    let words: Vec<Figure> = words::figures(text)
        .into_iter()
        .filter(|word| {
            !digits
                .iter()
                .any(|digit| digit.start < word.end && word.start < digit.end)
        })
        .collect();
    let mut found = [digits, words].concat();
    found.sort_by_key(|figure| figure.start);
    found
}

fn digit_figures(text: &str) -> Vec<Figure> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if !byte.is_ascii_digit() {
            index += 1;
            continue;
        }
        let glued = index > 0 && {
            let before = bytes[index - 1];
            before.is_ascii_alphabetic() || before == b'_' || before == b'.'
        };
        if glued {
            // An identifier such as T1059.001 or srv01: skip its whole run.
            while index < bytes.len()
                && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'.')
            {
                index += 1;
            }
            continue;
        }
        let start = index;
        let mut digits = String::new();
        while index < bytes.len() {
            let current = bytes[index];
            if current.is_ascii_digit() {
                digits.push(current as char);
                index += 1;
            } else if current == b','
                && bytes.len() >= index + 4
                && bytes[index + 1..index + 4].iter().all(u8::is_ascii_digit)
                && bytes
                    .get(index + 4)
                    .is_none_or(|next| !next.is_ascii_digit())
            {
                // Thousands separator.
                index += 1;
            } else if current == b'.'
                && bytes.get(index + 1).is_some_and(u8::is_ascii_digit)
                && !digits.contains('.')
            {
                digits.push('.');
                index += 1;
            } else {
                break;
            }
        }
        let mut end = index;
        let mut kind = (Kind::Plain, 1.0);
        // A unit directly after the number, or after one space or hyphen (`48-hour`).
        let hyphen = bytes.get(index) == Some(&b'-');
        let unit_start = if bytes.get(index) == Some(&b' ') || hyphen {
            index + 1
        } else {
            index
        };
        if bytes.get(unit_start) == Some(&b'%') && !hyphen {
            kind = (Kind::Percent, 1.0);
            end = unit_start + 1;
        } else {
            let mut unit_end = unit_start;
            while unit_end < bytes.len() && bytes[unit_end].is_ascii_alphabetic() {
                unit_end += 1;
            }
            if unit_end > unit_start
                && let Some(found_unit) = unit(&text[unit_start..unit_end])
                && (!hyphen || found_unit.0 == Kind::Duration)
            {
                kind = found_unit;
                end = unit_end;
            }
        }
        // Letters glued after the digits (e.g. `4th`, `x64`) are not part of the figure.
        while index < bytes.len() && bytes[index].is_ascii_alphanumeric() {
            index += 1;
        }
        index = index.max(end);
        let Ok(value) = digits.parse::<f64>() else {
            continue;
        };
        let key = (value * kind.1 * 100.0).round() as i64;
        found.push(Figure {
            start,
            end,
            key,
            kind: kind.0,
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(facts: &str, answer: &str) -> Checked {
        Grounding::from_facts(facts).check(answer)
    }

    #[test]
    fn figures_in_the_facts_pass() {
        let facts =
            "Total: 42\nResolution rate: 61.9%\nMean time to triage: 6h 10m\nSeverity High: 1,234";
        let answer = "42 incidents, 61.9% resolved, triage takes 6h 10m, 1234 high.";
        let checked = check(facts, answer);
        assert_eq!(checked.text, answer);
        assert!(checked.unverified.is_empty());
    }

    #[test]
    fn a_fabricated_figure_is_marked() {
        let checked = check(
            "Total: 42",
            "There were 42 incidents and 37% were phishing.",
        );
        assert_eq!(
            checked.text,
            "There were 42 incidents and [unverified] were phishing."
        );
        assert_eq!(checked.unverified, vec!["37%".to_string()]);
    }

    #[test]
    fn durations_compare_in_minutes() {
        let checked = check("Open for 2d", "open for 48 hours, not 3 days");
        assert_eq!(checked.text, "open for 48 hours, not [unverified]");
        assert_eq!(checked.unverified, vec!["3 days".to_string()]);
    }

    #[test]
    fn attack_ids_and_hostnames_are_not_figures() {
        let checked = check("", "T1059.001 in TA0002 on srv01; apply M1032.");
        assert!(checked.unverified.is_empty(), "{checked:?}");
    }

    #[test]
    fn zero_and_one_are_exempt_but_years_are_not() {
        let checked = check(
            "Window: 2026-11-16 to 2026-11-23",
            "1 host, 0 gaps, since 2019, in 2026",
        );
        assert_eq!(checked.unverified, vec!["2019".to_string()]);
    }

    #[test]
    fn decimals_and_plain_numbers_are_distinct() {
        let checked = check("Rate 12.5%", "12.5 percent, 13%");
        assert_eq!(checked.unverified, vec!["13%".to_string()]);
    }
    #[test]
    fn a_number_word_is_checked_like_digits() {
        let checked = check("Mailboxes: 12", "seventeen mailboxes forwarded mail");
        assert_eq!(checked.text, "[unverified] mailboxes forwarded mail");
        assert_eq!(checked.unverified, vec!["seventeen".to_string()]);
        let checked = check("Mailboxes: 17", "Seventeen mailboxes forwarded mail");
        assert!(checked.unverified.is_empty(), "{checked:?}");
    }

    #[test]
    fn compound_cardinals_match_their_digits_both_ways() {
        let checked = check(
            "Messages: 200",
            "two hundred messages, then twenty-one more",
        );
        assert_eq!(checked.unverified, vec!["twenty-one".to_string()]);
        let checked = check("Messages: 21", "two hundred messages, then twenty-one more");
        assert_eq!(checked.text, "[unverified] messages, then twenty-one more");
        let checked = check("two hundred and five alerts", "205 alerts");
        assert!(checked.unverified.is_empty(), "{checked:?}");
        let checked = check("Total: 100", "a hundred alerts, not a thousand");
        assert_eq!(checked.text, "a hundred alerts, not [unverified]");
        assert_eq!(checked.unverified, vec!["a thousand".to_string()]);
    }

    #[test]
    fn number_words_take_units() {
        let checked = check(
            "Mean time to triage: 2d\nResolution rate: 40%",
            "triage takes forty-eight hours or a 48-hour day, forty percent resolved, a four-hour window, three days open",
        );
        assert_eq!(
            checked.unverified,
            vec!["four-hour".to_string(), "three days".to_string()]
        );
    }

    #[test]
    fn an_ordinal_after_the_states_a_count() {
        let checked = check(
            "Phishing: 4",
            "the fifth phishing incident, for the fourth time",
        );
        assert_eq!(
            checked.text,
            "the [unverified] phishing incident, for the fourth time"
        );
        assert_eq!(checked.unverified, vec!["fifth".to_string()]);
        let checked = check("Phishing: 5", "the fifth phishing incident");
        assert!(checked.unverified.is_empty(), "{checked:?}");
    }

    #[test]
    fn idioms_and_vague_words_are_not_figures() {
        let answer = "One of the incidents needs a second look. Second, enforce two-factor \
            authentication and review third-party apps; in the second half of the week several \
            hosts, a few users, a couple of mailboxes and dozens (even hundreds) of alerts were \
            seen. The three-way handshake completed once; no one else, and someone logged in. \
            Some of the time, none.";
        let checked = check("Total: 42", answer);
        assert_eq!(checked.text, answer);
        assert!(checked.unverified.is_empty(), "{checked:?}");
    }

    #[test]
    fn counting_words_still_flag_two_of_the_incidents() {
        let checked = check("Total: 42", "two of the incidents and one of the hosts");
        assert_eq!(checked.unverified, vec!["two".to_string()]);
    }

    #[test]
    fn dozens_state_a_count_only_with_a_number_or_article() {
        let checked = check(
            "Hosts: 12",
            "a dozen hosts, half a dozen users, two dozen alerts",
        );
        assert_eq!(
            checked.unverified,
            vec!["half a dozen".to_string(), "two dozen".to_string()]
        );
        let checked = check(
            "Users: 6\nAlerts: 24",
            "half a dozen users, two dozen alerts",
        );
        assert!(checked.unverified.is_empty(), "{checked:?}");
    }

    #[test]
    fn a_line_break_or_comma_ends_a_number() {
        let checked = check(
            "Hosts: 20\nUsers: 3",
            "hosts: twenty\nthree users; twenty, three",
        );
        assert!(checked.unverified.is_empty(), "{checked:?}");
    }
}
