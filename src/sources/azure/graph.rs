//! Microsoft Graph: Defender XDR recommended actions for an incident's alerts, Defender
//! Threat Intelligence articles about a tactic or technique (looked up together, batched),
//! a user's membership of Entra groups, and Entra users by UPN, e-mail or object id. A
//! missing licence or permission is reported as `SourceError::Unavailable`.

mod batch;

use super::retry::{self, RetryPolicy};
use super::token::TokenProvider;
use crate::html_text;
use crate::incident::{Incident, Tactic};
use crate::sources::{Intel, IntelAnswers, IntelQuery, RecommendedAction, SourceError};
use crate::upstream::Upstream;
use batch::{Answer, Get};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

const UPSTREAM: Upstream = Upstream::Graph;
const SYSTEM: &str = UPSTREAM.name();

/// Most alerts looked up one by one for an incident without a Defender incident link.
const MAX_ALERT_LOOKUPS: usize = 20;

/// Most threat intelligence articles returned per call.
const MAX_ARTICLES: usize = 5;

/// Most group ids one checkMemberGroups request may carry (Graph's own limit).
const GROUPS_PER_CHECK: usize = 20;

/// Reads Graph security APIs.
#[derive(Debug)]
pub struct GraphClient {
    http: reqwest::Client,
    tokens: Arc<TokenProvider>,
    endpoint: String,
    policy: RetryPolicy,
}

#[derive(Deserialize)]
struct List {
    #[serde(default)]
    value: Vec<Value>,
}

/// An Entra ID user: the fields Sentinel's owner needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntraUser {
    /// The object id.
    pub id: String,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub user_principal_name: Option<String>,
}

/// The user fields asked for.
const USER_FIELDS: &str = "id,displayName,mail,userPrincipalName";

/// checkMemberGroups' answer: the requested group ids the user is a member of.
#[derive(Deserialize)]
struct GroupIds {
    #[serde(default)]
    value: Vec<String>,
}

impl GraphClient {
    /// A client for `endpoint` (e.g. `https://graph.microsoft.com`).
    pub fn new(
        http: reqwest::Client,
        tokens: Arc<TokenProvider>,
        endpoint: &str,
        policy: RetryPolicy,
    ) -> GraphClient {
        GraphClient {
            http,
            tokens,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            policy,
        }
    }

    /// Sends `method` to `path` under `/v1.0` with `query` and an optional JSON `body`;
    /// `Ok(None)` for 404, `Unavailable` for 401/403.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Option<Value>, SourceError> {
        let url = format!("{}/v1.0{path}", self.endpoint);
        let response = self
            .tokens
            .send_authorized(UPSTREAM, &self.policy, &self.scope(), |token| {
                let request = self
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(token)
                    .query(query);
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await?;
        read_answer(response).await
    }

    /// The ids among `group_ids` (Entra group object ids) that the user with Entra object id
    /// `user_id` is a member of, directly or through nested groups. An unknown user is a
    /// member of nothing. Needs the GroupMember.Read.All and User.Read.All permissions.
    pub async fn member_groups(
        &self,
        user_id: &str,
        group_ids: &[String],
    ) -> Result<Vec<String>, SourceError> {
        let path = format!("/users/{}/checkMemberGroups", urlencoding::encode(user_id));
        let mut found = Vec::new();
        for chunk in group_ids.chunks(GROUPS_PER_CHECK) {
            let Some(answer) = self
                .call(
                    Method::POST,
                    &path,
                    &[],
                    Some(&json!({ "groupIds": chunk })),
                )
                .await?
            else {
                return Ok(Vec::new());
            };
            let answer: GroupIds =
                serde_json::from_value(answer).map_err(|error| SourceError::Failed {
                    system: SYSTEM,
                    reason: format!(
                        "the checkMemberGroups answer is not the expected JSON: {error}"
                    ),
                })?;
            found.extend(answer.value);
        }
        Ok(found)
    }

    /// The Entra ID user whose object id or user principal name is `key` (`GET /users/{key}`),
    /// else, for an e-mail, whose `mail` is `key` (`GET /users?$filter=mail eq '...'`, since
    /// an e-mail need not be the UPN). `None` when neither finds one. Needs User.Read.All.
    pub async fn user(&self, key: &str) -> Result<Option<EntraUser>, SourceError> {
        let select = [("$select", USER_FIELDS)];
        let path = format!("/users/{}", urlencoding::encode(key));
        if let Some(found) = self.call(Method::GET, &path, &select, None).await? {
            return read_user(found).map(Some);
        }
        if !key.contains('@') {
            return Ok(None);
        }
        // OData string literals escape a quote by doubling it.
        let filter = format!("mail eq '{}'", key.replace('\'', "''"));
        let Some(list) = self
            .call(
                Method::GET,
                "/users",
                &[("$filter", filter.as_str()), ("$select", USER_FIELDS)],
                None,
            )
            .await?
        else {
            return Ok(None);
        };
        let list: List =
            serde_json::from_value(list).map_err(|error| unreadable("users", error))?;
        list.value.into_iter().next().map(read_user).transpose()
    }

    /// Defender XDR's recommended actions for the incident, one entry per distinct action;
    /// see [`GraphClient::look_up`].
    pub async fn recommended_actions(
        &self,
        incident: &Incident,
    ) -> Result<Vec<RecommendedAction>, SourceError> {
        let query = IntelQuery {
            incidents: vec![incident],
            tactics: Vec::new(),
        };
        let mut answers = self.look_up(&query).await;
        answers.actions.pop().unwrap_or(Ok(Vec::new()))
    }

    /// Defender Threat Intelligence articles about the techniques seen, or else the tactic;
    /// see [`GraphClient::look_up`].
    pub async fn tactic_intel(
        &self,
        tactic: Tactic,
        techniques: &[String],
    ) -> Result<Vec<Intel>, SourceError> {
        let query = IntelQuery {
            incidents: Vec::new(),
            tactics: vec![(tactic, techniques.to_vec())],
        };
        let mut answers = self.look_up(&query).await;
        answers.intel.pop().unwrap_or(Ok(Vec::new()))
    }

    /// Everything `query` asks for, in as few calls as Graph allows: the requests of all its
    /// incidents and tactics are deduplicated and sent together in `$batch` calls.
    ///
    /// Recommended actions come from the Defender incident (with its alerts) when the incident
    /// links to one, else from its alerts one by one (a second round, also for linked
    /// incidents Defender does not know); alerts Defender does not know are skipped.
    /// Threat intelligence comes from article searches, one term each: a validated technique id
    /// (up to three) and the tactic's id, articles kept in that order, up to five per tactic.
    pub async fn look_up(&self, query: &IntelQuery<'_>) -> IntelAnswers {
        let plans: Vec<ActionPlan> = query.incidents.iter().map(|it| plan(it)).collect();
        let searches: Vec<Vec<Get>> = query
            .tactics
            .iter()
            .map(|(tactic, techniques)| searches(tactic, techniques))
            .collect();
        let first_round: Vec<Get> = plans
            .iter()
            .flat_map(ActionPlan::first_round)
            .chain(searches.iter().flatten().cloned())
            .collect();
        let mut answers = self.get_all(&first_round).await;
        let second_round: Vec<Get> = plans
            .iter()
            .filter(|plan| plan.needs_alerts(&answers))
            .flat_map(|plan| plan.alerts.iter().cloned())
            .collect();
        if !second_round.is_empty() {
            answers.extend(self.get_all(&second_round).await);
        }
        IntelAnswers {
            actions: plans.iter().map(|plan| plan.actions(&answers)).collect(),
            intel: searches
                .iter()
                .map(|terms| read_articles(terms, &answers))
                .collect(),
        }
    }

    fn scope(&self) -> String {
        format!("{}/.default", self.endpoint)
    }
}

/// The Graph requests behind one incident's recommended actions.
struct ActionPlan {
    /// The linked Defender incident with its alerts, if the incident links to one.
    defender_incident: Option<Get>,
    /// The incident's alerts, one request each.
    alerts: Vec<Get>,
}

fn plan(incident: &Incident) -> ActionPlan {
    ActionPlan {
        defender_incident: incident
            .url
            .as_deref()
            .and_then(defender_incident_id)
            .map(|id| {
                Get::new(
                    format!("/security/incidents/{id}"),
                    vec![("$expand", "alerts".to_string())],
                )
            }),
        alerts: incident
            .alert_ids
            .iter()
            .take(MAX_ALERT_LOOKUPS)
            .map(|id| {
                Get::new(
                    format!("/security/alerts_v2/{}", urlencoding::encode(id)),
                    Vec::new(),
                )
            })
            .collect(),
    }
}

impl ActionPlan {
    fn first_round(&self) -> Vec<Get> {
        match &self.defender_incident {
            Some(request) => vec![request.clone()],
            None => self.alerts.clone(),
        }
    }

    /// True when the linked Defender incident is unknown, so its alerts are asked one by one.
    fn needs_alerts(&self, answers: &HashMap<Get, Answer>) -> bool {
        self.defender_incident
            .as_ref()
            .is_some_and(|request| matches!(answers.get(request), Some(Ok(None))))
    }

    fn actions(
        &self,
        answers: &HashMap<Get, Answer>,
    ) -> Result<Vec<RecommendedAction>, SourceError> {
        let mut actions = Vec::new();
        if let Some(request) = &self.defender_incident
            && let Some(found) = answer(answers, request)?
        {
            let alerts = found.get("alerts").and_then(Value::as_array);
            for alert in alerts.into_iter().flatten() {
                push_actions(&mut actions, alert);
            }
            return Ok(actions);
        }
        for request in &self.alerts {
            if let Some(alert) = answer(answers, request)? {
                push_actions(&mut actions, alert);
            }
        }
        Ok(actions)
    }
}

/// The answer to `request`; one that was never asked counts as not found.
fn answer<'a>(
    answers: &'a HashMap<Get, Answer>,
    request: &Get,
) -> Result<Option<&'a Value>, SourceError> {
    match answers.get(request) {
        Some(Ok(found)) => Ok(found.as_ref()),
        Some(Err(error)) => Err(error.clone()),
        None => Ok(None),
    }
}

/// The article searches for a tactic: validated technique ids (up to three), then the tactic's
/// ATT&CK id when it has one (never a name, which may be a rule author's text).
fn searches(tactic: &Tactic, techniques: &[String]) -> Vec<Get> {
    techniques
        .iter()
        .filter(|technique| is_technique_id(technique))
        .map(String::as_str)
        .take(3)
        .chain(tactic.id())
        .map(|term| {
            Get::new(
                "/security/threatIntelligence/articles".to_string(),
                vec![
                    ("$search", format!("\"{term}\"")),
                    ("$top", MAX_ARTICLES.to_string()),
                ],
            )
        })
        .collect()
}

fn read_articles(terms: &[Get], answers: &HashMap<Get, Answer>) -> Result<Vec<Intel>, SourceError> {
    let mut found: Vec<Intel> = Vec::new();
    for request in terms {
        let Some(list) = answer(answers, request)? else {
            continue;
        };
        let list: List =
            serde_json::from_value(list.clone()).map_err(|error| SourceError::Failed {
                system: SYSTEM,
                reason: format!("the articles answer is not the expected JSON: {error}"),
            })?;
        for article in &list.value {
            let intel = read_article(article);
            if !found.iter().any(|seen| seen.title == intel.title) {
                found.push(intel);
            }
        }
    }
    found.truncate(MAX_ARTICLES);
    Ok(found)
}

/// A Graph answer: `Ok(None)` for 404, `Unavailable` for 401/403, else the JSON body.
async fn read_answer(response: reqwest::Response) -> Result<Option<Value>, SourceError> {
    match response.status() {
        StatusCode::NOT_FOUND => Ok(None),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(SourceError::Unavailable {
            system: SYSTEM,
            reason: format!(
                "no licence or permission ({})",
                retry::error_message(response).await
            ),
        }),
        _ => retry::read_json(SYSTEM, response).await.map(Some),
    }
}

fn read_user(value: Value) -> Result<EntraUser, SourceError> {
    serde_json::from_value(value).map_err(|error| unreadable("user", error))
}

fn unreadable(what: &str, error: serde_json::Error) -> SourceError {
    SourceError::Failed {
        system: SYSTEM,
        reason: format!("the {what} answer is not the expected JSON: {error}"),
    }
}

/// Adds an alert's `recommendedActions` (one string, often several lines of steps, sometimes
/// HTML) with the devices in its evidence; a text already listed gains the devices instead.
fn push_actions(actions: &mut Vec<RecommendedAction>, alert: &Value) {
    let Some(text) = alert.get("recommendedActions").and_then(Value::as_str) else {
        return;
    };
    let text = html_text::to_text(text);
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    let index = match actions.iter().position(|seen| seen.text == text) {
        Some(index) => index,
        None => {
            actions.push(RecommendedAction::new(text));
            actions.len() - 1
        }
    };
    for device in alert_devices(alert) {
        if !actions[index].devices.contains(&device) {
            actions[index].devices.push(device);
        }
    }
}

/// Host names of an alert's device evidence (`#microsoft.graph.security.deviceEvidence`,
/// `deviceDnsName`).
fn alert_devices(alert: &Value) -> Vec<String> {
    let evidence = alert.get("evidence").and_then(Value::as_array);
    evidence
        .into_iter()
        .flatten()
        .filter(|item| {
            item.get("@odata.type")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.ends_with(".deviceEvidence"))
        })
        .filter_map(|item| item.get("deviceDnsName").and_then(Value::as_str))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// The numeric Defender incident id in a `security.microsoft.com/incidents/{id}` link.
fn defender_incident_id(url: &str) -> Option<&str> {
    let rest = url.split_once("security.microsoft.com/incidents/")?.1;
    let id = rest.split(['?', '/', '#']).next()?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then_some(id)
}

/// `T1566` or `T1566.001`: the only technique text allowed into a search.
fn is_technique_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
    match bytes {
        [b'T', main @ ..] if main.len() == 4 => digits(main),
        [b'T', main @ ..] if main.len() == 8 && main[4] == b'.' => {
            digits(&main[..4]) && digits(&main[5..])
        }
        _ => false,
    }
}

fn read_article(article: &Value) -> Intel {
    let text = |name: &str| {
        article
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    // The summary is formatted content, usually HTML.
    let summary = article
        .get("summary")
        .and_then(|summary| summary.get("content"))
        .and_then(Value::as_str)
        .map(|content| html_text::to_text(content).trim().to_string())
        .unwrap_or_default();
    let id = text("id");
    Intel {
        title: text("title"),
        summary,
        url: (!id.is_empty()).then(|| {
            format!(
                "https://ti.defender.microsoft.com/articles/{}",
                urlencoding::encode(&id)
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technique_ids_are_validated() {
        assert!(is_technique_id("T1566"));
        assert!(is_technique_id("T1566.001"));
        assert!(!is_technique_id("T156"));
        assert!(!is_technique_id("T1566\" OR x"));
        assert!(!is_technique_id("T1566.01"));
    }

    #[test]
    fn article_searches_use_ids_never_a_tactic_name() {
        let terms = |tactic: &Tactic, techniques: &[&str]| -> Vec<String> {
            let techniques: Vec<String> = techniques.iter().map(|it| it.to_string()).collect();
            searches(tactic, &techniques)
                .into_iter()
                .map(|get| get.query[0].1.clone())
                .collect()
        };
        assert_eq!(
            terms(&Tactic::ImpairProcessControl, &["T0855"]),
            vec!["\"T0855\"", "\"TA0106\""]
        );
        // PreAttack has no ATT&CK id and an other name is a rule author's text: only the
        // techniques are searched.
        assert_eq!(terms(&Tactic::PreAttack, &["T1595"]), vec!["\"T1595\""]);
        assert!(terms(&Tactic::Other("\" OR x".into()), &[]).is_empty());
    }

    #[test]
    fn defender_links_yield_the_incident_id() {
        assert_eq!(
            defender_incident_id("https://security.microsoft.com/incidents/1234?tid=abc"),
            Some("1234")
        );
        assert_eq!(
            defender_incident_id("https://portal.azure.com/#asset/x"),
            None
        );
        assert_eq!(
            defender_incident_id("https://security.microsoft.com/incidents/12a"),
            None
        );
    }
}
