//! Where incidents and threat intelligence come from: the `IncidentSource` and
//! `ThreatIntel` traits, the Azure implementations and the embedded demo data.
//! Knows nothing of chat platforms.

pub mod azure;
pub mod demo;

use crate::analytics::{CreatedFilter, Summary};
use crate::incident::{
    Classification, ClassificationReason, Incident, IncidentKey, IncidentRef, Owner, Severity,
    Skipped, Status, Tactic,
};
use crate::period::Window;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// How far back `IncidentSource::incidents` looks for incidents that are still open.
pub const OPEN_LOOKBACK_DAYS: i64 = 90;

/// A failure of an outside system, saying which one and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// No incident has this number (in this workspace).
    #[error("incident {0} was not found")]
    NotFound(IncidentKey),
    /// A workspace name was typed (`5@name`) that no configured workspace has; `known` lists
    /// the configured short names (empty when the bot reads a single workspace).
    #[error("{}", no_such_workspace(name, known))]
    NoSuchWorkspace { name: String, known: Vec<String> },
    /// The incident changed since it was read (etag mismatch); the caller should reload.
    #[error(
        "{system} refused the change because the incident was changed by someone else meanwhile; reload it and try again"
    )]
    Conflict { system: &'static str },
    /// The tenant has no licence or the bot no permission for this system; not fatal.
    #[error("{system} is not available to this bot: {reason}")]
    Unavailable {
        system: &'static str,
        reason: String,
    },
    /// The system did not answer before the answer's deadline; see `crate::deadline`.
    #[error("{system} did not answer within {}", crate::deadline::seconds(*waited))]
    TimedOut {
        system: &'static str,
        /// The time the whole answer was allowed.
        waited: std::time::Duration,
    },
    /// The system failed after retries, timed out, or answered something unreadable.
    #[error("{system} failed: {reason}")]
    Failed {
        system: &'static str,
        reason: String,
    },
}

fn no_such_workspace(name: &str, known: &[String]) -> String {
    if known.is_empty() {
        return format!(
            "no workspace is called `{name}`: this bot reads a single workspace, so give the incident number alone"
        );
    }
    let known: Vec<String> = known.iter().map(|it| format!("`{it}`")).collect();
    format!(
        "no workspace is called `{name}`; the configured ones are {}",
        known.join(", ")
    )
}

/// What an incident reference as typed (`5`, `5@contoso`) names.
#[derive(Debug, Clone, PartialEq)]
pub enum Located {
    /// One incident; it is read afterwards, so it may still turn out not to exist.
    One(IncidentKey),
    /// A bare number that several workspaces have: the incidents found, so the user can be
    /// asked which one, most severe first.
    Several(Vec<Incident>),
}

/// An alert inside an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: String,
    /// Alert name; untrusted text.
    pub name: String,
    pub severity: Severity,
    /// Product that raised it, e.g. "Microsoft Defender for Endpoint".
    pub product: String,
    pub tactics: Vec<Tactic>,
    pub techniques: Vec<String>,
    /// Entities the alert names: hosts, accounts, IPs, files, URLs.
    pub entities: Vec<Entity>,
    pub created: DateTime<Utc>,
}

/// An entity named in an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// Entity kind as Sentinel names it: Account, Host, Ip, Url, File, Mailbox, ...
    pub kind: String,
    /// A display name; untrusted text.
    pub name: String,
}

/// A comment on an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub author: String,
    /// Untrusted text.
    pub message: String,
    pub created: DateTime<Utc>,
}

/// An incident with its alerts and comments.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub alerts: Vec<Alert>,
    pub comments: Vec<Comment>,
    /// Opaque version for optimistic concurrency on updates (the REST etag).
    pub etag: Option<String>,
}

/// A change to an incident; `None` fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncidentUpdate {
    pub status: Option<Status>,
    pub owner: Option<Owner>,
    pub severity: Option<Severity>,
    /// Required by Sentinel when closing.
    pub classification: Option<Classification>,
    /// Closing reason text (`classificationComment`).
    pub classification_comment: Option<String>,
    /// Sentinel's `classificationReason`; one the classification accepts
    /// ([`Classification::accepts`]). `None` writes the classification's default reason.
    pub classification_reason: Option<ClassificationReason>,
}

/// An incident created by hand from chat.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub owner: Option<Owner>,
}

/// The incidents a source read for a window, and the rows it could not read (by reason),
/// which the figures leave out and the views say so.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncidentSet {
    pub incidents: Vec<Incident>,
    /// Rows of the source's answer that could not be read into incidents.
    pub skipped: Skipped,
}

impl From<Vec<Incident>> for IncidentSet {
    /// A set with nothing skipped.
    fn from(incidents: Vec<Incident>) -> IncidentSet {
        IncidentSet {
            incidents,
            skipped: Skipped::default(),
        }
    }
}

/// What a source returns for a period's facts ([`IncidentSource::period`]).
#[derive(Debug, Clone, PartialEq)]
pub enum PeriodAnswer {
    /// Every incident created in the window or open at its end, as
    /// [`IncidentSource::incidents`] returns them; the caller filters and computes.
    Rows(IncidentSet),
    /// Too many incidents were created in the window to send one by one (more than the
    /// source's threshold, e.g. `azure.aggregate_above`): their figures computed by the
    /// source itself, already narrowed by the filter it was given, and the incidents open
    /// at the window's end as rows (with the rows of that answer it could not read).
    Aggregated {
        /// Boxed: a `Summary` is several times the size of the `Rows` variant.
        created: Box<Summary>,
        /// Every incident open at the window's end; empty for [`PeriodPart::CreatedOnly`].
        open: IncidentSet,
    },
}

/// Which of a period's facts a caller needs from [`IncidentSource::period`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodPart {
    /// The period reported on: the incidents created in it and the backlog open at its end.
    WithBacklog,
    /// A period compared against: the incidents created in it only.
    CreatedOnly,
}

/// Reads and changes incidents: Sentinel, or the embedded demo data.
#[async_trait]
pub trait IncidentSource: Send + Sync {
    /// Incidents created in `window`, plus every incident still open at the window's
    /// end that was created in the [`OPEN_LOOKBACK_DAYS`] before it, and the rows that could
    /// not be read. One upstream query.
    async fn incidents(&self, window: Window) -> Result<IncidentSet, SourceError>;

    /// What the facts of `window` need, with the "created" figures narrowed by `filter`: the
    /// rows ([`IncidentSource::incidents`], which this default returns; the caller applies
    /// `filter`), or, from a source that can aggregate and finds the window too large, the
    /// figures it computed with `filter` applied and the open incidents as rows.
    /// `part` says whether the backlog open at the window's end is wanted; a source that
    /// aggregates leaves `open` empty without it.
    async fn period(
        &self,
        window: Window,
        _filter: CreatedFilter,
        _part: PeriodPart,
    ) -> Result<PeriodAnswer, SourceError> {
        Ok(PeriodAnswer::Rows(self.incidents(window).await?))
    }

    /// Incidents created in `window`, in their latest state as of its end, for auto-triage. One upstream
    /// query; sources with a cheaper query than [`IncidentSource::incidents`] override it.
    /// Unreadable rows cannot be triaged and are left out (the source logs them).
    async fn created_in(&self, window: Window) -> Result<Vec<Incident>, SourceError> {
        let mut incidents = self.incidents(window).await?.incidents;
        incidents.retain(|it| window.contains(it.created));
        Ok(incidents)
    }

    /// The incident a reference names: a bare number in a single workspace is that
    /// workspace's incident; a source reading several workspaces finds which ones have it.
    /// A workspace name that is not configured is [`SourceError::NoSuchWorkspace`]. This
    /// default serves sources with a single workspace.
    async fn locate(&self, reference: &IncidentRef) -> Result<Located, SourceError> {
        match &reference.workspace {
            None => Ok(Located::One(IncidentKey::only(reference.number))),
            Some(name) => Err(SourceError::NoSuchWorkspace {
                name: name.clone(),
                known: Vec::new(),
            }),
        }
    }

    /// One incident with its alerts and comments.
    async fn incident(&self, key: IncidentKey) -> Result<IncidentDetail, SourceError>;

    /// One incident as it stands now, with its version (etag), without alerts or comments.
    /// Sources with a cheaper read than [`IncidentSource::incident`] override it.
    async fn current(&self, key: IncidentKey) -> Result<(Incident, Option<String>), SourceError> {
        let detail = self.incident(key).await?;
        Ok((detail.incident, detail.etag))
    }

    /// Adds a comment to an incident.
    async fn add_comment(&self, key: IncidentKey, message: &str) -> Result<(), SourceError>;

    /// Changes status, owner, severity or classification; `etag` guards against lost updates.
    async fn update(
        &self,
        key: IncidentKey,
        update: &IncidentUpdate,
        etag: Option<&str>,
    ) -> Result<Incident, SourceError>;

    /// Creates an incident by hand.
    async fn create(&self, incident: &NewIncident) -> Result<Incident, SourceError>;
}

/// A Defender XDR recommended action: the `recommendedActions` text of one or more alerts
/// (Graph `alerts_v2`), with the devices those alerts name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendedAction {
    /// Plain text, often several lines: headings and bulleted or numbered steps, as Defender
    /// wrote them (HTML already turned into text). Untrusted.
    pub text: String,
    /// Host names of the devices in the alerts' evidence, first seen first, each once.
    pub devices: Vec<String>,
}

impl RecommendedAction {
    /// An action with no devices.
    pub fn new(text: impl Into<String>) -> RecommendedAction {
        RecommendedAction {
            text: text.into(),
            devices: Vec::new(),
        }
    }
}

/// A piece of threat intelligence.
#[derive(Debug, Clone, PartialEq)]
pub struct Intel {
    /// Headline; untrusted text.
    pub title: String,
    /// What to do or know; untrusted text.
    pub summary: String,
    pub url: Option<String>,
}

/// Most single lookups [`ThreatIntel::look_up`] runs at once by default.
pub const MAX_PARALLEL_LOOKUPS: usize = 4;

/// Everything one answer asks threat intelligence for, so it can be looked up together.
#[derive(Debug, Clone, Default)]
pub struct IntelQuery<'a> {
    /// Incidents whose Defender XDR recommended actions are wanted.
    pub incidents: Vec<&'a Incident>,
    /// Tactics (with the techniques seen with each) to find threat intelligence about.
    pub tactics: Vec<(Tactic, Vec<String>)>,
}

/// The answers to an [`IntelQuery`], positioned like its lists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IntelAnswers {
    /// One entry per incident of the query.
    pub actions: Vec<Result<Vec<RecommendedAction>, SourceError>>,
    /// One entry per tactic of the query.
    pub intel: Vec<Result<Vec<Intel>, SourceError>>,
}

/// Defender XDR recommended actions and threat intelligence.
#[async_trait]
pub trait ThreatIntel: Send + Sync {
    /// Defender XDR's recommended actions for the incident's alerts, one entry per distinct
    /// text, with the devices of the alerts that recommend it.
    async fn recommended_actions(
        &self,
        incident: &Incident,
    ) -> Result<Vec<RecommendedAction>, SourceError>;

    /// Threat intelligence about a tactic (and the techniques seen with it).
    async fn tactic_intel(
        &self,
        tactic: Tactic,
        techniques: &[String],
    ) -> Result<Vec<Intel>, SourceError>;

    /// Looks up everything `query` asks for. By default the single lookups run concurrently,
    /// at most [`MAX_PARALLEL_LOOKUPS`] at a time; Microsoft Graph batches them instead.
    async fn look_up(&self, query: &IntelQuery<'_>) -> IntelAnswers {
        use futures::StreamExt;
        // The futures are built first: a closure inside the stream would need to be generic
        // over lifetimes, which a `Send` future of a trait method cannot prove.
        let actions: Vec<_> = query
            .incidents
            .iter()
            .map(|incident| self.recommended_actions(incident))
            .collect();
        let intel: Vec<_> = query
            .tactics
            .iter()
            .map(|(tactic, techniques)| self.tactic_intel(tactic.clone(), techniques))
            .collect();
        let actions = futures::stream::iter(actions)
            .buffered(MAX_PARALLEL_LOOKUPS)
            .collect::<Vec<_>>();
        let intel = futures::stream::iter(intel)
            .buffered(MAX_PARALLEL_LOOKUPS)
            .collect::<Vec<_>>();
        let (actions, intel) = futures::join!(actions, intel);
        IntelAnswers { actions, intel }
    }
}
