//! The embedded demo data set: deterministic, realistic incidents for trying every
//! command with no credentials, and large synthetic sets for benchmarks.

use super::{
    IncidentDetail, IncidentSource, IncidentUpdate, Intel, NewIncident, SourceError, ThreatIntel,
};
use crate::incident::{Incident, IncidentRow, Tactic};
use crate::period::Window;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Fixed seed, so every run of the demo shows the same incidents.
pub const SEED: u64 = 0x5e17_1e1;

/// Change rows (with history) for `count` incidents spread over the 8+ weeks before `now`.
pub fn rows(now: DateTime<Utc>, count: usize, seed: u64) -> Vec<IncidentRow> {
    let _ = (now, count, seed);
    unimplemented!("demo helper")
}

/// Incidents and threat intelligence served from memory.
pub struct DemoSource {
    now: DateTime<Utc>,
}

impl DemoSource {
    /// The standard demo set, anchored at `now`.
    pub fn new(now: DateTime<Utc>) -> DemoSource {
        DemoSource { now }
    }
}

#[async_trait]
impl IncidentSource for DemoSource {
    async fn incidents(&self, window: Window) -> Result<Vec<Incident>, SourceError> {
        let _ = (window, self.now);
        unimplemented!("demo helper")
    }
    async fn incident(&self, number: u64) -> Result<IncidentDetail, SourceError> {
        Err(SourceError::NotFound(number))
    }
    async fn add_comment(&self, number: u64, _message: &str) -> Result<(), SourceError> {
        Err(SourceError::NotFound(number))
    }
    async fn update(
        &self,
        number: u64,
        _update: &IncidentUpdate,
        _etag: Option<&str>,
    ) -> Result<Incident, SourceError> {
        Err(SourceError::NotFound(number))
    }
    async fn create(&self, _incident: &NewIncident) -> Result<Incident, SourceError> {
        unimplemented!("demo helper")
    }
}

#[async_trait]
impl ThreatIntel for DemoSource {
    async fn recommended_actions(&self, _incident: &Incident) -> Result<Vec<String>, SourceError> {
        Ok(Vec::new())
    }
    async fn tactic_intel(
        &self,
        _tactic: Tactic,
        _techniques: &[String],
    ) -> Result<Vec<Intel>, SourceError> {
        Ok(Vec::new())
    }
}
