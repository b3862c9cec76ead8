//! Pure analytics over incident records: breakdowns, resolution rate, time to
//! triage and resolve, long-unresolved incidents, daily volume with anomalies,
//! and week-over-week change. No I/O, no clock: the caller passes `now`.
//! Every figure a message shows comes from here.

use crate::incident::{Incident, Severity, Status, Tactic};
use crate::period::Window;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

/// Default threshold after which an open incident counts as long-unresolved.
pub const DEFAULT_LONG_OPEN: Duration = Duration::days(3);

/// Count, mean and median of a set of durations; `None` when the set is empty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Durations {
    pub count: usize,
    pub mean: Option<Duration>,
    pub median: Option<Duration>,
}

/// An open incident older than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LongOpen {
    pub number: u64,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub owner: Option<String>,
    pub created: DateTime<Utc>,
    /// `now - created`.
    pub age: Duration,
    pub url: Option<String>,
}

/// Incidents created on one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayVolume {
    pub date: NaiveDate,
    /// Indexed by [`Severity::index`].
    pub by_severity: [usize; 4],
    pub total: usize,
    /// See [`flag_anomalies`].
    pub anomaly: bool,
}

/// The figures for one window.
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
    /// Incidents per tactic, most frequent first, ties in kill-chain order; zero counts left out.
    /// An incident with several tactics counts once for each.
    pub by_tactic: Vec<(Tactic, usize)>,
    /// Incidents created in the window that carry no tactic.
    pub without_tactics: usize,
    /// Closed / created in the window; `None` when nothing was created.
    pub resolution_rate: Option<f64>,
    /// CreatedTime -> first triage, over incidents created in the window that were triaged.
    pub time_to_triage: Durations,
    /// CreatedTime -> ClosedTime, over incidents created in the window that are closed.
    pub time_to_resolve: Durations,
    /// Every open incident given (created in the window or before) older than the threshold, oldest first.
    pub long_unresolved: Vec<LongOpen>,
    /// One entry per UTC day the window touches, oldest first.
    pub daily: Vec<DayVolume>,
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
    /// Mean time to triage, current minus previous.
    pub time_to_triage_change: Option<Duration>,
    /// Mean time to resolve, current minus previous.
    pub time_to_resolve_change: Option<Duration>,
}

/// Computes the figures for `window` from `incidents` (which may include older open ones).
pub fn summarize(
    incidents: &[Incident],
    window: Window,
    now: DateTime<Utc>,
    long_open_after: Duration,
) -> Summary {
    let _ = (incidents, window, now, long_open_after);
    unimplemented!("analytics helper")
}

/// Compares two summaries, usually this week and the week before.
pub fn compare(current: &Summary, previous: &Summary) -> Comparison {
    let _ = (current, previous);
    unimplemented!("analytics helper")
}

/// Count, mean and median of durations.
pub fn durations(values: impl IntoIterator<Item = Duration>) -> Durations {
    let _ = values.into_iter();
    unimplemented!("analytics helper")
}

/// Marks anomalous days: a day is anomalous when its count exceeds the median of all the
/// days by more than 3 scaled MADs (MAD x 1.4826, taken as at least 1) and is at least twice the median.
pub fn flag_anomalies(days: &mut [DayVolume]) {
    let _ = days;
    unimplemented!("analytics helper")
}
