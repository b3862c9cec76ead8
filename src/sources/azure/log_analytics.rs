//! The Log Analytics query API client and the reader of its tables/columns/rows answers
//! into `SecurityIncident` rows; also the inverse (incidents rendered as such an answer)
//! for tests and benchmarks.

mod reader;

pub use reader::{IncidentAnswer, parse_incident_rows};

use super::retry::{self, RetryPolicy};
use super::token::TokenProvider;
use crate::incident::{Incident, IncidentRow, Owner, Severity, Status};
use crate::sources::SourceError;
use crate::upstream::Upstream;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

const UPSTREAM: Upstream = Upstream::LogAnalytics;
const SYSTEM: &str = UPSTREAM.name();

/// One result table of a query.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Table {
    /// `PrimaryResult` for the query's own output.
    pub name: String,
    /// Column names and types, in row order.
    pub columns: Vec<Column>,
    /// One array of values per row, positioned like `columns`.
    pub rows: Vec<Vec<Value>>,
}

/// A column's name and Kusto type (`string`, `datetime`, `long`, `dynamic`, ...).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Column {
    /// Column name, e.g. `IncidentNumber`.
    pub name: String,
    /// Kusto type name.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// A query's answer: its tables, and the service's message when only part of the data came back.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The result tables; the first is the query's output.
    pub tables: Vec<Table>,
    /// Set when the service answered with tables and an `error` (a partial result).
    pub partial_error: Option<String>,
}

#[derive(Deserialize)]
struct QueryResponse {
    #[serde(default)]
    tables: Vec<Table>,
    #[serde(default)]
    error: Option<Value>,
}

/// Runs KQL against one workspace, or several at once (MSSP, cross-workspace).
#[derive(Debug)]
pub struct LogAnalyticsClient {
    http: reqwest::Client,
    tokens: Arc<TokenProvider>,
    endpoint: String,
    workspace_id: String,
    extra_workspace_ids: Vec<String>,
    policy: RetryPolicy,
}

impl LogAnalyticsClient {
    /// A client for `workspace_id` at `endpoint` (e.g. `https://api.loganalytics.io`);
    /// `extra_workspace_ids` are queried together with it.
    pub fn new(
        http: reqwest::Client,
        tokens: Arc<TokenProvider>,
        endpoint: &str,
        workspace_id: &str,
        extra_workspace_ids: &[String],
        policy: RetryPolicy,
    ) -> LogAnalyticsClient {
        LogAnalyticsClient {
            http,
            tokens,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            workspace_id: workspace_id.to_string(),
            extra_workspace_ids: extra_workspace_ids.to_vec(),
            policy,
        }
    }

    /// Runs `query` over `timespan` (an ISO 8601 interval). A body with an `error` and no
    /// tables is a failure; with tables it is a partial result the caller must judge.
    pub async fn query(&self, query: &str, timespan: &str) -> Result<QueryResult, SourceError> {
        parse_response(&self.fetch(query, timespan).await?)
    }

    /// Runs a `SecurityIncident` query and reads the answer straight into incident rows
    /// ([`parse_incident_rows`]), with the same failure rules as [`LogAnalyticsClient::query`].
    pub async fn query_incidents(
        &self,
        query: &str,
        timespan: &str,
    ) -> Result<IncidentAnswer, SourceError> {
        parse_incident_rows(&self.fetch(query, timespan).await?)
    }

    /// Sends the query (with retries) and returns the success body.
    async fn fetch(&self, query: &str, timespan: &str) -> Result<Vec<u8>, SourceError> {
        let scope = format!("{}/.default", self.endpoint);
        let url = format!(
            "{}/v1/workspaces/{}/query",
            self.endpoint,
            urlencoding::encode(&self.workspace_id)
        );
        let mut body = json!({ "query": query, "timespan": timespan });
        if !self.extra_workspace_ids.is_empty() {
            let mut workspaces = vec![self.workspace_id.clone()];
            workspaces.extend(self.extra_workspace_ids.iter().cloned());
            body["workspaces"] = json!(workspaces);
        }
        let response = self
            .tokens
            .send_authorized(UPSTREAM, &self.policy, &scope, |token| {
                self.http.post(&url).bearer_auth(token).json(&body)
            })
            .await?;
        let response = retry::require_success(SYSTEM, response).await?;
        read_body(response)
            .await
            .map_err(|error| SourceError::Failed {
                system: SYSTEM,
                reason: format!(
                    "reading the response failed: {}",
                    retry::describe_transport(&error)
                ),
            })
    }
}

/// Largest buffer reserved up front from a `Content-Length`; a bigger answer still reads,
/// growing as it comes, but a wrong header cannot make us reserve gigabytes.
const MAX_BODY_RESERVE: u64 = 256 * 1024 * 1024;

/// Reads a body into one buffer sized by its `Content-Length`. `Response::bytes` collects the
/// chunks and then copies them into one buffer, so a large answer is briefly held twice.
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let expected = response.content_length().unwrap_or(0).min(MAX_BODY_RESERVE);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a query API body: `{"tables":[...]}`, maybe with an `"error"` beside them.
pub fn parse_response(body: &[u8]) -> Result<QueryResult, SourceError> {
    let parsed: QueryResponse = serde_json::from_slice(body).map_err(not_expected_json)?;
    let error = parsed.error.as_ref().map(describe_error);
    match error {
        Some(message) if parsed.tables.is_empty() => Err(SourceError::Failed {
            system: SYSTEM,
            reason: message,
        }),
        partial_error => Ok(QueryResult {
            tables: parsed.tables,
            partial_error,
        }),
    }
}

fn not_expected_json(error: serde_json::Error) -> SourceError {
    SourceError::Failed {
        system: SYSTEM,
        reason: format!("the query response is not the expected JSON: {error}"),
    }
}

/// Flattens `{"code","message","innererror":{...}}` into one line, innermost detail last.
fn describe_error(error: &Value) -> String {
    let mut parts = Vec::new();
    let mut current = Some(error);
    while let Some(level) = current {
        if let Some(message) = level.get("message").and_then(Value::as_str) {
            parts.push(message.to_string());
        } else if let Some(code) = level.get("code").and_then(Value::as_str) {
            parts.push(code.to_string());
        }
        current = level.get("innererror");
    }
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join(": ")
    }
}

/// Column positions by name.
struct Columns<'a>(HashMap<&'a str, usize>);

/// One row seen through its table's columns.
struct Row<'a> {
    columns: &'a Columns<'a>,
    values: &'a [Value],
}

impl<'a> Row<'a> {
    fn value(&self, name: &str) -> Option<&'a Value> {
        let index = *self.columns.0.get(name)?;
        self.values.get(index).filter(|value| !value.is_null())
    }

    /// Non-empty text.
    fn text(&self, name: &str) -> Option<&'a str> {
        self.value(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
    }

    fn time(&self, name: &str) -> Option<DateTime<Utc>> {
        parse_time(self.text(name)?)
    }

    fn number(&self, name: &str) -> Option<u64> {
        match self.value(name)? {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// A dynamic column: Log Analytics sends these as JSON text, but take real JSON too.
    fn dynamic(&self, name: &str) -> Option<Value> {
        match self.value(name)? {
            Value::String(text) => serde_json::from_str(text).ok(),
            other => Some(other.clone()),
        }
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .filter(|text| !text.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn field(value: &Value, name: &str) -> Option<String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}

/// The `Owner` dynamic column (`objectId`, `email`, `assignedTo`, `userPrincipalName`).
pub(crate) fn read_owner(owner: Option<&Value>) -> Owner {
    let Some(owner) = owner else {
        return Owner::default();
    };
    Owner {
        name: field(owner, "assignedTo"),
        email: field(owner, "email").or_else(|| field(owner, "userPrincipalName")),
        object_id: field(owner, "objectId"),
    }
}

/// Reads the first table's rows as `SecurityIncident` rows. Rows without a number or
/// times are skipped; unknown severities read as Informational and unknown statuses as
/// Active (still counted as open, so nothing disappears from a report), with a warning.
pub fn incident_rows(result: &QueryResult) -> Vec<IncidentRow> {
    let Some(table) = result.tables.first() else {
        return Vec::new();
    };
    let mut reader = RowReader::new(&table.columns);
    for values in &table.rows {
        reader.push(values);
    }
    reader.finish()
}

/// Turns one table's rows into incident rows, one at a time, counting the unreadable ones.
/// Shared by [`incident_rows`] and the streaming [`parse_incident_rows`], so both read alike.
struct RowReader<'a> {
    columns: Columns<'a>,
    rows: Vec<IncidentRow>,
    skipped: usize,
}

impl<'a> RowReader<'a> {
    fn new(columns: &'a [Column]) -> RowReader<'a> {
        RowReader {
            columns: Columns(
                columns
                    .iter()
                    .enumerate()
                    .map(|(index, column)| (column.name.as_str(), index))
                    .collect(),
            ),
            rows: Vec::new(),
            skipped: 0,
        }
    }

    fn push(&mut self, values: &[Value]) {
        let row = Row {
            columns: &self.columns,
            values,
        };
        match read_row(&row) {
            Some(parsed) => self.rows.push(parsed),
            None => self.skipped += 1,
        }
    }

    fn finish(self) -> Vec<IncidentRow> {
        if self.skipped > 0 {
            tracing::warn!(
                skipped = self.skipped,
                "SecurityIncident rows without number or times were skipped"
            );
        }
        self.rows
    }
}

fn read_row(row: &Row<'_>) -> Option<IncidentRow> {
    let number = row.number("IncidentNumber")?;
    let time_generated = row.time("TimeGenerated")?;
    let created = row.time("CreatedTime")?;
    let severity = match row.text("Severity").map(str::parse::<Severity>) {
        Some(Ok(severity)) => severity,
        other => {
            tracing::warn!(number, value = ?other, "unreadable severity, using Informational");
            Severity::Informational
        }
    };
    let status = match row.text("Status").map(str::parse::<Status>) {
        Some(Ok(status)) => status,
        other => {
            tracing::warn!(number, value = ?other, "unreadable status, using Active");
            Status::Active
        }
    };
    let additional = row.dynamic("AdditionalData");
    let additional = additional.as_ref();
    let labels = row
        .dynamic("Labels")
        .and_then(|labels| labels.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|label| match label {
            Value::String(text) => Some(text.clone()),
            other => field(other, "labelName"),
        })
        .collect();
    let incident = Incident {
        number,
        id: row.text("IncidentName").unwrap_or_default().to_string(),
        title: row.text("Title").unwrap_or_default().to_string(),
        description: row.text("Description").unwrap_or_default().to_string(),
        severity,
        status,
        classification: row
            .text("Classification")
            .and_then(|text| text.parse().ok()),
        classification_comment: row.text("ClassificationComment").map(str::to_string),
        owner: read_owner(row.dynamic("Owner").as_ref()),
        tactics: strings(additional.and_then(|data| data.get("tactics")))
            .iter()
            .filter_map(|tactic| tactic.parse().ok())
            .collect(),
        techniques: strings(additional.and_then(|data| data.get("techniques"))),
        alert_products: strings(additional.and_then(|data| data.get("alertProductNames"))),
        alert_ids: strings(row.dynamic("AlertIds").as_ref()),
        labels,
        created,
        first_modified: row.time("FirstModifiedTime"),
        first_human_action: row.time("FirstHumanAction"),
        last_modified: row.time("LastModifiedTime").unwrap_or(time_generated),
        closed: row.time("ClosedTime"),
        // The Defender portal link, when there is one, is the one analysts work in.
        url: additional
            .and_then(|data| field(data, "providerIncidentUrl"))
            .or_else(|| row.text("IncidentUrl").map(str::to_string)),
    };
    Some(IncidentRow {
        time_generated,
        modified_by: row.text("ModifiedBy").map(str::to_string),
        incident,
    })
}

fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Renders rows as a Log Analytics query answer, the same shape [`parse_response`] and
/// [`incident_rows`] read (dynamic columns as JSON text, as the service sends them).
/// For tests and benchmarks of the parser.
pub fn to_log_analytics_response(rows: &[IncidentRow]) -> Value {
    let columns: Vec<Value> = [
        ("TenantId", "string"),
        ("IncidentNumber", "int"),
        ("TimeGenerated", "datetime"),
        ("IncidentName", "string"),
        ("Title", "string"),
        ("Description", "string"),
        ("Severity", "string"),
        ("Status", "string"),
        ("Classification", "string"),
        ("ClassificationComment", "string"),
        ("Owner", "dynamic"),
        ("ProviderName", "string"),
        ("CreatedTime", "datetime"),
        ("LastModifiedTime", "datetime"),
        ("ClosedTime", "datetime"),
        ("AlertIds", "dynamic"),
        ("AdditionalData", "dynamic"),
        ("IncidentUrl", "string"),
        ("Labels", "dynamic"),
        ("FirstModifiedTime", "datetime"),
        ("ModifiedBy", "string"),
        ("FirstHumanAction", "datetime"),
    ]
    .iter()
    .map(|(name, kind)| json!({ "name": name, "type": kind }))
    .collect();
    let table_rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let incident = &row.incident;
            let owner = json!({
                "objectId": incident.owner.object_id,
                "email": incident.owner.email,
                "assignedTo": incident.owner.name,
                "userPrincipalName": incident.owner.email,
            });
            let additional = json!({
                "alertsCount": incident.alert_ids.len(),
                "alertProductNames": incident.alert_products,
                "tactics": incident.tactics.iter().map(|tactic| tactic.sentinel_name()).collect::<Vec<_>>(),
                "techniques": incident.techniques,
            });
            let labels: Vec<Value> = incident
                .labels
                .iter()
                .map(|label| json!({ "labelName": label, "labelType": "User" }))
                .collect();
            json!([
                "00000000-0000-0000-0000-000000000000",
                incident.number,
                format_time(row.time_generated),
                incident.id,
                incident.title,
                incident.description,
                incident.severity.as_str(),
                incident.status.as_str(),
                incident.classification.map(|value| value.as_str()).unwrap_or(""),
                incident.classification_comment.as_deref().unwrap_or(""),
                owner.to_string(),
                "Azure Sentinel",
                format_time(incident.created),
                format_time(incident.last_modified),
                incident.closed.map(format_time).unwrap_or_default(),
                json!(incident.alert_ids).to_string(),
                additional.to_string(),
                incident.url.as_deref().unwrap_or(""),
                Value::Array(labels).to_string(),
                incident.first_modified.map(format_time),
                row.modified_by.as_deref().unwrap_or(""),
                incident.first_human_action.map(format_time),
            ])
        })
        .collect();
    json!({
        "tables": [{
            "name": "PrimaryResult",
            "columns": columns,
            "rows": table_rows,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Classification, Tactic};

    const SAMPLE: &str = r#"{
      "tables": [{
        "name": "PrimaryResult",
        "columns": [
          {"name":"IncidentNumber","type":"int"},
          {"name":"TimeGenerated","type":"datetime"},
          {"name":"IncidentName","type":"string"},
          {"name":"Title","type":"string"},
          {"name":"Severity","type":"string"},
          {"name":"Status","type":"string"},
          {"name":"Classification","type":"string"},
          {"name":"Owner","type":"dynamic"},
          {"name":"CreatedTime","type":"datetime"},
          {"name":"ClosedTime","type":"datetime"},
          {"name":"AlertIds","type":"dynamic"},
          {"name":"AdditionalData","type":"dynamic"},
          {"name":"Labels","type":"dynamic"}
        ],
        "rows": [
          [42, "2026-11-20T10:00:00.1234567Z", "guid-42", "Phish <!channel>", "Sevier", "Closed", "TruePositive",
           "{\"objectId\":\"oid\",\"email\":\"dana@contoso.com\",\"assignedTo\":\"Dana\",\"userPrincipalName\":\"dana@contoso.com\"}",
           "2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z", "[\"a1\",\"a2\"]",
           "{\"alertsCount\":2,\"tactics\":[\"InitialAccess\",\"Teleportation\"],\"techniques\":[\"T1566\"],\"alertProductNames\":[\"Microsoft Defender for Office 365\"]}",
           "[{\"labelName\":\"vip\",\"labelType\":\"User\"}]"],
          [null, "2026-11-20T10:00:00Z", "x", "no number", "High", "New", "", null, "2026-11-20T09:00:00Z", "", "[]", "{}", "[]"]
        ]
      }]
    }"#;

    #[test]
    fn reads_rows_with_dynamic_columns_as_json_text_and_skips_unknown_values() {
        let result = parse_response(SAMPLE.as_bytes()).expect("parses");
        let rows = incident_rows(&result);
        assert_eq!(rows.len(), 1, "the row without a number is skipped");
        let incident = &rows[0].incident;
        assert_eq!(incident.number, 42);
        assert_eq!(incident.id, "guid-42");
        assert_eq!(incident.severity, Severity::Informational);
        assert_eq!(incident.status, Status::Closed);
        assert_eq!(incident.classification, Some(Classification::TruePositive));
        assert_eq!(incident.owner.name.as_deref(), Some("Dana"));
        assert_eq!(incident.owner.email.as_deref(), Some("dana@contoso.com"));
        assert_eq!(incident.tactics, vec![Tactic::InitialAccess]);
        assert_eq!(incident.techniques, vec!["T1566".to_string()]);
        assert_eq!(incident.alert_ids, vec!["a1".to_string(), "a2".to_string()]);
        assert_eq!(incident.labels, vec!["vip".to_string()]);
        assert_eq!(
            incident.closed.map(|time| time.to_rfc3339()).as_deref(),
            Some("2026-11-20T10:00:00+00:00")
        );
    }

    #[test]
    fn an_error_without_tables_fails_and_with_tables_is_partial() {
        let failed = parse_response(
            br#"{"error":{"code":"BadArgumentError","message":"The request had some invalid properties","innererror":{"code":"SyntaxError","message":"Unexpected token"}}}"#,
        )
        .expect_err("fails");
        assert_eq!(
            failed,
            SourceError::Failed {
                system: "Log Analytics",
                reason: "The request had some invalid properties: Unexpected token".into()
            }
        );
        let partial = parse_response(
            br#"{"tables":[{"name":"PrimaryResult","columns":[],"rows":[]}],"error":{"code":"PartialError","message":"There were some errors when processing your query."}}"#,
        )
        .expect("partial");
        assert_eq!(
            partial.partial_error.as_deref(),
            Some("There were some errors when processing your query.")
        );
    }

    #[test]
    fn malformed_json_is_a_clear_error() {
        let error = parse_response(b"{\"tables\": [").expect_err("malformed");
        let text = error.to_string();
        assert!(
            text.starts_with("Log Analytics failed: the query response is not the expected JSON"),
            "{text}"
        );
    }
}
