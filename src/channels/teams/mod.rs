//! Microsoft Teams through the Bot Framework: JWT check, activities, connector client.

pub mod activity;
pub mod auth;
pub mod connector;
pub mod handler;
pub mod manifest;

use crate::bot::Bot;
use crate::channels::workload::Workload;
use crate::config::TeamsConfig;
use auth::{AuthSettings, Validator};
use connector::{Connector, Credentials};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::task::TaskTracker;

/// Shared state of the Teams routes; cheap to clone.
#[derive(Clone)]
pub struct TeamsState {
    inner: Arc<Inner>,
    /// Answers still being sent after Teams got its 200; shutdown waits for them.
    tasks: TaskTracker,
    /// The bound on answers computed at once and waiting, shared with Slack.
    workload: Workload,
    /// How long an `adaptiveCard/action` invoke waits for its answer before saying it will
    /// follow as a message.
    invoke_deadline: Duration,
}

/// Teams waits up to 15 s for the HTTP answer to an invoke (protocols.md item 21); answering
/// at 10 s leaves room for the network and the connector.
pub const INVOKE_DEADLINE: Duration = Duration::from_secs(10);

struct Inner {
    bot: Arc<Bot>,
    validator: Validator,
    connector: Connector,
    allowed_tenants: Vec<String>,
    /// Agents Playground mode: no JWT check, no outbound token.
    playground: bool,
    /// Answers slower than this get a typing indicator first.
    typing_after: Duration,
}

impl TeamsState {
    /// Builds the state. `bind_is_loopback` gates `local_playground`: it is ignored
    /// (with a warning) unless the server listens on a loopback address only.
    pub fn new(
        bot: Arc<Bot>,
        config: &TeamsConfig,
        http: reqwest::Client,
        bind_is_loopback: bool,
    ) -> TeamsState {
        Self::with_auth_settings(
            bot,
            config,
            http,
            bind_is_loopback,
            AuthSettings::new(&config.openid_metadata_url, &config.app_id),
        )
    }

    /// Like `new` with explicit key-cache tunables (tests shorten the refetch interval).
    pub fn with_auth_settings(
        bot: Arc<Bot>,
        config: &TeamsConfig,
        http: reqwest::Client,
        bind_is_loopback: bool,
        auth: AuthSettings,
    ) -> TeamsState {
        let playground = config.local_playground && bind_is_loopback;
        if config.local_playground && !bind_is_loopback {
            tracing::warn!("teams.local_playground ignored: server is not bound to loopback");
        }
        let credentials = Credentials {
            app_id: config.app_id.clone(),
            app_password: if playground {
                None
            } else {
                config.app_password.clone()
            },
            tenant_id: config.tenant_id.clone(),
            login_url: config.login_url.clone(),
        };
        TeamsState {
            inner: Arc::new(Inner {
                bot,
                validator: Validator::new(auth, http.clone()),
                connector: Connector::new(http, credentials),
                allowed_tenants: config.allowed_tenants.clone(),
                playground,
                typing_after: Duration::from_millis(1500),
            }),
            tasks: TaskTracker::new(),
            workload: Workload::default(),
            invoke_deadline: INVOKE_DEADLINE,
        }
    }

    /// Shares the bound on background answers with the other channels.
    pub fn with_workload(mut self, workload: Workload) -> TeamsState {
        self.workload = workload;
        self
    }

    /// Sets how long an invoke waits for its answer (tests use milliseconds).
    pub fn with_invoke_deadline(mut self, deadline: Duration) -> TeamsState {
        self.invoke_deadline = deadline;
        self
    }

    /// Tracks background answers in `tasks`, shared with the other channels for shutdown.
    pub fn with_tasks(mut self, tasks: TaskTracker) -> TeamsState {
        self.tasks = tasks;
        self
    }

    /// Answers still in progress after their request was acknowledged.
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// Sets the delay before the typing indicator; only effective before the state is cloned.
    pub fn with_typing_after(mut self, after: Duration) -> TeamsState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.typing_after = after;
        }
        self
    }

    /// The outbound client, for proactive posts (weekly report).
    pub fn connector(&self) -> &Connector {
        &self.inner.connector
    }
}

/// Whether a bind address like `127.0.0.1:3978` or `[::1]:3978` is loopback-only.
pub fn is_loopback_bind(bind: &str) -> bool {
    bind.parse::<std::net::SocketAddr>()
        .map(|addr| addr.ip().is_loopback())
        .unwrap_or_else(|_| bind.starts_with("localhost:"))
}

/// The Teams routes: `POST /api/messages`.
pub fn router(state: TeamsState) -> axum::Router {
    axum::Router::new()
        .route("/api/messages", axum::routing::post(handler::messages))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        assert!(is_loopback_bind("127.0.0.1:3978"));
        assert!(is_loopback_bind("[::1]:3978"));
        assert!(is_loopback_bind("localhost:3978"));
        assert!(!is_loopback_bind("0.0.0.0:3978"));
        assert!(!is_loopback_bind("10.0.0.5:3978"));
    }
}
