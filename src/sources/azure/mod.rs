//! Azure clients: Entra tokens, Log Analytics, Sentinel REST, Microsoft Graph, and
//! `AzureSource`, which puts them behind the `IncidentSource` and `ThreatIntel` traits.

pub mod aggregate;
pub mod datetime;
pub mod graph;
pub mod kql;
pub mod log_analytics;
pub mod retry;
pub mod sentinel;
pub mod token;

use crate::analytics::{CreatedFilter, Summary};
use crate::config::{AzureAuth, AzureConfig, WorkspaceSettings};
use crate::incident::{Incident, IncidentKey, IncidentRef, Tactic, Workspace, collapse};
use crate::period::Window;
use crate::sources::{
    IncidentDetail, IncidentSet, IncidentSource, IncidentUpdate, Intel, IntelAnswers, IntelQuery,
    Located, NewIncident, PeriodAnswer, PeriodPart, RecommendedAction, SourceError, ThreatIntel,
};
use async_trait::async_trait;
use graph::GraphClient;
use log_analytics::LogAnalyticsClient;
pub use retry::RetryPolicy;
use sentinel::SentinelClient;
use std::sync::Arc;
use token::{Credential, TokenProvider};

/// Incidents from Sentinel (Log Analytics for reports, REST for detail and changes) and
/// threat intelligence from Microsoft Graph.
#[derive(Debug)]
pub struct AzureSource {
    log_analytics: LogAnalyticsClient,
    /// The configured workspaces, the main one first (never empty).
    sites: Vec<Site>,
    graph: GraphClient,
    /// Whether the Graph security APIs are used (`azure.use_graph`); group checks are not
    /// gated by it, since they run only when Entra groups are configured.
    graph_security: bool,
    /// `azure.aggregate_above`: incidents created in a period above which it is aggregated
    /// in Log Analytics; 0 never aggregates.
    aggregate_above: u64,
}

/// One configured workspace as the source speaks to it.
#[derive(Debug)]
struct Site {
    /// What its incidents are tagged with: [`Workspace::ONLY`] when it is the only one.
    workspace: Workspace,
    settings: WorkspaceSettings,
    /// Sentinel REST for it; `None` for a workspace configured for queries only.
    sentinel: Option<SentinelClient>,
}

impl Site {
    /// True when `name` (as typed after `@`) is this workspace's short name, resource
    /// name or id, compared without case.
    fn is_called(&self, name: &str) -> bool {
        let settings = &self.settings;
        settings.short_name.eq_ignore_ascii_case(name)
            || settings.id.eq_ignore_ascii_case(name)
            || settings
                .arm
                .as_ref()
                .is_some_and(|arm| arm.workspace_name.eq_ignore_ascii_case(name))
    }
}

/// A partial answer fails (`partial_error` is the service's message): figures from part of
/// the data would be wrong.
fn whole(partial_error: Option<&str>) -> Result<(), SourceError> {
    match partial_error {
        Some(message) => Err(SourceError::Failed {
            system: "Log Analytics",
            reason: format!("the query returned only part of the data: {message}"),
        }),
        None => Ok(()),
    }
}

/// Picks the credential the configuration asks for, or says what is missing.
fn credential(config: &AzureConfig) -> Result<Credential, SourceError> {
    let missing = |what: &str| SourceError::Failed {
        system: "Entra ID",
        reason: format!("the configuration lacks azure.{what}"),
    };
    Ok(match config.auth {
        AzureAuth::ClientSecret => Credential::ClientSecret {
            tenant_id: config.tenant_id.clone(),
            client_id: config
                .client_id
                .clone()
                .ok_or_else(|| missing("client_id"))?,
            secret: config
                .client_secret
                .clone()
                .ok_or_else(|| missing("client_secret"))?,
        },
        AzureAuth::WorkloadIdentity => Credential::WorkloadIdentity {
            tenant_id: config.tenant_id.clone(),
            client_id: config
                .client_id
                .clone()
                .ok_or_else(|| missing("client_id"))?,
            token_file: config
                .federated_token_file
                .clone()
                .ok_or_else(|| missing("federated_token_file"))?,
        },
        AzureAuth::ManagedIdentity => Credential::ManagedIdentity {
            client_id: config.client_id.clone(),
        },
    })
}

impl AzureSource {
    /// Builds the clients from the configuration with the default retry policy.
    pub fn new(config: &AzureConfig, http: reqwest::Client) -> Result<AzureSource, SourceError> {
        AzureSource::with_policy(config, http, RetryPolicy::default())
    }

    /// Builds the clients with a chosen retry policy for every call (tests use tiny delays).
    pub fn with_policy(
        config: &AzureConfig,
        http: reqwest::Client,
        policy: RetryPolicy,
    ) -> Result<AzureSource, SourceError> {
        AzureSource::with_policies(config, http, policy, policy)
    }

    /// Builds the clients with one retry policy for the APIs and another for Entra tokens, so
    /// a test can make an API time out quickly without the token call timing out too.
    pub fn with_policies(
        config: &AzureConfig,
        http: reqwest::Client,
        policy: RetryPolicy,
        token_policy: RetryPolicy,
    ) -> Result<AzureSource, SourceError> {
        let endpoints = &config.endpoints;
        let tokens = Arc::new(TokenProvider::new(
            http.clone(),
            credential(config)?,
            &endpoints.login,
            &endpoints.imds,
            token_policy,
        ));
        let settings = config.workspaces().map_err(|reason| SourceError::Failed {
            system: "Configuration",
            reason,
        })?;
        // With one workspace nothing is named, so single-workspace answers stay as they were.
        let several = settings.len() > 1;
        let sites: Vec<Site> = settings
            .into_iter()
            .map(|settings| {
                let workspace = match several {
                    true => Workspace::named(&settings.short_name),
                    false => Workspace::ONLY,
                };
                let sentinel = settings.arm.as_ref().map(|arm| {
                    SentinelClient::new(
                        http.clone(),
                        tokens.clone(),
                        &endpoints.management,
                        &arm.subscription_id,
                        &arm.resource_group,
                        &arm.workspace_name,
                        policy,
                    )
                    .in_workspace(workspace)
                });
                Site {
                    workspace,
                    settings,
                    sentinel,
                }
            })
            .collect();
        let ids: Vec<(String, Workspace)> = sites
            .iter()
            .map(|site| (site.settings.id.clone(), site.workspace))
            .collect();
        Ok(AzureSource {
            log_analytics: LogAnalyticsClient::new(
                http.clone(),
                tokens.clone(),
                &endpoints.log_analytics,
                &ids,
                policy,
            ),
            sites,
            graph: GraphClient::new(http, tokens, &endpoints.graph, policy),
            graph_security: config.use_graph,
            aggregate_above: config.aggregate_above,
        })
    }

    /// Runs one incident query; a partial answer fails, since a report from part of the data
    /// would show wrong figures. Rows that cannot be read are counted, not failed on.
    async fn read_incidents(
        &self,
        query: &str,
        timespan: &str,
    ) -> Result<IncidentSet, SourceError> {
        let answer = self.log_analytics.query_incidents(query, timespan).await?;
        whole(answer.partial_error.as_deref())?;
        Ok(IncidentSet {
            incidents: collapse(answer.rows),
            skipped: answer.skipped,
        })
    }

    /// How many incidents were created in `window`, estimated by Log Analytics
    /// ([`aggregate::estimate_query`]).
    async fn estimate(&self, window: Window) -> Result<u64, SourceError> {
        let query = aggregate::estimate_query(window);
        let timespan = kql::timespan(window.start, window.end);
        let answer = self.log_analytics.query(&query, &timespan).await?;
        aggregate::read_estimate(&answer)
    }

    /// The figures of the incidents created in `window` that `filter` keeps, computed by Log
    /// Analytics ([`aggregate::summary_query`]); a partial answer fails, as for rows.
    async fn aggregated_summary(
        &self,
        window: Window,
        filter: CreatedFilter,
    ) -> Result<Summary, SourceError> {
        let query = aggregate::summary_query(window, filter);
        let timespan = kql::timespan(kql::lookback_start(window), window.end);
        let answer = self.log_analytics.query(&query, &timespan).await?;
        whole(answer.partial_error.as_deref())?;
        aggregate::read_summary(&answer, window)
    }

    /// The workspace of `workspace`; [`Workspace::ONLY`] is the main one.
    fn site(&self, workspace: Workspace) -> Result<&Site, SourceError> {
        let found = match workspace.is_only() {
            true => self.sites.first(),
            false => self.sites.iter().find(|site| site.workspace == workspace),
        };
        found.ok_or_else(|| self.no_such_workspace(workspace.name().unwrap_or_default()))
    }

    fn no_such_workspace(&self, name: &str) -> SourceError {
        SourceError::NoSuchWorkspace {
            name: name.to_string(),
            known: match self.sites.len() > 1 {
                true => self
                    .sites
                    .iter()
                    .map(|site| site.settings.short_name.clone())
                    .collect(),
                false => Vec::new(),
            },
        }
    }

    /// Sentinel REST for `workspace`, or why the bot cannot open or change its incidents.
    fn sentinel(&self, workspace: Workspace) -> Result<&SentinelClient, SourceError> {
        let site = self.site(workspace)?;
        site.sentinel.as_ref().ok_or_else(|| SourceError::Unavailable {
            system: "Microsoft Sentinel",
            reason: format!(
                "workspace `{}` is configured for queries only (azure.extra_workspace_ids), so its ARM location is not configured and its incidents cannot be opened or changed from chat; list it under [[azure.extra_workspaces]] with its name (and subscription_id and resource_group when they differ from the main workspace's)",
                site.settings.short_name
            ),
        })
    }

    /// The incidents numbered `number` in the workspaces the bot can open, asked of each at
    /// once; not found in one is not an error, any other failure is.
    async fn find_everywhere(&self, number: u64) -> Result<Vec<Incident>, SourceError> {
        let lookups = self
            .sites
            .iter()
            .filter_map(|site| site.sentinel.as_ref())
            .map(|sentinel| async move {
                match sentinel.find(number).await {
                    Ok(found) => sentinel.incident_of(&found).map(Some),
                    Err(SourceError::NotFound(_)) => Ok(None),
                    Err(error) => Err(error),
                }
            });
        let answers = futures::future::join_all(lookups).await;
        let mut found = Vec::new();
        for answer in answers {
            found.extend(answer?);
        }
        Ok(found)
    }

    fn graph(&self) -> Result<&GraphClient, SourceError> {
        if self.graph_security {
            Ok(&self.graph)
        } else {
            Err(SourceError::Unavailable {
                system: "Microsoft Graph",
                reason: "turned off in the configuration (azure.use_graph)".to_string(),
            })
        }
    }

    /// The ids among `group_ids` (Entra group object ids) the Entra user `user_id` belongs to,
    /// through Microsoft Graph.
    pub async fn member_groups(
        &self,
        user_id: &str,
        group_ids: &[String],
    ) -> Result<Vec<String>, SourceError> {
        self.graph.member_groups(user_id, group_ids).await
    }

    /// The Entra ID user whose object id, user principal name or e-mail is `key`, through
    /// Microsoft Graph; `None` when there is none.
    pub async fn entra_user(&self, key: &str) -> Result<Option<graph::EntraUser>, SourceError> {
        self.graph.user(key).await
    }
}

#[async_trait]
impl IncidentSource for AzureSource {
    async fn incidents(&self, window: Window) -> Result<IncidentSet, SourceError> {
        let query = kql::incidents_query(window);
        let timespan = kql::timespan(kql::lookback_start(window), window.end);
        self.read_incidents(&query, &timespan).await
    }

    /// Rows while the estimate of the incidents created in `window` is at most
    /// `azure.aggregate_above` (or when that is 0); above it, the figures aggregated by Log
    /// Analytics and, for [`PeriodPart::WithBacklog`], the open incidents
    /// ([`aggregate::open_query`]), the two queries run together.
    ///
    /// The estimate and the rows are asked for at once, so a period small enough to read
    /// costs no extra round trip: rows that arrive whole are the answer, whatever the
    /// estimate; rows still arriving are dropped (their request cancelled) once the estimate
    /// says the period is too large. A failed estimate leaves the rows as the answer, and
    /// failed rows (such as an answer over the query API's limits) are the error only when
    /// the estimate does not call for aggregation.
    async fn period(
        &self,
        window: Window,
        filter: CreatedFilter,
        part: PeriodPart,
    ) -> Result<PeriodAnswer, SourceError> {
        if self.aggregate_above == 0 {
            return Ok(PeriodAnswer::Rows(self.incidents(window).await?));
        }
        let mut rows = Box::pin(self.incidents(window));
        let mut estimate = Box::pin(self.estimate(window));
        let estimated = tokio::select! {
            estimated = &mut estimate => estimated,
            read = &mut rows => match read {
                Ok(set) => return Ok(PeriodAnswer::Rows(set)),
                Err(error) => match estimate.await {
                    Ok(count) if count > self.aggregate_above => Ok(count),
                    _ => return Err(error),
                },
            },
        };
        match estimated {
            Ok(count) if count > self.aggregate_above => drop(rows),
            Ok(_) => return Ok(PeriodAnswer::Rows(rows.await?)),
            Err(error) => {
                tracing::warn!(%error, "the period's size estimate failed; reading its rows");
                return Ok(PeriodAnswer::Rows(rows.await?));
            }
        }
        let open = async {
            match part {
                PeriodPart::WithBacklog => {
                    let query = aggregate::open_query(window);
                    let timespan = kql::timespan(kql::lookback_start(window), window.end);
                    self.read_incidents(&query, &timespan).await
                }
                PeriodPart::CreatedOnly => Ok(IncidentSet::default()),
            }
        };
        let (created, open) = futures::try_join!(self.aggregated_summary(window, filter), open)?;
        Ok(PeriodAnswer::Aggregated {
            created: Box::new(created),
            open,
        })
    }

    async fn created_in(&self, window: Window) -> Result<Vec<Incident>, SourceError> {
        let query = kql::created_query(window);
        let timespan = kql::timespan(window.start, window.end);
        Ok(self.read_incidents(&query, &timespan).await?.incidents)
    }

    /// A bare number names the main workspace's incident while the bot can open only that
    /// workspace; with several it is looked for in each of them (Sentinel REST), and found in
    /// more than one it is [`Located::Several`]. Workspaces configured for queries only are
    /// not searched: their incidents cannot be opened.
    async fn locate(&self, reference: &IncidentRef) -> Result<Located, SourceError> {
        let number = reference.number;
        if let Some(name) = &reference.workspace {
            let site = self
                .sites
                .iter()
                .find(|site| site.is_called(name))
                .ok_or_else(|| self.no_such_workspace(name))?;
            return Ok(Located::One(IncidentKey {
                workspace: site.workspace,
                number,
            }));
        }
        let openable = self.sites.iter().filter(|it| it.sentinel.is_some()).count();
        if openable <= 1 {
            return Ok(Located::One(IncidentKey::only(number)));
        }
        let mut found = self.find_everywhere(number).await?;
        match found.len() {
            0 => Err(SourceError::NotFound(IncidentKey::only(number))),
            1 => Ok(Located::One(found[0].key())),
            _ => {
                found.sort_by_key(|it| (it.severity, it.workspace));
                Ok(Located::Several(found))
            }
        }
    }

    async fn incident(&self, key: IncidentKey) -> Result<IncidentDetail, SourceError> {
        let sentinel = self.sentinel(key.workspace)?;
        let found = sentinel.find(key.number).await?;
        let mut incident = sentinel.incident_of(&found)?;
        let (alerts, entities, comments) = futures::try_join!(
            sentinel.alerts(&found.name),
            sentinel.entities(&found.name),
            sentinel.comments(&found.name),
        )?;
        let mut alerts = alerts;
        // The entities API answers per incident, not per alert; the first alert carries them.
        if let Some(first) = alerts.first_mut() {
            first.entities = entities;
        }
        incident.alert_ids = alerts.iter().map(|alert| alert.id.clone()).collect();
        Ok(IncidentDetail {
            incident,
            alerts,
            comments,
            etag: found.etag,
        })
    }

    async fn current(&self, key: IncidentKey) -> Result<(Incident, Option<String>), SourceError> {
        let sentinel = self.sentinel(key.workspace)?;
        let found = sentinel.find(key.number).await?;
        Ok((sentinel.incident_of(&found)?, found.etag))
    }

    async fn add_comment(&self, key: IncidentKey, message: &str) -> Result<(), SourceError> {
        let sentinel = self.sentinel(key.workspace)?;
        let found = sentinel.find(key.number).await?;
        sentinel.add_comment(&found.name, message).await
    }

    async fn update(
        &self,
        key: IncidentKey,
        update: &IncidentUpdate,
        etag: Option<&str>,
    ) -> Result<Incident, SourceError> {
        self.sentinel(key.workspace)?
            .update(key.number, update, etag)
            .await
    }

    /// New incidents go to the main workspace.
    async fn create(&self, incident: &NewIncident) -> Result<Incident, SourceError> {
        self.sentinel(Workspace::ONLY)?.create(incident).await
    }
}

#[async_trait]
impl ThreatIntel for AzureSource {
    async fn recommended_actions(
        &self,
        incident: &Incident,
    ) -> Result<Vec<RecommendedAction>, SourceError> {
        self.graph()?.recommended_actions(incident).await
    }

    async fn tactic_intel(
        &self,
        tactic: Tactic,
        techniques: &[String],
    ) -> Result<Vec<Intel>, SourceError> {
        self.graph()?.tactic_intel(tactic, techniques).await
    }

    async fn look_up(&self, query: &IntelQuery<'_>) -> IntelAnswers {
        match self.graph() {
            Ok(graph) => graph.look_up(query).await,
            Err(error) => IntelAnswers {
                actions: vec![Err(error.clone()); query.incidents.len()],
                intel: vec![Err(error); query.tactics.len()],
            },
        }
    }
}
