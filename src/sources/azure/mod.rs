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

use crate::config::{AzureAuth, AzureConfig};
use crate::incident::{Incident, Tactic, collapse};
use crate::period::Window;
use crate::sources::{
    IncidentDetail, IncidentSet, IncidentSource, IncidentUpdate, Intel, IntelAnswers, IntelQuery,
    NewIncident, RecommendedAction, SourceError, ThreatIntel,
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
    sentinel: SentinelClient,
    graph: GraphClient,
    /// Whether the Graph security APIs are used (`azure.use_graph`); group checks are not
    /// gated by it, since they run only when Entra groups are configured.
    graph_security: bool,
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
        Ok(AzureSource {
            log_analytics: LogAnalyticsClient::new(
                http.clone(),
                tokens.clone(),
                &endpoints.log_analytics,
                &config.workspace_id,
                &config.extra_workspace_ids,
                policy,
            ),
            sentinel: SentinelClient::new(
                http.clone(),
                tokens.clone(),
                &endpoints.management,
                &config.subscription_id,
                &config.resource_group,
                &config.workspace_name,
                policy,
            ),
            graph: GraphClient::new(http, tokens, &endpoints.graph, policy),
            graph_security: config.use_graph,
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
        if let Some(message) = answer.partial_error {
            return Err(SourceError::Failed {
                system: "Log Analytics",
                reason: format!("the query returned only part of the data: {message}"),
            });
        }
        Ok(IncidentSet {
            incidents: collapse(answer.rows),
            skipped: answer.skipped,
        })
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

    async fn created_in(&self, window: Window) -> Result<Vec<Incident>, SourceError> {
        let query = kql::created_query(window);
        let timespan = kql::timespan(window.start, window.end);
        Ok(self.read_incidents(&query, &timespan).await?.incidents)
    }

    async fn incident(&self, number: u64) -> Result<IncidentDetail, SourceError> {
        let found = self.sentinel.find(number).await?;
        let mut incident = sentinel::to_incident(&found)?;
        let (alerts, entities, comments) = futures::try_join!(
            self.sentinel.alerts(&found.name),
            self.sentinel.entities(&found.name),
            self.sentinel.comments(&found.name),
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

    async fn current(&self, number: u64) -> Result<(Incident, Option<String>), SourceError> {
        let found = self.sentinel.find(number).await?;
        Ok((sentinel::to_incident(&found)?, found.etag))
    }

    async fn add_comment(&self, number: u64, message: &str) -> Result<(), SourceError> {
        let found = self.sentinel.find(number).await?;
        self.sentinel.add_comment(&found.name, message).await
    }

    async fn update(
        &self,
        number: u64,
        update: &IncidentUpdate,
        etag: Option<&str>,
    ) -> Result<Incident, SourceError> {
        self.sentinel.update(number, update, etag).await
    }

    async fn create(&self, incident: &NewIncident) -> Result<Incident, SourceError> {
        self.sentinel.create(incident).await
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
