//! The Microsoft Sentinel incidents REST client (Microsoft.SecurityInsights): read an
//! incident with its alerts, entities and comments, comment, update with an etag, create.

use super::log_analytics::read_owner;
use super::retry::{self, RetryPolicy};
use super::token::TokenProvider;
use crate::incident::{Classification, Incident, IncidentKey, Owner, Severity, Status, Workspace};
use crate::sources::{Alert, Comment, Entity, IncidentUpdate, NewIncident, SourceError};
use crate::upstream::Upstream;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

const UPSTREAM: Upstream = Upstream::Sentinel;
const SYSTEM: &str = UPSTREAM.name();

/// The stable Microsoft.SecurityInsights api-version spoken.
pub const API_VERSION: &str = "2024-09-01";

/// Properties the service computes; they are dropped before a PUT.
const READ_ONLY: [&str; 8] = [
    "additionalData",
    "incidentNumber",
    "createdTimeUtc",
    "lastModifiedTimeUtc",
    "incidentUrl",
    "relatedAnalyticRuleIds",
    "providerIncidentUrl",
    "teamInformation",
];

/// An incident resource as the REST API returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RestIncident {
    /// The resource name (a GUID).
    pub name: String,
    /// Version for optimistic concurrency, sent back on updates.
    #[serde(default)]
    pub etag: Option<String>,
    /// The incident's properties as Sentinel sent them (kept whole, so a PUT loses nothing).
    #[serde(default)]
    pub properties: Value,
}

#[derive(Deserialize)]
struct List {
    #[serde(default)]
    value: Vec<Value>,
    /// The next page's full URL, when the answer is paged.
    #[serde(rename = "nextLink", default)]
    next_link: Option<String>,
}

/// Most pages followed for one list, so a misbehaving server cannot keep us looping.
const MAX_PAGES: usize = 20;

#[derive(Deserialize)]
struct EntityList {
    #[serde(default)]
    entities: Vec<Value>,
}

/// Speaks to one workspace's Sentinel incidents.
#[derive(Debug)]
pub struct SentinelClient {
    http: reqwest::Client,
    tokens: Arc<TokenProvider>,
    scope: String,
    /// `{management}/subscriptions/../workspaces/{name}/providers/Microsoft.SecurityInsights/incidents`
    incidents_url: String,
    policy: RetryPolicy,
    /// The workspace its incidents are tagged with.
    workspace: Workspace,
}

impl SentinelClient {
    /// A client for the workspace `workspace_name` in `resource_group` of `subscription_id`,
    /// through `management` (e.g. `https://management.azure.com`).
    pub fn new(
        http: reqwest::Client,
        tokens: Arc<TokenProvider>,
        management: &str,
        subscription_id: &str,
        resource_group: &str,
        workspace_name: &str,
        policy: RetryPolicy,
    ) -> SentinelClient {
        let management = management.trim_end_matches('/');
        SentinelClient {
            http,
            tokens,
            scope: format!("{management}/.default"),
            incidents_url: format!(
                "{management}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.OperationalInsights/workspaces/{}/providers/Microsoft.SecurityInsights/incidents",
                urlencoding::encode(subscription_id),
                urlencoding::encode(resource_group),
                urlencoding::encode(workspace_name),
            ),
            policy,
            workspace: Workspace::ONLY,
        }
    }

    /// The same client, tagging its incidents (and not-found errors) with `workspace`.
    pub fn in_workspace(self, workspace: Workspace) -> SentinelClient {
        SentinelClient { workspace, ..self }
    }

    /// The incident of a REST resource, tagged with this client's workspace.
    pub fn incident_of(&self, resource: &RestIncident) -> Result<Incident, SourceError> {
        let mut incident = to_incident(resource)?;
        incident.workspace = self.workspace;
        Ok(incident)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<reqwest::Response, SourceError> {
        let url = format!("{}{path}", self.incidents_url);
        self.tokens
            .send_authorized(UPSTREAM, &self.policy, &self.scope, |token| {
                let mut request = self
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(token)
                    .query(&[("api-version", API_VERSION)])
                    .query(query);
                if let Some(body) = body {
                    request = request.json(body);
                }
                if let Some(etag) = if_match {
                    request = request.header(reqwest::header::IF_MATCH, etag);
                }
                request
            })
            .await
    }

    /// The incident with this number (`$filter` on `properties/incidentNumber`, a typed number).
    pub async fn find(&self, number: u64) -> Result<RestIncident, SourceError> {
        let filter = format!("properties/incidentNumber eq {number}");
        let response = self
            .call(
                Method::GET,
                "",
                &[("$filter", filter.as_str()), ("$top", "1")],
                None,
                None,
            )
            .await?;
        let list: List = retry::read_json(SYSTEM, response).await?;
        let first = list
            .value
            .into_iter()
            .next()
            .ok_or(SourceError::NotFound(IncidentKey {
                workspace: self.workspace,
                number,
            }))?;
        serde_json::from_value(first).map_err(|error| unreadable(&error))
    }

    /// The alerts of an incident (`POST .../incidents/{id}/alerts`).
    pub async fn alerts(&self, incident_id: &str) -> Result<Vec<Alert>, SourceError> {
        let path = format!("/{}/alerts", urlencoding::encode(incident_id));
        let response = self.call(Method::POST, &path, &[], None, None).await?;
        let list: List = retry::read_json(SYSTEM, response).await?;
        Ok(list.value.iter().map(read_alert).collect())
    }

    /// The entities of an incident (`POST .../incidents/{id}/entities`).
    pub async fn entities(&self, incident_id: &str) -> Result<Vec<Entity>, SourceError> {
        let path = format!("/{}/entities", urlencoding::encode(incident_id));
        let response = self.call(Method::POST, &path, &[], None, None).await?;
        let list: EntityList = retry::read_json(SYSTEM, response).await?;
        Ok(list.entities.iter().map(read_entity).collect())
    }

    /// The comments on an incident, oldest first.
    pub async fn comments(&self, incident_id: &str) -> Result<Vec<Comment>, SourceError> {
        let path = format!("/{}/comments", urlencoding::encode(incident_id));
        let response = self.call(Method::GET, &path, &[], None, None).await?;
        let mut list: List = retry::read_json(SYSTEM, response).await?;
        let mut comments: Vec<Comment> = list.value.iter().filter_map(read_comment).collect();
        for _ in 1..MAX_PAGES {
            // Only follow links back to the same API: the bearer token must not go elsewhere.
            let Some(next) = list
                .next_link
                .take()
                .filter(|next| next.starts_with(&self.incidents_url))
            else {
                break;
            };
            let response = self
                .tokens
                .send_authorized(UPSTREAM, &self.policy, &self.scope, |token| {
                    self.http.get(&next).bearer_auth(token)
                })
                .await?;
            list = retry::read_json(SYSTEM, response).await?;
            comments.extend(list.value.iter().filter_map(read_comment));
        }
        comments.sort_by_key(|comment| comment.created);
        Ok(comments)
    }

    /// Adds a comment. The comment id is fixed before the first attempt, so a retried PUT
    /// cannot post the comment twice.
    pub async fn add_comment(&self, incident_id: &str, message: &str) -> Result<(), SourceError> {
        let comment_id = uuid::Uuid::new_v4().to_string();
        let path = format!(
            "/{}/comments/{comment_id}",
            urlencoding::encode(incident_id)
        );
        let body = json!({ "properties": { "message": message } });
        let response = self
            .call(Method::PUT, &path, &[], Some(&body), None)
            .await?;
        retry::require_success(SYSTEM, response).await?;
        Ok(())
    }

    /// Writes the incident's properties. With an etag, Sentinel refuses the write when the
    /// incident changed meanwhile (409 or 412), reported as [`SourceError::Conflict`].
    pub async fn put(
        &self,
        incident_id: &str,
        properties: &Value,
        etag: Option<&str>,
    ) -> Result<RestIncident, SourceError> {
        let path = format!("/{}", urlencoding::encode(incident_id));
        let mut body = json!({ "properties": properties });
        if let Some(etag) = etag {
            body["etag"] = json!(etag);
        }
        let response = self
            .call(Method::PUT, &path, &[], Some(&body), etag)
            .await?;
        if matches!(
            response.status(),
            StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED
        ) {
            return Err(SourceError::Conflict { system: SYSTEM });
        }
        let incident: RestIncident = retry::read_json(SYSTEM, response).await?;
        Ok(incident)
    }

    /// Reads the incident, applies `update` and writes it back guarded by `etag` (or, when
    /// the caller has none, by the etag just read).
    pub async fn update(
        &self,
        number: u64,
        update: &IncidentUpdate,
        etag: Option<&str>,
    ) -> Result<Incident, SourceError> {
        let current = self.find(number).await?;
        let properties = apply_update(&current.properties, update);
        let etag = etag.or(current.etag.as_deref());
        let written = self.put(&current.name, &properties, etag).await?;
        self.incident_of(&written)
    }

    /// Creates an incident under a fresh resource name.
    pub async fn create(&self, incident: &NewIncident) -> Result<Incident, SourceError> {
        let incident_id = uuid::Uuid::new_v4().to_string();
        let mut properties = json!({
            "title": incident.title,
            "description": incident.description,
            "severity": incident.severity.as_str(),
            "status": Status::New.as_str(),
        });
        if let Some(owner) = &incident.owner {
            properties["owner"] = owner_json(owner);
        }
        let written = self.put(&incident_id, &properties, None).await?;
        self.incident_of(&written)
    }
}

fn unreadable(error: &serde_json::Error) -> SourceError {
    SourceError::Failed {
        system: SYSTEM,
        reason: format!("the incident is not the expected JSON: {error}"),
    }
}

fn owner_json(owner: &Owner) -> Value {
    json!({
        "objectId": owner.object_id,
        "email": owner.email,
        "assignedTo": owner.name,
        "userPrincipalName": owner.email,
    })
}

/// The reason Sentinel expects with each classification.
fn classification_reason(classification: Classification) -> Option<&'static str> {
    match classification {
        Classification::TruePositive => Some("SuspiciousActivity"),
        Classification::BenignPositive => Some("SuspiciousButExpected"),
        Classification::FalsePositive => Some("IncorrectAlertLogic"),
        Classification::Undetermined => None,
    }
}

/// The current properties with the update applied and the read-only ones removed.
pub fn apply_update(current: &Value, update: &IncidentUpdate) -> Value {
    let mut properties = match current {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    for key in READ_ONLY {
        properties.remove(key);
    }
    if let Some(status) = update.status {
        properties.insert("status".into(), json!(status.as_str()));
    }
    if let Some(severity) = update.severity {
        properties.insert("severity".into(), json!(severity.as_str()));
    }
    if let Some(owner) = &update.owner {
        properties.insert("owner".into(), owner_json(owner));
    }
    if let Some(classification) = update.classification {
        properties.insert("classification".into(), json!(classification.as_str()));
        let reason = update
            .classification_reason
            .as_deref()
            .or(classification_reason(classification));
        match reason {
            Some(reason) => properties.insert("classificationReason".into(), json!(reason)),
            None => properties.remove("classificationReason"),
        };
    }
    if let Some(comment) = &update.classification_comment {
        properties.insert("classificationComment".into(), json!(comment));
    }
    Value::Object(properties)
}

fn text(value: &Value, name: &str) -> Option<String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}

fn time(value: &Value, name: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.get(name)?.as_str()?)
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
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Maps a REST incident to the model. REST has no closing time, so a closed incident
/// reports its last change as `closed`.
pub fn to_incident(resource: &RestIncident) -> Result<Incident, SourceError> {
    let properties = &resource.properties;
    let number = properties
        .get("incidentNumber")
        .and_then(Value::as_u64)
        .ok_or_else(|| SourceError::Failed {
            system: SYSTEM,
            reason: "the incident has no incidentNumber".to_string(),
        })?;
    let created = time(properties, "createdTimeUtc").ok_or_else(|| SourceError::Failed {
        system: SYSTEM,
        reason: format!("incident {number} has no readable createdTimeUtc"),
    })?;
    let last_modified = time(properties, "lastModifiedTimeUtc").unwrap_or(created);
    let status = text(properties, "status")
        .and_then(|status| status.parse().ok())
        .unwrap_or(Status::Active);
    let additional = properties.get("additionalData");
    let labels = properties
        .get("labels")
        .and_then(Value::as_array)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|label| text(label, "labelName"))
                .collect()
        })
        .unwrap_or_default();
    Ok(Incident {
        workspace: crate::incident::Workspace::ONLY,
        number,
        id: resource.name.clone(),
        title: text(properties, "title").unwrap_or_default(),
        description: text(properties, "description").unwrap_or_default(),
        severity: text(properties, "severity")
            .and_then(|severity| severity.parse().ok())
            .unwrap_or(Severity::Informational),
        status,
        classification: text(properties, "classification").and_then(|value| value.parse().ok()),
        classification_comment: text(properties, "classificationComment"),
        owner: read_owner(properties.get("owner")),
        tactics: strings(additional.and_then(|data| data.get("tactics")))
            .iter()
            .filter_map(|tactic| tactic.parse().ok())
            .collect(),
        techniques: strings(additional.and_then(|data| data.get("techniques"))),
        alert_products: strings(additional.and_then(|data| data.get("alertProductNames"))),
        alert_ids: Vec::new(),
        labels,
        created,
        first_modified: None,
        first_human_action: None,
        last_modified,
        closed: (status == Status::Closed).then_some(last_modified),
        url: additional
            .and_then(|data| text(data, "providerIncidentUrl"))
            .or_else(|| text(properties, "incidentUrl")),
    })
}

fn read_alert(resource: &Value) -> Alert {
    let empty = Value::Null;
    let properties = resource.get("properties").unwrap_or(&empty);
    Alert {
        id: text(properties, "systemAlertId")
            .or_else(|| text(resource, "name"))
            .unwrap_or_default(),
        name: text(properties, "alertDisplayName").unwrap_or_default(),
        severity: text(properties, "severity")
            .and_then(|severity| severity.parse().ok())
            .unwrap_or(Severity::Informational),
        product: text(properties, "productName").unwrap_or_default(),
        tactics: strings(properties.get("tactics"))
            .iter()
            .filter_map(|tactic| tactic.parse().ok())
            .collect(),
        techniques: strings(properties.get("techniques")),
        entities: Vec::new(),
        created: time(properties, "timeGenerated")
            .or_else(|| time(properties, "startTimeUtc"))
            .unwrap_or(DateTime::UNIX_EPOCH),
    }
}

fn read_entity(resource: &Value) -> Entity {
    let empty = Value::Null;
    let properties = resource.get("properties").unwrap_or(&empty);
    Entity {
        kind: text(resource, "kind").unwrap_or_default(),
        name: text(properties, "friendlyName")
            .or_else(|| text(properties, "hostName"))
            .or_else(|| text(properties, "accountName"))
            .or_else(|| text(properties, "address"))
            .or_else(|| text(properties, "url"))
            .unwrap_or_default(),
    }
}

fn read_comment(resource: &Value) -> Option<Comment> {
    let properties = resource.get("properties")?;
    let author = properties.get("author");
    Some(Comment {
        author: author
            .and_then(|author| {
                text(author, "name")
                    .or_else(|| text(author, "email"))
                    .or_else(|| text(author, "userPrincipalName"))
            })
            .unwrap_or_default(),
        message: text(properties, "message").unwrap_or_default(),
        created: time(properties, "createdTimeUtc")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_sets_classification_reason_and_drops_read_only_fields() {
        let current = json!({
            "title": "t", "severity": "High", "status": "Active", "incidentNumber": 7,
            "additionalData": {"alertsCount": 1}, "createdTimeUtc": "2026-11-20T10:00:00Z"
        });
        let update = IncidentUpdate {
            status: Some(Status::Closed),
            classification: Some(Classification::FalsePositive),
            classification_comment: Some("test rule".into()),
            ..IncidentUpdate::default()
        };
        let written = apply_update(&current, &update);
        assert_eq!(
            written,
            json!({
                "title": "t", "severity": "High", "status": "Closed",
                "classification": "FalsePositive", "classificationReason": "IncorrectAlertLogic",
                "classificationComment": "test rule"
            })
        );
    }

    #[test]
    fn a_rest_incident_maps_to_the_model() {
        let resource: RestIncident = serde_json::from_value(json!({
            "name": "guid-1", "etag": "\"0300bf09-0000-0000-0000-5c37296e0000\"",
            "properties": {
                "incidentNumber": 3, "title": "Brute force", "severity": "Medium", "status": "Closed",
                "classification": "BenignPositive", "createdTimeUtc": "2026-11-20T10:00:00Z",
                "lastModifiedTimeUtc": "2026-11-21T10:00:00Z",
                "owner": {"assignedTo": "Dana", "email": "dana@contoso.com", "objectId": "oid"},
                "labels": [{"labelName": "vip", "labelType": "User"}],
                "additionalData": {"tactics": ["CredentialAccess"], "alertProductNames": ["Azure Sentinel"]}
            }
        }))
        .expect("shape");
        let incident = to_incident(&resource).expect("maps");
        assert_eq!(incident.number, 3);
        assert_eq!(incident.id, "guid-1");
        assert_eq!(incident.status, Status::Closed);
        assert_eq!(
            incident.closed,
            time(&resource.properties, "lastModifiedTimeUtc")
        );
        assert_eq!(incident.owner.name.as_deref(), Some("Dana"));
        assert_eq!(incident.labels, vec!["vip".to_string()]);
        assert_eq!(
            incident.tactics,
            vec![crate::incident::Tactic::CredentialAccess]
        );
    }
}
