//! The Log Analytics query API client and the reader of its tables/columns/rows answers
//! into `SecurityIncident` rows; also the inverse (incidents rendered as such an answer)
//! for tests and benchmarks.

mod row;
mod stream;
mod text_pool;

pub use stream::{IncidentAnswer, IncidentStream, parse_incident_rows};

use super::retry::{self, RetryPolicy};
use super::token::TokenProvider;
use crate::incident::{ArcStr, IncidentRow, Owner, Workspace};
use crate::sources::SourceError;
use crate::upstream::Upstream;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
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
    /// Set when the service answered with tables and an `error` (a partial result): the
    /// service's most specific reason ([`partial_reason`]), e.g. its size limit.
    pub partial_error: Option<String>,
}

/// Which configured workspace a row's `TenantId` names: in a cross-workspace answer the
/// `TenantId` of `SecurityIncident` is the row's workspace id. Empty for a single workspace,
/// whose rows are all [`Workspace::ONLY`] and whose `TenantId` is not looked at.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceMap {
    /// Workspace ids with their workspaces, the main workspace first.
    ids: Vec<(String, Workspace)>,
}

impl WorkspaceMap {
    /// A map of workspace ids (GUIDs, compared without case) to workspaces, the main one first.
    pub fn new(ids: Vec<(String, Workspace)>) -> WorkspaceMap {
        WorkspaceMap { ids }
    }

    /// The workspace `tenant_id` names; `None` when it names no configured one.
    fn workspace(&self, tenant_id: Option<&str>) -> Option<Workspace> {
        if self.ids.is_empty() {
            return Some(Workspace::ONLY);
        }
        let tenant_id = tenant_id?;
        self.ids
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(tenant_id))
            .map(|(_, workspace)| *workspace)
    }

    /// The main workspace.
    fn main(&self) -> Workspace {
        self.ids
            .first()
            .map_or(Workspace::ONLY, |(_, workspace)| *workspace)
    }
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
    /// Tags each row of an incident answer with its workspace.
    workspaces: WorkspaceMap,
    policy: RetryPolicy,
}

impl LogAnalyticsClient {
    /// A client for the workspaces of `workspaces` (workspace ids and the workspace each
    /// is, the main one first) at `endpoint` (e.g. `https://api.loganalytics.io`): one
    /// workspace is queried alone, several together (cross-workspace), each incident row then
    /// tagged with the workspace its `TenantId` names. An empty list queries nothing useful.
    pub fn new(
        http: reqwest::Client,
        tokens: Arc<TokenProvider>,
        endpoint: &str,
        workspaces: &[(String, Workspace)],
        policy: RetryPolicy,
    ) -> LogAnalyticsClient {
        let ids: Vec<String> = workspaces.iter().map(|(id, _)| id.clone()).collect();
        let (workspace_id, extra_workspace_ids) = match ids.split_first() {
            Some((main, extra)) => (main.clone(), extra.to_vec()),
            None => (String::new(), Vec::new()),
        };
        let map = match extra_workspace_ids.is_empty() {
            true => WorkspaceMap::default(),
            false => WorkspaceMap::new(workspaces.to_vec()),
        };
        LogAnalyticsClient {
            http,
            tokens,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            workspace_id,
            extra_workspace_ids,
            workspaces: map,
            policy,
        }
    }

    /// Runs `query` over `timespan` (an ISO 8601 interval). A body with an `error` and no
    /// tables is a failure; with tables it is a partial result the caller must judge.
    pub async fn query(&self, query: &str, timespan: &str) -> Result<QueryResult, SourceError> {
        parse_response(&self.fetch(query, timespan).await?)
    }

    /// Runs a `SecurityIncident` query and reads the answer into incident rows while it
    /// arrives ([`IncidentStream`]), so the body is never held whole; the same rows and
    /// failure rules as [`LogAnalyticsClient::query`] followed by [`incident_rows`].
    pub async fn query_incidents(
        &self,
        query: &str,
        timespan: &str,
    ) -> Result<IncidentAnswer, SourceError> {
        let mut response = self.send(query, timespan).await?;
        let mut stream = IncidentStream::for_workspaces(self.workspaces.clone());
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => stream.push(&chunk)?,
                Ok(None) => return stream.finish(),
                Err(error) => return Err(reading_failed(&error)),
            }
        }
    }

    /// Sends the query (with retries) and returns the success body.
    async fn fetch(&self, query: &str, timespan: &str) -> Result<Vec<u8>, SourceError> {
        let response = self.send(query, timespan).await?;
        read_body(response)
            .await
            .map_err(|error| reading_failed(&error))
    }

    /// Sends the query (with retries) and returns the successful response, body unread.
    async fn send(&self, query: &str, timespan: &str) -> Result<reqwest::Response, SourceError> {
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
        retry::require_success(SYSTEM, response).await
    }
}

fn reading_failed(error: &reqwest::Error) -> SourceError {
    SourceError::Failed {
        system: SYSTEM,
        reason: format!(
            "reading the response failed: {}",
            retry::describe_transport(error)
        ),
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
    match &parsed.error {
        Some(error) if parsed.tables.is_empty() => Err(SourceError::Failed {
            system: SYSTEM,
            reason: describe_error(error),
        }),
        error => Ok(QueryResult {
            partial_error: error.as_ref().map(partial_reason),
            tables: parsed.tables,
        }),
    }
}

fn not_expected_json(error: serde_json::Error) -> SourceError {
    SourceError::Failed {
        system: SYSTEM,
        reason: format!("the query response is not the expected JSON: {error}"),
    }
}

/// Longest service message a reason carries, in characters; longer ones are cut at a word.
const MAX_REASON_CHARS: usize = 240;

/// The messages of a OneAPI error (`{"code","message","details":[...],"innererror":{...}}`),
/// outermost first, down its most specific branch: `innererror`, else the first of
/// `details`. A level without a message gives its code. The query API puts a partial
/// result's real reason two levels down: `error.details[0].innererror.message` (see
/// "Azure Monitor Log Analytics API errors": a non-fatal error is a `PartialError` whose
/// "details of the error are included in the details property").
fn error_messages(error: &Value) -> Vec<&str> {
    let mut messages = Vec::new();
    let mut current = Some(error);
    while let Some(level) = current {
        let text = ["message", "code"]
            .iter()
            .filter_map(|key| level.get(key).and_then(Value::as_str))
            .find(|text| !text.trim().is_empty());
        messages.extend(text);
        current = level
            .get("innererror")
            .filter(|it| it.is_object())
            .or_else(|| {
                level
                    .get("details")
                    .and_then(Value::as_array)
                    .and_then(|details| details.iter().find(|it| it.is_object()))
            });
    }
    messages
}

/// A failed query's reason in one line: the outermost message and the innermost, e.g.
/// "The request had some invalid properties: Syntax Error".
fn describe_error(error: &Value) -> String {
    let messages = error_messages(error);
    let text = match messages.as_slice() {
        [] => error.to_string(),
        [only] => (*only).to_string(),
        [outer, .., inner] => format!("{}: {inner}", outer.trim_end().trim_end_matches('.')),
    };
    clip(&text, MAX_REASON_CHARS)
}

/// A partial result's reason: the innermost message, which names what stopped the query
/// (e.g. "Query result set has exceeded the internal data size limit 8388608 bytes"),
/// where the outer ones only say that something did.
pub(crate) fn partial_reason(error: &Value) -> String {
    match error_messages(error).last() {
        Some(inner) => clip(inner, MAX_REASON_CHARS),
        None => clip(&error.to_string(), MAX_REASON_CHARS),
    }
}

/// `text` on one line, cut to at most `max` characters at a word boundary, with one `…`
/// for the cut and no punctuation left dangling before it.
fn clip(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let head: String = text.chars().take(max.saturating_sub(1)).collect();
    // Cut before the word the limit falls in, unless that would drop most of the text.
    let cut = match head.rfind(' ') {
        Some(at) if at >= head.len() / 2 => &head[..at],
        _ => head.as_str(),
    };
    let cut = cut.trim_end_matches(|it: char| it.is_whitespace() || ".,;:-–—…".contains(it));
    format!("{cut}…")
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
        name: field(owner, "assignedTo").map(ArcStr::from),
        email: field(owner, "email")
            .or_else(|| field(owner, "userPrincipalName"))
            .map(ArcStr::from),
        object_id: field(owner, "objectId").map(ArcStr::from),
    }
}

/// Reads the first table's rows as `SecurityIncident` rows, by the rules in `row`:
/// rows without a readable number or times are skipped; unknown severities read as
/// Informational and unknown statuses as Active (still counted as open, so nothing
/// disappears from a report), with a warning. See [`incident_answer`] for the skipped rows.
pub fn incident_rows(result: &QueryResult) -> Vec<IncidentRow> {
    incident_answer(result).rows
}

/// [`incident_rows`] with the rows skipped (by reason) and the partial-result message: the
/// same answer the streaming reader ([`parse_incident_rows`]) gives for the same body.
pub fn incident_answer(result: &QueryResult) -> IncidentAnswer {
    let mut builder = row::RowBuilder::default();
    if let Some(table) = result.tables.first() {
        let plan = row::ColumnPlan::new(&table.columns);
        for values in &table.rows {
            builder.push_values(&plan, values);
        }
    }
    let (rows, skipped) = builder.finish();
    IncidentAnswer {
        rows,
        skipped,
        partial_error: result.partial_error.clone(),
    }
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
    use crate::incident::{Classification, Severity, Status, Tactic};

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
        // A name outside Sentinel's enum is kept under its own name, not dropped.
        assert_eq!(
            incident.tactics,
            vec![Tactic::InitialAccess, Tactic::Other("Teleportation".into())]
        );
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
    fn a_partial_error_gives_the_innermost_reason_of_its_details() {
        // The shape of a size-limited answer: the real reason is in details[].innererror.
        let partial = parse_response(
            br#"{"tables":[{"name":"PrimaryResult","columns":[],"rows":[]}],"error":{
              "message":"There were some errors when processing your query.","code":"PartialError",
              "correlationId":"8a2b0e9e-6f5e-4b8a-9d3c-6b2f6f7d1c11",
              "details":[{"code":"EngineError","message":"Something went wrong processing your query on the server.",
                "innererror":{"code":"-2133196797","message":"Query result set has exceeded the internal data size limit 8388608 bytes (E_QUERY_RESULT_SET_TOO_LARGE).","severity":2,"severityName":"Error"}}]}}"#,
        )
        .expect("partial");
        assert_eq!(
            partial.partial_error.as_deref(),
            Some(
                "Query result set has exceeded the internal data size limit 8388608 bytes (E_QUERY_RESULT_SET_TOO_LARGE)."
            )
        );
        let failed = parse_response(
            br#"{"error":{"message":"There were some errors.","code":"Failure","details":[{"code":"Inner","message":"Inner reason"}]}}"#,
        )
        .expect_err("fails");
        assert_eq!(
            failed.to_string(),
            "Log Analytics failed: There were some errors: Inner reason"
        );
    }

    #[test]
    fn long_reasons_are_cut_at_a_word_with_one_ellipsis() {
        let long = format!("{} limit.", "The query touched too much data, ".repeat(12));
        let clipped = clip(&long, 100);
        assert!(clipped.chars().count() <= 100, "{clipped}");
        assert!(clipped.ends_with("data…"), "{clipped}");
        assert_eq!(clipped.matches('…').count(), 1);
        assert!(!clipped.contains(".."), "{clipped}");
        assert_eq!(clip("short\nreason.", 100), "short reason.");
        assert_eq!(
            clip("abcdefghij", 5),
            "abcd…",
            "a single long word is cut inside"
        );
    }

    #[test]
    fn cross_workspace_rows_are_tagged_with_the_workspace_their_tenant_id_names() {
        let contoso = Workspace::named("contoso");
        let fabrikam = Workspace::named("fabrikam");
        let map = WorkspaceMap::new(vec![
            ("11111111-1111-1111-1111-111111111111".to_string(), contoso),
            ("33333333-3333-3333-3333-333333333333".to_string(), fabrikam),
        ]);
        let body = br#"{"tables":[{"name":"PrimaryResult","columns":[
            {"name":"TenantId","type":"string"},{"name":"IncidentNumber","type":"int"},
            {"name":"TimeGenerated","type":"datetime"},{"name":"CreatedTime","type":"datetime"},
            {"name":"Severity","type":"string"}],"rows":[
            ["11111111-1111-1111-1111-111111111111",5,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z","High"],
            ["33333333-3333-3333-3333-333333333333",5,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z","Low"],
            ["33333333-3333-3333-3333-33333333333A",6,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z","Low"],
            [null,7,"2026-11-20T10:00:00Z","2026-11-20T09:00:00Z","Low"]]}]}"#;
        let tagged = |size: usize| {
            let mut stream = IncidentStream::for_workspaces(map.clone());
            for piece in body.chunks(size) {
                stream.push(piece).expect("reads");
            }
            let rows = stream.finish().expect("reads").rows;
            rows.iter()
                .map(|row| (row.incident.key().to_string(), row.incident.severity))
                .collect::<Vec<_>>()
        };
        let expected = vec![
            ("5@contoso".to_string(), Severity::High),
            ("5@fabrikam".to_string(), Severity::Low),
            // An id no configured workspace has (impossible in an answer to our own
            // query) counts under the main workspace rather than vanishing.
            ("6@contoso".to_string(), Severity::Low),
            ("7@contoso".to_string(), Severity::Low),
        ];
        for size in [1, 7, body.len()] {
            assert_eq!(tagged(size), expected, "in pieces of {size} bytes");
        }
        // One workspace: the TenantId is not looked at and nothing is named.
        let single = stream::parse_incident_rows(body).expect("reads");
        assert!(
            single
                .rows
                .iter()
                .all(|row| row.incident.workspace.is_only())
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
