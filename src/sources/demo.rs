//! The embedded demo data set: deterministic, realistic incidents for trying every
//! command with no credentials, and large synthetic sets for benchmarks.

mod catalog;
mod detail;
mod generate;
#[cfg(test)]
mod tests;

pub use catalog::PRODUCTS;

use super::{
    Comment, IncidentDetail, IncidentSet, IncidentSource, IncidentUpdate, Intel, NewIncident,
    OPEN_LOOKBACK_DAYS, RecommendedAction, SourceError, ThreatIntel,
};
use crate::incident::{self, Incident, IncidentKey, IncidentRow, Status, Tactic};
use crate::period::Window;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Fixed seed, so every run of the demo shows the same incidents.
pub const SEED: u64 = 0x05e1_71e1;

/// Incidents in the standard demo set: about 55 a week over nine weeks.
pub const STANDARD_COUNT: usize = 500;

/// How the demo names itself in errors.
const SYSTEM: &str = "Demo data";

/// Change rows (with history) for `count` incidents spread over the 8+ weeks before `now`.
pub fn rows(now: DateTime<Utc>, count: usize, seed: u64) -> Vec<IncidentRow> {
    generate::rows(now, count, seed)
}

/// The end of the UTC day holding `now`, where the demo's generated history ends.
pub fn anchor(now: DateTime<Utc>) -> DateTime<Utc> {
    let midnight = now
        .date_naive()
        .succ_opt()
        .and_then(|tomorrow| tomorrow.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc());
    midnight.unwrap_or(now)
}

/// One incident as the demo keeps it, with what changes from chat add.
struct Entry {
    incident: Incident,
    comments: Vec<Comment>,
    /// Bumped on every update; part of the etag.
    version: u64,
}

impl Entry {
    fn etag(&self) -> String {
        format!("demo-{}-{}", self.incident.number, self.version)
    }
}

/// Incidents and threat intelligence served from memory.
pub struct DemoSource {
    now: DateTime<Utc>,
    /// Keyed by incident number; changes persist for the life of the process.
    entries: RwLock<BTreeMap<u64, Entry>>,
}

impl DemoSource {
    /// The standard demo set, anchored at `now`.
    pub fn new(now: DateTime<Utc>) -> DemoSource {
        DemoSource::with_count(now, STANDARD_COUNT)
    }

    /// A demo set of `incident_count` incidents as they stand at `now`, for benchmarks and
    /// load tests. The set is generated up to [`anchor`]`(now)` and what happens after `now`
    /// is held back, so an incident number names the same incident all day long.
    pub fn with_count(now: DateTime<Utc>, incident_count: usize) -> DemoSource {
        let happened = rows(anchor(now), incident_count, SEED)
            .into_iter()
            .filter(|row| row.time_generated <= now);
        let entries = incident::collapse(happened)
            .into_iter()
            .map(|incident| {
                let comments = detail::comments(&incident, now);
                let entry = Entry {
                    incident,
                    comments,
                    version: 1,
                };
                (entry.incident.number, entry)
            })
            .collect();
        DemoSource {
            now,
            entries: RwLock::new(entries),
        }
    }

    /// The time stamped on changes: the wall clock, never earlier than the data's anchor.
    fn clock(&self) -> DateTime<Utc> {
        Utc::now().max(self.now)
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, BTreeMap<u64, Entry>>, SourceError> {
        self.entries.read().map_err(|_| poisoned())
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, BTreeMap<u64, Entry>>, SourceError> {
        self.entries.write().map_err(|_| poisoned())
    }
}

/// A panic while holding the lock left the data in an unknown state.
fn poisoned() -> SourceError {
    SourceError::Failed {
        system: SYSTEM,
        reason: "the in-memory data is unusable after an earlier failure".to_string(),
    }
}

/// The demo has one workspace: a key of any other names no incident.
fn demo_number(key: IncidentKey) -> Result<u64, SourceError> {
    match key.workspace.is_only() {
        true => Ok(key.number),
        false => Err(SourceError::NotFound(key)),
    }
}

/// Created in the window, or open at its end and created in the lookback before it.
fn wanted(incident: &Incident, window: Window) -> bool {
    let lookback_start = window.end - Duration::days(OPEN_LOOKBACK_DAYS);
    window.contains(incident.created)
        || (open_at(incident, window.end)
            && incident.created < window.end
            && incident.created >= lookback_start)
}

/// Open at `time`, judged from the current state: a closed incident counts as open
/// before its closing time (a reopened one is judged by its current status only).
fn open_at(incident: &Incident, time: DateTime<Utc>) -> bool {
    match (incident.status, incident.closed) {
        (Status::Closed, Some(closed)) => closed >= time,
        (Status::Closed, None) => false,
        _ => true,
    }
}

#[async_trait]
impl IncidentSource for DemoSource {
    async fn incidents(&self, window: Window) -> Result<IncidentSet, SourceError> {
        let incidents: Vec<Incident> = self
            .read()?
            .values()
            .filter(|entry| wanted(&entry.incident, window))
            .map(|entry| entry.incident.clone())
            .collect();
        Ok(incidents.into())
    }

    async fn incident(&self, key: IncidentKey) -> Result<IncidentDetail, SourceError> {
        let entries = self.read()?;
        let entry = entries
            .get(&demo_number(key)?)
            .ok_or(SourceError::NotFound(key))?;
        Ok(IncidentDetail {
            incident: entry.incident.clone(),
            alerts: detail::alerts(&entry.incident),
            comments: entry.comments.clone(),
            etag: Some(entry.etag()),
        })
    }

    async fn add_comment(&self, key: IncidentKey, message: &str) -> Result<(), SourceError> {
        let created = self.clock();
        let mut entries = self.write()?;
        let entry = entries
            .get_mut(&demo_number(key)?)
            .ok_or(SourceError::NotFound(key))?;
        entry.comments.push(Comment {
            author: "sentinel-bot".to_string(),
            // Kept as Sentinel's reader would give it back: the triage comment is HTML.
            message: crate::html_text::to_text(message).into_owned(),
            created,
        });
        Ok(())
    }

    async fn update(
        &self,
        key: IncidentKey,
        update: &IncidentUpdate,
        etag: Option<&str>,
    ) -> Result<Incident, SourceError> {
        let time = self.clock();
        let mut entries = self.write()?;
        let entry = entries
            .get_mut(&demo_number(key)?)
            .ok_or(SourceError::NotFound(key))?;
        if let Some(expected) = etag
            && expected != entry.etag()
        {
            return Err(SourceError::Conflict { system: SYSTEM });
        }
        let closing = update.status == Some(Status::Closed);
        if closing && update.classification.is_none() && entry.incident.classification.is_none() {
            // Sentinel refuses to close without a classification; the demo behaves the same.
            return Err(SourceError::Failed {
                system: SYSTEM,
                reason: "closing an incident needs a classification".to_string(),
            });
        }
        if let (Some(classification), Some(reason)) =
            (update.classification, update.classification_reason)
            && let Err(wrong) = classification.check_reason(reason)
        {
            return Err(SourceError::Failed {
                system: SYSTEM,
                reason: wrong.to_string(),
            });
        }
        let incident = &mut entry.incident;
        if let Some(severity) = update.severity {
            incident.severity = severity;
        }
        if let Some(owner) = &update.owner {
            incident.owner = owner.clone();
        }
        if let Some(status) = update.status {
            if status == Status::Closed && incident.status != Status::Closed {
                incident.closed = Some(time);
            } else if status != Status::Closed {
                // Reopened: the old closing facts no longer apply.
                incident.closed = None;
                incident.classification = None;
                incident.classification_comment = None;
            }
            incident.status = status;
        }
        if let Some(classification) = update.classification {
            incident.classification = Some(classification);
        }
        if let Some(comment) = &update.classification_comment {
            incident.classification_comment = Some(comment.as_str().into());
        }
        // Changes from chat are a person's: the first one ends triage both ways.
        incident.first_modified.get_or_insert(time);
        incident.first_human_action.get_or_insert(time);
        incident.last_modified = time;
        entry.version += 1;
        Ok(entry.incident.clone())
    }

    async fn create(&self, new: &NewIncident) -> Result<Incident, SourceError> {
        let created = self.clock();
        let mut entries = self.write()?;
        let number = entries
            .keys()
            .next_back()
            .map_or(generate::FIRST_NUMBER, |last| last + 1);
        let id = uuid::Uuid::new_v4().to_string();
        let owner = new.owner.clone().unwrap_or_default();
        let incident = Incident {
            workspace: crate::incident::Workspace::ONLY,
            number,
            url: Some(format!("{}{id}", generate::PORTAL)),
            id,
            title: new.title.as_str().into(),
            description: new.description.as_str().into(),
            severity: new.severity,
            status: Status::New,
            classification: None,
            classification_comment: None,
            first_modified: None,
            first_human_action: None,
            owner,
            tactics: Vec::new(),
            techniques: Vec::new(),
            alert_products: Vec::new(),
            alert_ids: Vec::new(),
            labels: Vec::new(),
            created,
            last_modified: created,
            closed: None,
        };
        entries.insert(
            number,
            Entry {
                incident: incident.clone(),
                comments: Vec::new(),
                version: 1,
            },
        );
        Ok(incident)
    }
}

#[async_trait]
impl ThreatIntel for DemoSource {
    async fn recommended_actions(
        &self,
        incident: &Incident,
    ) -> Result<Vec<RecommendedAction>, SourceError> {
        Ok(detail::recommended_actions(incident))
    }

    async fn tactic_intel(
        &self,
        tactic: Tactic,
        techniques: &[String],
    ) -> Result<Vec<Intel>, SourceError> {
        Ok(detail::tactic_intel(tactic, techniques))
    }
}
