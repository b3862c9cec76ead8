//! The Microsoft Sentinel incidents REST client (Microsoft.SecurityInsights): read an
//! incident with its alerts, entities and comments, comment, update with an etag, create.

use super::log_analytics::read_owner;
use super::retry::{self, RetryPolicy};
use super::token::TokenProvider;
use crate::html_text;
use crate::incident::{ArcStr, Incident, IncidentKey, Owner, Severity, Status, Workspace};
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

/// The incident properties a PUT carries: those Microsoft.SecurityInsights stable
/// 2024-09-01 (`Incidents.json`, `IncidentProperties`) does not mark `readOnly`. The rest
/// (`incidentNumber`, `createdTimeUtc`, `lastModifiedTimeUtc`, `incidentUrl`, `providerName`,
/// `providerIncidentId`, `relatedAnalyticRuleIds`, `additionalData`, and whatever a later
/// api-version adds to the GET answer) is the service's to compute and is never sent back.
pub const WRITABLE: [&str; 11] = [
    "title",
    "description",
    "severity",
    "status",
    "classification",
    "classificationReason",
    "classificationComment",
    "owner",
    "labels",
    "firstActivityTimeUtc",
    "lastActivityTimeUtc",
];

/// The writable fields of an owner (`IncidentOwnerInfo`: all of them).
const WRITABLE_OWNER: [&str; 5] = [
    "objectId",
    "email",
    "assignedTo",
    "userPrincipalName",
    "ownerType",
];

/// The writable field of a label (`IncidentLabel`; `labelType` is read-only).
const WRITABLE_LABEL: [&str; 1] = ["labelName"];

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

/// The properties a PUT writes: the writable ones ([`WRITABLE`]) of `current` (a PUT
/// replaces the incident, so what is not sent is lost), with `update` applied. Closing
/// writes the update's reason, or the classification's default
/// ([`crate::incident::Classification::default_reason`]), and none for `Undetermined`.
pub fn apply_update(current: &Value, update: &IncidentUpdate) -> Value {
    let mut properties = writable(current, &WRITABLE);
    if let Some(owner) = properties.get_mut("owner") {
        *owner = Value::Object(writable(owner, &WRITABLE_OWNER));
    }
    if let Some(Value::Array(labels)) = properties.get_mut("labels") {
        for label in labels.iter_mut() {
            *label = Value::Object(writable(label, &WRITABLE_LABEL));
        }
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
            .or(classification.default_reason());
        match reason {
            Some(reason) => {
                properties.insert("classificationReason".into(), json!(reason.as_str()))
            }
            None => properties.remove("classificationReason"),
        };
    }
    if let Some(comment) = &update.classification_comment {
        properties.insert("classificationComment".into(), json!(comment));
    }
    Value::Object(properties)
}

/// The members of the object `value` named in `names`; empty when it is not an object.
fn writable(value: &Value, names: &[&str]) -> serde_json::Map<String, Value> {
    let Value::Object(map) = value else {
        return serde_json::Map::new();
    };
    map.iter()
        .filter(|(name, _)| names.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

fn text(value: &Value, name: &str) -> Option<String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}

/// A time property, in any form [`super::datetime::parse`] accepts.
fn time(value: &Value, name: &str) -> Option<DateTime<Utc>> {
    super::datetime::parse(value.get(name)?.as_str()?)
}

fn strings(value: Option<&Value>) -> Vec<ArcStr> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(ArcStr::from)
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
                .map(ArcStr::from)
                .collect()
        })
        .unwrap_or_default();
    Ok(Incident {
        workspace: crate::incident::Workspace::ONLY,
        number,
        id: resource.name.clone(),
        title: text(properties, "title").unwrap_or_default().into(),
        description: text(properties, "description")
            .map(html_text::into_text)
            .unwrap_or_default()
            .into(),
        severity: text(properties, "severity")
            .and_then(|severity| severity.parse().ok())
            .unwrap_or(Severity::Informational),
        status,
        classification: text(properties, "classification").and_then(|value| value.parse().ok()),
        classification_comment: text(properties, "classificationComment").map(ArcStr::from),
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
        techniques: strings(properties.get("techniques"))
            .iter()
            .map(ArcStr::to_string)
            .collect(),
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
        // Comments are HTML: the portal's editor and playbooks (and the bot's triage) write it.
        message: text(properties, "message")
            .map(html_text::into_text)
            .unwrap_or_default(),
        created: time(properties, "createdTimeUtc")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{Classification, ClassificationReason};

    /// The properties of the stable spec's `GetIncidentById` example (2024-09-01), with a
    /// label as the service returns it.
    fn spec_example_properties() -> Value {
        json!({
            "lastModifiedTimeUtc": "2019-01-01T13:15:30Z",
            "createdTimeUtc": "2019-01-01T13:15:30Z",
            "lastActivityTimeUtc": "2019-01-01T13:05:30Z",
            "firstActivityTimeUtc": "2019-01-01T13:00:30Z",
            "description": "This is a demo incident",
            "title": "My incident",
            "owner": {
                "objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70",
                "email": "john.doe@contoso.com",
                "userPrincipalName": "john@contoso.com",
                "assignedTo": "john doe"
            },
            "severity": "High",
            "status": "Active",
            "incidentUrl": "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5",
            "incidentNumber": 3177,
            "labels": [{"labelName": "vip", "labelType": "User"}],
            "providerName": "Azure Sentinel",
            "providerIncidentId": "3177",
            "relatedAnalyticRuleIds": [
                "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/alertRules/fab3d2d4-747f-46a7-8ef0-9c0be8112bf7"
            ],
            "additionalData": {
                "alertsCount": 0, "bookmarksCount": 0, "commentsCount": 3,
                "alertProductNames": [], "tactics": ["InitialAccess", "Persistence"]
            }
        })
    }

    #[test]
    fn closing_writes_only_writable_properties_with_the_reason() {
        let update = IncidentUpdate {
            status: Some(Status::Closed),
            classification: Some(Classification::FalsePositive),
            classification_comment: Some("test rule".into()),
            ..IncidentUpdate::default()
        };
        let written = apply_update(&spec_example_properties(), &update);
        assert_eq!(
            written,
            json!({
                "title": "My incident", "description": "This is a demo incident",
                "severity": "High", "status": "Closed",
                "classification": "FalsePositive", "classificationReason": "IncorrectAlertLogic",
                "classificationComment": "test rule",
                "owner": {
                    "objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70",
                    "email": "john.doe@contoso.com",
                    "userPrincipalName": "john@contoso.com",
                    "assignedTo": "john doe"
                },
                "labels": [{"labelName": "vip"}],
                "firstActivityTimeUtc": "2019-01-01T13:00:30Z",
                "lastActivityTimeUtc": "2019-01-01T13:05:30Z"
            })
        );
    }

    #[test]
    fn undetermined_drops_the_previous_reason_and_a_given_reason_wins() {
        let mut current = spec_example_properties();
        current["classificationReason"] = json!("InaccurateData");
        let undetermined = IncidentUpdate {
            status: Some(Status::Closed),
            classification: Some(Classification::Undetermined),
            ..IncidentUpdate::default()
        };
        let written = apply_update(&current, &undetermined);
        assert_eq!(written["classification"], "Undetermined");
        assert!(written.get("classificationReason").is_none(), "{written}");
        let inaccurate = IncidentUpdate {
            classification: Some(Classification::FalsePositive),
            classification_reason: Some(ClassificationReason::InaccurateData),
            ..undetermined
        };
        assert_eq!(
            apply_update(&current, &inaccurate)["classificationReason"],
            "InaccurateData"
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

    #[test]
    fn rest_times_in_ticks_precision_or_without_a_zone_are_read_as_utc() {
        let resource: RestIncident = serde_json::from_value(json!({
            "name": "guid-4",
            "properties": {
                "incidentNumber": 4, "title": "t", "severity": "Low", "status": "Active",
                "createdTimeUtc": "2026-11-20T10:00:00.1234567",
                "lastModifiedTimeUtc": "2026-11-20 11:00:00.5+01:00"
            }
        }))
        .expect("shape");
        let incident = to_incident(&resource).expect("a zoneless createdTimeUtc is readable");
        assert_eq!(
            incident.created.to_rfc3339(),
            "2026-11-20T10:00:00.123456700+00:00"
        );
        assert_eq!(
            incident.last_modified.to_rfc3339(),
            "2026-11-20T10:00:00.500+00:00"
        );
    }
}
