//! `SecurityIncident` rows a reader could not turn into incidents, counted by reason, so the
//! figures can say what they leave out instead of losing rows with only a log line.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use std::fmt;

/// A column a row cannot be read without: the incident's number, and the two times every
/// figure and the collapse into incidents rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequiredColumn {
    IncidentNumber,
    TimeGenerated,
    CreatedTime,
}

impl RequiredColumn {
    /// The column's name in the `SecurityIncident` table.
    pub fn as_str(self) -> &'static str {
        match self {
            RequiredColumn::IncidentNumber => "IncidentNumber",
            RequiredColumn::TimeGenerated => "TimeGenerated",
            RequiredColumn::CreatedTime => "CreatedTime",
        }
    }
}

/// Why a row was skipped: the first required column (in [`RequiredColumn`] order) it lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// The column is absent, null or empty.
    Missing(RequiredColumn),
    /// The column holds a value the reader does not accept (e.g. a time in no known form).
    Unreadable(RequiredColumn),
}

impl SkipReason {
    /// A stable key for exports: `missing_created_time`, `unreadable_incident_number`, ...
    pub fn key(self) -> &'static str {
        use RequiredColumn::{CreatedTime, IncidentNumber, TimeGenerated};
        match self {
            SkipReason::Missing(IncidentNumber) => "missing_incident_number",
            SkipReason::Missing(TimeGenerated) => "missing_time_generated",
            SkipReason::Missing(CreatedTime) => "missing_created_time",
            SkipReason::Unreadable(IncidentNumber) => "unreadable_incident_number",
            SkipReason::Unreadable(TimeGenerated) => "unreadable_time_generated",
            SkipReason::Unreadable(CreatedTime) => "unreadable_created_time",
        }
    }
}

/// "no CreatedTime", "unreadable TimeGenerated".
impl fmt::Display for SkipReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Missing(column) => write!(formatter, "no {}", column.as_str()),
            SkipReason::Unreadable(column) => write!(formatter, "unreadable {}", column.as_str()),
        }
    }
}

/// Rows skipped, by reason. Empty when every row was read. Exports carry it as
/// `{"rows": 2, "by_reason": {"missing_created_time": 2}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Reason and rows, in reason order, no zero counts.
    counts: Vec<(SkipReason, usize)>,
}

impl Skipped {
    /// Counts one more row skipped for `reason`.
    pub fn add(&mut self, reason: SkipReason) {
        self.add_many(reason, 1);
    }

    fn add_many(&mut self, reason: SkipReason, rows: usize) {
        if rows == 0 {
            return;
        }
        match self.counts.binary_search_by_key(&reason, |(it, _)| *it) {
            Ok(at) => self.counts[at].1 += rows,
            Err(at) => self.counts.insert(at, (reason, rows)),
        }
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: &Skipped) {
        for (reason, rows) in &other.counts {
            self.add_many(*reason, *rows);
        }
    }

    /// All rows skipped.
    pub fn rows(&self) -> usize {
        self.counts.iter().map(|(_, rows)| rows).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Each reason with its rows, in [`SkipReason`] order.
    pub fn by_reason(&self) -> impl Iterator<Item = (SkipReason, usize)> + '_ {
        self.counts.iter().copied()
    }
}

impl Serialize for Skipped {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct ByReason<'a>(&'a [(SkipReason, usize)]);
        impl Serialize for ByReason<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (reason, rows) in self.0 {
                    map.serialize_entry(reason.key(), rows)?;
                }
                map.end()
            }
        }
        let mut value = serializer.serialize_struct("Skipped", 2)?;
        value.serialize_field("rows", &self.rows())?;
        value.serialize_field("by_reason", &ByReason(&self.counts))?;
        value.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_reason_in_a_stable_order_and_merges() {
        let mut skipped = Skipped::default();
        assert!(skipped.is_empty());
        skipped.add(SkipReason::Unreadable(RequiredColumn::CreatedTime));
        skipped.add(SkipReason::Missing(RequiredColumn::CreatedTime));
        skipped.add(SkipReason::Missing(RequiredColumn::CreatedTime));
        let mut other = Skipped::default();
        other.add(SkipReason::Missing(RequiredColumn::IncidentNumber));
        other.add(SkipReason::Unreadable(RequiredColumn::CreatedTime));
        skipped.merge(&other);
        assert_eq!(skipped.rows(), 5);
        let listed: Vec<(String, usize)> = skipped
            .by_reason()
            .map(|(reason, rows)| (reason.to_string(), rows))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("no IncidentNumber".to_string(), 1),
                ("no CreatedTime".to_string(), 2),
                ("unreadable CreatedTime".to_string(), 2),
            ]
        );
        assert_eq!(
            serde_json::to_value(&skipped).expect("serializes"),
            serde_json::json!({"rows": 5, "by_reason": {
                "missing_incident_number": 1, "missing_created_time": 2, "unreadable_created_time": 2
            }})
        );
    }
}
