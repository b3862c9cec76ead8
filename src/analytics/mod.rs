//! Pure analytics over incident records: breakdowns, resolution rate, time to
//! triage and resolve, long-unresolved incidents, daily volume with anomalies,
//! and week-over-week change. No I/O, no clock: the caller passes `now`.
//! Every figure a message shows comes from here.

use crate::incident::{Incident, Severity, Status, Tactic};
use crate::period::Window;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::cmp::Reverse;

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
    let created: Vec<&Incident> = incidents
        .iter()
        .filter(|incident| window.contains(incident.created))
        .collect();
    let mut by_status = [0; 3];
    let mut by_severity = [0; 4];
    let mut status_by_severity = [[0; 3]; 4];
    let mut tactic_counts = [0usize; Tactic::ALL.len()];
    let mut without_tactics = 0;
    for incident in &created {
        by_status[incident.status.index()] += 1;
        by_severity[incident.severity.index()] += 1;
        status_by_severity[incident.severity.index()][incident.status.index()] += 1;
        // A tactic listed twice on one incident (bad data) still counts the incident once.
        let mut seen = [false; Tactic::ALL.len()];
        for tactic in &incident.tactics {
            seen[tactic.index()] = true;
        }
        if seen.iter().any(|&present| present) {
            for (count, present) in tactic_counts.iter_mut().zip(seen) {
                *count += usize::from(present);
            }
        } else {
            without_tactics += 1;
        }
    }
    let total = created.len();
    let closed = by_status[Status::Closed.index()];
    let resolution_rate = (total > 0).then(|| closed as f64 / total as f64);
    let time_to_triage = durations(created.iter().filter_map(|incident| {
        incident
            .first_triaged
            .map(|triaged| triaged - incident.created)
    }));
    let time_to_resolve = durations(
        created
            .iter()
            .filter(|incident| incident.status == Status::Closed)
            .filter_map(|incident| incident.closed.map(|closed| closed - incident.created)),
    );
    Summary {
        window,
        total,
        by_status,
        by_severity,
        status_by_severity,
        by_tactic: rank_tactics(&tactic_counts),
        without_tactics,
        resolution_rate,
        time_to_triage,
        time_to_resolve,
        long_unresolved: long_unresolved(incidents, now, long_open_after),
        daily: daily_volume(&created, window),
    }
}

/// Non-zero tactic counts, most frequent first; the stable sort keeps kill-chain order on ties.
fn rank_tactics(counts: &[usize; Tactic::ALL.len()]) -> Vec<(Tactic, usize)> {
    let mut ranked: Vec<(Tactic, usize)> = Tactic::ALL
        .into_iter()
        .zip(counts.iter().copied())
        .filter(|&(_, count)| count > 0)
        .collect();
    ranked.sort_by_key(|&(_, count)| Reverse(count));
    ranked
}

/// Open incidents older than the threshold, oldest first.
fn long_unresolved(
    incidents: &[Incident],
    now: DateTime<Utc>,
    long_open_after: Duration,
) -> Vec<LongOpen> {
    let mut found: Vec<LongOpen> = incidents
        .iter()
        .filter(|incident| incident.status.is_open())
        .filter(|incident| now - incident.created > long_open_after)
        .map(|incident| LongOpen {
            number: incident.number,
            title: incident.title.clone(),
            severity: incident.severity,
            status: incident.status,
            owner: incident.owner.label().map(str::to_string),
            created: incident.created,
            age: now - incident.created,
            url: incident.url.clone(),
        })
        .collect();
    found.sort_by(|left, right| {
        left.created
            .cmp(&right.created)
            .then(left.number.cmp(&right.number))
    });
    // The caller may pass the same incident twice (window plus lookback); list it once.
    found.dedup_by_key(|entry| entry.number);
    found
}

/// One entry per UTC day the window touches, with anomalies flagged.
fn daily_volume(created: &[&Incident], window: Window) -> Vec<DayVolume> {
    if window.end <= window.start {
        return Vec::new();
    }
    let first = window.start.date_naive();
    // The window is half-open, so a window ending at midnight does not touch that day.
    let last = (window.end - Duration::nanoseconds(1)).date_naive();
    let mut days: Vec<DayVolume> = first
        .iter_days()
        .take_while(|date| *date <= last)
        .map(|date| DayVolume {
            date,
            by_severity: [0; 4],
            total: 0,
            anomaly: false,
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
    let tactic_count = |summary: &Summary, tactic: Tactic| {
        summary
            .by_tactic
            .iter()
            .find(|(seen, _)| *seen == tactic)
            .map_or(0, |(_, count)| *count)
    };
    let mut by_tactic: Vec<(Tactic, Trend)> = Tactic::ALL
        .into_iter()
        .map(|tactic| {
            (
                tactic,
                trend(
                    tactic_count(current, tactic),
                    tactic_count(previous, tactic),
                ),
            )
        })
        .filter(|(_, change)| change.current > 0 || change.previous > 0)
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

/// Marks anomalous days: a day is anomalous when its count exceeds the median of all the
/// days by more than 3 scaled MADs (MAD x 1.4826, taken as at least 1) and is at least twice the median.
pub fn flag_anomalies(days: &mut [DayVolume]) {
    let totals: Vec<f64> = days.iter().map(|day| day.total as f64).collect();
    let Some(center) = median(totals.clone()) else {
        return;
    };
    let deviations: Vec<f64> = totals.iter().map(|total| (total - center).abs()).collect();
    let mad = median(deviations).unwrap_or(0.0);
    let scaled_mad = (mad * 1.4826).max(1.0);
    for day in days.iter_mut() {
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
