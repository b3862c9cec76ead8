//! Reads a query answer into `SecurityIncident` rows while its bytes arrive, so the body
//! is never held whole: [`IncidentStream::push`] takes each chunk, parses every complete
//! row in it and keeps only the unfinished tail (less than one row).
//!
//! The outer shape (`{"tables":[{"name","columns","rows":[...]}],"error":{...}}`) is
//! walked by a small state machine; every complete value in it (a key, the columns, a row,
//! the error, a later table) is handed to `serde_json`, which does the JSON proper. A row
//! is read straight into the row builder through per-column seeds, with no JSON value tree
//! and no string copies for the columns the bot does not use. Row rules are
//! [`super::row`]'s, the same the generic reader applies.

use super::row::{ColumnPlan, RowBuilder};
use super::{Column, SYSTEM, Table, WorkspaceMap, describe_error, partial_reason};
use crate::incident::{IncidentRow, Skipped};
use crate::sources::SourceError;
use serde::de::{DeserializeSeed, IgnoredAny};
use serde_json::Value;
use std::borrow::Cow;

/// Incident rows from a query answer, and the service's message when only part of the data came back.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentAnswer {
    /// The first table's readable rows, in answer order.
    pub rows: Vec<IncidentRow>,
    /// The first table's rows that could not be read, by reason.
    pub skipped: Skipped,
    /// Set when the service answered with tables and an `error` (a partial result): the
    /// service's most specific reason, see [`super::QueryResult::partial_error`].
    pub partial_error: Option<String>,
}

/// Reads a whole query API body into incident rows: the same answer as
/// [`super::parse_response`] followed by [`super::incident_rows`], without holding the
/// table as JSON values.
pub fn parse_incident_rows(body: &[u8]) -> Result<IncidentAnswer, SourceError> {
    let mut stream = IncidentStream::default();
    stream.push(body)?;
    stream.finish()
}

/// Where the walk of the outer shape stands, between two complete tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the root object.
    Start,
    /// In the root object, before a key (or its end); `first` when nothing was read yet.
    RootMember { first: bool },
    /// In the `tables` array, before a table (or its end).
    Tables { first: bool },
    /// In the first table, before a key (or its end).
    TableMember { first: bool },
    /// In the first table's `rows` array, before a row (or its end).
    Rows { first: bool },
    /// After the root object: only whitespace may follow.
    Done,
}

/// A step of the walk: how far it got, or that the buffer ends before the next complete token.
type Step = Result<Option<usize>, SourceError>;

/// A push parser of one query answer. Feed it the body's chunks in order, then `finish`.
#[derive(Default)]
pub struct IncidentStream {
    /// Bytes received and not yet parsed (an unfinished token or row).
    pending: Vec<u8>,
    state: Option<State>,
    tables: usize,
    seen_tables: bool,
    seen_error: bool,
    seen_name: bool,
    error: Option<Value>,
    columns: Option<Vec<Column>>,
    plan: Option<ColumnPlan>,
    /// Rows met before the table's columns (the service never sends them so); kept as JSON
    /// until the columns come.
    early_rows: Option<Vec<Vec<Value>>>,
    seen_rows: bool,
    builder: RowBuilder,
}

impl IncidentStream {
    /// A parser whose rows are tagged with the workspace their `TenantId` names (a
    /// cross-workspace answer); `IncidentStream::default()` reads one workspace's answer.
    pub fn for_workspaces(workspaces: WorkspaceMap) -> IncidentStream {
        IncidentStream {
            builder: RowBuilder::for_workspaces(workspaces),
            ..IncidentStream::default()
        }
    }

    /// Parses what `chunk` completes; an error means the body is not an answer.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SourceError> {
        if self.pending.is_empty() {
            // Parse in place, so a whole body given at once is never copied.
            let used = self.walk(chunk, false)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.walk(&pending, false)?;
            pending.drain(..used);
            self.pending = pending;
        }
        Ok(())
    }

    /// Ends the body: anything unfinished is an error.
    pub fn finish(mut self) -> Result<IncidentAnswer, SourceError> {
        let pending = std::mem::take(&mut self.pending);
        let used = self.walk(&pending, true)?;
        if self.state() != State::Done || skip_whitespace(&pending, used) != pending.len() {
            return Err(malformed(
                "the answer ends early or has trailing characters",
            ));
        }
        match &self.error {
            Some(error) if self.tables == 0 => Err(SourceError::Failed {
                system: SYSTEM,
                reason: describe_error(error),
            }),
            error => {
                let partial_error = error.as_ref().map(partial_reason);
                let (rows, skipped) = self.builder.finish();
                Ok(IncidentAnswer {
                    rows,
                    skipped,
                    partial_error,
                })
            }
        }
    }

    fn state(&self) -> State {
        self.state.unwrap_or(State::Start)
    }

    /// Walks as far as `buffer` allows; returns how many bytes were used. With `last`, the
    /// buffer is the end of the body, so a number at its end is complete.
    fn walk(&mut self, buffer: &[u8], last: bool) -> Result<usize, SourceError> {
        let mut at = 0;
        loop {
            let step = match self.state() {
                State::Done => return Ok(at),
                State::Start => self.open_root(buffer, at),
                State::RootMember { first } => self.root_member(buffer, at, first, last),
                State::Tables { first } => self.table(buffer, at, first, last),
                State::TableMember { first } => self.table_member(buffer, at, first, last),
                State::Rows { first } => self.row(buffer, at, first, last),
            }?;
            match step {
                Some(next) => at = next,
                None => return Ok(at),
            }
        }
    }

    fn open_root(&mut self, buffer: &[u8], at: usize) -> Step {
        let at = skip_whitespace(buffer, at);
        match buffer.get(at) {
            None => Ok(None),
            Some(b'{') => {
                self.state = Some(State::RootMember { first: true });
                Ok(Some(at + 1))
            }
            Some(_) => Err(malformed("expected an object")),
        }
    }

    fn root_member(&mut self, buffer: &[u8], at: usize, first: bool, last: bool) -> Step {
        let Some((key, at)) = member_key(buffer, at, first, b'}')? else {
            return Ok(None);
        };
        let Some(key) = key else {
            self.state = Some(State::Done);
            return Ok(Some(at));
        };
        match key.as_ref() {
            "tables" => {
                if self.seen_tables {
                    return Err(malformed("duplicate field `tables`"));
                }
                match buffer.get(at) {
                    None => Ok(None),
                    Some(b'[') => {
                        self.seen_tables = true;
                        self.state = Some(State::Tables { first: true });
                        Ok(Some(at + 1))
                    }
                    Some(_) => Err(malformed("`tables` is not an array")),
                }
            }
            "error" => {
                if self.seen_error {
                    return Err(malformed("duplicate field `error`"));
                }
                let Some(end) = value_end(buffer, at, last)? else {
                    return Ok(None);
                };
                self.seen_error = true;
                self.error = parse::<Option<Value>>(&buffer[at..end])?;
                self.state = Some(State::RootMember { first: false });
                Ok(Some(end))
            }
            _ => {
                let Some(end) = value_end(buffer, at, last)? else {
                    return Ok(None);
                };
                parse::<IgnoredAny>(&buffer[at..end])?;
                self.state = Some(State::RootMember { first: false });
                Ok(Some(end))
            }
        }
    }

    fn table(&mut self, buffer: &[u8], at: usize, first: bool, last: bool) -> Step {
        let Some(at) = element_start(buffer, at, first)? else {
            return Ok(None);
        };
        match buffer.get(at) {
            None => Ok(None),
            Some(b']') => {
                self.state = Some(State::RootMember { first: false });
                Ok(Some(at + 1))
            }
            Some(b'{') if self.tables == 0 => {
                self.tables = 1;
                self.state = Some(State::TableMember { first: true });
                Ok(Some(at + 1))
            }
            Some(_) if self.tables == 0 => Err(malformed("a table is not an object")),
            Some(_) => {
                // Later tables are only checked to be tables, as the generic reader does.
                let Some(end) = value_end(buffer, at, last)? else {
                    return Ok(None);
                };
                parse::<Table>(&buffer[at..end])?;
                self.tables += 1;
                self.state = Some(State::Tables { first: false });
                Ok(Some(end))
            }
        }
    }

    fn table_member(&mut self, buffer: &[u8], at: usize, first: bool, last: bool) -> Step {
        let Some((key, at)) = member_key(buffer, at, first, b'}')? else {
            return Ok(None);
        };
        let Some(key) = key else {
            self.close_table()?;
            self.state = Some(State::Tables { first: false });
            return Ok(Some(at));
        };
        if key == "rows" {
            if self.seen_rows {
                return Err(malformed("duplicate field `rows`"));
            }
            if self.plan.is_some() {
                return match buffer.get(at) {
                    None => Ok(None),
                    Some(b'[') => {
                        self.seen_rows = true;
                        self.state = Some(State::Rows { first: true });
                        Ok(Some(at + 1))
                    }
                    Some(_) => Err(malformed("`rows` is not an array")),
                };
            }
        }
        let Some(end) = value_end(buffer, at, last)? else {
            return Ok(None);
        };
        let value = &buffer[at..end];
        match key.as_ref() {
            "name" if self.seen_name => return Err(malformed("duplicate field `name`")),
            "name" => {
                parse::<String>(value)?;
                self.seen_name = true;
            }
            "columns" if self.columns.is_some() => {
                return Err(malformed("duplicate field `columns`"));
            }
            "columns" => {
                let columns: Vec<Column> = parse(value)?;
                self.plan = Some(ColumnPlan::new(&columns));
                self.columns = Some(columns);
            }
            "rows" => {
                self.seen_rows = true;
                self.early_rows = Some(parse(value)?);
            }
            _ => {
                parse::<IgnoredAny>(value)?;
            }
        }
        self.state = Some(State::TableMember { first: false });
        Ok(Some(end))
    }

    /// The first table is complete: check its fields and read rows that came before the columns.
    fn close_table(&mut self) -> Result<(), SourceError> {
        if !self.seen_name {
            return Err(malformed("missing field `name`"));
        }
        let Some(plan) = &self.plan else {
            return Err(malformed("missing field `columns`"));
        };
        if !self.seen_rows {
            return Err(malformed("missing field `rows`"));
        }
        for values in self.early_rows.take().unwrap_or_default() {
            self.builder.push_values(plan, &values);
        }
        Ok(())
    }

    fn row(&mut self, buffer: &[u8], at: usize, first: bool, last: bool) -> Step {
        let Some(at) = element_start(buffer, at, first)? else {
            return Ok(None);
        };
        match buffer.get(at) {
            None => Ok(None),
            Some(b']') => {
                self.state = Some(State::TableMember { first: false });
                Ok(Some(at + 1))
            }
            Some(_) => {
                let Some(end) = value_end(buffer, at, last)? else {
                    return Ok(None);
                };
                let plan = self
                    .plan
                    .as_ref()
                    .ok_or_else(|| malformed("rows without columns"))?;
                let mut deserializer = serde_json::Deserializer::from_slice(&buffer[at..end]);
                self.builder
                    .row_seed(plan)
                    .deserialize(&mut deserializer)
                    .and_then(|()| deserializer.end())
                    .map_err(not_expected_json)?;
                self.state = Some(State::Rows { first: false });
                Ok(Some(end))
            }
        }
    }
}

fn malformed(reason: &str) -> SourceError {
    SourceError::Failed {
        system: SYSTEM,
        reason: format!("the query response is not the expected JSON: {reason}"),
    }
}

fn not_expected_json(error: serde_json::Error) -> SourceError {
    malformed(&error.to_string())
}

fn parse<'a, T: serde::Deserialize<'a>>(value: &'a [u8]) -> Result<T, SourceError> {
    serde_json::from_slice(value).map_err(not_expected_json)
}

fn skip_whitespace(buffer: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = buffer.get(at) {
        at += 1;
    }
    at
}

/// Before an array element: the comma unless it is the first; returns where the element
/// (or the closing bracket) starts, after whitespace.
fn element_start(buffer: &[u8], at: usize, first: bool) -> Result<Option<usize>, SourceError> {
    let at = skip_whitespace(buffer, at);
    match buffer.get(at) {
        None => Ok(None),
        Some(b']') => Ok(Some(at)),
        Some(b',') if !first => {
            let at = skip_whitespace(buffer, at + 1);
            match buffer.get(at) {
                None => Ok(None),
                Some(b']') => Err(malformed("trailing comma")),
                Some(_) => Ok(Some(at)),
            }
        }
        Some(_) if first => Ok(Some(at)),
        Some(_) => Err(malformed("expected `,` or `]`")),
    }
}

/// An object member's key and colon: `Some((Some(key), value start))`, or
/// `Some((None, after the brace))` at the object's end; `None` when the buffer ends first.
type Key<'a> = Option<(Option<Cow<'a, str>>, usize)>;

fn member_key(buffer: &[u8], at: usize, first: bool, close: u8) -> Result<Key<'_>, SourceError> {
    let mut at = skip_whitespace(buffer, at);
    match buffer.get(at) {
        None => return Ok(None),
        Some(&byte) if byte == close => return Ok(Some((None, at + 1))),
        Some(b',') if !first => at = skip_whitespace(buffer, at + 1),
        Some(_) if first => {}
        Some(_) => return Err(malformed("expected `,` or `}`")),
    }
    match buffer.get(at) {
        None => return Ok(None),
        Some(b'"') => {}
        Some(_) => return Err(malformed("expected a key")),
    }
    let Some(end) = string_end(buffer, at) else {
        return Ok(None);
    };
    let key: Cow<'_, str> = parse(&buffer[at..end])?;
    let colon = skip_whitespace(buffer, end);
    match buffer.get(colon) {
        None => return Ok(None),
        Some(b':') => {}
        Some(_) => return Err(malformed("expected `:`")),
    }
    let value = skip_whitespace(buffer, colon + 1);
    if value == buffer.len() {
        return Ok(None);
    }
    Ok(Some((Some(key), value)))
}

/// End (exclusive) of the string opening at `at`, or `None` when the buffer ends first.
fn string_end(buffer: &[u8], at: usize) -> Option<usize> {
    let mut at = at + 1;
    loop {
        let found = at + memchr::memchr2(b'"', b'\\', buffer.get(at..)?)?;
        match buffer[found] {
            b'"' => return Some(found + 1),
            // An escape: the next byte is never the string's end.
            _ => at = found + 2,
        }
    }
}

/// End (exclusive) of the JSON value starting at `at`, found by nesting and string
/// boundaries only (`serde_json` checks the rest); `None` when the buffer ends first.
/// A number ends at the buffer's end only when it is the `last` buffer.
fn value_end(buffer: &[u8], at: usize, last: bool) -> Result<Option<usize>, SourceError> {
    let mut depth = 0usize;
    let mut at = at;
    loop {
        let Some(&byte) = buffer.get(at) else {
            return Ok(None);
        };
        match byte {
            b'"' => {
                let Some(end) = string_end(buffer, at) else {
                    return Ok(None);
                };
                at = end;
            }
            b'[' | b'{' => {
                depth += 1;
                at += 1;
            }
            b']' | b'}' => {
                if depth == 0 {
                    return Err(malformed("unexpected closing bracket"));
                }
                depth -= 1;
                at += 1;
            }
            _ if depth > 0 => at += 1,
            _ => {
                // A scalar (number, true, false, null) ends at a delimiter.
                let end = buffer[at..]
                    .iter()
                    .position(|&it| matches!(it, b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t'))
                    .map(|offset| at + offset);
                return Ok(match end {
                    Some(end) => Some(end),
                    None if last => Some(buffer.len()),
                    None => None,
                });
            }
        }
        if depth == 0 {
            return Ok(Some(at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{QueryResult, incident_answer, parse_response, to_log_analytics_response};
    use super::*;
    use chrono::{TimeZone, Utc};

    /// What the generic reader makes of `body`, in this reader's terms.
    fn generic(body: &[u8]) -> Result<IncidentAnswer, SourceError> {
        parse_response(body).map(|result: QueryResult| incident_answer(&result))
    }

    /// Feeds `body` in pieces of `size` bytes.
    fn chunked(body: &[u8], size: usize) -> Result<IncidentAnswer, SourceError> {
        let mut stream = IncidentStream::default();
        for piece in body.chunks(size.max(1)) {
            stream.push(piece)?;
        }
        stream.finish()
    }

    fn assert_same(body: &[u8]) -> Result<IncidentAnswer, SourceError> {
        let streamed = parse_incident_rows(body);
        assert_eq!(streamed, generic(body), "{}", String::from_utf8_lossy(body));
        for size in [1, 2, 3, 7, 64, 1000] {
            assert_eq!(chunked(body, size), streamed, "in pieces of {size} bytes");
        }
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
            for size in [1, 5] {
                assert_eq!(chunked(body, size).is_ok(), streamed.is_ok(), "{size}-byte pieces");
            }
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

#[cfg(test)]
mod edge_tests {
    use super::super::{QueryResult, incident_answer, parse_response};
    use super::*;
    use crate::incident::Tactic;

    fn generic(body: &[u8]) -> Result<IncidentAnswer, SourceError> {
        parse_response(body).map(|result: QueryResult| incident_answer(&result))
    }

    fn columns() -> &'static str {
        r#"[{"name":"IncidentNumber","type":"int"},{"name":"TimeGenerated","type":"datetime"},{"name":"CreatedTime","type":"datetime"},{"name":"Title","type":"string"},{"name":"Severity","type":"string"},{"name":"Status","type":"string"},{"name":"Owner","type":"dynamic"},{"name":"AdditionalData","type":"dynamic"},{"name":"AlertIds","type":"dynamic"},{"name":"Labels","type":"dynamic"},{"name":"Title","type":"string"}]"#
    }

    #[test]
    fn odd_values_read_as_the_generic_reader_reads_them() {
        let rows = [
            // Escapes in text and in dynamic JSON text; the second Title column wins.
            r#"[" 7 ","2026-11-20T10:00:00Z","2026-11-20T09:00:00.1234567Z","ignored","high","in progress","{\"assignedTo\":\"D\u00e1na \\\"Ops\\\"\",\"email\":\"\",\"userPrincipalName\":\"d@x\"}","{\"tactics\":[\"InitialAccess\",\"TA0002\",\"Nope\",\"\",3],\"alertProductNames\":\"not a list\",\"providerIncidentUrl\":\"https://security.microsoft.com/incidents/7\"}","[\"a1\",\"\",null,{\"x\":1}]","[\"\",{\"labelName\":\"vip\"},{\"labelName\":\"\"},5]","Caf\u00e9 \ud83d\ude00 | line\nbreak"]"#,
            // Real JSON in dynamic columns, numbers where text belongs, floats as numbers.
            r#"[8.0,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z",1,"Low","Closed",{"assignedTo":"Ravi","objectId":"o-1"},{"tactics":["Impact"],"techniques":["T1486"]},["b1"],[{"labelName":"x"}],"Eight"]"#,
            r#"[9,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z",null,null,null,"not json","[1,2]",{"a":1},"{}",true]"#,
            r#"[10,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z","t","Medium","New",{"assignedTo":"A","assignedTo":5},"{\"tactics\":[\"Execution\"],\"tactics\":[\"Impact\"]}",[],[],"Ten"]"#,
            r#"[-1,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z"]"#,
            r#"[11,"not a time","2026-11-20T09:00:00Z"]"#,
            r#"[12,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z","short row"]"#,
        ];
        let body = format!(
            r#"{{"tables":[{{"name":"PrimaryResult","columns":{},"rows":[{}]}}]}}"#,
            columns(),
            rows.join(",\n ")
        );
        let streamed = parse_incident_rows(body.as_bytes()).expect("parses");
        assert_eq!(Ok(streamed.clone()), generic(body.as_bytes()));
        let numbers: Vec<u64> = streamed
            .rows
            .iter()
            .map(|row| row.incident.number)
            .collect();
        assert_eq!(numbers, vec![7, 9, 10, 12]);
        let skipped: Vec<(String, usize)> = streamed
            .skipped
            .by_reason()
            .map(|(reason, rows)| (reason.to_string(), rows))
            .collect();
        assert_eq!(
            skipped,
            vec![
                ("unreadable IncidentNumber".to_string(), 2),
                ("unreadable TimeGenerated".to_string(), 1)
            ]
        );
        let first = &streamed.rows[0].incident;
        assert_eq!(first.owner.name.as_deref(), Some("D\u{e1}na \"Ops\""));
        assert_eq!(first.owner.email.as_deref(), Some("d@x"));
        assert_eq!(first.title, "Caf\u{e9} \u{1f600} | line\nbreak");
        // "InitialAccess", "TA0002" (Execution) and the other name "Nope"; "" and 3 are no names.
        assert_eq!(
            first.tactics,
            vec![
                Tactic::InitialAccess,
                Tactic::Execution,
                Tactic::Other("Nope".into())
            ]
        );
        assert_eq!(first.alert_ids, vec!["a1".to_string()]);
        assert_eq!(first.labels, vec![String::new(), "vip".to_string()]);
        assert_eq!(
            streamed.rows[2].incident.owner.name, None,
            "the last duplicate key wins"
        );
    }

    #[test]
    fn every_time_form_reads_and_every_unreadable_row_is_counted_the_same_in_both_readers() {
        let rows = [
            r#"[1,"2026-11-20T10:00:00Z","2026-11-20T09:00:00.1234567Z"]"#,
            r#"[2,"2026-11-20 10:00:00","2026-11-20T09:00:00.1234567"]"#,
            r#"[3,"2026-11-20T10:00:00+01:00","2026-11-20 09:00"]"#,
            r#"[4,"2026-11-20T10:00:00Z",null]"#,
            r#"[5,"2026-11-20T10:00:00Z",""]"#,
            r#"[6,"2026-11-20T10:00:00Z","20/11/2026 09:00"]"#,
            r#"[7,"2026-11-20T10:00:00Z",1732093200]"#,
            r#"[8,null,"2026-11-20T09:00:00Z"]"#,
            r#"["",  "2026-11-20T10:00:00Z","2026-11-20T09:00:00Z"]"#,
            r#"[9]"#,
        ];
        let body = format!(
            r#"{{"tables":[{{"name":"PrimaryResult","columns":{},"rows":[{}]}}]}}"#,
            columns(),
            rows.join(",")
        );
        let streamed = parse_incident_rows(body.as_bytes()).expect("parses");
        assert_eq!(Ok(streamed.clone()), generic(body.as_bytes()));
        let read: Vec<(u64, String)> = streamed
            .rows
            .iter()
            .map(|row| (row.incident.number, row.incident.created.to_rfc3339()))
            .collect();
        assert_eq!(
            read,
            vec![
                (1, "2026-11-20T09:00:00.123456700+00:00".to_string()),
                (2, "2026-11-20T09:00:00.123456700+00:00".to_string()),
                (3, "2026-11-20T09:00:00+00:00".to_string()),
            ]
        );
        let skipped: Vec<(&str, usize)> = streamed
            .skipped
            .by_reason()
            .map(|(reason, rows)| (reason.key(), rows))
            .collect();
        assert_eq!(
            skipped,
            vec![
                ("missing_incident_number", 1),
                ("missing_time_generated", 2),
                ("missing_created_time", 2),
                ("unreadable_created_time", 2),
            ]
        );
    }

    #[test]
    fn whitespace_and_member_order_do_not_matter() {
        let body = format!(
            "\n {{ \"error\" : null ,\r\n \"tables\" : [ {{ \"columns\" : {} , \"name\" : \"PrimaryResult\" , \"rows\" : [ [ 42 , \"2026-11-20T10:00:00Z\" , \"2026-11-20T09:00:00Z\" ] , [43,\"2026-11-20T10:00:00Z\",\"2026-11-20T09:00:00Z\"] ] }} ] }} \n",
            columns()
        );
        let streamed = parse_incident_rows(body.as_bytes()).expect("parses");
        assert_eq!(Ok(streamed.clone()), generic(body.as_bytes()));
        assert_eq!(streamed.rows.len(), 2);
    }

    #[test]
    fn broken_bodies_are_refused_in_any_piece_size() {
        for body in [
            &b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[[1],]}]}"[..],
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[[1]]}]} x",
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[[1 2]]}]}",
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[[\"unterminated]]}]}",
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[]}],}",
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[]}]]",
            b"{\"tables\":[{\"name\":7,\"columns\":[],\"rows\":[]}]}",
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[]}]",
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[]}],\"tables\":[]}",
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[],\"rows\":[]}]}",
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":{}}]}",
            b"{\"tables\":[1]}",
            b"{\"tables\":[{\"name\":\"P\",\"columns\":[],\"rows\":[]}],\"other\":tru}",
            b"",
        ] {
            assert!(generic(body).is_err(), "{}", String::from_utf8_lossy(body));
            for size in [1, 3, body.len().max(1)] {
                let mut stream = IncidentStream::default();
                let fed = body.chunks(size).try_for_each(|piece| stream.push(piece));
                let outcome = fed.and_then(|()| stream.finish());
                assert!(
                    outcome.is_err(),
                    "{} in {size}-byte pieces",
                    String::from_utf8_lossy(body)
                );
            }
        }
    }
}
