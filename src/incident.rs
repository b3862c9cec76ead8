//! The incident model: what Sentinel calls a SecurityIncident, as typed values.
//! Knows nothing of HTTP, chat platforms or storage.

pub use arcstr::ArcStr;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

mod skipped;
mod tactic;
pub use skipped::{RequiredColumn, SkipReason, Skipped};
pub use tactic::{BlankTactic, MAX_OTHER_CHARS, Tactic};

/// Incident severity as Sentinel spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    High,
    Medium,
    Low,
    Informational,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 4] = [
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ];

    /// The name Sentinel uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Informational => "Informational",
        }
    }

    /// Position in [`Severity::ALL`], for array-indexed counts.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Incident status as Sentinel spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    New,
    Active,
    Closed,
}

impl Status {
    /// Every status, in workflow order.
    pub const ALL: [Status; 3] = [Status::New, Status::Active, Status::Closed];

    /// The name Sentinel uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "New",
            Status::Active => "Active",
            Status::Closed => "Closed",
        }
    }

    /// Open means New or Active.
    pub fn is_open(self) -> bool {
        self != Status::Closed
    }

    /// Position in [`Status::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// How a closed incident was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Classification {
    TruePositive,
    BenignPositive,
    FalsePositive,
    Undetermined,
}

impl Classification {
    /// Every classification.
    pub const ALL: [Classification; 4] = [
        Classification::TruePositive,
        Classification::BenignPositive,
        Classification::FalsePositive,
        Classification::Undetermined,
    ];

    /// The name Sentinel uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::TruePositive => "TruePositive",
            Classification::BenignPositive => "BenignPositive",
            Classification::FalsePositive => "FalsePositive",
            Classification::Undetermined => "Undetermined",
        }
    }

    /// The reasons Sentinel accepts with this classification (see
    /// [`ClassificationReason::classification`]); none for `Undetermined`.
    pub fn reasons(self) -> impl Iterator<Item = ClassificationReason> {
        ClassificationReason::ALL
            .into_iter()
            .filter(move |reason| reason.classification() == self)
    }

    /// Whether Sentinel pairs `reason` with this classification.
    pub fn accepts(self, reason: ClassificationReason) -> bool {
        reason.classification() == self
    }

    /// The reason written when a closing gives none: the first Sentinel pairs with this
    /// classification (`IncorrectAlertLogic` for `FalsePositive`); none for `Undetermined`.
    pub fn default_reason(self) -> Option<ClassificationReason> {
        self.reasons().next()
    }

    /// Checks a closing's pair of classification and reason, as Sentinel pairs them.
    pub fn check_reason(self, reason: ClassificationReason) -> Result<(), MismatchedReason> {
        if self.accepts(reason) {
            return Ok(());
        }
        Err(MismatchedReason {
            classification: self,
            reason,
        })
    }
}

/// Why an incident was closed with its classification: Sentinel's `classificationReason`
/// (Microsoft.SecurityInsights `IncidentClassificationReason`, stable 2024-09-01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClassificationReason {
    SuspiciousActivity,
    SuspiciousButExpected,
    IncorrectAlertLogic,
    InaccurateData,
}

impl ClassificationReason {
    /// Every reason, in the order Sentinel lists them.
    pub const ALL: [ClassificationReason; 4] = [
        ClassificationReason::SuspiciousActivity,
        ClassificationReason::SuspiciousButExpected,
        ClassificationReason::IncorrectAlertLogic,
        ClassificationReason::InaccurateData,
    ];

    /// The name Sentinel uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ClassificationReason::SuspiciousActivity => "SuspiciousActivity",
            ClassificationReason::SuspiciousButExpected => "SuspiciousButExpected",
            ClassificationReason::IncorrectAlertLogic => "IncorrectAlertLogic",
            ClassificationReason::InaccurateData => "InaccurateData",
        }
    }

    /// The classification this reason belongs to. The one home of the pairing rule, as
    /// Sentinel's close dialog offers it (Microsoft Learn, "Navigate and investigate incidents
    /// in Microsoft Sentinel", closing an incident): True Positive - suspicious activity;
    /// Benign Positive - suspicious but expected; False Positive - incorrect alert logic, or
    /// inaccurate data; Undetermined takes no reason.
    pub fn classification(self) -> Classification {
        match self {
            ClassificationReason::SuspiciousActivity => Classification::TruePositive,
            ClassificationReason::SuspiciousButExpected => Classification::BenignPositive,
            ClassificationReason::IncorrectAlertLogic | ClassificationReason::InaccurateData => {
                Classification::FalsePositive
            }
        }
    }
}

/// A closing whose reason Sentinel does not pair with its classification. The message names
/// the reasons the classification takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{reason} is not a reason for {classification}: {}", valid_reasons(*classification))]
pub struct MismatchedReason {
    pub classification: Classification,
    pub reason: ClassificationReason,
}

fn valid_reasons(classification: Classification) -> String {
    let reasons: Vec<&str> = classification
        .reasons()
        .map(ClassificationReason::as_str)
        .collect();
    match reasons.as_slice() {
        [] => format!("{classification} takes no reason"),
        [only] => format!("{classification} takes {only}"),
        [first @ .., last] => format!("{classification} takes {} or {last}", first.join(", ")),
    }
}

/// The value could not be read as the named type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownValue {
    /// What was being parsed, e.g. "severity".
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
}

fn unknown(kind: &'static str, value: &str) -> UnknownValue {
    UnknownValue {
        kind,
        value: value.to_string(),
    }
}

/// Case- and separator-insensitive key, so `true_positive`, `TruePositive` and `true-positive` match.
fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl FromStr for Severity {
    type Err = UnknownValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match fold(text).as_str() {
            "high" | "h" => Ok(Severity::High),
            "medium" | "med" | "m" => Ok(Severity::Medium),
            "low" | "l" => Ok(Severity::Low),
            "informational" | "info" | "i" => Ok(Severity::Informational),
            _ => Err(unknown("severity", text)),
        }
    }
}

impl FromStr for Status {
    type Err = UnknownValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match fold(text).as_str() {
            "new" => Ok(Status::New),
            "active" | "inprogress" => Ok(Status::Active),
            "closed" | "resolved" => Ok(Status::Closed),
            _ => Err(unknown("status", text)),
        }
    }
}

impl FromStr for Classification {
    type Err = UnknownValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match fold(text).as_str() {
            "truepositive" | "tp" => Ok(Classification::TruePositive),
            "benignpositive" | "bp" => Ok(Classification::BenignPositive),
            "falsepositive" | "fp" => Ok(Classification::FalsePositive),
            "undetermined" => Ok(Classification::Undetermined),
            _ => Err(unknown("classification", text)),
        }
    }
}

impl FromStr for ClassificationReason {
    type Err = UnknownValue;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let key = fold(text);
        ClassificationReason::ALL
            .into_iter()
            .find(|reason| fold(reason.as_str()) == key)
            .ok_or_else(|| unknown("classification reason", text))
    }
}

macro_rules! display_as_str {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(Severity, Status, Classification, ClassificationReason);

/// Which workspace an incident lives in. A deployment that reads one workspace uses
/// [`Workspace::ONLY`] for all of them, so nothing about workspaces is shown; with several
/// (MSSP), every workspace, the main one included, carries its configured short name.
///
/// The name is interned once (a workspace list is a few entries from the configuration), so
/// an incident carries one pointer, is `Copy`, and compares and hashes by that pointer:
/// identity costs no allocation per incident. Names typed by people are looked up among the
/// configured ones, never interned.
#[derive(Clone, Copy, Default)]
pub struct Workspace(Option<&'static str>);

impl Workspace {
    /// The only workspace of a single-workspace deployment; also the main workspace for a
    /// source asked about an incident without a workspace (records stored before workspaces
    /// had names).
    pub const ONLY: Workspace = Workspace(None);

    /// The workspace with this short name (e.g. `contoso`), interned.
    pub fn named(name: &str) -> Workspace {
        Workspace(Some(intern(name)))
    }

    /// The short name; `None` for [`Workspace::ONLY`].
    pub fn name(self) -> Option<&'static str> {
        self.0
    }

    /// True for [`Workspace::ONLY`].
    pub fn is_only(&self) -> bool {
        self.0.is_none()
    }

    /// The name's address: equal for equal names, since every name is interned.
    fn address(self) -> usize {
        self.0.map_or(0, |name| name.as_ptr() as usize)
    }
}

/// A workspace short name as `/incident 5@name` reads it: 1 to 64 ASCII letters, digits,
/// `-`, `_` or `.` (every Log Analytics workspace resource name is one).
pub fn is_workspace_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Interns a workspace name: the same `&'static str` for the same text. Only configured
/// names (and records the bot stored itself) are interned, so what is leaked stays a handful
/// of short names for the life of the process.
fn intern(name: &str) -> &'static str {
    use std::sync::{Mutex, PoisonError};
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = names.iter().find(|known| **known == name) {
        return found;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    leaked
}

impl PartialEq for Workspace {
    fn eq(&self, other: &Workspace) -> bool {
        self.address() == other.address()
    }
}

impl Eq for Workspace {}

impl std::hash::Hash for Workspace {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.address().hash(state);
    }
}

impl PartialOrd for Workspace {
    fn partial_cmp(&self, other: &Workspace) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// By name, so lists of several workspaces read alphabetically.
impl Ord for Workspace {
    fn cmp(&self, other: &Workspace) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl fmt::Debug for Workspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, "Workspace({name})"),
            None => f.write_str("Workspace::ONLY"),
        }
    }
}

impl Serialize for Workspace {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Workspace {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Workspace, D::Error> {
        let name: Option<String> = Option::deserialize(deserializer)?;
        Ok(name.map_or(Workspace::ONLY, |name| Workspace::named(&name)))
    }
}

/// An incident's identity: its workspace and its number there (DESIGN.md: with several
/// workspaces a number alone is ambiguous). Shown as `5`, or `5@contoso` when the workspace
/// has a name: the form `/incident` reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IncidentKey {
    #[serde(default, skip_serializing_if = "Workspace::is_only")]
    pub workspace: Workspace,
    /// `IncidentNumber`.
    pub number: u64,
}

impl IncidentKey {
    /// Incident `number` of [`Workspace::ONLY`].
    pub fn only(number: u64) -> IncidentKey {
        IncidentKey {
            workspace: Workspace::ONLY,
            number,
        }
    }
}

impl fmt::Display for IncidentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.workspace.name() {
            Some(name) => write!(f, "{}@{name}", self.number),
            None => write!(f, "{}", self.number),
        }
    }
}

/// An incident as a person names it: a number, and maybe the short name of its workspace
/// (`5@contoso`), not yet checked against the configured workspaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRef {
    pub number: u64,
    /// The workspace name as typed; `None` for a bare number.
    pub workspace: Option<String>,
}

impl From<u64> for IncidentRef {
    fn from(number: u64) -> IncidentRef {
        IncidentRef {
            number,
            workspace: None,
        }
    }
}

impl From<IncidentKey> for IncidentRef {
    fn from(key: IncidentKey) -> IncidentRef {
        IncidentRef {
            number: key.number,
            workspace: key.workspace.name().map(str::to_string),
        }
    }
}

impl fmt::Display for IncidentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.workspace {
            Some(name) => write!(f, "{}@{name}", self.number),
            None => write!(f, "{}", self.number),
        }
    }
}

/// Who an incident is assigned to; all empty means unassigned.
///
/// As JSON (the report export): `null` when unassigned, as every other absent value there,
/// else `{"name", "email", "object_id"}` with a `null` for each part not known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Option<OwnerJson>", from = "Option<OwnerJson>")]
pub struct Owner {
    /// Display name, e.g. "Dana Analyst".
    pub name: Option<ArcStr>,
    /// E-mail or UPN.
    pub email: Option<ArcStr>,
    /// Entra object id.
    pub object_id: Option<ArcStr>,
}

/// [`Owner`]'s JSON object, for an assigned incident.
#[derive(Serialize, Deserialize)]
struct OwnerJson {
    name: Option<ArcStr>,
    email: Option<ArcStr>,
    object_id: Option<ArcStr>,
}

impl From<Owner> for Option<OwnerJson> {
    fn from(owner: Owner) -> Option<OwnerJson> {
        owner.is_assigned().then_some(OwnerJson {
            name: owner.name,
            email: owner.email,
            object_id: owner.object_id,
        })
    }
}

impl From<Option<OwnerJson>> for Owner {
    fn from(json: Option<OwnerJson>) -> Owner {
        json.map_or_else(Owner::default, |it| Owner {
            name: it.name,
            email: it.email,
            object_id: it.object_id,
        })
    }
}

impl Owner {
    /// True when any owner field is set.
    pub fn is_assigned(&self) -> bool {
        self.name.is_some() || self.email.is_some() || self.object_id.is_some()
    }

    /// The best label to show a person.
    pub fn label(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or(self.email.as_deref())
            .or(self.object_id.as_deref())
    }
}

/// One incident in its current state.
///
/// The text that repeats across incidents (title, description, closing comment, owner,
/// techniques, products, labels) is held as shared [`ArcStr`]: a source reading many
/// incidents at once can hold each distinct value once (`sources::azure` does), which is
/// most of a large period's memory. It reads as `&str` and compares with `&str` and `String`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The workspace the incident lives in; with `number`, its identity ([`Incident::key`]).
    #[serde(default, skip_serializing_if = "Workspace::is_only")]
    pub workspace: Workspace,
    /// The workspace-wide number analysts use (`IncidentNumber`).
    pub number: u64,
    /// The incident's resource name (a GUID), used by the Sentinel REST API.
    pub id: String,
    /// Title; untrusted text.
    pub title: ArcStr,
    /// Description; untrusted text.
    pub description: ArcStr,
    pub severity: Severity,
    pub status: Status,
    /// Set once closed.
    pub classification: Option<Classification>,
    /// Free-text reason or comment given on closing; untrusted text.
    pub classification_comment: Option<ArcStr>,
    pub owner: Owner,
    pub tactics: Vec<Tactic>,
    /// ATT&CK technique ids, e.g. `T1566`.
    pub techniques: Vec<ArcStr>,
    /// Products whose alerts make up the incident, e.g. "Microsoft Defender for Endpoint".
    pub alert_products: Vec<ArcStr>,
    /// Ids of the alerts in the incident (`AlertIds`).
    pub alert_ids: Vec<String>,
    /// Labels set on the incident.
    pub labels: Vec<ArcStr>,
    /// When the incident was created (`CreatedTime`).
    pub created: DateTime<Utc>,
    /// When it was first changed by anyone or anything (`FirstModifiedTime`): the
    /// Security Operations Efficiency workbook's end of triage.
    pub first_modified: Option<DateTime<Utc>>,
    /// When a person first changed it: the first change whose `ModifiedBy` is not
    /// automation (see [`is_automation`]).
    pub first_human_action: Option<DateTime<Utc>>,
    /// Last change (`LastModifiedTime`).
    pub last_modified: DateTime<Utc>,
    /// When it was closed (`ClosedTime`).
    pub closed: Option<DateTime<Utc>>,
    /// Link to the incident in the Defender or Azure portal.
    pub url: Option<String>,
}

impl Incident {
    /// The incident's identity: (workspace, number).
    pub fn key(&self) -> IncidentKey {
        IncidentKey {
            workspace: self.workspace,
            number: self.number,
        }
    }

    /// Time to triage as the Security Operations Efficiency workbook defines it:
    /// `FirstModifiedTime - CreatedTime`; `None` until the first change.
    pub fn time_to_triage(&self) -> Option<Duration> {
        self.first_modified.map(|first| first - self.created)
    }

    /// Creation to the first change made by a person; `None` until a person acts.
    pub fn time_to_first_human_action(&self) -> Option<Duration> {
        self.first_human_action.map(|first| first - self.created)
    }

    /// Time to resolve (the workbook's time to closure): `ClosedTime - CreatedTime`, for
    /// closed incidents only; a reopened incident keeps an old `ClosedTime` but has none.
    pub fn time_to_resolve(&self) -> Option<Duration> {
        match (self.status, self.closed) {
            (Status::Closed, Some(closed)) => Some(closed - self.created),
            _ => None,
        }
    }
}

/// `ModifiedBy` values of changes made by Sentinel itself, as the Security Operations
/// Efficiency workbook lists them (its "actions per user" filter).
pub const AUTOMATION_MODIFIERS: [&str; 3] =
    ["Alert Grouping", "Fusion", "Incident created from alert"];

/// Parts of a `ModifiedBy` value that name automation: the workbook's "Automation rule",
/// Logic Apps playbooks, and this bot's own comments and triage.
pub const AUTOMATION_MARKERS: [&str; 4] =
    ["Automation rule", "Playbook", "Logic App", "sentinel-bot"];

/// True when a change's `ModifiedBy` names automation rather than a person: one of
/// [`AUTOMATION_MODIFIERS`], or containing one of [`AUTOMATION_MARKERS`] (case-insensitive,
/// as KQL's `in~` and `contains`). An empty value is not a person either.
pub fn is_automation(modified_by: &str) -> bool {
    let value = modified_by.trim();
    let lower = value.to_lowercase();
    value.is_empty()
        || AUTOMATION_MODIFIERS
            .iter()
            .any(|name| name.eq_ignore_ascii_case(value))
        || AUTOMATION_MARKERS
            .iter()
            .any(|marker| lower.contains(&marker.to_lowercase()))
}

/// One row of the `SecurityIncident` table: an incident as it was at `time_generated`.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRow {
    /// When Sentinel wrote this row (`TimeGenerated`).
    pub time_generated: DateTime<Utc>,
    /// Who made the change this row records (`ModifiedBy`): a user, or automation.
    pub modified_by: Option<String>,
    /// The incident as of this row.
    pub incident: Incident,
}

/// Collapses change rows into incidents: the latest row per incident, (workspace, number),
/// wins (KQL's `arg_max(TimeGenerated, *) by TenantId, IncidentNumber`), so two workspaces'
/// incident 5 stay two incidents. The first change by a person is the
/// earliest row after creation whose `ModifiedBy` is not automation; `FirstModifiedTime`
/// comes from the rows, or else from the earliest row after creation. Repeated rows count
/// once. Output is sorted by number, then workspace.
pub fn collapse(rows: impl IntoIterator<Item = IncidentRow>) -> Vec<Incident> {
    use std::collections::HashMap;
    use std::collections::hash_map::Entry;
    #[derive(Default)]
    struct Firsts {
        /// `FirstModifiedTime` as Sentinel reported it, which wins when present.
        reported: Option<DateTime<Utc>>,
        /// The earliest change row, for data without that column.
        modified: Option<DateTime<Utc>>,
        human: Option<DateTime<Utc>>,
    }
    fn earliest(slot: &mut Option<DateTime<Utc>>, time: Option<DateTime<Utc>>) {
        if let Some(time) = time {
            *slot = Some(slot.map_or(time, |seen| seen.min(time)));
        }
    }
    // The latest row of each incident is gathered at the front of the rows' own vector, so
    // the incidents are never copied into a second collection: a large answer is held once.
    let mut rows: Vec<IncidentRow> = rows.into_iter().collect();
    // Where each incident's latest row so far sits; with it, the firsts of all its rows.
    let mut slots: HashMap<IncidentKey, usize> = HashMap::with_capacity(rows.len());
    let mut firsts: Vec<Firsts> = Vec::with_capacity(rows.len());
    for index in 0..rows.len() {
        let row = &rows[index];
        let incident = &row.incident;
        let changed = incident.last_modified > incident.created;
        let by_person = row
            .modified_by
            .as_deref()
            .is_some_and(|who| !is_automation(who));
        let reported = incident.first_modified;
        let modified = changed.then_some(incident.last_modified);
        let human = [
            incident.first_human_action,
            (changed && by_person).then_some(incident.last_modified),
        ];
        let at = match slots.entry(incident.key()) {
            Entry::Occupied(seen) => {
                let at = *seen.get();
                if rows[at].time_generated < rows[index].time_generated {
                    rows.swap(at, index);
                }
                at
            }
            Entry::Vacant(slot) => {
                // Every row before `index` is kept at the front or already merged.
                let at = firsts.len();
                rows.swap(at, index);
                slot.insert(at);
                firsts.push(Firsts::default());
                at
            }
        };
        let firsts = &mut firsts[at];
        earliest(&mut firsts.reported, reported);
        earliest(&mut firsts.modified, modified);
        for time in human {
            earliest(&mut firsts.human, time);
        }
    }
    drop(slots);
    rows.truncate(firsts.len());
    for (row, firsts) in rows.iter_mut().zip(firsts) {
        row.incident.first_modified = firsts.reported.or(firsts.modified);
        row.incident.first_human_action = firsts.human;
    }
    // Collected in place: the rows' allocation holds the incidents.
    let mut incidents: Vec<Incident> = rows.into_iter().map(|row| row.incident).collect();
    sort_stably(&mut incidents, |incident| {
        (incident.number, incident.workspace)
    });
    incidents
}

/// Sorts `items` by `key` as a stable sort would, moving each item once: the positions are
/// sorted, not the items, so a large list of incidents needs no scratch copy of itself.
pub(crate) fn sort_stably<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    let order = stable_order(items, key);
    put_in_order(items, order);
}

/// The positions of `items` in the order a stable sort by `key` would put them: the first
/// item of the sorted list is `items[order[0]]`.
pub(crate) fn stable_order<T, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|index| key(&items[*index]));
    order
}

/// Moves each item of `items` once so that position `at` holds the item that was at
/// `order[at]` (`order` a permutation, as [`stable_order`] gives).
pub(crate) fn put_in_order<T>(items: &mut [T], mut order: Vec<usize>) {
    // Each cycle of the permutation is walked once, and a walked position is marked by
    // pointing it at itself.
    for start in 0..items.len() {
        let mut at = start;
        loop {
            let from = order[at];
            order[at] = at;
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_unassigned_owner_is_null_in_json_and_reads_back() {
        assert_eq!(
            serde_json::to_value(Owner::default()).unwrap(),
            serde_json::Value::Null
        );
        assert_eq!(
            serde_json::from_str::<Owner>("null").unwrap(),
            Owner::default()
        );
        let dana = Owner {
            name: Some("Dana Example".into()),
            email: None,
            object_id: Some("0b6f".into()),
        };
        let json = serde_json::to_value(&dana).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "Dana Example", "email": null, "object_id": "0b6f"})
        );
        assert_eq!(serde_json::from_value::<Owner>(json).unwrap(), dana);
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, hour, 0, 0).unwrap()
    }

    fn row(number: u64, hour: u32, status: Status, owner: Option<&str>) -> IncidentRow {
        IncidentRow {
            time_generated: at(hour),
            modified_by: Some(if hour == 1 {
                "Incident created from alert".to_string()
            } else {
                owner.unwrap_or("Automation rule - auto-assign").to_string()
            }),
            incident: Incident {
                workspace: Workspace::ONLY,
                number,
                id: format!("id-{number}"),
                title: format!("Incident {number} at {hour}").into(),
                description: "".into(),
                severity: Severity::Medium,
                status,
                classification: None,
                classification_comment: None,
                owner: Owner {
                    name: owner.map(ArcStr::from),
                    ..Owner::default()
                },
                tactics: Vec::new(),
                techniques: Vec::new(),
                alert_products: Vec::new(),
                alert_ids: Vec::new(),
                labels: Vec::new(),
                created: at(1),
                first_modified: None,
                first_human_action: None,
                last_modified: at(hour),
                closed: None,
                url: None,
            },
        }
    }

    #[test]
    fn duplicate_rows_count_once_and_latest_wins() {
        let rows = vec![
            row(7, 1, Status::New, None),
            row(7, 5, Status::Closed, Some("Dana")),
            row(7, 5, Status::Closed, Some("Dana")),
            row(7, 3, Status::Active, Some("Dana")),
            row(8, 1, Status::New, None),
            row(8, 1, Status::New, None),
        ];
        let incidents = collapse(rows);
        assert_eq!(incidents.len(), 2);
        assert_eq!(incidents[0].number, 7);
        assert_eq!(incidents[0].status, Status::Closed);
        assert_eq!(incidents[0].title, "Incident 7 at 5");
        assert_eq!(incidents[1].number, 8);
        assert_eq!(incidents[1].first_modified, None);
        assert_eq!(incidents[1].first_human_action, None);
    }

    #[test]
    fn triage_is_the_first_change_and_human_action_skips_automation() {
        // An automation rule changes it at 2, Ravi at 4.
        let rows = vec![
            row(1, 1, Status::New, None),
            row(1, 4, Status::Active, Some("Ravi")),
            row(1, 2, Status::New, None),
        ];
        let incident = &collapse(rows)[0];
        assert_eq!(incident.first_modified, Some(at(2)));
        assert_eq!(incident.first_human_action, Some(at(4)));
        assert_eq!(incident.time_to_triage(), Some(Duration::hours(1)));
        assert_eq!(
            incident.time_to_first_human_action(),
            Some(Duration::hours(3))
        );
    }

    #[test]
    fn reported_first_modified_time_wins_over_the_rows() {
        let mut latest = row(3, 6, Status::Active, Some("Ravi"));
        latest.incident.first_modified = Some(at(5));
        let rows = vec![row(3, 2, Status::New, None), latest];
        assert_eq!(collapse(rows)[0].first_modified, Some(at(5)));
    }

    #[test]
    fn a_reopened_incident_has_no_time_to_resolve() {
        let mut reopened = row(4, 6, Status::Active, Some("Ravi")).incident;
        reopened.closed = Some(at(5));
        assert_eq!(reopened.time_to_resolve(), None);
        reopened.status = Status::Closed;
        assert_eq!(reopened.time_to_resolve(), Some(Duration::hours(4)));
    }

    #[test]
    fn automation_is_recognised_as_the_workbook_filters_it() {
        for automation in [
            "Alert Grouping",
            "fusion",
            "Incident created from alert",
            "Automation rule - Assign to Tier 1",
            "Playbook: enrich-ip",
            "",
        ] {
            assert!(is_automation(automation), "{automation}");
        }
        for person in ["dana@contoso.com", "Ravi Kumar"] {
            assert!(!is_automation(person), "{person}");
        }
    }

    #[test]
    fn each_reason_pairs_with_one_classification_and_undetermined_with_none() {
        let pairs: Vec<(Classification, Vec<ClassificationReason>)> = Classification::ALL
            .into_iter()
            .map(|classification| (classification, classification.reasons().collect()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (
                    Classification::TruePositive,
                    vec![ClassificationReason::SuspiciousActivity]
                ),
                (
                    Classification::BenignPositive,
                    vec![ClassificationReason::SuspiciousButExpected]
                ),
                (
                    Classification::FalsePositive,
                    vec![
                        ClassificationReason::IncorrectAlertLogic,
                        ClassificationReason::InaccurateData
                    ]
                ),
                (Classification::Undetermined, vec![]),
            ]
        );
        assert_eq!(
            Classification::FalsePositive.default_reason(),
            Some(ClassificationReason::IncorrectAlertLogic)
        );
        assert_eq!(Classification::Undetermined.default_reason(), None);
    }

    #[test]
    fn a_wrong_pair_names_the_valid_reasons() {
        let wrong = Classification::TruePositive
            .check_reason(ClassificationReason::InaccurateData)
            .unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "InaccurateData is not a reason for TruePositive: TruePositive takes SuspiciousActivity"
        );
        let wrong = Classification::BenignPositive
            .check_reason(ClassificationReason::IncorrectAlertLogic)
            .unwrap_err();
        assert!(
            wrong
                .to_string()
                .ends_with("BenignPositive takes SuspiciousButExpected")
        );
        let wrong = Classification::Undetermined
            .check_reason(ClassificationReason::SuspiciousActivity)
            .unwrap_err();
        assert!(wrong.to_string().ends_with("Undetermined takes no reason"));
        assert!(
            Classification::FalsePositive
                .check_reason(ClassificationReason::InaccurateData)
                .is_ok()
        );
    }

    #[test]
    fn two_workspaces_incident_5_stay_two_incidents() {
        let mut contoso = row(5, 1, Status::New, None);
        contoso.incident.workspace = Workspace::named("contoso");
        contoso.incident.severity = Severity::High;
        let mut fabrikam = row(5, 2, Status::Active, None);
        fabrikam.incident.workspace = Workspace::named("fabrikam");
        fabrikam.incident.severity = Severity::Low;
        let incidents = collapse(vec![fabrikam.clone(), contoso, fabrikam]);
        let seen: Vec<(String, Severity, Status)> = incidents
            .iter()
            .map(|it| (it.key().to_string(), it.severity, it.status))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("5@contoso".to_string(), Severity::High, Status::New),
                ("5@fabrikam".to_string(), Severity::Low, Status::Active),
            ]
        );
    }

    #[test]
    fn workspaces_are_interned_names_shown_only_when_set() {
        assert_eq!(Workspace::named("contoso"), Workspace::named("contoso"));
        assert_ne!(Workspace::named("contoso"), Workspace::ONLY);
        assert_ne!(Workspace::named("contoso"), Workspace::named("fabrikam"));
        assert_eq!(IncidentKey::only(5).to_string(), "5");
        let key = IncidentKey {
            workspace: Workspace::named("fabrikam"),
            number: 5,
        };
        assert_eq!(key.to_string(), "5@fabrikam");
        assert_eq!(IncidentRef::from(key).to_string(), "5@fabrikam");
        let stored = serde_json::to_string(&key.workspace).expect("serialises");
        assert_eq!(stored, "\"fabrikam\"");
        let read: Workspace = serde_json::from_str(&stored).expect("reads");
        assert_eq!(read, key.workspace);
        assert_eq!(
            serde_json::from_str::<Workspace>("null").expect("reads"),
            Workspace::ONLY
        );
        // One pointer: identity costs no allocation per incident.
        assert_eq!(
            std::mem::size_of::<Workspace>(),
            std::mem::size_of::<usize>() * 2
        );
    }

    #[test]
    fn parses_names_loosely() {
        assert_eq!("true_positive".parse(), Ok(Classification::TruePositive));
        assert_eq!("TA0001".parse(), Ok(Tactic::InitialAccess));
        assert_eq!("in progress".parse(), Ok(Status::Active));
        assert!("urgent".parse::<Severity>().is_err());
        assert_eq!(
            "inaccurate-data".parse(),
            Ok(ClassificationReason::InaccurateData)
        );
    }
}
