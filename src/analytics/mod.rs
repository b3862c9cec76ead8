//! Pure analytics over incident records: breakdowns, resolution rate, MTTT and MTTR,
//! the open backlog with its long-unresolved and High incidents, daily volume with
//! anomalies, and period-over-period change, gathered in one [`PeriodFacts`] per period.
//! No I/O, no clock: the caller passes `now`. Every figure a message shows comes from here,
//! and every view of a period reads the same `PeriodFacts`.

use crate::incident::{
    ArcStr, Incident, IncidentKey, Owner, Severity, Skipped, Status, Tactic, Workspace,
    put_in_order, sort_stably, stable_order,
};
use crate::period::Window;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// Default threshold after which an open incident counts as long-unresolved.
pub const DEFAULT_LONG_OPEN: Duration = Duration::days(3);

/// Count, mean and median of a set of durations; `None` when the set is empty. Exports
/// carry them as whole seconds (`mean_seconds`, `median_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Durations {
    pub count: usize,
    #[serde(rename = "mean_seconds", serialize_with = "seconds::optional")]
    pub mean: Option<Duration>,
    #[serde(rename = "median_seconds", serialize_with = "seconds::optional")]
    pub median: Option<Duration>,
}

/// Durations in exports as whole seconds, which every consumer reads.
mod seconds {
    use chrono::Duration;
    use serde::Serializer;

    pub fn exact<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.num_seconds())
    }

    pub fn optional<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => exact(value, serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// An open incident as the backlog lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenIncident {
    #[serde(skip_serializing_if = "Workspace::is_only")]
    pub workspace: Workspace,
    pub number: u64,
    pub title: ArcStr,
    pub severity: Severity,
    pub status: Status,
    /// Who it is assigned to; serialised as `null` when no one, like the incidents' owner.
    pub owner: Owner,
    pub created: DateTime<Utc>,
    /// `now - created`.
    #[serde(rename = "age_seconds", serialize_with = "seconds::exact")]
    pub age: Duration,
    pub url: Option<String>,
}

impl OpenIncident {
    /// The incident's identity: (workspace, number).
    pub fn key(&self) -> IncidentKey {
        IncidentKey {
            workspace: self.workspace,
            number: self.number,
        }
    }

    fn new(incident: &Incident, now: DateTime<Utc>) -> OpenIncident {
        OpenIncident {
            workspace: incident.workspace,
            number: incident.number,
            title: incident.title.clone(),
            severity: incident.severity,
            status: incident.status,
            owner: incident.owner.clone(),
            created: incident.created,
            age: now - incident.created,
            url: incident.url.clone(),
        }
    }
}

/// Incidents created on one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayVolume {
    pub date: NaiveDate,
    /// Indexed by [`Severity::index`].
    pub by_severity: [usize; 4],
    pub total: usize,
    /// The window covers only part of this day, so its count is not comparable with a
    /// whole day's: marked in charts, left out of the anomaly baseline, never flagged.
    pub partial: bool,
    /// See [`flag_anomalies`].
    pub anomaly: bool,
}

/// The figures of the incidents created in one window ("created in this period").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub window: Window,
    /// Incidents created in the window.
    pub total: usize,
    /// Of those, by current status; indexed by [`Status::index`].
    pub by_status: [usize; 3],
    /// By severity; indexed by [`Severity::index`].
    pub by_severity: [usize; 4],
    /// `[severity][status]` counts.
    pub status_by_severity: [[usize; 3]; 4],
    /// Incidents per tactic, most frequent first, ties in [`Tactic`]'s order (known tactics in
    /// kill-chain order, then other names by name); zero counts left out. An incident with
    /// several tactics counts once for each, so shares add up to more than 100%. A name
    /// outside Sentinel's enum has its own row ([`Tactic::Other`]).
    pub by_tactic: Vec<(Tactic, usize)>,
    /// Incidents created in the window that carry no tactic.
    pub without_tactics: usize,
    /// Of those created in the window, the share closed now; `None` when nothing was created.
    pub resolution_rate: Option<f64>,
    /// Incidents created per day: `total` / the window's length in days; `None` for a
    /// window shorter than a day, where it would be a guess.
    pub daily_average: Option<f64>,
    /// MTTT, mean time to triage: `FirstModifiedTime - CreatedTime` (the Security Operations
    /// Efficiency workbook), over incidents created in the window that were changed since.
    pub time_to_triage: Durations,
    /// Creation to the first change by a person (automation left out, see
    /// [`crate::incident::is_automation`]), over incidents created in the window.
    pub time_to_first_human_action: Durations,
    /// MTTR, mean time to respond: `ClosedTime - CreatedTime` (the workbook's time to closure),
    /// over incidents created in the window that are closed now.
    pub time_to_resolve: Durations,
    /// One entry per UTC day the window touches, oldest first; partial days marked.
    pub daily: Vec<DayVolume>,
}

/// Open incidents now, whenever they were created ("open backlog now"). Sources return open
/// incidents created up to [`crate::sources::OPEN_LOOKBACK_DAYS`] before the window's end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backlog {
    /// When the backlog was counted.
    pub as_of: DateTime<Utc>,
    /// Open incidents: New or Active.
    pub open: usize,
    /// Of those, by status; indexed by [`Status::index`] (Closed is always 0).
    pub by_status: [usize; 3],
    /// By severity; indexed by [`Severity::index`].
    pub by_severity: [usize; 4],
    /// Open incidents without an owner.
    pub unowned: usize,
    /// The threshold for long-unresolved.
    #[serde(rename = "long_open_after_seconds", serialize_with = "seconds::exact")]
    pub long_open_after: Duration,
    /// Open for longer than `long_open_after`, oldest first.
    pub long_unresolved: Vec<OpenIncident>,
    /// Every open High-severity incident, whatever its age, oldest first.
    pub open_high: Vec<OpenIncident>,
}

/// Everything a view of one period shows, computed once: the incidents created in the period,
/// the same figures for the period before, their comparison, and the open backlog now.
/// An incident created in the period and still open is held once, though both
/// [`PeriodFacts::incidents`] and [`PeriodFacts::open`] list it: a large period's incidents
/// are the bulk of a report's memory. Exports carry both lists in full (`incidents`, `open`).
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodFacts {
    pub window: Window,
    /// When the facts were computed.
    pub generated: DateTime<Utc>,
    pub created: Summary,
    /// The period of the same length just before; `None` when it was not read.
    pub previous: Option<Summary>,
    pub comparison: Option<Comparison>,
    pub backlog: Backlog,
    /// The incidents created in the window (`..listed`, in list order), then the open ones
    /// created before it.
    held: Vec<Incident>,
    listed: usize,
    /// Where in `held` each open incident is, in list order.
    open: Vec<usize>,
    /// Rows of the period's answer that could not be read, by reason: every figure above
    /// leaves them out, and every view says so.
    pub skipped: Skipped,
    /// The same for the period before (empty when it was not read): the comparison leaves
    /// them out.
    pub skipped_before: Skipped,
    /// Whether [`PeriodFacts::incidents`] lists the incidents created in the window, or is
    /// empty because the source aggregated them ([`PeriodFacts::from_aggregates`]).
    pub listing: Listing,
}

/// Whether a period's facts list the incidents created in it (`PeriodFacts::incidents`).
/// Exports carry it as `"listing": "every"` or `"listing": "aggregated"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// Every incident created in the window (that the filter keeps) is listed.
    Every,
    /// Too many incidents were created in the window to fetch one by one: the "created"
    /// figures were computed by the source (Log Analytics `summarize`, see
    /// `sources::azure::aggregate`) and `incidents` is empty. The open backlog is whole.
    Aggregated,
}

/// Which incidents created in a period its "created" figures count: a severity, a set of
/// statuses, or both; the default keeps every incident. Typed, so a source can apply it
/// in its own query language as well as here ([`CreatedFilter::keeps`]). The open backlog is
/// never narrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreatedFilter {
    /// Only incidents of this severity.
    pub severity: Option<Severity>,
    /// Only incidents whose current status is one of these (`/incidents week open` is New
    /// and Active); `None` keeps every status.
    pub statuses: Option<&'static [Status]>,
}

impl CreatedFilter {
    /// Whether `incident` counts under the filter.
    pub fn keeps(&self, incident: &Incident) -> bool {
        self.severity.is_none_or(|it| incident.severity == it)
            && self
                .statuses
                .is_none_or(|statuses| statuses.contains(&incident.status))
    }
}

impl PeriodFacts {
    /// Computes the facts for `window` from the incidents a source returned for it (created
    /// in it, or open at its end) and, when given, those returned for the period before.
    pub fn compute(
        current: &[Incident],
        previous: Option<&[Incident]>,
        window: Window,
        now: DateTime<Utc>,
        long_open_after: Duration,
    ) -> PeriodFacts {
        PeriodFacts::compute_matching(current, previous, window, now, long_open_after, |_| true)
    }

    /// As [`PeriodFacts::compute`], with the "created in this period" figures (this period's
    /// and the one before) narrowed to incidents that `keep`. The open backlog is never
    /// narrowed: an open High incident must stay visible whatever filter an analyst typed.
    pub fn compute_matching(
        current: &[Incident],
        previous: Option<&[Incident]>,
        window: Window,
        now: DateTime<Utc>,
        long_open_after: Duration,
        keep: impl Fn(&Incident) -> bool,
    ) -> PeriodFacts {
        // Only what the lists keep is copied: the figures are counted in place.
        let created = summarize_matching(current, window, &keep);
        let previous =
            previous.map(|incidents| summarize_matching(incidents, window.previous(), &keep));
        let places = Places::of(current, window, &keep);
        let held = places.listed(current).chain(places.other_open(current));
        let held = held.cloned().collect();
        PeriodFacts::assemble(
            window,
            now,
            long_open_after,
            created,
            previous,
            held,
            places,
        )
    }

    /// As [`PeriodFacts::compute_matching`], taking the incidents a source returned: the
    /// period's incidents are moved into the facts, not copied, and the period before's are
    /// dropped once counted. Same facts as `compute_matching` on the same incidents.
    pub fn from_incidents(
        mut current: Vec<Incident>,
        previous: Option<Vec<Incident>>,
        window: Window,
        now: DateTime<Utc>,
        long_open_after: Duration,
        keep: impl Fn(&Incident) -> bool,
    ) -> PeriodFacts {
        let previous =
            previous.map(|incidents| summarize_matching(&incidents, window.previous(), &keep));
        let created = summarize_matching(&current, window, &keep);
        let places = Places::of(&current, window, &keep);
        // The listed incidents stay where they are, the other open ones move behind them,
        // and the rest are dropped.
        let mut position = 0;
        let unlisted = current.extract_if(.., |_| {
            let listed = places.0[position].0;
            position += 1;
            !listed
        });
        let other_open: Vec<Incident> = unlisted
            .zip(places.0.iter().filter(|(listed, _)| !listed))
            .filter(|(_, (_, first_open))| *first_open)
            .map(|(incident, _)| incident)
            .collect();
        current.extend(other_open);
        PeriodFacts::assemble(
            window,
            now,
            long_open_after,
            created,
            previous,
            current,
            places,
        )
    }

    /// Sorts the lists and counts the backlog: the part every constructor shares. `held`
    /// holds the listed incidents, then the other open ones, each in answer order, as
    /// `places` says.
    fn assemble(
        window: Window,
        now: DateTime<Utc>,
        long_open_after: Duration,
        created: Summary,
        previous: Option<Summary>,
        mut held: Vec<Incident>,
        places: Places,
    ) -> PeriodFacts {
        let comparison = previous.as_ref().map(|before| compare(&created, before));
        let listed = places.count_listed();
        let order = stable_order(&held[..listed], |it| (it.severity, Reverse(it.created)));
        let mut moved_to = vec![0; listed];
        for (to, from) in order.iter().enumerate() {
            moved_to[*from] = to;
        }
        put_in_order(&mut held[..listed], order);
        let mut open: Vec<usize> = places
            .open_positions()
            .map(|at| if at < listed { moved_to[at] } else { at })
            .collect();
        sort_stably(&mut open, |at| (held[*at].severity, held[*at].created));
        let open_incidents: Vec<&Incident> = open.iter().map(|at| &held[*at]).collect();
        let backlog = backlog(&open_incidents, now, long_open_after);
        PeriodFacts {
            window,
            generated: now,
            backlog,
            created,
            previous,
            comparison,
            held,
            listed,
            open,
            skipped: Skipped::default(),
            skipped_before: Skipped::default(),
            listing: Listing::Every,
        }
    }

    /// The facts of `window` when the source aggregated the incidents created in it
    /// (`created`, already narrowed by the caller's filter) instead of sending them:
    /// `previous` is the period before's figures, however they were computed; `open` the
    /// incidents open at the window's end (closed ones are ignored, each incident counted
    /// once), from which the backlog, its long-unresolved list and the open High list are
    /// computed exactly as [`PeriodFacts::compute`] computes them. `incidents()` is empty
    /// and `listing` is [`Listing::Aggregated`].
    pub fn from_aggregates(
        created: Summary,
        previous: Option<Summary>,
        open: &[Incident],
        window: Window,
        now: DateTime<Utc>,
        long_open_after: Duration,
    ) -> PeriodFacts {
        // Nothing is listed as created: only the open incidents are held, each once.
        let places = Places::of(open, window, |_| false);
        let held = places.other_open(open).cloned().collect();
        let facts = PeriodFacts {
            listing: Listing::Aggregated,
            ..PeriodFacts::assemble(window, now, long_open_after, created, None, held, places)
        };
        match previous {
            Some(previous) => facts.with_previous(previous),
            None => facts,
        }
    }

    /// Incidents created in the window, most severe and newest first; empty when the
    /// source aggregated them ([`Listing::Aggregated`]).
    pub fn incidents(&self) -> &[Incident] {
        &self.held[..self.listed]
    }

    /// Open incidents now, whenever created, most severe first, then oldest first.
    pub fn open(&self) -> impl ExactSizeIterator<Item = &Incident> + Clone + '_ {
        self.open.iter().map(|at| &self.held[*at])
    }

    /// The same facts compared with `previous`, the figures of the period before however
    /// they were computed (from rows or aggregated by the source).
    pub fn with_previous(self, previous: Summary) -> PeriodFacts {
        PeriodFacts {
            comparison: Some(compare(&self.created, &previous)),
            previous: Some(previous),
            ..self
        }
    }

    /// The same facts, saying which rows of the period's answer (`skipped`) and of the
    /// period before's (`skipped_before`) could not be read.
    pub fn with_skipped(self, skipped: Skipped, skipped_before: Skipped) -> PeriodFacts {
        PeriodFacts {
            skipped,
            skipped_before,
            ..self
        }
    }
}

/// Where each incident of an answer goes in a period's facts, in answer order: whether it
/// is listed as created in the window, and whether it is the first open one of its key (a
/// source may send the same incident twice; it is counted once).
struct Places(Vec<(bool, bool)>);

impl Places {
    fn of(incidents: &[Incident], window: Window, keep: impl Fn(&Incident) -> bool) -> Places {
        let mut seen = std::collections::HashSet::new();
        Places(
            incidents
                .iter()
                .map(|it| {
                    let listed = window.contains(it.created) && keep(it);
                    (listed, it.status.is_open() && seen.insert(it.key()))
                })
                .collect(),
        )
    }

    fn count_listed(&self) -> usize {
        self.0.iter().filter(|(listed, _)| *listed).count()
    }

    fn listed<'a>(&'a self, incidents: &'a [Incident]) -> impl Iterator<Item = &'a Incident> {
        incidents
            .iter()
            .zip(&self.0)
            .filter(|(_, (listed, _))| *listed)
            .map(|(it, _)| it)
    }

    fn other_open<'a>(&'a self, incidents: &'a [Incident]) -> impl Iterator<Item = &'a Incident> {
        incidents
            .iter()
            .zip(&self.0)
            .filter(|(_, (listed, first_open))| !listed && *first_open)
            .map(|(it, _)| it)
    }

    /// Where each open incident is held (the listed ones first, then the other open ones,
    /// each in answer order), in answer order.
    fn open_positions(&self) -> impl Iterator<Item = usize> + '_ {
        let (mut next_listed, mut next_other) = (0, self.count_listed());
        self.0.iter().filter_map(move |(listed, first_open)| {
            let slot = if *listed {
                &mut next_listed
            } else {
                &mut next_other
            };
            let at = *slot;
            if *listed || *first_open {
                *slot += 1;
            }
            first_open.then_some(at)
        })
    }
}

impl Serialize for PeriodFacts {
    /// The fields in declaration order, each list of incidents in full.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Each<I>(I);
        impl<'a, I: Iterator<Item = &'a Incident> + Clone> Serialize for Each<I> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.clone())
            }
        }
        let mut out = serializer.serialize_struct("PeriodFacts", 11)?;
        out.serialize_field("window", &self.window)?;
        out.serialize_field("generated", &self.generated)?;
        out.serialize_field("created", &self.created)?;
        out.serialize_field("previous", &self.previous)?;
        out.serialize_field("comparison", &self.comparison)?;
        out.serialize_field("backlog", &self.backlog)?;
        out.serialize_field("incidents", self.incidents())?;
        out.serialize_field("open", &Each(self.open()))?;
        out.serialize_field("skipped", &self.skipped)?;
        out.serialize_field("skipped_before", &self.skipped_before)?;
        out.serialize_field("listing", &self.listing)?;
        out.end()
    }
}

/// Change of one figure between two periods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Trend {
    pub current: usize,
    pub previous: usize,
    /// Percent change; `None` when `previous` is zero.
    pub change_pct: Option<f64>,
}

/// Week-over-week (period-over-period) change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub total: Trend,
    /// Indexed by [`Severity::index`].
    pub by_severity: [Trend; 4],
    /// Every tactic seen in either period, largest current count first.
    pub by_tactic: Vec<(Tactic, Trend)>,
    /// Resolution rate difference in percentage points; `None` if either is `None`.
    pub resolution_rate_change_pts: Option<f64>,
    /// MTTT, current minus previous.
    #[serde(
        rename = "time_to_triage_change_seconds",
        serialize_with = "seconds::optional"
    )]
    pub time_to_triage_change: Option<Duration>,
    /// MTTR, current minus previous.
    #[serde(
        rename = "time_to_resolve_change_seconds",
        serialize_with = "seconds::optional"
    )]
    pub time_to_resolve_change: Option<Duration>,
}

/// Computes the figures of the incidents created in `window`; others are ignored.
pub fn summarize(incidents: &[Incident], window: Window) -> Summary {
    summarize_matching(incidents, window, |_| true)
}

/// [`summarize`] over the incidents that `keep`.
fn summarize_matching(
    incidents: &[Incident],
    window: Window,
    keep: impl Fn(&Incident) -> bool,
) -> Summary {
    let created: Vec<&Incident> = incidents
        .iter()
        .filter(|incident| window.contains(incident.created) && keep(incident))
        .collect();
    let mut by_status = [0; 3];
    let mut by_severity = [0; 4];
    let mut status_by_severity = [[0; 3]; 4];
    let mut tactic_counts = TacticCounts::default();
    for incident in &created {
        by_status[incident.status.index()] += 1;
        by_severity[incident.severity.index()] += 1;
        status_by_severity[incident.severity.index()][incident.status.index()] += 1;
        tactic_counts.add(&incident.tactics, 1);
    }
    let total = created.len();
    let closed = by_status[Status::Closed.index()];
    let days =
        window.length().num_milliseconds() as f64 / Duration::days(1).num_milliseconds() as f64;
    Summary {
        window,
        total,
        by_status,
        by_severity,
        status_by_severity,
        without_tactics: tactic_counts.without(),
        by_tactic: tactic_counts.ranked(),
        resolution_rate: (total > 0).then(|| closed as f64 / total as f64),
        daily_average: (days >= 1.0).then(|| total as f64 / days),
        time_to_triage: durations(created.iter().filter_map(|it| it.time_to_triage())),
        time_to_first_human_action: durations(
            created
                .iter()
                .filter_map(|it| it.time_to_first_human_action()),
        ),
        time_to_resolve: durations(created.iter().filter_map(|it| it.time_to_resolve())),
        daily: daily_volume(&created, window),
    }
}

/// The backlog of `open` incidents (all open, each once) as of `now`.
fn backlog(open: &[&Incident], now: DateTime<Utc>, long_open_after: Duration) -> Backlog {
    let mut by_status = [0; 3];
    let mut by_severity = [0; 4];
    for incident in open {
        by_status[incident.status.index()] += 1;
        by_severity[incident.severity.index()] += 1;
    }
    let oldest_first = |mut listed: Vec<OpenIncident>| {
        listed.sort_by(|left, right| {
            left.created
                .cmp(&right.created)
                .then(left.number.cmp(&right.number))
                .then(left.workspace.cmp(&right.workspace))
        });
        listed
    };
    Backlog {
        as_of: now,
        open: open.len(),
        by_status,
        by_severity,
        unowned: open.iter().filter(|it| !it.owner.is_assigned()).count(),
        long_open_after,
        long_unresolved: oldest_first(
            open.iter()
                .filter(|it| now - it.created > long_open_after)
                .map(|it| OpenIncident::new(it, now))
                .collect(),
        ),
        open_high: oldest_first(
            open.iter()
                .filter(|it| it.severity == Severity::High)
                .map(|it| OpenIncident::new(it, now))
                .collect(),
        ),
    }
}

/// Incidents per tactic: the known tactics array-indexed (the common case costs no
/// allocation), other names in a sorted map. An incident counts once for each distinct
/// tactic it carries, and under "no tactic" when it carries none.
#[derive(Debug, Clone, Default)]
pub(crate) struct TacticCounts {
    known: [usize; Tactic::KNOWN.len()],
    other: BTreeMap<Box<str>, usize>,
    without: usize,
}

impl TacticCounts {
    /// Counts `weight` incidents that each carry `tactics`. A tactic listed twice on one
    /// incident (bad data, or two spellings of one tactic) still counts it once.
    pub(crate) fn add(&mut self, tactics: &[Tactic], weight: usize) {
        let mut seen = [false; Tactic::KNOWN.len()];
        let mut others: Vec<&str> = Vec::new();
        for tactic in tactics {
            match tactic.index() {
                Some(index) => seen[index] = true,
                None if !others.contains(&tactic.sentinel_name()) => {
                    others.push(tactic.sentinel_name());
                }
                None => {}
            }
        }
        if others.is_empty() && !seen.contains(&true) {
            self.without += weight;
            return;
        }
        for (count, present) in self.known.iter_mut().zip(seen) {
            *count += if present { weight } else { 0 };
        }
        for name in others {
            match self.other.get_mut(name) {
                Some(count) => *count += weight,
                None => {
                    self.other.insert(name.into(), weight);
                }
            }
        }
    }

    /// Incidents that carried no tactic.
    pub(crate) fn without(&self) -> usize {
        self.without
    }

    /// Non-zero counts, most frequent first; ties in [`Tactic`]'s order (known tactics in
    /// kill-chain order, then other names by name), which the stable sort keeps.
    pub(crate) fn ranked(self) -> Vec<(Tactic, usize)> {
        let known = Tactic::KNOWN.into_iter().zip(self.known);
        let other = self
            .other
            .into_iter()
            .map(|(name, count)| (Tactic::Other(name), count));
        let mut ranked: Vec<(Tactic, usize)> =
            known.chain(other).filter(|(_, count)| *count > 0).collect();
        ranked.sort_by_key(|(_, count)| Reverse(*count));
        ranked
    }
}

/// One entry per UTC day the window touches, partial days marked, anomalies flagged.
pub(crate) fn daily_volume(created: &[&Incident], window: Window) -> Vec<DayVolume> {
    if window.end <= window.start {
        return Vec::new();
    }
    let first = window.start.date_naive();
    // The window is half-open, so a window ending at midnight does not touch that day.
    let last = (window.end - Duration::nanoseconds(1)).date_naive();
    let mut days: Vec<DayVolume> = first
        .iter_days()
        .take_while(|date| *date <= last)
        .map(|date| {
            let midnight = date.and_time(chrono::NaiveTime::MIN).and_utc();
            DayVolume {
                date,
                by_severity: [0; 4],
                total: 0,
                partial: window.start > midnight || window.end < midnight + Duration::days(1),
                anomaly: false,
            }
        })
        .collect();
    for incident in created {
        let offset = (incident.created.date_naive() - first).num_days();
        if let Some(day) = usize::try_from(offset)
            .ok()
            .and_then(|index| days.get_mut(index))
        {
            day.by_severity[incident.severity.index()] += 1;
            day.total += 1;
        }
    }
    flag_anomalies(&mut days);
    days
}

/// Compares two summaries, usually this week and the week before.
pub fn compare(current: &Summary, previous: &Summary) -> Comparison {
    let by_severity = Severity::ALL.map(|severity| {
        trend(
            current.by_severity[severity.index()],
            previous.by_severity[severity.index()],
        )
    });
    // Every tactic of either period, in `Tactic`'s order; the stable sort keeps it on ties.
    let mut counts: BTreeMap<&Tactic, (usize, usize)> = BTreeMap::new();
    for (tactic, count) in &current.by_tactic {
        counts.entry(tactic).or_default().0 = *count;
    }
    for (tactic, count) in &previous.by_tactic {
        counts.entry(tactic).or_default().1 = *count;
    }
    let mut by_tactic: Vec<(Tactic, Trend)> = counts
        .into_iter()
        .map(|(tactic, (now_count, before_count))| (tactic.clone(), trend(now_count, before_count)))
        .collect();
    by_tactic.sort_by_key(|(_, change)| Reverse(change.current));
    let resolution_rate_change_pts = current
        .resolution_rate
        .zip(previous.resolution_rate)
        .map(|(now_rate, before_rate)| (now_rate - before_rate) * 100.0);
    let mean_change = |now_mean: Option<Duration>, before_mean: Option<Duration>| {
        now_mean
            .zip(before_mean)
            .map(|(now_value, before_value)| now_value - before_value)
    };
    Comparison {
        total: trend(current.total, previous.total),
        by_severity,
        by_tactic,
        resolution_rate_change_pts,
        time_to_triage_change: mean_change(
            current.time_to_triage.mean,
            previous.time_to_triage.mean,
        ),
        time_to_resolve_change: mean_change(
            current.time_to_resolve.mean,
            previous.time_to_resolve.mean,
        ),
    }
}

/// The change from `previous` to `current`.
fn trend(current: usize, previous: usize) -> Trend {
    let change_pct =
        (previous > 0).then(|| (current as f64 - previous as f64) / previous as f64 * 100.0);
    Trend {
        current,
        previous,
        change_pct,
    }
}

/// Count, mean and median of durations; negative values (bad data) are skipped.
pub fn durations(values: impl IntoIterator<Item = Duration>) -> Durations {
    // Milliseconds in i128: precise enough for SOC timings and no overflow when summing.
    let mut millis: Vec<i128> = values
        .into_iter()
        .filter(|value| *value >= Duration::zero())
        .map(|value| i128::from(value.num_milliseconds()))
        .collect();
    millis.sort_unstable();
    let count = millis.len();
    if count == 0 {
        return Durations {
            count,
            mean: None,
            median: None,
        };
    }
    let divisor = i128::try_from(count).unwrap_or(i128::MAX);
    let mean = millis.iter().sum::<i128>() / divisor;
    let median = if count % 2 == 1 {
        millis[count / 2]
    } else {
        (millis[count / 2 - 1] + millis[count / 2]) / 2
    };
    Durations {
        count,
        mean: Some(from_millis(mean)),
        median: Some(from_millis(median)),
    }
}

/// Back from i128 milliseconds; the value came from i64 milliseconds, so it fits.
fn from_millis(millis: i128) -> Duration {
    Duration::milliseconds(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// Marks anomalous days: a whole day is anomalous when its count exceeds the median of the
/// whole days by more than 3 scaled MADs (MAD x 1.4826, taken as at least 1) and is at least
/// twice that median. Partial days are neither part of the baseline nor flagged.
pub fn flag_anomalies(days: &mut [DayVolume]) {
    let totals: Vec<f64> = days
        .iter()
        .filter(|day| !day.partial)
        .map(|day| day.total as f64)
        .collect();
    for day in days.iter_mut() {
        day.anomaly = false;
    }
    let Some(center) = median(totals.clone()) else {
        return;
    };
    let deviations: Vec<f64> = totals.iter().map(|total| (total - center).abs()).collect();
    let mad = median(deviations).unwrap_or(0.0);
    let scaled_mad = (mad * 1.4826).max(1.0);
    for day in days.iter_mut().filter(|day| !day.partial) {
        let total = day.total as f64;
        day.anomaly = total > center + 3.0 * scaled_mad && total >= 2.0 * center;
    }
}

/// Median of the values; the mean of the two middle ones for an even count.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let count = values.len();
    match count {
        0 => None,
        _ if count % 2 == 1 => Some(values[count / 2]),
        _ => Some((values[count / 2 - 1] + values[count / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests;
