//! Entra ID access tokens: client secret, workload identity (federated token file) and
//! managed identity (IMDS). Tokens are cached per scope, refreshed five minutes before
//! they expire, and concurrent callers of one scope share a single refresh.

use super::retry::{self, RetryPolicy};
use crate::sources::SourceError;
use crate::upstream::Upstream;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const UPSTREAM: Upstream = Upstream::EntraToken;
const SYSTEM: &str = UPSTREAM.name();

/// Tokens this close to expiry are replaced before use.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How the bot proves who it is.
pub enum Credential {
    /// App registration with a client secret.
    ClientSecret {
        tenant_id: String,
        client_id: String,
        secret: SecretString,
    },
    /// Kubernetes workload identity: a federated token file read on every refresh
    /// (the kubelet rotates it).
    WorkloadIdentity {
        tenant_id: String,
        client_id: String,
        token_file: String,
    },
    /// Managed identity through IMDS; `client_id` picks a user-assigned identity.
    ManagedIdentity { client_id: Option<String> },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret; the kind and ids are enough to debug configuration.
        match self {
            Credential::ClientSecret { client_id, .. } => {
                write!(
                    f,
                    "ClientSecret {{ client_id: {client_id}, secret: [redacted] }}"
                )
            }
            Credential::WorkloadIdentity {
                client_id,
                token_file,
                ..
            } => write!(
                f,
                "WorkloadIdentity {{ client_id: {client_id}, token_file: {token_file} }}"
            ),
            Credential::ManagedIdentity { client_id } => {
                write!(f, "ManagedIdentity {{ client_id: {client_id:?} }}")
            }
        }
    }
}

#[derive(Clone)]
struct CachedToken {
    value: SecretString,
    fresh_until: Instant,
}

/// Hands out bearer tokens per scope, e.g. `https://api.loganalytics.io/.default`.
pub struct TokenProvider {
    http: reqwest::Client,
    credential: Credential,
    login_url: String,
    imds_url: String,
    policy: RetryPolicy,
    /// One slot per scope; the async lock on a slot is what makes concurrent callers share a refresh.
    slots: SyncMutex<HashMap<String, Arc<Mutex<Option<CachedToken>>>>>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProvider")
            .field("credential", &self.credential)
            .field("login_url", &self.login_url)
            .finish_non_exhaustive()
    }
}

/// The token endpoints' answer. Entra sends `expires_in` as a number, IMDS as a string.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: NumberOrText,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(u64),
    Text(String),
}

impl NumberOrText {
    fn seconds(&self) -> Option<u64> {
        match self {
            NumberOrText::Number(seconds) => Some(*seconds),
            NumberOrText::Text(text) => text.trim().parse().ok(),
        }
    }
}

impl TokenProvider {
    /// A provider that asks `login_url` (Entra) or `imds_url` (managed identity) for tokens.
    pub fn new(
        http: reqwest::Client,
        credential: Credential,
        login_url: &str,
        imds_url: &str,
        policy: RetryPolicy,
    ) -> TokenProvider {
        TokenProvider {
            http,
            credential,
            login_url: login_url.trim_end_matches('/').to_string(),
            imds_url: imds_url.trim_end_matches('/').to_string(),
            policy,
            slots: SyncMutex::new(HashMap::new()),
        }
    }

    /// A valid token for `scope`, from the cache when it is fresh.
    pub async fn token(&self, scope: &str) -> Result<SecretString, SourceError> {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slots.entry(scope.to_string()).or_default().clone()
        };
        // Holding the slot's lock across the fetch means callers arriving during a refresh
        // wait for it and then find the new token, instead of each fetching their own.
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.fresh_until
        {
            return Ok(token.value.clone());
        }
        let token = self.fetch(scope).await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Drops the cached token of `scope` if it is still `stale`, so the next [`token`] call
    /// fetches a fresh one. A token another caller already replaced is left alone.
    ///
    /// [`token`]: TokenProvider::token
    pub async fn forget(&self, scope: &str, stale: &SecretString) {
        let slot = {
            let slots = self
                .slots
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slots.get(scope).cloned()
        };
        let Some(slot) = slot else {
            return;
        };
        let mut cached = slot.lock().await;
        if cached
            .as_ref()
            .is_some_and(|token| token.value.expose_secret() == stale.expose_secret())
        {
            *cached = None;
        }
    }

    /// Sends a request with a bearer token for `scope` through [`retry::send`]. A 401 means
    /// the cached token was revoked or has expired early (a key rollover, a changed role):
    /// the token is dropped and the request is sent once more with a fresh one. A second
    /// 401 is returned to the caller as it came.
    pub async fn send_authorized(
        &self,
        upstream: Upstream,
        policy: &RetryPolicy,
        scope: &str,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SourceError> {
        let token = self.token(scope).await?;
        let response = retry::send(upstream, policy, || build(token.expose_secret())).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        tracing::info!(
            system = upstream.name(),
            "401: dropping the cached token and retrying once with a fresh one"
        );
        self.forget(scope, &token).await;
        let fresh = self.token(scope).await?;
        retry::send(upstream, policy, || build(fresh.expose_secret())).await
    }

    async fn fetch(&self, scope: &str) -> Result<CachedToken, SourceError> {
        let requested_at = Instant::now();
        let response = match &self.credential {
            Credential::ClientSecret {
                tenant_id,
                client_id,
                secret,
            } => {
                let url = self.entra_url(tenant_id);
                retry::send(UPSTREAM, &self.policy, || {
                    self.http.post(&url).form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id.as_str()),
                        ("client_secret", secret.expose_secret()),
                        ("scope", scope),
                    ])
                })
                .await?
            }
            Credential::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => {
                let assertion = tokio::fs::read_to_string(token_file)
                    .await
                    .map_err(|error| SourceError::Failed {
                        system: SYSTEM,
                        reason: format!(
                            "cannot read the federated token file {token_file}: {error}"
                        ),
                    })?;
                let assertion = assertion.trim().to_string();
                let url = self.entra_url(tenant_id);
                retry::send(UPSTREAM, &self.policy, || {
                    self.http.post(&url).form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id.as_str()),
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        ),
                        ("client_assertion", assertion.as_str()),
                        ("scope", scope),
                    ])
                })
                .await?
            }
            Credential::ManagedIdentity { client_id } => {
                let url = format!("{}/metadata/identity/oauth2/token", self.imds_url);
                // IMDS speaks v1 resources, not v2 scopes.
                let resource = scope.strip_suffix("/.default").unwrap_or(scope);
                retry::send(UPSTREAM, &self.policy, || {
                    let mut query = vec![("api-version", "2018-02-01"), ("resource", resource)];
                    if let Some(client_id) = client_id {
                        query.push(("client_id", client_id.as_str()));
                    }
                    self.http.get(&url).header("Metadata", "true").query(&query)
                })
                .await?
            }
        };
        let body: TokenResponse = retry::read_json(SYSTEM, response).await?;
        let lifetime = body
            .expires_in
            .seconds()
            .ok_or_else(|| SourceError::Failed {
                system: SYSTEM,
                reason: "the token response has no readable expires_in".to_string(),
            })?;
        let fresh_for = Duration::from_secs(lifetime).saturating_sub(REFRESH_MARGIN);
        Ok(CachedToken {
            value: SecretString::from(body.access_token),
            fresh_until: requested_at + fresh_for,
        })
    }

    fn entra_url(&self, tenant_id: &str) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.login_url,
            urlencoding::encode(tenant_id)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{body_string_contains, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            timeout: Duration::from_secs(5),
        }
    }

    fn secret_provider(server: &MockServer) -> TokenProvider {
        TokenProvider::new(
            reqwest::Client::new(),
            Credential::ClientSecret {
                tenant_id: "tenant-1".into(),
                client_id: "app-1".into(),
                secret: SecretString::from("s3cret"),
            },
            &server.uri(),
            &server.uri(),
            quick(),
        )
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_the_token_is_cached() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/tenant-1/oauth2/v2.0/token"))
            .and(body_string_contains("client_secret=s3cret"))
            .and(body_string_contains("grant_type=client_credentials"))
            .and(body_string_contains("scope=https%3A%2F%2Fapi.loganalytics.io%2F.default"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"token_type":"Bearer","expires_in":3599,"access_token":"tok-1"}))
                    .set_delay(Duration::from_millis(50)),
            )
            .expect(1)
            .mount(&server)
            .await;
        let provider = Arc::new(secret_provider(&server));
        let calls = (0..10).map(|_| {
            let provider = provider.clone();
            async move { provider.token("https://api.loganalytics.io/.default").await }
        });
        for token in futures::future::join_all(calls).await {
            assert_eq!(token.expect("token").expose_secret(), "tok-1");
        }
        let again = provider.token("https://api.loganalytics.io/.default").await;
        assert_eq!(again.expect("cached").expose_secret(), "tok-1");
    }

    #[tokio::test]
    async fn tokens_near_expiry_are_refreshed_and_scopes_are_cached_apart() {
        let server = MockServer::start().await;
        // 200 seconds is inside the five-minute margin, so every use refreshes.
        Mock::given(method("POST"))
            .and(body_string_contains("management.azure.com"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"expires_in":200,"access_token":"short"})),
            )
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(body_string_contains("graph.microsoft.com"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"expires_in":3600,"access_token":"long"})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let provider = secret_provider(&server);
        for _ in 0..2 {
            let token = provider
                .token("https://management.azure.com/.default")
                .await;
            assert_eq!(token.expect("token").expose_secret(), "short");
            let token = provider.token("https://graph.microsoft.com/.default").await;
            assert_eq!(token.expect("token").expose_secret(), "long");
        }
    }

    #[tokio::test]
    async fn managed_identity_asks_imds_with_the_metadata_header() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/metadata/identity/oauth2/token"))
            .and(header("Metadata", "true"))
            .and(query_param("api-version", "2018-02-01"))
            .and(query_param("resource", "https://management.azure.com"))
            .and(query_param("client_id", "uami-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token":"mi-tok","expires_in":"86399","token_type":"Bearer"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let provider = TokenProvider::new(
            reqwest::Client::new(),
            Credential::ManagedIdentity {
                client_id: Some("uami-1".into()),
            },
            &server.uri(),
            &server.uri(),
            quick(),
        );
        let token = provider
            .token("https://management.azure.com/.default")
            .await;
        assert_eq!(token.expect("token").expose_secret(), "mi-tok");
    }

    #[tokio::test]
    async fn workload_identity_sends_the_federated_token_as_assertion() {
        let server = MockServer::start().await;
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), "federated.jwt.value\n").expect("write");
        Mock::given(method("POST"))
            .and(path("/tenant-1/oauth2/v2.0/token"))
            .and(body_string_contains("client_assertion=federated.jwt.value&"))
            .and(body_string_contains(
                "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token":"wi-tok","expires_in":3600}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let provider = TokenProvider::new(
            reqwest::Client::new(),
            Credential::WorkloadIdentity {
                tenant_id: "tenant-1".into(),
                client_id: "app-1".into(),
                token_file: file.path().display().to_string(),
            },
            &server.uri(),
            &server.uri(),
            quick(),
        );
        let token = provider.token("https://graph.microsoft.com/.default").await;
        assert_eq!(token.expect("token").expose_secret(), "wi-tok");
    }

    #[tokio::test]
    async fn a_refused_credential_names_entra_and_the_reason_but_not_the_secret() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided."
            })))
            .mount(&server)
            .await;
        let error = secret_provider(&server)
            .token("https://graph.microsoft.com/.default")
            .await
            .expect_err("refused");
        let text = error.to_string();
        assert!(text.starts_with("Entra ID failed"), "{text}");
        assert!(text.contains("AADSTS7000215"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
