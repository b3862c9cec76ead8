//! Advice: the LLM client, prompts, the grounding check, the offline MITRE ATT&CK knowledge
//! base, conversation memory and the answer cache, and the `Advisor` that combines them with
//! Defender XDR and threat intelligence into recommendations. Knows nothing of chat platforms.

pub mod action;
pub mod grounding;
pub mod llm;
pub mod memory;
pub mod mitre;
pub mod prompt;
pub mod recommend;

pub use recommend::Advisor;

use crate::incident::Tactic;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a recommendation comes from; shown under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// A recommended action of the incident's Defender XDR alerts.
    DefenderXdr,
    /// Threat intelligence found for these MITRE tactics (one article can answer several).
    ThreatIntel(Vec<Tactic>),
    /// The embedded offline MITRE ATT&CK knowledge base (no model, no TI licence needed).
    OfflineKnowledgeBase(Tactic),
    /// The model's own suggestion, grounding-checked.
    Model,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::DefenderXdr => f.write_str("Defender XDR"),
            Source::ThreatIntel(tactics) => {
                let names: Vec<String> = tactics.iter().map(ToString::to_string).collect();
                write!(f, "Threat intelligence (MITRE {})", names.join(", "))
            }
            Source::OfflineKnowledgeBase(tactic) => {
                write!(f, "Offline MITRE ATT&CK knowledge base ({tactic})")
            }
            Source::Model => f.write_str("Model"),
        }
    }
}

/// One recommendation, where it comes from and what it applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Plain text; may contain upstream or model text, so renderers escape it. For a Defender
    /// XDR action with steps, the heading over them.
    pub text: String,
    /// Steps under the text, in order, without bullets or numbers (a Defender XDR action's
    /// lines, see [`action::sections`]); empty for a one-line recommendation.
    #[serde(default)]
    pub steps: Vec<String>,
    /// True when the steps were numbered in the source, so their order matters.
    #[serde(default)]
    pub numbered: bool,
    /// The incidents a Defender XDR action was recommended for, first seen first; empty when
    /// the answer is about one incident.
    #[serde(default)]
    pub incidents: Vec<u64>,
    /// The devices of the alerts that recommend a Defender XDR action, first seen first.
    #[serde(default)]
    pub devices: Vec<String>,
    pub source: Source,
}

impl Recommendation {
    /// A one-line recommendation that applies to nothing in particular.
    pub fn new(text: impl Into<String>, source: Source) -> Recommendation {
        Recommendation {
            text: text.into(),
            steps: Vec::new(),
            numbered: false,
            incidents: Vec::new(),
            devices: Vec::new(),
            source,
        }
    }
}

/// The answer to `/recommend N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentAdvice {
    pub number: u64,
    /// What the incident means for the organisation.
    pub impact: String,
    /// True when the impact text was written by the model (grounding-checked).
    pub impact_from_model: bool,
    pub recommendations: Vec<Recommendation>,
    /// Notes for the reader: unavailable sources, the offline fallback, unverified figures.
    pub notes: Vec<String>,
    /// Figures in the model's text the facts did not contain (already marked in the text).
    pub unverified: usize,
    /// True when the model part came from the answer cache.
    pub from_cache: bool,
}

/// Posture recommendations for a period, for `/recommend week` and the weekly report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WeeklyAdvice {
    /// Security posture recommendations from Defender XDR.
    pub posture_from_defender: Vec<Recommendation>,
    /// Why Defender XDR's actions could not be read, when none were; shown instead of
    /// "no recommended actions", which would be false.
    #[serde(default)]
    pub posture_unread: Option<String>,
    /// Recommendations from threat intelligence (or the offline knowledge base) by MITRE tactic.
    pub from_threat_intel: Vec<Recommendation>,
    /// Steps to reduce time to triage and resolve, with figures formatted by code.
    pub mttt_mttr_steps: Vec<String>,
    /// Period-over-period changes, formatted by code.
    pub trend_notes: Vec<String>,
    /// Insights from the model (grounding-checked) or, offline, from the figures.
    pub operational_insights: Vec<String>,
    /// Unavailable sources and the offline fallback, one sentence each.
    pub note: Option<String>,
    /// Figures in the model's text the facts did not contain.
    pub unverified: usize,
}
