//! Reads a query answer straight into `SecurityIncident` rows while it is deserialised,
//! one row at a time, so a large answer never sits in memory as a tree of JSON values
//! next to its body. Row rules live in the parent's `RowReader`; this is only plumbing.

use super::{Column, RowReader, SYSTEM, Table, describe_error, not_expected_json};
use crate::incident::IncidentRow;
use crate::sources::SourceError;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// Incident rows from a query answer, and the service's message when only part of the data came back.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentAnswer {
    /// The first table's readable rows, in answer order.
    pub rows: Vec<IncidentRow>,
    /// Set when the service answered with tables and an `error` (a partial result).
    pub partial_error: Option<String>,
}

/// Reads a query API body into incident rows: the same answer as
/// [`super::parse_response`] followed by [`super::incident_rows`], without holding the
/// table as JSON values (for 100,000 incidents those take about twice the body's size).
pub fn parse_incident_rows(body: &[u8]) -> Result<IncidentAnswer, SourceError> {
    let parsed: Answer = serde_json::from_slice(body).map_err(not_expected_json)?;
    let error = parsed.error.as_ref().map(describe_error);
    match error {
        Some(message) if parsed.tables == 0 => Err(SourceError::Failed {
            system: SYSTEM,
            reason: message,
        }),
        partial_error => Ok(IncidentAnswer {
            rows: parsed.rows,
            partial_error,
        }),
    }
}

/// The body as this reader keeps it: how many tables, the first one's rows, the error.
#[derive(Default)]
struct Answer {
    tables: usize,
    rows: Vec<IncidentRow>,
    error: Option<Value>,
}

impl<'de> de::Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Answer, D::Error> {
        deserializer.deserialize_map(AnswerVisitor)
    }
}

struct AnswerVisitor;

impl<'de> Visitor<'de> for AnswerVisitor {
    type Value = Answer;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a Log Analytics query answer")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Answer, A::Error> {
        let mut answer = Answer::default();
        let (mut seen_tables, mut seen_error) = (false, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "tables" => {
                    if seen_tables {
                        return Err(de::Error::duplicate_field("tables"));
                    }
                    seen_tables = true;
                    (answer.tables, answer.rows) = map.next_value_seed(TablesSeed)?;
                }
                "error" => {
                    if seen_error {
                        return Err(de::Error::duplicate_field("error"));
                    }
                    seen_error = true;
                    answer.error = map.next_value()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(answer)
    }
}

/// The `tables` array: the first table's rows are read; later tables are only checked to
/// be tables, as the generic reader would, and counted.
#[derive(Clone, Copy)]
struct TablesSeed;

impl<'de> DeserializeSeed<'de> for TablesSeed {
    type Value = (usize, Vec<IncidentRow>);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TablesSeed {
    type Value = (usize, Vec<IncidentRow>);

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of result tables")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let Some(rows) = seq.next_element_seed(TableSeed)? else {
            return Ok((0, Vec::new()));
        };
        let mut count = 1;
        while seq.next_element::<Table>()?.is_some() {
            count += 1;
        }
        Ok((count, rows))
    }
}

/// One table (`name`, `columns`, `rows`), read into incident rows.
#[derive(Clone, Copy)]
struct TableSeed;

impl<'de> DeserializeSeed<'de> for TableSeed {
    type Value = Vec<IncidentRow>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TableSeed {
    type Value = Vec<IncidentRow>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a result table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen_name = false;
        let mut columns: Option<Vec<Column>> = None;
        let mut rows: Option<Vec<IncidentRow>> = None;
        let mut early_rows: Option<Vec<Vec<Value>>> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => {
                    if seen_name {
                        return Err(de::Error::duplicate_field("name"));
                    }
                    seen_name = true;
                    map.next_value::<String>()?;
                }
                "columns" => {
                    if columns.is_some() {
                        return Err(de::Error::duplicate_field("columns"));
                    }
                    columns = Some(map.next_value()?);
                }
                "rows" => {
                    if rows.is_some() || early_rows.is_some() {
                        return Err(de::Error::duplicate_field("rows"));
                    }
                    match &columns {
                        // The service sends the columns first, so rows convert as they arrive.
                        Some(columns) => rows = Some(map.next_value_seed(RowsSeed(columns))?),
                        // Should rows ever come first, keep them as JSON until the columns do.
                        None => early_rows = Some(map.next_value()?),
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen_name {
            return Err(de::Error::missing_field("name"));
        }
        let columns = columns.ok_or_else(|| de::Error::missing_field("columns"))?;
        match (rows, early_rows) {
            (Some(rows), _) => Ok(rows),
            (None, Some(early_rows)) => {
                let mut reader = RowReader::new(&columns);
                for values in &early_rows {
                    reader.push(values);
                }
                Ok(reader.finish())
            }
            (None, None) => Err(de::Error::missing_field("rows")),
        }
    }
}

/// The `rows` array of a table whose columns are known: each row's values live only
/// until the row is converted.
struct RowsSeed<'a>(&'a [Column]);

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = Vec<IncidentRow>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = Vec<IncidentRow>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of rows")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut reader = RowReader::new(self.0);
        while let Some(values) = seq.next_element::<Vec<Value>>()? {
            reader.push(&values);
        }
        Ok(reader.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{QueryResult, incident_rows, parse_response, to_log_analytics_response};
    use super::*;
    use chrono::{TimeZone, Utc};

    /// What the generic reader makes of `body`, in this reader's terms.
    fn generic(body: &[u8]) -> Result<IncidentAnswer, SourceError> {
        parse_response(body).map(|result: QueryResult| IncidentAnswer {
            rows: incident_rows(&result),
            partial_error: result.partial_error,
        })
    }

    fn assert_same(body: &[u8]) -> Result<IncidentAnswer, SourceError> {
        let streamed = parse_incident_rows(body);
        assert_eq!(streamed, generic(body), "{}", String::from_utf8_lossy(body));
        streamed
    }

    #[test]
    fn demo_rows_read_the_same_as_through_json_values() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 23, 8, 0, 0)
            .single()
            .expect("time");
        let rows = crate::sources::demo::rows(now, 300, crate::sources::demo::SEED);
        let body = to_log_analytics_response(&rows).to_string();
        let answer = assert_same(body.as_bytes()).expect("parses");
        assert_eq!(answer.rows, rows);
    }

    #[test]
    fn the_test_fixture_reads_the_same() {
        let body = include_str!("../../../../tests/fixtures/azure/security_incident_query.json");
        let answer = assert_same(body.as_bytes()).expect("parses");
        assert!(!answer.rows.is_empty());
    }

    #[test]
    fn rows_before_columns_and_extra_tables_and_keys_read_the_same() {
        let body = br#"{"other":1,"tables":[{"rows":[[42,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z","High","New"],[null,"x","y","Low","New"]],"extra":[1],"columns":[{"name":"IncidentNumber","type":"int"},{"name":"TimeGenerated"},{"name":"CreatedTime","type":"datetime"},{"name":"Severity","type":"string"},{"name":"Status","type":"string"}],"name":"PrimaryResult"},{"name":"Second","columns":[],"rows":[]}],"error":{"code":"PartialError","message":"Some data is missing"}}"#;
        let answer = assert_same(body).expect("parses");
        assert_eq!(answer.rows.len(), 1, "the row without a number is skipped");
        assert_eq!(answer.rows[0].incident.number, 42);
        assert_eq!(
            answer.partial_error.as_deref(),
            Some("Some data is missing")
        );
    }

    #[test]
    fn failures_match_the_generic_reader() {
        for body in [
            &br#"{"error":{"code":"BadArgumentError","message":"Bad","innererror":{"message":"Unexpected token"}}}"#[..],
            br#"{"tables":[],"error":{"code":"X"}}"#,
            br#"{"tables":[{"name":"PrimaryResult","columns":[]}]}"#,
            br#"{"tables":[{"name":"PrimaryResult","rows":[]}]}"#,
            br#"{"tables":[{"columns":[],"rows":[]}]}"#,
            br#"{"tables":[{"name":"a","columns":[],"rows":[]},{"name":"b"}]}"#,
            br#"{"tables":null}"#,
            br#"{"tables":[{"name":"PrimaryResult","columns":[],"rows":[1]}]}"#,
            b"{\"tables\": [",
            b"{}",
        ] {
            let generic_answer = generic(body);
            let streamed = parse_incident_rows(body);
            assert_eq!(
                streamed.is_ok(),
                generic_answer.is_ok(),
                "{}: {streamed:?} vs {generic_answer:?}",
                String::from_utf8_lossy(body)
            );
            if let (Err(streamed), Err(generic_error)) = (&streamed, &generic_answer) {
                // Both say the body is not the expected JSON, or both carry the service's message.
                let prefix = |error: &SourceError| error.to_string().chars().take(60).collect::<String>();
                assert_eq!(prefix(streamed), prefix(generic_error));
            }
        }
    }

    #[test]
    fn an_array_body_is_refused_rather_than_read_as_no_incidents() {
        // The derived reader takes a JSON array as the struct's fields in order, so `[]`
        // would be an empty week; an answer that is not an object is better called broken.
        assert!(generic(b"[]").is_ok());
        let error = parse_incident_rows(b"[]").expect_err("not an answer");
        assert!(
            error.to_string().contains("not the expected JSON"),
            "{error}"
        );
    }
}
