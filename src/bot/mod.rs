//! The bot core: chat text in, `Reply` out, in one place for every platform.
//! Must not know Teams, Slack, HTTP or SQL.

pub mod command;
pub mod recommend;
pub mod reply;
pub mod views;

use crate::analytics::{self, DEFAULT_LONG_OPEN};
use crate::sources::{IncidentSource, SourceError, ThreatIntel};
use chrono::{DateTime, Duration, Utc};
use command::{Command, UsageError};
use reply::Reply;
use std::sync::Arc;

/// Tunables of the core.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Open incidents older than this are long-unresolved.
    pub long_open_after: Duration,
    /// Rows per page of an incident table.
    pub page_size: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            long_open_after: DEFAULT_LONG_OPEN,
            page_size: 10,
        }
    }
}

/// Who sent a command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// Platform user id (Slack `U...`, Teams AAD object id).
    pub id: String,
    pub name: Option<String>,
    /// E-mail or UPN where the platform gives one.
    pub email: Option<String>,
}

/// One command as a channel received it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The text after mention stripping.
    pub text: String,
    pub user: User,
    /// A key for the thread the command came from (Teams reply chain, Slack thread),
    /// so follow-ups continue a conversation.
    pub thread: Option<String>,
}

/// Everything the core needs to answer.
pub struct Bot {
    pub source: Arc<dyn IncidentSource>,
    pub intel: Arc<dyn ThreatIntel>,
    pub settings: Settings,
    /// The advisor for `/recommend`; `None` answers from the offline knowledge base.
    pub advisor: Option<Arc<crate::advice::Advisor>>,
}

/// Why a command could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The user typed something the grammar does not accept.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// An outside system failed; the message says which and why.
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl Bot {
    /// Answers one request. Never fails: errors become an apology or help in the reply.
    pub async fn answer(&self, request: &Request, now: DateTime<Utc>) -> Reply {
        match command::parse(&request.text) {
            Ok(command) => match self.run(command, request, now).await {
                Ok(reply) => reply,
                Err(error) => views::error(&error),
            },
            Err(error) => views::usage_error(&error),
        }
    }

    /// Runs a parsed command.
    pub async fn run(
        &self,
        command: Command,
        request: &Request,
        now: DateTime<Utc>,
    ) -> Result<Reply, BotError> {
        match command {
            Command::Help { topic } => Ok(views::help(topic)),
            Command::Incidents(query) => {
                let window = query.period.window(now);
                let incidents = self.source.incidents(window).await?;
                let filtered: Vec<_> = incidents
                    .into_iter()
                    .filter(|it| {
                        query
                            .severity
                            .is_none_or(|severity| it.severity == severity)
                    })
                    .filter(|it| query.status.is_none_or(|status| it.status == status))
                    .collect();
                let summary =
                    analytics::summarize(&filtered, window, now, self.settings.long_open_after);
                Ok(views::incidents(
                    &query,
                    &summary,
                    &filtered,
                    self.settings.page_size,
                ))
            }
            Command::Incident { number } => {
                let detail = self.source.incident(number).await?;
                Ok(views::incident(&detail, now))
            }
            Command::Recommend(target) => recommend::run(self, target, request, now).await,
            other => Ok(views::not_available(&other)),
        }
    }
}
