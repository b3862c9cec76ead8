//! The command grammar: chat text in, a typed `Command` out. Pure; never panics.
//!
//! Accepted with or without a leading `/`, and after a leading `@mention`.
//! User input leaves this module only as typed values (numbers, enums,
//! periods), so it can never reach a query as text.

use crate::incident::{Classification, Severity, Status};
use crate::period::{MAX_DAYS, Period};
use std::fmt;

/// Longest free text (comments, titles, descriptions) a command may carry.
pub const MAX_TEXT: usize = 4_000;

/// A parsed chat command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `/incidents [today|week|month|Nd|Nh] [severity=..] [status=..] [page=N]`
    Incidents(IncidentsQuery),
    /// `/incident N`
    Incident { number: u64 },
    /// `/recommend N|week|Nd`
    Recommend(Target),
    /// `/report [week|Nd]`
    Report { period: Period },
    /// `/help [command]`
    Help { topic: Option<Verb> },
    /// `/assign N me|<user>`
    Assign { number: u64, assignee: Assignee },
    /// `/status N new|active`
    SetStatus { number: u64, status: Status },
    /// `/close N <classification> [reason] [comment]`
    Close {
        number: u64,
        classification: Classification,
        reason: Option<CloseReason>,
        comment: Option<String>,
    },
    /// `/comment N <text>`
    Comment { number: u64, text: String },
    /// `/create "<title>" [severity] [description]`
    Create {
        title: String,
        severity: Severity,
        description: String,
    },
    /// `/confirm <token>`: run an action that was asked for and shown for confirmation.
    Confirm { token: String },
    /// `/cancel <token>`: drop an action waiting for confirmation.
    Cancel { token: String },
}

/// Filters for `/incidents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentsQuery {
    pub period: Period,
    pub severity: Option<Severity>,
    pub status: Option<Status>,
    /// 1-based page of the incident table.
    pub page: usize,
}

/// What `/recommend` is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Incident(u64),
    Period(Period),
}

/// Who `/assign` gives the incident to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// The person who typed the command.
    Me,
    /// A user named by UPN or e-mail.
    User(String),
}

/// Sentinel's `classificationReason` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    SuspiciousActivity,
    SuspiciousButExpected,
    IncorrectAlertLogic,
    InaccurateData,
}

impl CloseReason {
    /// The value Sentinel expects.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::SuspiciousActivity => "SuspiciousActivity",
            CloseReason::SuspiciousButExpected => "SuspiciousButExpected",
            CloseReason::IncorrectAlertLogic => "IncorrectAlertLogic",
            CloseReason::InaccurateData => "InaccurateData",
        }
    }

    fn parse(word: &str) -> Option<CloseReason> {
        let key: String = word
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        [
            CloseReason::SuspiciousActivity,
            CloseReason::SuspiciousButExpected,
            CloseReason::IncorrectAlertLogic,
            CloseReason::InaccurateData,
        ]
        .into_iter()
        .find(|reason| reason.as_str().to_ascii_lowercase() == key)
    }
}

/// The command words, for help topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Incidents,
    Incident,
    Recommend,
    Report,
    Help,
    Assign,
    Status,
    Close,
    Comment,
    Create,
}

impl Verb {
    /// Every verb, in the order help lists them.
    pub const ALL: [Verb; 10] = [
        Verb::Incidents,
        Verb::Incident,
        Verb::Recommend,
        Verb::Report,
        Verb::Assign,
        Verb::Status,
        Verb::Close,
        Verb::Comment,
        Verb::Create,
        Verb::Help,
    ];

    /// The word typed after the slash.
    pub fn word(self) -> &'static str {
        match self {
            Verb::Incidents => "incidents",
            Verb::Incident => "incident",
            Verb::Recommend => "recommend",
            Verb::Report => "report",
            Verb::Help => "help",
            Verb::Assign => "assign",
            Verb::Status => "status",
            Verb::Close => "close",
            Verb::Comment => "comment",
            Verb::Create => "create",
        }
    }

    /// One-line usage.
    pub fn usage(self) -> &'static str {
        match self {
            Verb::Incidents => {
                "/incidents [today|week|month|Nd|Nh] [severity=high|medium|low|informational] [status=new|active|closed]"
            }
            Verb::Incident => "/incident N",
            Verb::Recommend => "/recommend N|week|Nd",
            Verb::Report => "/report [week|Nd]",
            Verb::Help => "/help [command]",
            Verb::Assign => "/assign N me|user@example.com",
            Verb::Status => "/status N new|active",
            Verb::Close => {
                "/close N TruePositive|BenignPositive|FalsePositive|Undetermined [reason] [comment]"
            }
            Verb::Comment => "/comment N text",
            Verb::Create => "/create \"title\" [high|medium|low|informational] [description]",
        }
    }

    /// What the command does.
    pub fn summary(self) -> &'static str {
        match self {
            Verb::Incidents => {
                "Incident counts by status, severity and MITRE tactic, with the open high-severity incidents."
            }
            Verb::Incident => "One incident: details, alerts, entities and comments.",
            Verb::Recommend => {
                "Impact analysis and recommendations for an incident, or posture recommendations for a period."
            }
            Verb::Report => "The incident report for a period (default: the last 7 days).",
            Verb::Help => "This help, or the usage of one command.",
            Verb::Assign => "Assign an incident (asks for confirmation).",
            Verb::Status => "Change an incident's status (asks for confirmation).",
            Verb::Close => "Close an incident with a classification (asks for confirmation).",
            Verb::Comment => "Add a comment to an incident (asks for confirmation).",
            Verb::Create => "Create an incident by hand (asks for confirmation).",
        }
    }

    fn parse(word: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|verb| verb.word() == word)
    }
}

/// Why a text is not a valid command; the message is meant for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    pub message: String,
    /// The command the user was trying, for targeted help.
    pub verb: Option<Verb>,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(verb) = self.verb {
            write!(f, " Usage: {}", verb.usage())?;
        }
        Ok(())
    }
}

impl std::error::Error for UsageError {}

fn usage(verb: Verb, message: impl Into<String>) -> UsageError {
    UsageError {
        message: message.into(),
        verb: Some(verb),
    }
}

/// Parses chat text into a command.
pub fn parse(text: &str) -> Result<Command, UsageError> {
    let words = split_words(text);
    let mut words = words.as_slice();
    // A leading @mention (Slack `@bot`, or a Teams mention that survived stripping).
    while let Some(first) = words.first() {
        if first.starts_with('@') || (first.starts_with("<@") && first.ends_with('>')) {
            words = &words[1..];
        } else {
            break;
        }
    }
    let Some((first, rest)) = words.split_first() else {
        return Ok(Command::Help { topic: None });
    };
    let word = first.trim_start_matches('/').to_lowercase();
    // `/confirm` and `/cancel` come from buttons, so help does not list them.
    if let ("confirm" | "cancel", [token]) = (word.as_str(), rest) {
        if token.is_empty()
            || token.len() > 64
            || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(UsageError {
                message: "That confirmation token is not valid.".to_string(),
                verb: None,
            });
        }
        let token = token.clone();
        return Ok(if word == "confirm" {
            Command::Confirm { token }
        } else {
            Command::Cancel { token }
        });
    }
    let Some(verb) = Verb::parse(&word) else {
        return Err(UsageError {
            message: format!("I don't know the command `{}`.", shorten(first, 40)),
            verb: None,
        });
    };
    match verb {
        Verb::Incidents => parse_incidents(rest).map(Command::Incidents),
        Verb::Incident => {
            let [number] = rest else {
                return Err(usage(verb, "Give one incident number."));
            };
            Ok(Command::Incident {
                number: incident_number(verb, number)?,
            })
        }
        Verb::Recommend => {
            let [target] = rest else {
                return Err(usage(verb, "Give an incident number or a period."));
            };
            if target
                .trim_start_matches('#')
                .chars()
                .all(|c| c.is_ascii_digit())
            {
                return Ok(Command::Recommend(Target::Incident(incident_number(
                    verb, target,
                )?)));
            }
            let period = period(target).ok_or_else(|| {
                usage(
                    verb,
                    format!(
                        "`{}` is neither an incident number nor a period.",
                        shorten(target, 40)
                    ),
                )
            })??;
            Ok(Command::Recommend(Target::Period(period)))
        }
        Verb::Report => match rest {
            [] => Ok(Command::Report {
                period: Period::Week,
            }),
            [word] => {
                let period = period(word).ok_or_else(|| {
                    usage(verb, format!("`{}` is not a period.", shorten(word, 40)))
                })??;
                Ok(Command::Report { period })
            }
            _ => Err(usage(verb, "Give at most one period.")),
        },
        Verb::Help => match rest {
            [] => Ok(Command::Help { topic: None }),
            [word, ..] => Ok(Command::Help {
                topic: Verb::parse(&word.trim_start_matches('/').to_lowercase()),
            }),
        },
        Verb::Assign => {
            let [number, who] = rest else {
                return Err(usage(verb, "Give an incident number and `me` or a user."));
            };
            let number = incident_number(verb, number)?;
            let assignee = if who.eq_ignore_ascii_case("me") {
                Assignee::Me
            } else if is_user_name(who) {
                Assignee::User(who.clone())
            } else {
                return Err(usage(
                    verb,
                    format!(
                        "`{}` is not a user principal name or e-mail.",
                        shorten(who, 40)
                    ),
                ));
            };
            Ok(Command::Assign { number, assignee })
        }
        Verb::Status => {
            let [number, status] = rest else {
                return Err(usage(verb, "Give an incident number and a status."));
            };
            let number = incident_number(verb, number)?;
            let status: Status =
                status
                    .parse()
                    .map_err(|error: crate::incident::UnknownValue| {
                        usage(verb, format!("{}.", capitalise(&error.to_string())))
                    })?;
            if status == Status::Closed {
                return Err(usage(
                    verb,
                    "Use /close to close an incident: it needs a classification.",
                ));
            }
            Ok(Command::SetStatus { number, status })
        }
        Verb::Close => {
            let [number, classification, tail @ ..] = rest else {
                return Err(usage(verb, "Give an incident number and a classification."));
            };
            let number = incident_number(verb, number)?;
            let classification: Classification =
                classification
                    .parse()
                    .map_err(|error: crate::incident::UnknownValue| {
                        usage(verb, format!("{}.", capitalise(&error.to_string())))
                    })?;
            let (reason, tail) = match tail.split_first() {
                Some((word, after)) => match CloseReason::parse(word) {
                    Some(reason) => (Some(reason), after),
                    None => (None, tail),
                },
                None => (None, tail),
            };
            let comment = free_text(verb, tail)?;
            Ok(Command::Close {
                number,
                classification,
                reason,
                comment,
            })
        }
        Verb::Comment => {
            let [number, tail @ ..] = rest else {
                return Err(usage(verb, "Give an incident number and the comment."));
            };
            let number = incident_number(verb, number)?;
            let text =
                free_text(verb, tail)?.ok_or_else(|| usage(verb, "The comment is empty."))?;
            Ok(Command::Comment { number, text })
        }
        Verb::Create => {
            let [title, tail @ ..] = rest else {
                return Err(usage(verb, "Give a title in quotes."));
            };
            let (severity, tail) = match tail.split_first() {
                Some((word, after)) => match word.parse::<Severity>() {
                    Ok(severity) => (severity, after),
                    Err(_) => (Severity::Medium, tail),
                },
                None => (Severity::Medium, tail),
            };
            let title = title.trim().to_string();
            if title.is_empty() || title.chars().count() > 256 {
                return Err(usage(verb, "The title must be 1 to 256 characters."));
            }
            let description = free_text(verb, tail)?.unwrap_or_default();
            Ok(Command::Create {
                title,
                severity,
                description,
            })
        }
    }
}

fn parse_incidents(words: &[String]) -> Result<IncidentsQuery, UsageError> {
    let verb = Verb::Incidents;
    let mut query = IncidentsQuery {
        period: Period::Week,
        severity: None,
        status: None,
        page: 1,
    };
    let mut period_seen = false;
    for word in words {
        if let Some((key, value)) = word.split_once('=') {
            match key.to_lowercase().as_str() {
                "severity" | "sev" => {
                    query.severity = Some(value.parse().map_err(
                        |error: crate::incident::UnknownValue| {
                            usage(verb, format!("{}.", capitalise(&error.to_string())))
                        },
                    )?);
                }
                "status" => {
                    query.status = Some(value.parse().map_err(
                        |error: crate::incident::UnknownValue| {
                            usage(verb, format!("{}.", capitalise(&error.to_string())))
                        },
                    )?);
                }
                "page" => {
                    query.page = value
                        .parse::<usize>()
                        .ok()
                        .filter(|page| (1..=10_000).contains(page))
                        .ok_or_else(|| usage(verb, "The page must be a number from 1."))?;
                }
                _ => {
                    return Err(usage(
                        verb,
                        format!("Unknown filter `{}`.", shorten(key, 40)),
                    ));
                }
            }
        } else if let Some(parsed) = period(word) {
            if period_seen {
                return Err(usage(verb, "Give at most one period."));
            }
            query.period = parsed?;
            period_seen = true;
        } else if let Ok(severity) = word.parse::<Severity>() {
            query.severity = Some(severity);
        } else {
            return Err(usage(
                verb,
                format!("`{}` is not a period or a filter.", shorten(word, 40)),
            ));
        }
    }
    Ok(query)
}

/// Reads a period word; `None` when the word does not look like a period at all.
fn period(word: &str) -> Option<Result<Period, UsageError>> {
    let lower = word.to_lowercase();
    let fixed = match lower.as_str() {
        "today" => Some(Period::Today),
        "week" | "7d" => Some(Period::Week),
        "month" | "30d" => Some(Period::Month),
        _ => None,
    };
    if let Some(fixed) = fixed {
        return Some(Ok(fixed));
    }
    let unit = lower.chars().last()?;
    let digits = &lower[..lower.len() - unit.len_utf8()];
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || !matches!(unit, 'd' | 'h')
    {
        return None;
    }
    let out_of_range = || {
        Err(UsageError {
            message: format!("Periods go from 1h to {MAX_DAYS}d."),
            verb: None,
        })
    };
    let Ok(count) = digits.parse::<u32>() else {
        return Some(out_of_range());
    };
    Some(match unit {
        'd' if (1..=MAX_DAYS).contains(&count) => Ok(Period::Days(count)),
        'h' if (1..=MAX_DAYS * 24).contains(&count) => Ok(Period::Hours(count)),
        _ => out_of_range(),
    })
}

fn incident_number(verb: Verb, word: &str) -> Result<u64, UsageError> {
    word.trim_start_matches('#')
        .parse::<u64>()
        .ok()
        .filter(|number| *number > 0)
        .ok_or_else(|| {
            usage(
                verb,
                format!("`{}` is not an incident number.", shorten(word, 40)),
            )
        })
}

fn is_user_name(word: &str) -> bool {
    let parts: Vec<&str> = word.split('@').collect();
    parts.len() == 2
        && !parts[0].is_empty()
        && parts[1].contains('.')
        && word.len() <= 256
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-+'".contains(c))
}

fn free_text(verb: Verb, words: &[String]) -> Result<Option<String>, UsageError> {
    let text = words.join(" ");
    let text = text.trim();
    if text.chars().count() > MAX_TEXT {
        return Err(usage(
            verb,
            format!("The text is longer than {MAX_TEXT} characters."),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

/// Splits on white space, keeping "quoted phrases" (straight or curly quotes) as one word.
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in text.chars() {
        match c {
            '"' | '\u{201C}' | '\u{201D}' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(max).collect();
        short.push('…');
        short
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
