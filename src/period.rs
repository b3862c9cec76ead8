//! Time windows: the period a command or report covers, resolved against a caller-given `now`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A half-open time range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window of the same length just before this one, for week-over-week comparison.
    pub fn previous(&self) -> Window {
        let length = self.end - self.start;
        Window {
            start: self.start - length,
            end: self.start,
        }
    }

    /// True when `time` falls inside the window.
    pub fn contains(&self, time: DateTime<Utc>) -> bool {
        self.start <= time && time < self.end
    }

    /// Length of the window.
    pub fn length(&self) -> Duration {
        self.end - self.start
    }
}

/// Largest period a command may ask for, so a typo cannot ask Sentinel for years of data.
pub const MAX_DAYS: u32 = 90;

/// A period as a user names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Period {
    /// Since midnight UTC.
    Today,
    /// The last 7 days.
    Week,
    /// The last 30 days.
    Month,
    /// The last N days (1 to [`MAX_DAYS`]).
    Days(u32),
    /// The last N hours (1 to 24 * [`MAX_DAYS`]).
    Hours(u32),
}

impl Period {
    /// The concrete window ending at `now`.
    pub fn window(self, now: DateTime<Utc>) -> Window {
        let start = match self {
            Period::Today => now
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|midnight| midnight.and_utc())
                .unwrap_or(now),
            Period::Week => now - Duration::days(7),
            Period::Month => now - Duration::days(30),
            Period::Days(days) => now - Duration::days(i64::from(days)),
            Period::Hours(hours) => now - Duration::hours(i64::from(hours)),
        };
        Window { start, end: now }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Today => f.write_str("today"),
            Period::Week => f.write_str("the last 7 days"),
            Period::Month => f.write_str("the last 30 days"),
            Period::Days(1) => f.write_str("the last day"),
            Period::Days(days) => write!(f, "the last {days} days"),
            Period::Hours(1) => f.write_str("the last hour"),
            Period::Hours(hours) => write!(f, "the last {hours} hours"),
        }
    }
}
