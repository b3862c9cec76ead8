//! The bot's own server as `serve` builds it (store, sources, Slack routes, the
//! operational middleware), on 127.0.0.1 with an ephemeral port and a temporary SQLite file.

use chrono::Utc;
use sentinel_bot::app::{self, App};
use sentinel_bot::channels::slack;
use sentinel_bot::config::Config;
use sentinel_bot::server::{self, Ops};

/// The Slack signing secret the benchmark clients sign with.
pub const SIGNING_SECRET: &str = "bench-signing-secret";

/// A running server and what it was built from.
pub struct Server {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The wired application, for calling the core directly.
    pub app: App,
    /// Keeps the SQLite file alive for the server's lifetime.
    _dir: tempfile::TempDir,
}

/// Builds and starts the server in the current runtime. Slack's Web API is `slack_url`;
/// with `azure_url` the incidents come from a fake Azure there, otherwise from the demo data.
/// `extra` is TOML appended to the configuration (e.g. a `[report]` section).
pub async fn start(slack_url: &str, azure_url: Option<&str>, extra: &str) -> Server {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = dir.path().join("bot.db");
    let mut toml = format!(
        "[server]\nbind = \"127.0.0.1:0\"\n\
         [store]\nurl = \"sqlite://{}\"\n\
         [slack]\nbot_token = \"xoxb-bench\"\nsigning_secret = \"{SIGNING_SECRET}\"\napi_url = \"{slack_url}/api\"\n",
        database.display()
    );
    // `aggregate_above = 0`: the fake answers every query with rows, so the row path is
    // what gets measured, whatever the size.
    if let Some(azure_url) = azure_url {
        toml.push_str(&format!(
            "[azure]\ntenant_id = \"tenant-1\"\nclient_id = \"app-1\"\nclient_secret = \"bench\"\n\
             subscription_id = \"sub-1\"\nresource_group = \"rg-soc\"\nworkspace_name = \"ws-soc\"\n\
             workspace_id = \"11111111-1111-1111-1111-111111111111\"\nuse_graph = false\n\
             aggregate_above = 0\n\
             [azure.endpoints]\nlogin = \"{azure_url}\"\nlog_analytics = \"{azure_url}\"\n\
             management = \"{azure_url}\"\ngraph = \"{azure_url}\"\nimds = \"{azure_url}\"\n"
        ));
    }
    toml.push_str(extra);
    let config = Config::from_sources(&toml, Vec::new()).expect("bench configuration");
    let app = app::build(&config, Utc::now()).await.expect("app builds");
    let slack_state = app.slack.clone().expect("Slack is configured");
    let router = server::router(
        slack::router(slack_state),
        Ops::install(),
        config.server.body_limit,
    );
    let listener = tokio::net::TcpListener::bind(&config.server.bind)
        .await
        .expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    Server {
        url: format!("http://{address}"),
        app,
        _dir: dir,
    }
}
