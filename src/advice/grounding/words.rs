//! Figures written as English words, under the rules of the parent module. Reading number
//! words ("two hundred and five", "twenty-first") is the `text2num` crate's work; this
//! module splits the text into words with their byte ranges and decides which numbers are
//! claims.

use super::{Figure, Kind, unit};
use std::borrow::Cow;
use text2num::lang::English;
use text2num::{Token, find_numbers, text2digits};

/// Words after "the <ordinal>" that make the ordinal a position in time or in a sequence of
/// stages, not a count: "the second half", "the third stage".
const ORDER_WORDS: [&str; 13] = [
    "half", "quarter", "hour", "day", "week", "month", "year", "stage", "phase", "step", "tier",
    "level", "line",
];

/// Magnitudes that "a"/"an" stands before as "one": "a hundred", "a thousand".
const MAGNITUDES: [&str; 4] = ["hundred", "thousand", "million", "billion"];

/// What [`text2num`] gives a line break: it skips whitespace, and a line break must end a
/// number ("twenty" at the end of one line and "three" at the start of the next are two).
const LINE_BREAK: &str = "|";

/// One word or punctuation mark of a text.
struct Word<'a> {
    text: &'a str,
    lowercase: String,
    /// Byte range in the text.
    start: usize,
    end: usize,
}

impl Word<'_> {
    /// Digits, punctuation and line breaks end a number and are never part of one; nor is
    /// a lone "o", which `text2num` reads as a spoken zero.
    fn number_part(&self) -> bool {
        self.lowercase != "o"
            && self.text.chars().any(char::is_alphabetic)
            && self
                .text
                .chars()
                .all(|c| c.is_alphabetic() || matches!(c, '-' | '\''))
    }
}

impl Token for &Word<'_> {
    fn text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.text)
    }

    fn text_lowercase(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.lowercase)
    }

    fn not_a_number_part(&self) -> bool {
        !self.number_part()
    }
}

/// A number found in the words, before any unit: words `first..last`.
#[derive(Debug)]
struct Number {
    first: usize,
    last: usize,
    value: f64,
    /// Ordinals take no unit.
    ordinal: bool,
}

/// Every figure written in words in `text`, in order of position.
pub(super) fn figures(text: &str) -> Vec<Figure> {
    let words = split(text);
    let english = English::new();
    let mut numbers: Vec<Number> = find_numbers(words.iter(), &english, 0.0)
        .into_iter()
        .filter_map(|found| {
            let number = Number {
                first: found.start,
                last: found.end,
                value: found.value,
                ordinal: found.is_ordinal,
            };
            is_claim(&words, &number).then_some(number)
        })
        .collect();
    add_dozens(&words, &mut numbers);
    let mut found: Vec<Figure> = numbers
        .iter()
        .map(|number| to_figure(&words, number))
        .collect();
    found.extend(hyphenated_durations(&words, &english));
    found.sort_by_key(|figure| figure.start);
    found
}

/// Words, hyphen- or apostrophe-joined compounds and single punctuation marks, without
/// whitespace; a line break becomes [`LINE_BREAK`].
fn split(text: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let end = if c.is_alphanumeric() {
            let mut end = start + c.len_utf8();
            while let Some(&(at, next)) = chars.peek() {
                // '-' and '\'' are one byte, so `at + 1` is a character boundary.
                let joins = matches!(next, '-' | '\'')
                    && text[at + 1..]
                        .chars()
                        .next()
                        .is_some_and(char::is_alphanumeric);
                if !(next.is_alphanumeric() || joins) {
                    break;
                }
                end = at + next.len_utf8();
                chars.next();
            }
            end
        } else if c == '\n' {
            words.push(Word {
                text: LINE_BREAK,
                lowercase: LINE_BREAK.to_string(),
                start,
                end: start + 1,
            });
            continue;
        } else if c.is_whitespace() {
            continue;
        } else {
            start + c.len_utf8()
        };
        words.push(Word {
            text: &text[start..end],
            lowercase: text[start..end].to_lowercase(),
            start,
            end,
        });
    }
    words
}

fn lowercase<'a>(words: &'a [Word<'_>], index: Option<usize>) -> Option<&'a str> {
    words.get(index?).map(|word| word.lowercase.as_str())
}

/// Whether a number `text2num` found states a count (the parent module's rules).
fn is_claim(words: &[Word<'_>], number: &Number) -> bool {
    if number.ordinal {
        let after_the = lowercase(words, number.first.checked_sub(1)) == Some("the");
        let next = lowercase(words, Some(number.last));
        return after_the && !next.is_some_and(|next| ORDER_WORDS.contains(&next));
    }
    // A lone plural ("hundreds", "thousands", "tens") is a magnitude, not a count;
    // `text2num` reads it as its singular.
    let lone_plural =
        number.last == number.first + 1 && words[number.first].lowercase.ends_with('s');
    !lone_plural
}

/// Adds "a dozen" (12), "half a dozen" (6) and "<number> dozen" (the number times 12).
/// "dozens" is vague and left alone.
fn add_dozens(words: &[Word<'_>], numbers: &mut Vec<Number>) {
    for (index, word) in words.iter().enumerate() {
        if word.lowercase != "dozen" {
            continue;
        }
        if let Some(times) = numbers
            .iter_mut()
            .find(|number| number.last == index && !number.ordinal)
        {
            times.value *= 12.0;
            times.last = index + 1;
            continue;
        }
        let mut number = Number {
            first: index,
            last: index + 1,
            value: 12.0,
            ordinal: false,
        };
        if matches!(lowercase(words, index.checked_sub(1)), Some("a" | "one")) {
            number.first = index - 1;
            if lowercase(words, index.checked_sub(2)) == Some("half") {
                number.first = index - 2;
                number.value = 6.0;
            }
        }
        numbers.push(number);
    }
}

/// The figure of a number: its unit word after it, if any, and "a"/"an" before a bare
/// magnitude ("a hundred") as part of its text.
fn to_figure(words: &[Word<'_>], number: &Number) -> Figure {
    let mut first = number.first;
    let stands_for_one = matches!(lowercase(words, first.checked_sub(1)), Some("a" | "an"));
    if stands_for_one && MAGNITUDES.contains(&words[first].lowercase.as_str()) {
        first -= 1;
    }
    let (mut kind, mut factor, mut end) = (Kind::Plain, 1.0, words[number.last - 1].end);
    if !number.ordinal
        && let Some(next) = words.get(number.last)
        && let Some((unit_kind, unit_factor)) = unit(&next.lowercase)
    {
        (kind, factor, end) = (unit_kind, unit_factor, next.end);
    }
    Figure {
        start: words[first].start,
        end,
        key: (number.value * factor * 100.0).round() as i64,
        kind,
    }
}

/// "four-hour", "twenty-four-hour": a number word hyphen-joined to a time unit is a
/// duration. Other hyphen compounds ("two-factor") are not numbers at all.
fn hyphenated_durations(words: &[Word<'_>], english: &English) -> Vec<Figure> {
    words
        .iter()
        .filter_map(|word| {
            let (head, tail) = word.lowercase.rsplit_once('-')?;
            let (Kind::Duration, factor) = unit(tail)? else {
                return None;
            };
            let value: f64 = text2digits(head, english).ok()?.parse().ok()?;
            Some(Figure {
                start: word.start,
                end: word.end,
                key: (value * factor * 100.0).round() as i64,
                kind: Kind::Duration,
            })
        })
        .collect()
}
