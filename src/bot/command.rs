//! The command grammar: chat text in, a typed `Command` out. Pure; never panics.
//!
//! Accepted with or without a leading `/`, and after a leading `@mention`.
//! User input leaves this module only as typed values (numbers, enums,
//! periods), so it can never reach a query as text.

use crate::incident::{
    Classification, ClassificationReason, IncidentRef, Severity, Status, is_workspace_name,
};
use crate::period::{MAX_DAYS, Period};
use std::fmt;

/// Longest free text (comments, titles, descriptions) a command may carry.
pub const MAX_TEXT: usize = 4_000;

/// A parsed chat command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `/incidents [today|week|month|Nd|Nh] [severity=..] [status=open|new|active|closed] [page=N]`
    Incidents(IncidentsQuery),
    /// `/incident N`; everywhere an incident is named, `N@workspace` names the workspace too.
    Incident { number: IncidentRef },
    /// `/recommend N|week|Nd`
    Recommend(Target),
    /// `/report [week|Nd]`
    Report { period: Period },
    /// `/help [command]`
    Help { topic: Option<Verb> },
    /// `/assign N me|<user>`
    Assign {
        number: IncidentRef,
        assignee: Assignee,
    },
    /// `/status N new|active`
    SetStatus { number: IncidentRef, status: Status },
    /// `/close N <classification> [reason] [comment]`, or `/close N <reason> [comment]`
    /// with the classification the reason belongs to. The reason, when given, is one that
    /// Sentinel pairs with the classification ([`ClassificationReason::classification`]).
    Close {
        number: IncidentRef,
        classification: Classification,
        reason: Option<ClassificationReason>,
        comment: Option<String>,
    },
    /// `/comment N <text>`
    Comment { number: IncidentRef, text: String },
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
    pub status: Option<StatusFilter>,
    /// 1-based page of the incident table.
    pub page: usize,
}

impl IncidentsQuery {
    /// The severity and status filter as a typed filter of the "created" figures.
    pub fn filter(&self) -> crate::analytics::CreatedFilter {
        crate::analytics::CreatedFilter {
            severity: self.severity,
            statuses: self.status.map(StatusFilter::statuses),
        }
    }
}

/// The status filter of `/incidents`: one Sentinel status, or `open` for New or Active
/// (the definition of open used everywhere, DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// New or Active.
    Open,
    New,
    Active,
    Closed,
}

impl StatusFilter {
    /// Whether an incident in `status` passes the filter.
    pub fn matches(self, status: Status) -> bool {
        match self {
            StatusFilter::Open => status.is_open(),
            StatusFilter::New => status == Status::New,
            StatusFilter::Active => status == Status::Active,
            StatusFilter::Closed => status == Status::Closed,
        }
    }

    /// The statuses the filter keeps, for a typed filter a source can apply itself.
    pub fn statuses(self) -> &'static [Status] {
        match self {
            StatusFilter::Open => &[Status::New, Status::Active],
            StatusFilter::New => &[Status::New],
            StatusFilter::Active => &[Status::Active],
            StatusFilter::Closed => &[Status::Closed],
        }
    }

    /// The name shown to people: Sentinel's status name, or `Open`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Open => "Open",
            StatusFilter::New => Status::New.as_str(),
            StatusFilter::Active => Status::Active.as_str(),
            StatusFilter::Closed => Status::Closed.as_str(),
        }
    }
}

impl From<Status> for StatusFilter {
    fn from(status: Status) -> StatusFilter {
        match status {
            Status::New => StatusFilter::New,
            Status::Active => StatusFilter::Active,
            Status::Closed => StatusFilter::Closed,
        }
    }
}

impl std::str::FromStr for StatusFilter {
    type Err = crate::incident::UnknownValue;

    fn from_str(text: &str) -> Result<StatusFilter, Self::Err> {
        if text.eq_ignore_ascii_case("open") {
            return Ok(StatusFilter::Open);
        }
        text.parse::<Status>().map(StatusFilter::from)
    }
}

impl fmt::Display for StatusFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Command {
    /// The command word it was typed with; `None` for the buttons' `/confirm` and `/cancel`.
    pub fn verb(&self) -> Option<Verb> {
        Some(match self {
            Command::Incidents(_) => Verb::Incidents,
            Command::Incident { .. } => Verb::Incident,
            Command::Recommend(_) => Verb::Recommend,
            Command::Report { .. } => Verb::Report,
            Command::Help { .. } => Verb::Help,
            Command::Assign { .. } => Verb::Assign,
            Command::SetStatus { .. } => Verb::Status,
            Command::Close { .. } => Verb::Close,
            Command::Comment { .. } => Verb::Comment,
            Command::Create { .. } => Verb::Create,
            Command::Confirm { .. } | Command::Cancel { .. } => return None,
        })
    }

    /// The incident the command names, if any.
    pub fn incident(&self) -> Option<&IncidentRef> {
        match self {
            Command::Incident { number }
            | Command::Assign { number, .. }
            | Command::SetStatus { number, .. }
            | Command::Close { number, .. }
            | Command::Comment { number, .. }
            | Command::Recommend(Target::Incident(number)) => Some(number),
            _ => None,
        }
    }
}

/// What `/recommend` is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Incident(IncidentRef),
    Period(Period),
}

/// Who `/assign` gives the incident to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// The person who typed the command.
    Me,
    /// A user named by UPN or e-mail, by Entra object id (a GUID), or by a mention the
    /// channel resolved (`Request::mentions` holds who it is).
    User(String),
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
                "/incidents [today|week|month|Nd|Nh] [high|medium|low|informational] [open|new|active|closed]"
            }
            Verb::Incident => "/incident N",
            Verb::Recommend => "/recommend N|week|Nd",
            Verb::Report => "/report [week|Nd]",
            Verb::Help => "/help [command]",
            Verb::Assign => "/assign N me|user@example.com|@mention",
            Verb::Status => "/status N new|active",
            Verb::Close => "/close N classification [reason] [comment]",
            Verb::Comment => "/comment N text",
            Verb::Create => "/create \"title\" [high|medium|low|informational] [description]",
        }
    }

    /// Whether the command takes a period (`week`, `Nd`...).
    pub fn takes_period(self) -> bool {
        matches!(self, Verb::Incidents | Verb::Recommend | Verb::Report)
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
            Verb::Close => {
                "Close an incident as TruePositive, BenignPositive, FalsePositive or Undetermined, optionally with a reason such as IncorrectAlertLogic; a reason alone implies its classification (asks for confirmation)."
            }
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

/// Reads `/close`'s classification and reason from `first` and the word after it, returning
/// the words left for the comment: `<classification> [reason]`, or `<reason>
/// [classification]` with the classification the reason implies. A pair Sentinel does not
/// accept is refused with the reasons the classification takes.
fn close_pair<'a>(
    verb: Verb,
    first: &str,
    tail: &'a [String],
) -> Result<(Classification, Option<ClassificationReason>, &'a [String]), UsageError> {
    let refuse = |wrong: crate::incident::MismatchedReason| usage(verb, format!("{wrong}."));
    let second = tail.first().map(String::as_str).unwrap_or_default();
    if let Ok(reason) = first.parse::<ClassificationReason>() {
        return match second.parse::<Classification>() {
            Ok(classification) => {
                classification.check_reason(reason).map_err(refuse)?;
                Ok((classification, Some(reason), &tail[1..]))
            }
            Err(_) => Ok((reason.classification(), Some(reason), tail)),
        };
    }
    let classification: Classification =
        first
            .parse()
            .map_err(|error: crate::incident::UnknownValue| {
                usage(verb, format!("{}.", capitalise(&error.to_string())))
            })?;
    match second.parse::<ClassificationReason>() {
        Ok(reason) => {
            classification.check_reason(reason).map_err(refuse)?;
            Ok((classification, Some(reason), &tail[1..]))
        }
        Err(_) => Ok((classification, None, tail)),
    }
}

fn usage(verb: Verb, message: impl Into<String>) -> UsageError {
    UsageError {
        message: message.into(),
        verb: Some(verb),
    }
}

/// Parses chat text into a command.
pub fn parse(text: &str) -> Result<Command, UsageError> {
    let words = split_words(text);
    let Some((first, rest)) = skip_mentions(&words).split_first() else {
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
    // Only the period-taking commands read `last week`: in free text it stays as typed.
    let period_words = join_period_words(rest);
    match verb {
        Verb::Incidents => parse_incidents(&period_words).map(Command::Incidents),
        Verb::Incident => {
            let [number] = rest else {
                return Err(usage(verb, "Give one incident number."));
            };
            Ok(Command::Incident {
                number: incident_number(verb, number)?,
            })
        }
        Verb::Recommend => {
            let [target] = period_words.as_slice() else {
                return Err(usage(verb, "Give an incident number or a period."));
            };
            if looks_like_incident(target) {
                return Ok(Command::Recommend(Target::Incident(incident_number(
                    verb, target,
                )?)));
            }
            let period = period_for(verb, target).ok_or_else(|| {
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
        Verb::Report => match period_words.as_slice() {
            [] => Ok(Command::Report {
                period: Period::Week,
            }),
            [word] => {
                let period = period_for(verb, word).ok_or_else(|| {
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
            } else if is_user_name(who) || is_object_id(who) || is_mention(who) {
                Assignee::User(who.clone())
            } else {
                return Err(usage(
                    verb,
                    format!(
                        "`{}` is not a user principal name, e-mail or mention.",
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
            let [number, first, tail @ ..] = rest else {
                return Err(usage(verb, "Give an incident number and a classification."));
            };
            let number = incident_number(verb, number)?;
            let (classification, reason, tail) = close_pair(verb, first, tail)?;
            Ok(Command::Close {
                number,
                classification,
                reason,
                comment: free_text(verb, tail)?,
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

/// A near miss of a command: the text with its command word corrected, and what that reads as.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The corrected text, e.g. `/incidents week` for `incidnets week`.
    pub text: String,
    /// What the corrected text parses to.
    pub parsed: Result<Command, UsageError>,
}

/// Reads text that is a near miss of a command as that command. Three slips are corrected:
/// - a command word within an optimal string alignment distance (a typo, a missing, extra or
///   swapped letter) of 1, or 2 for words of 7 letters or more, of a command word: `incidnets`;
/// - an argument glued to the command word: `/incident1200` is `/incident 1200`,
///   `/report30d` is `/report 30d`;
/// - a period word one letter off (`wek`, `tody`, `mnth`) after a command that takes a
///   period (incidents, report, recommend); free text (comments, titles) is never touched.
///
/// `None` for text that needs none of these, for command words under 4 letters, and for
/// words near no command word. A correction of the arguments alone is offered only when the
/// corrected text parses. When two command words are equally near, the one whose corrected
/// text parses wins; if neither does, there is no suggestion.
pub fn suggest(text: &str) -> Option<Suggestion> {
    let words = split_words(text);
    let (first, rest) = skip_mentions(&words).split_first()?;
    let typed = first.trim_start_matches('/').to_lowercase();
    let (word, glued) = unglue(&typed);
    let letters = word.chars().count();
    if letters < 4 || matches!(word, "confirm" | "cancel") {
        return None;
    }
    let rest: Vec<String> = glued
        .map(str::to_string)
        .into_iter()
        .chain(rest.iter().cloned())
        .collect();
    if let Some(verb) = Verb::parse(word) {
        let (arguments, periods_fixed) = correct_periods(verb, &rest);
        let text = corrected(verb, &arguments);
        let parsed = parse(&text);
        return match (glued, periods_fixed) {
            (Some(_), _) => Some(Suggestion { text, parsed }),
            (None, true) if parsed.is_ok() => Some(Suggestion { text, parsed }),
            _ => None,
        };
    }
    let allowed = if letters >= 7 { 2 } else { 1 };
    let distances: Vec<(usize, Verb)> = Verb::ALL
        .into_iter()
        .map(|verb| (strsim::osa_distance(word, verb.word()), verb))
        .filter(|(distance, _)| *distance <= allowed)
        .collect();
    let nearest = distances.iter().map(|(distance, _)| *distance).min()?;
    let candidates: Vec<Suggestion> = distances
        .into_iter()
        .filter(|(distance, _)| *distance == nearest)
        .map(|(_, verb)| {
            let text = corrected(verb, &correct_periods(verb, &rest).0);
            Suggestion {
                parsed: parse(&text),
                text,
            }
        })
        .collect();
    match candidates.iter().find(|it| it.parsed.is_ok()) {
        Some(parsed) => Some(parsed.clone()),
        None if candidates.len() == 1 => candidates.into_iter().next(),
        None => None,
    }
}

/// Splits a command word from an argument typed without a space: `incident1200` is
/// (`incident`, `1200`), `report30d` is (`report`, `30d`). The argument starts at the first
/// digit after at least one letter; a word without one is returned whole.
fn unglue(word: &str) -> (&str, Option<&str>) {
    match word.find(|c: char| c.is_ascii_digit()) {
        Some(at) if at > 0 && word[..at].chars().all(char::is_alphabetic) => {
            (&word[..at], Some(&word[at..]))
        }
        _ => (word, None),
    }
}

/// The period words a slip of one letter is read as.
const PERIOD_WORDS: [&str; 3] = ["today", "week", "month"];

/// `rest` with each word that reads as nothing but is one letter from a period word replaced
/// by it, for commands that take a period; and whether any word was replaced.
fn correct_periods(verb: Verb, rest: &[String]) -> (Vec<String>, bool) {
    if !matches!(verb, Verb::Incidents | Verb::Report | Verb::Recommend) {
        return (rest.to_vec(), false);
    }
    let mut changed = false;
    let words = rest
        .iter()
        .map(|word| {
            let lower = word.to_lowercase();
            let known = period(&lower).is_some()
                || lower.parse::<Severity>().is_ok()
                || lower.parse::<StatusFilter>().is_ok()
                || lower.chars().any(|c| !c.is_alphabetic());
            let near = PERIOD_WORDS
                .into_iter()
                .find(|period| strsim::osa_distance(&lower, period) == 1);
            match near {
                Some(period) if !known && lower.chars().count() >= 3 => {
                    changed = true;
                    period.to_string()
                }
                _ => word.clone(),
            }
        })
        .collect();
    (words, changed)
}

/// `/{verb} {rest}`, quoting the words that held spaces so they read back the same.
fn corrected(verb: Verb, rest: &[String]) -> String {
    let mut text = format!("/{}", verb.word());
    for word in rest {
        text.push(' ');
        if word.chars().any(char::is_whitespace) {
            text.push('"');
            text.push_str(word);
            text.push('"');
        } else {
            text.push_str(word);
        }
    }
    text
}

/// The words after any leading @mentions (Slack `@bot`, or a Teams mention that survived stripping).
fn skip_mentions(words: &[String]) -> &[String] {
    let skipped = words
        .iter()
        .take_while(|word| word.starts_with('@') || (word.starts_with("<@") && word.ends_with('>')))
        .count();
    &words[skipped..]
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
                    let severity =
                        value
                            .parse()
                            .map_err(|error: crate::incident::UnknownValue| {
                                usage(verb, format!("{}.", capitalise(&error.to_string())))
                            })?;
                    set_once(&mut query.severity, severity, "severity")?;
                }
                "status" => {
                    let status = value.parse::<StatusFilter>().map_err(
                        |error: crate::incident::UnknownValue| {
                            usage(verb, format!("{}.", capitalise(&error.to_string())))
                        },
                    )?;
                    set_once(&mut query.status, status, "status")?;
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
        } else if let Some(parsed) = period_for(verb, word) {
            if period_seen {
                return Err(usage(verb, "Give at most one period."));
            }
            query.period = parsed?;
            period_seen = true;
        } else if let Ok(severity) = word.parse::<Severity>() {
            set_once(&mut query.severity, severity, "severity")?;
        } else if let Ok(status) = word.parse::<StatusFilter>() {
            set_once(&mut query.status, status, "status")?;
        } else {
            return Err(usage(
                verb,
                format!("`{}` is not a period or a filter.", shorten(word, 40)),
            ));
        }
    }
    Ok(query)
}

/// Sets an `/incidents` filter; a second, different value is refused rather than replacing
/// the first, since the card shows one severity and one status.
fn set_once<T: PartialEq>(slot: &mut Option<T>, value: T, what: &str) -> Result<(), UsageError> {
    match slot {
        Some(seen) if *seen != value => {
            Err(usage(Verb::Incidents, format!("Give at most one {what}.")))
        }
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

/// [`period`] for a command: an out-of-range period is answered with that command's usage,
/// not the whole help.
fn period_for(verb: Verb, word: &str) -> Option<Result<Period, UsageError>> {
    period(word).map(|parsed| parsed.map_err(|error| usage(verb, error.message)))
}

/// Reads a period word; `None` when the word does not look like a period at all.
fn period(word: &str) -> Option<Result<Period, UsageError>> {
    let lower = word.to_lowercase();
    let fixed = match lower.as_str() {
        "today" => Some(Period::Today),
        "week" => Some(Period::Week),
        "month" => Some(Period::Month),
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

/// Reads the period phrases people type as one period word: `last week` and `past 7d`
/// become `week` and `7d`, `7 days` and `last 12 hours` become `7d` and `12h`.
fn join_period_words(words: &[String]) -> Vec<String> {
    let mut joined: Vec<String> = Vec::with_capacity(words.len());
    let mut index = 0;
    while index < words.len() {
        let word = &words[index];
        let next = words.get(index + 1).map(|it| it.to_lowercase());
        let unit = next.as_deref().and_then(|next| match next {
            "day" | "days" => Some('d'),
            "hour" | "hours" => Some('h'),
            _ => None,
        });
        if let Some(unit) = unit
            && !word.is_empty()
            && word.chars().all(|c| c.is_ascii_digit())
        {
            joined.push(format!("{word}{unit}"));
            index += 2;
            continue;
        }
        let filler = word.eq_ignore_ascii_case("last") || word.eq_ignore_ascii_case("past");
        let before_period = words
            .get(index + 1)
            .is_some_and(|next| period(next).is_some() || next.chars().all(|c| c.is_ascii_digit()));
        if !(filler && before_period) {
            joined.push(word.clone());
        }
        index += 1;
    }
    joined
}

/// True when `word` is digits, maybe after `#` and before `@workspace`: what
/// [`incident_number`] reads, as opposed to a period.
fn looks_like_incident(word: &str) -> bool {
    let number = word.trim_start_matches('#');
    let number = number.split_once('@').map_or(number, |(number, _)| number);
    number.chars().all(|c| c.is_ascii_digit())
}

/// `N`, `#N`, `N@workspace` or `#N@workspace`: an incident number, and the short name of
/// the workspace it is in (checked against the configured ones later).
fn incident_number(verb: Verb, word: &str) -> Result<IncidentRef, UsageError> {
    let not_a_number = || {
        usage(
            verb,
            format!("`{}` is not an incident number.", shorten(word, 40)),
        )
    };
    let (number, workspace) = match word.trim_start_matches('#').split_once('@') {
        Some((number, workspace)) => (number, Some(workspace)),
        None => (word.trim_start_matches('#'), None),
    };
    let number = number
        .parse::<u64>()
        .ok()
        .filter(|number| *number > 0)
        .ok_or_else(not_a_number)?;
    if let Some(workspace) = workspace
        && !is_workspace_name(workspace)
    {
        return Err(usage(
            verb,
            format!(
                "`{}` is not a workspace name: after `@` come its short name's letters, digits, `-`, `_` or `.`.",
                shorten(workspace, 40)
            ),
        ));
    }
    Ok(IncidentRef {
        number,
        workspace: workspace.map(str::to_string),
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

/// An Entra object id: a hyphenated GUID.
fn is_object_id(word: &str) -> bool {
    word.len() == 36 && uuid::Uuid::parse_str(word).is_ok()
}

/// `@name` as a channel leaves a mention it resolved, or as someone typed it.
fn is_mention(word: &str) -> bool {
    word.len() > 1
        && word.len() <= 256
        && word.starts_with('@')
        && word[1..]
            .chars()
            .all(|c| c.is_alphanumeric() || "._-'".contains(c))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn incidents(
        period: Period,
        severity: Option<Severity>,
        status: Option<Status>,
        page: usize,
    ) -> Command {
        Command::Incidents(IncidentsQuery {
            period,
            severity,
            status: status.map(StatusFilter::from),
            page,
        })
    }

    #[test]
    fn incidents_periods_and_filters() {
        assert_eq!(
            parse("/incidents"),
            Ok(incidents(Period::Week, None, None, 1))
        );
        assert_eq!(
            parse("/incidents week"),
            Ok(incidents(Period::Week, None, None, 1))
        );
        assert_eq!(
            parse("incidents today"),
            Ok(incidents(Period::Today, None, None, 1))
        );
        assert_eq!(
            parse("/incidents month"),
            Ok(incidents(Period::Month, None, None, 1))
        );
        assert_eq!(
            parse("/incidents 14d"),
            Ok(incidents(Period::Days(14), None, None, 1))
        );
        assert_eq!(
            parse("/incidents 12h"),
            Ok(incidents(Period::Hours(12), None, None, 1))
        );
        assert_eq!(
            parse("/incidents 3d severity=high status=active page=2"),
            Ok(incidents(
                Period::Days(3),
                Some(Severity::High),
                Some(Status::Active),
                2
            ))
        );
        assert_eq!(
            parse("/INCIDENTS Week High"),
            Ok(incidents(Period::Week, Some(Severity::High), None, 1))
        );
    }

    #[test]
    fn mentions_are_skipped() {
        assert_eq!(
            parse("@sentinel-bot incidents week"),
            Ok(incidents(Period::Week, None, None, 1))
        );
        assert_eq!(
            parse("<@U123ABC> /incident 42"),
            Ok(Command::Incident { number: 42.into() })
        );
        assert_eq!(parse("   "), Ok(Command::Help { topic: None }));
    }

    #[test]
    fn bad_periods_and_filters_say_why() {
        let error = parse("/incidents 0d").unwrap_err();
        assert_eq!(error.message, "Periods go from 1h to 90d.");
        let error = parse("/incidents 91d").unwrap_err();
        assert_eq!(error.message, "Periods go from 1h to 90d.");
        let error = parse("/incidents 99999999999999999999d").unwrap_err();
        assert_eq!(error.message, "Periods go from 1h to 90d.");
        let error = parse("/incidents severity=urgent").unwrap_err();
        assert_eq!(error.message, "Unknown severity `urgent`.");
        assert_eq!(error.verb, Some(Verb::Incidents));
        let error = parse("/incidents week month").unwrap_err();
        assert_eq!(error.message, "Give at most one period.");
        let error = parse("/incidents colour=red").unwrap_err();
        assert_eq!(error.message, "Unknown filter `colour`.");
        assert!(parse("/incidents page=0").is_err());
    }

    #[test]
    fn a_period_out_of_range_names_its_command_for_targeted_help() {
        for (text, verb) in [
            ("/incidents 91d", Verb::Incidents),
            ("/incidents 0h", Verb::Incidents),
            ("/report 0d", Verb::Report),
            ("/recommend 91d", Verb::Recommend),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.message, "Periods go from 1h to 90d.", "{text}");
            assert_eq!(error.verb, Some(verb), "{text}");
        }
    }

    #[test]
    fn a_second_severity_or_status_is_refused_not_silently_taken() {
        // `high low` must not quietly show Low only: the reader would miss the High ones.
        for text in [
            "/incidents week high low",
            "/incidents severity=high severity=low",
            "/incidents high sev=medium",
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.message, "Give at most one severity.", "{text}");
            assert_eq!(error.verb, Some(Verb::Incidents), "{text}");
        }
        for text in [
            "/incidents open closed",
            "/incidents status=new status=active",
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.message, "Give at most one status.", "{text}");
            assert_eq!(error.verb, Some(Verb::Incidents), "{text}");
        }
        // The same value twice is harmless and still reads.
        assert_eq!(
            parse("/incidents high severity=high"),
            Ok(incidents(Period::Week, Some(Severity::High), None, 1))
        );
    }

    #[test]
    fn incident_and_recommend() {
        assert_eq!(
            parse("/incident 1234"),
            Ok(Command::Incident {
                number: 1234.into()
            })
        );
        assert_eq!(
            parse("/incident #77"),
            Ok(Command::Incident { number: 77.into() })
        );
        assert_eq!(
            parse("/recommend 1234"),
            Ok(Command::Recommend(Target::Incident(1234.into())))
        );
        assert_eq!(
            parse("/recommend week"),
            Ok(Command::Recommend(Target::Period(Period::Week)))
        );
        assert_eq!(
            parse("/recommend 14d"),
            Ok(Command::Recommend(Target::Period(Period::Days(14))))
        );
        assert_eq!(
            parse("/incident abc").unwrap_err().message,
            "`abc` is not an incident number."
        );
        assert_eq!(
            parse("/incident 0").unwrap_err().message,
            "`0` is not an incident number."
        );
        assert_eq!(
            parse("/incident").unwrap_err().message,
            "Give one incident number."
        );
        assert_eq!(
            parse("/incident 99999999999999999999999")
                .unwrap_err()
                .message,
            "`99999999999999999999999` is not an incident number."
        );
        assert!(parse("/recommend soon").is_err());
    }

    #[test]
    fn an_incident_may_name_its_workspace() {
        let at = |number: u64, workspace: &str| IncidentRef {
            number,
            workspace: Some(workspace.to_string()),
        };
        assert_eq!(
            parse("/incident 5@contoso"),
            Ok(Command::Incident {
                number: at(5, "contoso")
            })
        );
        assert_eq!(
            parse("/incident #5@soc-ws.eu_1"),
            Ok(Command::Incident {
                number: at(5, "soc-ws.eu_1")
            })
        );
        assert_eq!(
            parse("/recommend 5@fabrikam"),
            Ok(Command::Recommend(Target::Incident(at(5, "fabrikam"))))
        );
        assert_eq!(
            parse("/close 5@fabrikam FalsePositive noisy"),
            Ok(Command::Close {
                number: at(5, "fabrikam"),
                classification: Classification::FalsePositive,
                reason: None,
                comment: Some("noisy".to_string()),
            })
        );
        assert_eq!(
            parse("/assign 5@fabrikam dana@contoso.com"),
            Ok(Command::Assign {
                number: at(5, "fabrikam"),
                assignee: Assignee::User("dana@contoso.com".to_string())
            })
        );
        assert_eq!(
            parse("/comment 5@fabrikam checked").map(|it| it.incident().cloned()),
            Ok(Some(at(5, "fabrikam")))
        );
        assert_eq!(
            parse("/status 5@fabrikam active").map(|it| it.incident().cloned()),
            Ok(Some(at(5, "fabrikam")))
        );
        assert_eq!(
            parse("/incident 5@").unwrap_err().message,
            "`` is not a workspace name: after `@` come its short name's letters, digits, `-`, `_` or `.`."
        );
        assert!(parse("/incident 5@<!channel>").is_err());
        assert_eq!(
            parse("/incident @contoso").unwrap_err().message,
            "`@contoso` is not an incident number."
        );
    }

    #[test]
    fn report_and_help() {
        assert_eq!(
            parse("/report"),
            Ok(Command::Report {
                period: Period::Week
            })
        );
        assert_eq!(
            parse("report 14d"),
            Ok(Command::Report {
                period: Period::Days(14)
            })
        );
        assert_eq!(parse("/help"), Ok(Command::Help { topic: None }));
        assert_eq!(
            parse("/help /close"),
            Ok(Command::Help {
                topic: Some(Verb::Close)
            })
        );
        assert_eq!(parse("/help nonsense"), Ok(Command::Help { topic: None }));
    }

    #[test]
    fn unknown_command_has_no_verb() {
        let error = parse("/launch missiles").unwrap_err();
        assert_eq!(error.message, "I don't know the command `/launch`.");
        assert_eq!(error.verb, None);
    }

    #[test]
    fn actions() {
        assert_eq!(
            parse("/assign 12 me"),
            Ok(Command::Assign {
                number: 12.into(),
                assignee: Assignee::Me
            })
        );
        assert_eq!(
            parse("/assign 12 dana@contoso.com"),
            Ok(Command::Assign {
                number: 12.into(),
                assignee: Assignee::User("dana@contoso.com".to_string())
            })
        );
        assert!(parse("/assign 12 <!channel>").is_err());
        assert_eq!(
            parse("/status 12 active"),
            Ok(Command::SetStatus {
                number: 12.into(),
                status: Status::Active
            })
        );
        assert_eq!(
            parse("/status 12 closed").unwrap_err().message,
            "Use /close to close an incident: it needs a classification."
        );
        assert_eq!(
            parse("/close 12 FalsePositive IncorrectAlertLogic noisy rule, tuned"),
            Ok(Command::Close {
                number: 12.into(),
                classification: Classification::FalsePositive,
                reason: Some(ClassificationReason::IncorrectAlertLogic),
                comment: Some("noisy rule, tuned".to_string()),
            })
        );
        assert_eq!(
            parse("/close 12 tp"),
            Ok(Command::Close {
                number: 12.into(),
                classification: Classification::TruePositive,
                reason: None,
                comment: None
            })
        );
        assert_eq!(
            parse("/close 12 maybe").unwrap_err().message,
            "Unknown classification `maybe`."
        );
        assert_eq!(
            parse("/comment 12 checked the host, clean"),
            Ok(Command::Comment {
                number: 12.into(),
                text: "checked the host, clean".to_string()
            })
        );
        assert_eq!(
            parse("/comment 12").unwrap_err().message,
            "The comment is empty."
        );
        assert_eq!(
            parse("/create \u{201C}Lost laptop\u{201D} high reported by front desk"),
            Ok(Command::Create {
                title: "Lost laptop".to_string(),
                severity: Severity::High,
                description: "reported by front desk".to_string(),
            })
        );
        assert_eq!(
            parse("/create \"Phishing report\""),
            Ok(Command::Create {
                title: "Phishing report".to_string(),
                severity: Severity::Medium,
                description: String::new()
            })
        );
        assert_eq!(
            parse("/confirm ab-12"),
            Ok(Command::Confirm {
                token: "ab-12".to_string()
            })
        );
        assert_eq!(
            parse("/cancel ab-12"),
            Ok(Command::Cancel {
                token: "ab-12".to_string()
            })
        );
        assert!(parse("/confirm <bad>").is_err());
        let long = "x".repeat(MAX_TEXT + 1);
        assert!(parse(&format!("/comment 1 {long}")).is_err());
    }

    #[test]
    fn advertised_forms_parse() {
        assert_eq!(
            parse("/incidents week active"),
            Ok(incidents(Period::Week, None, Some(Status::Active), 1))
        );
        assert_eq!(
            parse("/incidents last 7d"),
            Ok(incidents(Period::Days(7), None, None, 1))
        );
        assert_eq!(
            parse("/incidents past 12 hours high"),
            Ok(incidents(Period::Hours(12), Some(Severity::High), None, 1))
        );
        assert_eq!(
            parse("/report last week"),
            Ok(Command::Report {
                period: Period::Week
            })
        );
        assert_eq!(
            parse("/report last 14 days"),
            Ok(Command::Report {
                period: Period::Days(14)
            })
        );
        assert_eq!(
            parse("/recommend last month"),
            Ok(Command::Recommend(Target::Period(Period::Month)))
        );
        assert_eq!(
            parse("/close 12 IncorrectAlertLogic rule fires on backups"),
            Ok(Command::Close {
                number: 12.into(),
                classification: Classification::FalsePositive,
                reason: Some(ClassificationReason::IncorrectAlertLogic),
                comment: Some("rule fires on backups".to_string()),
            })
        );
        assert_eq!(
            parse("/close 12 suspicious-but-expected"),
            Ok(Command::Close {
                number: 12.into(),
                classification: Classification::BenignPositive,
                reason: Some(ClassificationReason::SuspiciousButExpected),
                comment: None,
            })
        );
        // "last" in free text is kept as typed.
        assert_eq!(
            parse("/comment 5 checked the last 7 days of logs"),
            Ok(Command::Comment {
                number: 5.into(),
                text: "checked the last 7 days of logs".to_string()
            })
        );
        assert_eq!(
            parse("/incidents last").unwrap_err().message,
            "`last` is not a period or a filter."
        );
    }

    #[test]
    fn close_refuses_a_reason_its_classification_does_not_take() {
        let refused = parse("/close 5 TruePositive InaccurateData").unwrap_err();
        assert_eq!(refused.verb, Some(Verb::Close));
        assert_eq!(
            refused.message,
            "InaccurateData is not a reason for TruePositive: TruePositive takes SuspiciousActivity."
        );
        assert_eq!(
            parse("/close 5 BenignPositive IncorrectAlertLogic")
                .unwrap_err()
                .message,
            "IncorrectAlertLogic is not a reason for BenignPositive: BenignPositive takes SuspiciousButExpected."
        );
        assert_eq!(
            parse("/close 5 Undetermined SuspiciousActivity")
                .unwrap_err()
                .message,
            "SuspiciousActivity is not a reason for Undetermined: Undetermined takes no reason."
        );
        // Reason first, then a classification it does not belong to.
        assert_eq!(
            parse("/close 5 SuspiciousActivity FalsePositive")
                .unwrap_err()
                .message,
            "SuspiciousActivity is not a reason for FalsePositive: FalsePositive takes IncorrectAlertLogic or InaccurateData."
        );
    }

    #[test]
    fn close_takes_a_reason_alone_or_with_its_own_classification() {
        let close = |classification, reason, comment: Option<&str>| {
            Ok(Command::Close {
                number: 5.into(),
                classification,
                reason,
                comment: comment.map(str::to_string),
            })
        };
        assert_eq!(
            parse("/close 5 IncorrectAlertLogic"),
            close(
                Classification::FalsePositive,
                Some(ClassificationReason::IncorrectAlertLogic),
                None
            )
        );
        assert_eq!(
            parse("/close 5 InaccurateData FalsePositive test mailbox"),
            close(
                Classification::FalsePositive,
                Some(ClassificationReason::InaccurateData),
                Some("test mailbox")
            )
        );
        assert_eq!(
            parse("/close 5 fp inaccurate_data"),
            close(
                Classification::FalsePositive,
                Some(ClassificationReason::InaccurateData),
                None
            )
        );
        assert_eq!(
            parse("/close 5 Undetermined no evidence either way"),
            close(
                Classification::Undetermined,
                None,
                Some("no evidence either way")
            )
        );
    }

    #[test]
    fn open_is_a_typed_status_filter() {
        let Ok(Command::Incidents(query)) = parse("/incidents status=open") else {
            panic!("status=open parses");
        };
        assert_eq!(query.status, Some(StatusFilter::Open));
        assert!(StatusFilter::Open.matches(Status::New));
        assert!(StatusFilter::Open.matches(Status::Active));
        assert!(!StatusFilter::Open.matches(Status::Closed));
        assert!(StatusFilter::Closed.matches(Status::Closed));
        assert!(!StatusFilter::New.matches(Status::Active));
        assert_eq!(
            parse("/incidents open"),
            Ok(Command::Incidents(IncidentsQuery {
                period: Period::Week,
                severity: None,
                status: Some(StatusFilter::Open),
                page: 1
            }))
        );
        assert_eq!(
            parse("/incidents status=pending").unwrap_err().message,
            "Unknown status `pending`."
        );
    }

    #[test]
    fn assignees_are_emails_object_ids_or_mentions() {
        for who in [
            "dana@contoso.com",
            "5f1c2a34-1b2c-4d5e-8f90-1234567890ab",
            "@DanaExample",
            "@dana.example",
        ] {
            assert_eq!(
                parse(&format!("/assign 3 {who}")),
                Ok(Command::Assign {
                    number: 3.into(),
                    assignee: Assignee::User(who.to_string())
                }),
                "{who}"
            );
        }
        for bad in ["@", "<@U123>", "@here<b>", "dana"] {
            assert!(parse(&format!("/assign 3 {bad}")).is_err(), "{bad}");
        }
    }

    #[test]
    fn near_misses_are_read_as_the_command() {
        let suggestion = suggest("incidnets week").expect("a suggestion");
        assert_eq!(suggestion.text, "/incidents week");
        assert_eq!(
            suggestion.parsed,
            Ok(incidents(Period::Week, None, None, 1))
        );
        assert_eq!(
            suggest("/reprot").map(|it| it.text),
            Some("/report".to_string())
        );
        assert_eq!(
            suggest("@bot recomend 42").map(|it| it.parsed),
            Some(Ok(Command::Recommend(Target::Incident(42.into()))))
        );
        assert_eq!(
            suggest("/creat \"Lost laptop\" high").map(|it| it.parsed),
            Some(Ok(Command::Create {
                title: "Lost laptop".to_string(),
                severity: Severity::High,
                description: String::new()
            }))
        );
        // "incidnet 7" is one letter from both incident and incidents: the one that parses wins.
        assert_eq!(
            suggest("incidnet 7").map(|it| it.parsed),
            Some(Ok(Command::Incident { number: 7.into() }))
        );
        // A near miss whose arguments are wrong still says what it was read as.
        let wrong = suggest("incidnets soon").expect("a suggestion");
        assert_eq!(
            wrong.parsed.unwrap_err().message,
            "`soon` is not a period or a filter."
        );
        // A number or period glued to the command word.
        let glued = suggest("/incident1200").expect("a suggestion");
        assert_eq!(glued.text, "/incident 1200");
        assert_eq!(
            glued.parsed,
            Ok(Command::Incident {
                number: 1200.into()
            })
        );
        assert_eq!(
            suggest("@bot incidnet1200").map(|it| it.text),
            Some("/incident 1200".to_string())
        );
        assert_eq!(
            suggest("/report30d").map(|it| it.parsed),
            Some(Ok(Command::Report {
                period: Period::Days(30)
            }))
        );
        // A period word one letter off, after a command word typed right or nearly right.
        let period = suggest("/incidents wek").expect("a suggestion");
        assert_eq!(period.text, "/incidents week");
        assert_eq!(period.parsed, Ok(incidents(Period::Week, None, None, 1)));
        assert_eq!(
            suggest("incidnets wek high").map(|it| it.text),
            Some("/incidents week high".to_string())
        );
        assert_eq!(
            suggest("/report last wek").map(|it| it.parsed),
            Some(Ok(Command::Report {
                period: Period::Week
            }))
        );
        assert_eq!(
            suggest("/recommend tody").map(|it| it.text),
            Some("/recommend today".to_string())
        );
        // Free text keeps its words; a correction that still does not read is not offered.
        assert_eq!(
            suggest("coment 5 wek").map(|it| it.text),
            Some("/comment 5 wek".to_string())
        );
        assert_eq!(suggest("/comment 5 wek"), None);
        assert_eq!(suggest("/incidents wek soon"), None);
        for not_a_typo in [
            "what is this",
            "incidents week",
            "/incidents week high",
            "/incidents low",
            "/incident 1200",
            "hi",
            "commit 5 x",
            "confirmation",
            "",
        ] {
            assert_eq!(suggest(not_a_typo), None, "{not_a_typo}");
        }
    }

    #[test]
    fn usage_error_display_includes_usage() {
        let error = parse("/incident").unwrap_err();
        assert_eq!(
            error.to_string(),
            "Give one incident number. Usage: /incident N"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn command_like_text_never_panics(
            verb in prop::sample::select(vec!["/incidents", "incident", "/recommend", "report", "/help", "/assign", "/status", "/close", "/comment", "/create", "/confirm", "/cancel"]),
            args in prop::collection::vec("[a-z0-9=#\"@.\u{201C}\u{201D} _-]{0,20}", 0..6),
        ) {
            let text = format!("{verb} {}", args.join(" "));
            if let Err(error) = parse(&text) {
                prop_assert!(!error.message.is_empty());
            }
        }

        #[test]
        fn any_day_count_in_range_parses(days in 1u32..=90) {
            prop_assert_eq!(parse(&format!("/incidents {days}d")), Ok(incidents(Period::Days(days), None, None, 1)));
        }
    }
}
