//! Typed settings: a TOML file overlaid by `SENTINEL_BOT__SECTION__KEY` environment
//! variables. The only module that reads the environment. Secrets are
//! `SecretString`, so `Debug` never prints them.

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::Path;

/// Prefix of the environment variables that override the file, e.g. `SENTINEL_BOT__SLACK__BOT_TOKEN`.
pub const ENV_PREFIX: &str = "SENTINEL_BOT__";

/// All settings. Every section is optional; with none the bot runs on demo data.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    pub azure: Option<AzureConfig>,
    pub teams: Option<TeamsConfig>,
    pub slack: Option<SlackConfig>,
    pub llm: Option<LlmConfig>,
    #[serde(default)]
    pub report: ReportConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub actions: ActionsConfig,
    #[serde(default)]
    pub triage: TriageConfig,
}

/// HTTP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_bind")]
    pub bind: String,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
    /// The bot's public `https://` base URL, e.g. `https://sentinel-bot.contoso.com`; with it,
    /// reports carry an "Open full report" link to `{public_url}/reports/{id}`.
    pub public_url: Option<String>,
    /// Where `/metrics` is served: its own listener (default `127.0.0.1:9464`, loopback only),
    /// or, when empty, the main listener next to the chat endpoints.
    #[serde(default = "default_metrics_bind")]
    pub metrics_bind: String,
    /// When set (and not blank), `/metrics` answers only requests with
    /// `Authorization: Bearer <token>`.
    #[serde(default, deserialize_with = "secret_text::optional")]
    pub metrics_token: Option<SecretString>,
    /// Seconds an answer typed in chat may take before the user gets an apology naming the
    /// slow system; advice that would be later is left out with a note.
    #[serde(default = "default_answer_seconds")]
    pub answer_seconds: u64,
    /// Answers computed at once after their request was acknowledged.
    #[serde(default = "default_running_answers")]
    pub max_running_answers: usize,
    /// Answers that may wait for a free slot; past this the user is told the bot is busy.
    #[serde(default = "default_waiting_answers")]
    pub max_waiting_answers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: default_bind(),
            body_limit: default_body_limit(),
            public_url: None,
            metrics_bind: default_metrics_bind(),
            metrics_token: None,
            answer_seconds: default_answer_seconds(),
            max_running_answers: default_running_answers(),
            max_waiting_answers: default_waiting_answers(),
        }
    }
}

impl ServerConfig {
    /// The `/metrics` bearer token; a blank one (an empty deployment secret) means none.
    pub fn metrics_token(&self) -> Option<SecretString> {
        self.metrics_token
            .clone()
            .filter(|token| !token.expose_secret().trim().is_empty())
    }
}

fn default_metrics_bind() -> String {
    "127.0.0.1:9464".to_string()
}

fn default_answer_seconds() -> u64 {
    25
}

fn default_running_answers() -> usize {
    16
}

fn default_waiting_answers() -> usize {
    64
}

fn default_bind() -> String {
    "127.0.0.1:3978".to_string()
}

fn default_body_limit() -> usize {
    256 * 1024
}

/// How the bot gets Entra ID tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AzureAuth {
    /// Client id + client secret.
    #[default]
    ClientSecret,
    /// Workload identity: a federated token file (`AZURE_FEDERATED_TOKEN_FILE`).
    WorkloadIdentity,
    /// Managed identity through IMDS or the App Service identity endpoint.
    ManagedIdentity,
}

/// Sentinel workspace and Entra ID credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureConfig {
    pub tenant_id: String,
    /// App (client) id; for managed identity, the user-assigned identity's client id if any.
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "secret_text::optional")]
    pub client_secret: Option<SecretString>,
    #[serde(default)]
    pub auth: AzureAuth,
    /// Path of the federated token for workload identity.
    pub federated_token_file: Option<String>,
    pub subscription_id: String,
    pub resource_group: String,
    pub workspace_name: String,
    /// Log Analytics workspace (customer) id, a GUID.
    pub workspace_id: String,
    /// The main workspace's name in chat (`/incident 5@name`), shown when several workspaces
    /// are configured; `workspace_name` by default.
    #[serde(default)]
    pub short_name: Option<String>,
    /// More workspaces (MSSP) by id only: their incidents are counted and listed, but the
    /// bot cannot open or change them (no ARM location); prefer `extra_workspaces`.
    #[serde(default)]
    pub extra_workspace_ids: Vec<String>,
    /// More workspaces (MSSP) with their ARM location, so their incidents can also be opened,
    /// recommended on, assigned, commented on and closed from chat.
    #[serde(default)]
    pub extra_workspaces: Vec<ExtraWorkspace>,
    /// Whether Graph security APIs (Defender XDR, threat intelligence) are used.
    #[serde(default = "yes")]
    pub use_graph: bool,
    /// Incidents created in a period (estimated by one small `dcount` query) above which
    /// the period's counts and durations are computed in Log Analytics itself (KQL
    /// `summarize`) and only the open incidents travel as rows; at or below it every
    /// incident is read. 0 turns aggregation off: no estimate is asked and every period is
    /// read row by row, as before this setting existed.
    ///
    /// Default [`DEFAULT_AGGREGATE_ABOVE`]: the Log Analytics query API returns at most
    /// 500,000 records and about 100 MiB (64 MB compressed) per query ("Azure Monitor
    /// service limits", Query API, learn.microsoft.com/azure/azure-monitor/fundamentals/
    /// service-limits), and a `SecurityIncident` row carries about 1.5 KiB of JSON (issue
    /// 17's generated answers: 225 MiB for 150,000 rows), so the size cap comes first, near
    /// 65,000 incidents; the default stays below it with room for longer rows.
    #[serde(default = "default_aggregate_above")]
    pub aggregate_above: u64,
    /// Base URLs, overridable for sovereign clouds and tests.
    #[serde(default)]
    pub endpoints: AzureEndpoints,
}

/// One more Sentinel workspace (`[[azure.extra_workspaces]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraWorkspace {
    /// Log Analytics workspace (customer) id, a GUID.
    pub id: String,
    /// The workspace's resource name.
    pub name: String,
    /// Its subscription; the main workspace's by default.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Its resource group; the main workspace's by default.
    #[serde(default)]
    pub resource_group: Option<String>,
    /// Its name in chat (`/incident 5@short_name`); `name` by default.
    #[serde(default)]
    pub short_name: Option<String>,
}

/// Where a workspace lives in Azure Resource Manager, for the Sentinel REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmLocation {
    pub subscription_id: String,
    pub resource_group: String,
    /// The workspace's resource name.
    pub workspace_name: String,
}

/// A configured workspace with its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceSettings {
    /// Its name in chat (`5@short_name`).
    pub short_name: String,
    /// Log Analytics workspace (customer) id, a GUID.
    pub id: String,
    /// `None` for a workspace listed in `extra_workspace_ids`, which is only queried.
    pub arm: Option<ArmLocation>,
}

impl AzureConfig {
    /// Every configured workspace, the main one first, then `extra_workspaces`, then
    /// `extra_workspace_ids` (named by their id's first group, e.g. `22222222`, unless
    /// also listed in `extra_workspaces`). Fails when two share a short name or an id, or a
    /// short name is not 1 to 64 letters, digits, `-`, `_` or `.` (the form typed after `@`).
    pub fn workspaces(&self) -> Result<Vec<WorkspaceSettings>, String> {
        let main = WorkspaceSettings {
            short_name: self
                .short_name
                .clone()
                .unwrap_or_else(|| self.workspace_name.clone()),
            id: self.workspace_id.clone(),
            arm: Some(ArmLocation {
                subscription_id: self.subscription_id.clone(),
                resource_group: self.resource_group.clone(),
                workspace_name: self.workspace_name.clone(),
            }),
        };
        let mut all = vec![main];
        for extra in &self.extra_workspaces {
            all.push(WorkspaceSettings {
                short_name: extra
                    .short_name
                    .clone()
                    .unwrap_or_else(|| extra.name.clone()),
                id: extra.id.clone(),
                arm: Some(ArmLocation {
                    subscription_id: extra
                        .subscription_id
                        .clone()
                        .unwrap_or_else(|| self.subscription_id.clone()),
                    resource_group: extra
                        .resource_group
                        .clone()
                        .unwrap_or_else(|| self.resource_group.clone()),
                    workspace_name: extra.name.clone(),
                }),
            });
        }
        for id in &self.extra_workspace_ids {
            if all.iter().any(|known| known.id.eq_ignore_ascii_case(id)) {
                continue;
            }
            all.push(WorkspaceSettings {
                short_name: id.split('-').next().unwrap_or(id).to_string(),
                id: id.clone(),
                arm: None,
            });
        }
        for (index, workspace) in all.iter().enumerate() {
            let name = &workspace.short_name;
            if !crate::incident::is_workspace_name(name) {
                return Err(format!(
                    "the workspace short name `{name}` must be 1 to 64 letters, digits, `-`, `_` or `.` (set azure.short_name or short_name under [[azure.extra_workspaces]])"
                ));
            }
            let earlier = &all[..index];
            if earlier
                .iter()
                .any(|it| it.short_name.eq_ignore_ascii_case(name))
            {
                return Err(format!(
                    "two workspaces are called `{name}`: give each its own short_name"
                ));
            }
            if earlier
                .iter()
                .any(|it| it.id.eq_ignore_ascii_case(&workspace.id))
            {
                return Err(format!(
                    "the workspace id {} is configured twice",
                    workspace.id
                ));
            }
        }
        Ok(all)
    }
}

/// Base URLs of the Azure APIs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureEndpoints {
    #[serde(default = "default_login")]
    pub login: String,
    #[serde(default = "default_log_analytics")]
    pub log_analytics: String,
    #[serde(default = "default_management")]
    pub management: String,
    #[serde(default = "default_graph")]
    pub graph: String,
    /// Managed identity endpoint (IMDS).
    #[serde(default = "default_imds")]
    pub imds: String,
}

impl Default for AzureEndpoints {
    fn default() -> Self {
        AzureEndpoints {
            login: default_login(),
            log_analytics: default_log_analytics(),
            management: default_management(),
            graph: default_graph(),
            imds: default_imds(),
        }
    }
}

fn default_login() -> String {
    "https://login.microsoftonline.com".to_string()
}
fn default_log_analytics() -> String {
    "https://api.loganalytics.io".to_string()
}
fn default_management() -> String {
    "https://management.azure.com".to_string()
}
fn default_graph() -> String {
    "https://graph.microsoft.com".to_string()
}
fn default_imds() -> String {
    "http://169.254.169.254".to_string()
}
fn yes() -> bool {
    true
}

/// `azure.aggregate_above` when absent, in incidents created in a period.
pub const DEFAULT_AGGREGATE_ABOVE: u64 = 50_000;

fn default_aggregate_above() -> u64 {
    DEFAULT_AGGREGATE_ABOVE
}

/// Microsoft Teams through the Bot Framework.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsConfig {
    /// The bot's Microsoft App ID; the JWT audience.
    pub app_id: String,
    #[serde(default, deserialize_with = "secret_text::optional")]
    pub app_password: Option<SecretString>,
    /// Set for a single-tenant bot; empty means multi-tenant (`botframework.com`).
    pub tenant_id: Option<String>,
    /// Tenants allowed to talk to the bot; empty allows all.
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    /// Channels that get the weekly report.
    #[serde(default)]
    pub report_channels: Vec<TeamsChannel>,
    /// Channels where auto-triage announces new high-severity incidents.
    #[serde(default)]
    pub alert_channels: Vec<TeamsChannel>,
    /// Accept unauthenticated requests from Microsoft's Agents Playground. Only honoured
    /// when the server is bound to a loopback address.
    #[serde(default)]
    pub local_playground: bool,
    /// Bot Framework OpenID metadata URL (tests point it at a fake).
    #[serde(default = "default_openid")]
    pub openid_metadata_url: String,
    /// Base URL of the Entra token endpoint for the bot's own token.
    #[serde(default = "default_login")]
    pub login_url: String,
    /// Base URL of Microsoft Graph, where the bot reads report channels' recent messages
    /// back (needs `team_id` on the channel and the `ChannelMessage.Read.Group` consent).
    #[serde(default = "default_graph")]
    pub graph_url: String,
}

fn default_openid() -> String {
    "https://login.botframework.com/v1/.well-known/openidconfiguration".to_string()
}

/// A Teams channel the bot posts to proactively.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsChannel {
    pub service_url: String,
    /// Channel id, `19:...@thread.tacv2`.
    pub channel_id: String,
    pub tenant_id: String,
    /// The team's Microsoft 365 group id (a GUID, `groupId` in the channel's link). With it,
    /// and the `ChannelMessage.Read.Group` consent, a weekly post whose answer was lost in
    /// a crash is found in the channel instead of being posted again.
    #[serde(default)]
    pub team_id: Option<String>,
}

/// Slack app credentials and policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    #[serde(deserialize_with = "secret_text::required")]
    pub bot_token: SecretString,
    #[serde(default, deserialize_with = "secret_text::optional")]
    pub signing_secret: Option<SecretString>,
    /// App-level token (`xapp-...`) for Socket Mode.
    #[serde(default, deserialize_with = "secret_text::optional")]
    pub app_token: Option<SecretString>,
    #[serde(default)]
    pub socket_mode: bool,
    /// Slash-command answers visible to the channel (`in_channel`) or only the caller (`ephemeral`).
    #[serde(default)]
    pub in_channel: bool,
    /// Workspaces (team ids) allowed; empty allows all.
    #[serde(default)]
    pub allowed_teams: Vec<String>,
    /// Channels allowed; empty allows all.
    #[serde(default)]
    pub allowed_channels: Vec<String>,
    /// Channels that get the weekly report.
    #[serde(default)]
    pub report_channels: Vec<String>,
    /// Channels where auto-triage announces new high-severity incidents.
    #[serde(default)]
    pub alert_channels: Vec<String>,
    /// Web API base URL (tests point it at a fake).
    #[serde(default = "default_slack_api")]
    pub api_url: String,
}

fn default_slack_api() -> String {
    "https://slack.com/api".to_string()
}

/// Which LLM API dialect to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LlmProvider {
    #[default]
    OpenAi,
    AzureOpenAi,
    /// Any server with the OpenAI chat completions API.
    Compatible,
}

/// The LLM used for analysis and recommendations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    #[serde(default)]
    pub provider: LlmProvider,
    /// OpenAI: `https://api.openai.com/v1`; Azure: `https://NAME.openai.azure.com`; or a compatible server.
    pub base_url: Option<String>,
    #[serde(default, deserialize_with = "secret_text::optional")]
    pub api_key: Option<SecretString>,
    /// Model name (OpenAI, compatible) or deployment name (Azure).
    pub model: String,
    /// Azure OpenAI api-version.
    pub api_version: Option<String>,
    /// Most tokens one report may spend on the model.
    #[serde(default = "default_token_budget")]
    pub token_budget: u32,
    /// Seconds before a model call is abandoned.
    #[serde(default = "default_llm_timeout")]
    pub timeout_seconds: u64,
}

fn default_token_budget() -> u32 {
    20_000
}
fn default_llm_timeout() -> u64 {
    30
}

/// The weekly report and its schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Cron expression with seconds: `sec min hour day-of-month month day-of-week`.
    #[serde(default = "default_cron")]
    pub cron: String,
    /// IANA time zone of the schedule.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Open incidents older than this many days are long-unresolved.
    #[serde(default = "default_long_open_days")]
    pub long_open_days: u32,
    /// Whether the scheduler runs in `serve`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Seconds a replica holds the claim on a channel's weekly post; after a crash another
    /// replica takes over when it ends. Posts are cut off at half of it.
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u64,
    /// Seconds before a failed weekly post is tried again.
    #[serde(default = "default_retry_seconds")]
    pub retry_seconds: u64,
    /// Whether full reports are kept as web pages at `/reports/{id}` (linked from chat when
    /// `server.public_url` is set). Anyone holding a link can read the page until it expires.
    #[serde(default = "yes")]
    pub web_pages: bool,
    /// Days a web report page stays readable; after that it answers 404.
    #[serde(default = "default_web_page_days")]
    pub web_page_days: u32,
    /// For how many seconds an answer to `/incidents` or `/report` is reused for the same
    /// question asked again; 0 shares only answers still being computed.
    #[serde(default = "default_answer_cache_seconds")]
    pub answer_cache_seconds: u64,
    /// Seconds the scheduled report (and `sentinel-bot report`) may take; advice that would be
    /// later is left out with a note.
    #[serde(default = "default_report_seconds")]
    pub deadline_seconds: u64,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            cron: default_cron(),
            time_zone: default_time_zone(),
            long_open_days: default_long_open_days(),
            enabled: true,
            lease_seconds: default_lease_seconds(),
            retry_seconds: default_retry_seconds(),
            web_pages: true,
            web_page_days: default_web_page_days(),
            answer_cache_seconds: default_answer_cache_seconds(),
            deadline_seconds: default_report_seconds(),
        }
    }
}

fn default_web_page_days() -> u32 {
    14
}

fn default_answer_cache_seconds() -> u64 {
    crate::bot::shared::DEFAULT_TTL.as_secs()
}

fn default_report_seconds() -> u64 {
    600
}

fn default_cron() -> String {
    "0 0 8 * * Mon".to_string()
}
fn default_time_zone() -> String {
    "UTC".to_string()
}
fn default_long_open_days() -> u32 {
    3
}
fn default_lease_seconds() -> u64 {
    600
}
fn default_retry_seconds() -> u64 {
    300
}

/// Where state lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://path.db` (default) or `postgres://...`.
    #[serde(
        default = "default_store_url",
        deserialize_with = "secret_text::required"
    )]
    pub url: SecretString,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: default_store_url(),
        }
    }
}

fn default_store_url() -> SecretString {
    SecretString::from("sqlite://sentinel-bot.db")
}

/// Who may change incidents from chat.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsConfig {
    /// User ids (Slack `U...`, Teams AAD object ids) or e-mails allowed to act.
    #[serde(default)]
    pub allowed_users: Vec<String>,
    /// Groups whose members may act: Entra group object ids (GUIDs) for Teams users, Slack
    /// user group ids (`S...`) for Slack users. Membership is checked when a user asks and again
    /// when they confirm; if it cannot be checked, the user may not act.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
}

/// Automatic triage of new incidents: a comment on each, high-severity ones announced in
/// the `alert_channels` of `[teams]` and `[slack]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageConfig {
    #[serde(default)]
    pub enabled: bool,
    /// Seconds between polls for new incidents; 0 turns polling off (webhook only).
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// Bearer secret the Sentinel playbook sends to `POST /api/triage`; unset, no webhook is served.
    #[serde(default, deserialize_with = "secret_text::optional")]
    pub webhook_secret: Option<SecretString>,
}

impl Default for TriageConfig {
    fn default() -> Self {
        TriageConfig {
            enabled: false,
            poll_seconds: default_poll(),
            webhook_secret: None,
        }
    }
}

fn default_poll() -> u64 {
    60
}

impl Config {
    /// Reads the file (if given) and overlays the process environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?,
            None => String::new(),
        };
        Config::from_sources(&text, std::env::vars())
    }

    /// Parses TOML text and overlays `SENTINEL_BOT__SECTION__KEY=value` pairs.
    pub fn from_sources(
        toml_text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let mut table: toml::Table = toml::from_str(toml_text).map_err(|error| {
            anyhow::anyhow!("parsing config TOML: {}", located(&error, toml_text))
        })?;
        for (name, value) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            if keys.iter().any(String::is_empty) {
                bail!("environment variable {name} has an empty key");
            }
            insert(&mut table, &keys, env_value(&value));
        }
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(explain)
    }

    /// True when no Azure workspace is configured, so the demo data answers.
    pub fn uses_demo_data(&self) -> bool {
        self.azure.is_none()
    }
}

/// A settings error naming the setting as an operator writes it, in the file and in the
/// environment: "`llm.model` is missing: set `model` under [llm] in the file, or
/// SENTINEL_BOT__LLM__MODEL". The path comes from `serde_path_to_error`; for a missing key
/// serde's message ("missing field `model`") names the last part.
fn explain(error: serde_path_to_error::Error<toml::de::Error>) -> anyhow::Error {
    let reason = error.inner().message().trim().to_string();
    let mut keys: Vec<String> = error
        .path()
        .iter()
        .map(|segment| segment.to_string())
        .collect();
    let missing = reason
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    if let Some(field) = missing {
        keys.push(field.to_string());
    }
    let Some((key, sections)) = keys.split_last() else {
        return anyhow::anyhow!("reading settings (file and {ENV_PREFIX} environment): {reason}");
    };
    let setting = keys.join(".");
    let place = match sections.is_empty() {
        true => format!("`{key}` at the top of the file"),
        false => format!("`{key}` under [{}] in the file", sections.join(".")),
    };
    let variable = format!("{ENV_PREFIX}{}", keys.join("__").to_uppercase());
    match missing {
        Some(_) => anyhow::anyhow!("`{setting}` is missing: set {place}, or {variable}"),
        None => anyhow::anyhow!("`{setting}`: {reason} (read from {place}, or {variable})"),
    }
}

impl Config {
    /// A readable account of the settings, for `sentinel-bot check-config`: a `[section]`
    /// heading per part of the file, then `key = value` lines in the file's own key names.
    /// Secrets read `set` or `not set`, never their value; the store URL also says which
    /// database it names (a PostgreSQL URL may carry a password). Absent sections say what
    /// the bot does without them.
    pub fn summary(&self) -> String {
        let mut out = Summary::default();
        self.server.summarise(&mut out);
        match &self.azure {
            Some(azure) => azure.summarise(&mut out),
            None => out.absent("azure", "not configured: the embedded demo data answers"),
        }
        match &self.teams {
            Some(teams) => teams.summarise(&mut out),
            None => out.absent("teams", "not configured: no Teams endpoint"),
        }
        match &self.slack {
            Some(slack) => slack.summarise(&mut out),
            None => out.absent("slack", "not configured: no Slack endpoint"),
        }
        match &self.llm {
            Some(llm) => llm.summarise(&mut out),
            None => out.absent("llm", "not configured: offline advice only"),
        }
        self.report.summarise(&mut out);
        out.section("store");
        out.value("url", store_kind(&self.store.url));
        out.section("actions");
        out.list("allowed_users", &self.actions.allowed_users);
        out.list("allowed_groups", &self.actions.allowed_groups);
        out.section("triage");
        out.value("enabled", self.triage.enabled);
        out.value("poll_seconds", self.triage.poll_seconds);
        out.secret("webhook_secret", self.triage.webhook_secret.as_ref());
        out.text
    }
}

impl ServerConfig {
    fn summarise(&self, out: &mut Summary) {
        out.section("server");
        out.value("bind", &self.bind);
        out.value("body_limit", format!("{} bytes", self.body_limit));
        out.optional("public_url", self.public_url.as_deref());
        out.value(
            "metrics_bind",
            match self.metrics_bind.as_str() {
                "" => "(the main listener)",
                bind => bind,
            },
        );
        out.secret("metrics_token", self.metrics_token().as_ref());
        out.value("answer_seconds", self.answer_seconds);
        out.value("max_running_answers", self.max_running_answers);
        out.value("max_waiting_answers", self.max_waiting_answers);
    }
}

impl AzureConfig {
    fn summarise(&self, out: &mut Summary) {
        out.section("azure");
        out.value("tenant_id", &self.tenant_id);
        out.optional("client_id", self.client_id.as_deref());
        out.value(
            "auth",
            match self.auth {
                AzureAuth::ClientSecret => "client_secret",
                AzureAuth::WorkloadIdentity => "workload_identity",
                AzureAuth::ManagedIdentity => "managed_identity",
            },
        );
        out.secret("client_secret", self.client_secret.as_ref());
        out.optional("federated_token_file", self.federated_token_file.as_deref());
        out.value("subscription_id", &self.subscription_id);
        out.value("resource_group", &self.resource_group);
        out.value("workspace_name", &self.workspace_name);
        out.value("workspace_id", &self.workspace_id);
        out.list("extra_workspace_ids", &self.extra_workspace_ids);
        out.value("use_graph", self.use_graph);
        out.value(
            "aggregate_above",
            match self.aggregate_above {
                0 => "0 (off: every period read row by row)".to_string(),
                1 => "1 incident (larger periods are aggregated in Log Analytics)".to_string(),
                above => {
                    format!("{above} incidents (larger periods are aggregated in Log Analytics)")
                }
            },
        );
        let endpoints = &self.endpoints;
        out.value("endpoints.login", &endpoints.login);
        out.value("endpoints.log_analytics", &endpoints.log_analytics);
        out.value("endpoints.management", &endpoints.management);
        out.value("endpoints.graph", &endpoints.graph);
        out.value("endpoints.imds", &endpoints.imds);
    }
}

impl TeamsConfig {
    fn summarise(&self, out: &mut Summary) {
        out.section("teams");
        out.value("app_id", &self.app_id);
        out.secret("app_password", self.app_password.as_ref());
        out.optional("tenant_id", self.tenant_id.as_deref());
        out.list("allowed_tenants", &self.allowed_tenants);
        let channel_ids = |channels: &[TeamsChannel]| -> Vec<String> {
            channels.iter().map(|it| it.channel_id.clone()).collect()
        };
        out.list("report_channels", &channel_ids(&self.report_channels));
        out.list("alert_channels", &channel_ids(&self.alert_channels));
        out.value("local_playground", self.local_playground);
        out.value("openid_metadata_url", &self.openid_metadata_url);
        out.value("login_url", &self.login_url);
        out.value("graph_url", &self.graph_url);
    }
}

impl SlackConfig {
    fn summarise(&self, out: &mut Summary) {
        out.section("slack");
        out.secret("bot_token", Some(&self.bot_token));
        out.secret("signing_secret", self.signing_secret.as_ref());
        out.secret("app_token", self.app_token.as_ref());
        out.value("socket_mode", self.socket_mode);
        out.value("in_channel", self.in_channel);
        out.list("allowed_teams", &self.allowed_teams);
        out.list("allowed_channels", &self.allowed_channels);
        out.list("report_channels", &self.report_channels);
        out.list("alert_channels", &self.alert_channels);
        out.value("api_url", &self.api_url);
    }
}

impl LlmConfig {
    fn summarise(&self, out: &mut Summary) {
        out.section("llm");
        out.value(
            "provider",
            match self.provider {
                LlmProvider::OpenAi => "open_ai",
                LlmProvider::AzureOpenAi => "azure_open_ai",
                LlmProvider::Compatible => "compatible",
            },
        );
        out.optional("base_url", self.base_url.as_deref());
        out.secret("api_key", self.api_key.as_ref());
        out.value("model", &self.model);
        out.optional("api_version", self.api_version.as_deref());
        out.value("token_budget", self.token_budget);
        out.value("timeout_seconds", self.timeout_seconds);
    }
}

impl ReportConfig {
    fn summarise(&self, out: &mut Summary) {
        out.section("report");
        out.value("enabled", self.enabled);
        out.value("cron", &self.cron);
        out.value("time_zone", &self.time_zone);
        out.value("long_open_days", self.long_open_days);
        out.value("lease_seconds", self.lease_seconds);
        out.value("retry_seconds", self.retry_seconds);
        out.value("web_pages", self.web_pages);
        out.value("web_page_days", self.web_page_days);
        out.value("answer_cache_seconds", self.answer_cache_seconds);
        out.value("deadline_seconds", self.deadline_seconds);
    }
}

/// Which database a store URL names, without the URL itself: a PostgreSQL URL may carry a
/// password, and a SQLite one only a path, which is shown.
fn store_kind(url: &SecretString) -> String {
    let url = url.expose_secret();
    match url.split_once(':').map(|(scheme, _)| scheme) {
        Some("sqlite") => {
            let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
            format!("set (SQLite file {path})")
        }
        Some("postgres" | "postgresql") => "set (PostgreSQL)".to_string(),
        _ => "set (unsupported scheme; use sqlite://path or postgres://...)".to_string(),
    }
}

/// Lines of [`Config::summary`] as they are written.
#[derive(Default)]
struct Summary {
    text: String,
}

impl Summary {
    fn section(&mut self, name: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(&format!("[{name}]\n"));
    }

    fn absent(&mut self, name: &str, meaning: &str) {
        self.section(name);
        self.text.push_str(&format!("{meaning}\n"));
    }

    fn value(&mut self, key: &str, value: impl std::fmt::Display) {
        self.text.push_str(&format!("{key} = {value}\n"));
    }

    fn optional(&mut self, key: &str, value: Option<&str>) {
        self.value(key, value.unwrap_or("not set"));
    }

    fn list(&mut self, key: &str, values: &[String]) {
        match values {
            [] => self.value(key, "none"),
            values => self.value(key, values.join(", ")),
        }
    }

    /// Only whether a secret is there: a blank one counts as not set.
    fn secret(&mut self, key: &str, value: Option<&SecretString>) {
        let set = value.is_some_and(|it| !it.expose_secret().trim().is_empty());
        self.value(key, if set { "set" } else { "not set" });
    }
}

/// Environment values are TOML when they parse as such (numbers, booleans, arrays), text otherwise.
/// A TOML syntax error as "line L, column C: message", without the line itself: toml's own
/// message quotes the line, and a malformed line may hold a secret (`bot_token = xoxb-...`
/// without quotes).
fn located(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim();
    let Some(at) = error.span().map(|span| span.start.min(text.len())) else {
        return message.to_string();
    };
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |it| it.chars().count())
        + 1;
    format!("line {line}, column {column}: {message}")
}

/// Secrets as text, whatever scalar TOML or the environment made of them. An environment
/// value of digits (`SENTINEL_BOT__SERVER__METRICS_TOKEN=8675309`) or `true` reads as a
/// number or a boolean, and serde's type error would print it; here it is the secret's
/// text, and a value of the wrong shape (a list, a table) is refused without its contents.
mod secret_text {
    use secrecy::SecretString;
    use serde::de::{self, Deserializer, Visitor};
    use std::fmt;

    struct Text(String);

    impl<'de> serde::Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
            deserializer.deserialize_any(TextVisitor).map(Text)
        }
    }

    struct TextVisitor;

    impl Visitor<'_> for TextVisitor {
        type Value = String;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a secret as text (its value is not shown)")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
            Ok(text.to_string())
        }

        fn visit_i64<E: de::Error>(self, number: i64) -> Result<String, E> {
            Ok(number.to_string())
        }

        fn visit_u64<E: de::Error>(self, number: u64) -> Result<String, E> {
            Ok(number.to_string())
        }

        fn visit_f64<E: de::Error>(self, number: f64) -> Result<String, E> {
            Ok(number.to_string())
        }

        fn visit_bool<E: de::Error>(self, value: bool) -> Result<String, E> {
            Ok(value.to_string())
        }
    }

    pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
        let Text(text) = serde::Deserialize::deserialize(deserializer)?;
        Ok(SecretString::from(text))
    }

    pub fn optional<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SecretString>, D::Error> {
        let text: Option<Text> = serde::Deserialize::deserialize(deserializer)?;
        Ok(text.map(|Text(text)| SecretString::from(text)))
    }
}

fn env_value(text: &str) -> toml::Value {
    let looks_structured = text.starts_with('[')
        || text == "true"
        || text == "false"
        || text.parse::<i64>().is_ok()
        || text.parse::<f64>().is_ok();
    if looks_structured
        && let Ok(table) = toml::from_str::<toml::Table>(&format!("v = {text}"))
        && let Some(value) = table.get("v")
        // A number or boolean that reads back as other text ("1e5", "12.50") stays text:
        // a secret set that way must keep its exact characters.
        && (text.starts_with('[') || value.to_string() == text)
    {
        return value.clone();
    }
    toml::Value::String(text.to_string())
}

fn insert(table: &mut toml::Table, keys: &[String], value: toml::Value) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn empty_config_means_demo_data() {
        let config = Config::from_sources("", Vec::new()).unwrap();
        assert!(config.uses_demo_data());
        assert_eq!(config.server.bind, "127.0.0.1:3978");
        assert_eq!(config.report.cron, "0 0 8 * * Mon");
        assert_eq!(config.report.long_open_days, 3);
        assert_eq!(config.server.metrics_bind, "127.0.0.1:9464");
        assert!(config.server.metrics_token.is_none());
        assert_eq!(config.server.answer_seconds, 25);
        assert_eq!(config.report.deadline_seconds, 600);
    }

    #[test]
    fn a_settings_error_names_the_setting_in_the_file_and_in_the_environment() {
        let error = |file: &str, env: Vec<(String, String)>| {
            format!("{:#}", Config::from_sources(file, env).unwrap_err())
        };
        assert_eq!(
            error("[llm]\napi_key = \"k\"\n", Vec::new()),
            "`llm.model` is missing: set `model` under [llm] in the file, or SENTINEL_BOT__LLM__MODEL"
        );
        let from_env = error(
            "",
            vec![("SENTINEL_BOT__REPORT__LONG_OPEN_DAYS".into(), "soon".into())],
        );
        assert!(
            from_env.starts_with("`report.long_open_days`: invalid type")
                && from_env.ends_with(
                    "(read from `long_open_days` under [report] in the file, or SENTINEL_BOT__REPORT__LONG_OPEN_DAYS)"
                ),
            "{from_env}"
        );
        let unknown = error("[server]\nport = 80\n", Vec::new());
        assert!(
            unknown.starts_with("`server.port`: unknown field `port`"),
            "{unknown}"
        );
    }

    #[test]
    fn a_secret_of_digits_from_the_environment_is_text_and_errors_never_show_a_secret() {
        let file = "[slack]\nbot_token = \"xoxb-file\"\n";
        let env = vec![(
            "SENTINEL_BOT__SLACK__SIGNING_SECRET".to_string(),
            "8675309".to_string(),
        )];
        let slack = Config::from_sources(file, env).unwrap().slack.unwrap();
        let signing = slack.signing_secret.expect("set from the environment");
        assert_eq!(signing.expose_secret(), "8675309");
        for exact in ["1e5", "12.50", "true", "007"] {
            let env = vec![(
                "SENTINEL_BOT__SERVER__METRICS_TOKEN".to_string(),
                exact.to_string(),
            )];
            let config = Config::from_sources("", env).unwrap();
            let token = config.server.metrics_token.expect("set");
            assert_eq!(token.expose_secret(), exact);
        }
        let error =
            |file: &str| format!("{:#}", Config::from_sources(file, Vec::new()).unwrap_err());
        let listed = error("[slack]\nbot_token = [\"xoxb-SECRET-123\"]\n");
        assert!(listed.starts_with("`slack.bot_token`"), "{listed}");
        assert!(!listed.contains("SECRET"), "{listed}");
        let unquoted = error("[slack]\nbot_token = xoxb-SECRET-123\n");
        assert!(
            unquoted.starts_with("parsing config TOML: line 2, column"),
            "{unquoted}"
        );
        assert!(!unquoted.contains("SECRET"), "{unquoted}");
    }

    #[test]
    fn environment_overrides_file() {
        let file = r#"
            [slack]
            bot_token = "xoxb-from-file"
            allowed_channels = ["C1"]
            [report]
            time_zone = "Europe/Paris"
        "#;
        let env = vec![
            (
                "SENTINEL_BOT__SLACK__BOT_TOKEN".to_string(),
                "xoxb-from-env".to_string(),
            ),
            (
                "SENTINEL_BOT__SLACK__ALLOWED_CHANNELS".to_string(),
                "[\"C2\", \"C3\"]".to_string(),
            ),
            (
                "SENTINEL_BOT__REPORT__LONG_OPEN_DAYS".to_string(),
                "5".to_string(),
            ),
            ("UNRELATED".to_string(), "x".to_string()),
        ];
        let config = Config::from_sources(file, env).unwrap();
        let slack = config.slack.unwrap();
        assert_eq!(slack.bot_token.expose_secret(), "xoxb-from-env");
        assert_eq!(slack.allowed_channels, vec!["C2", "C3"]);
        assert_eq!(config.report.time_zone, "Europe/Paris");
        assert_eq!(config.report.long_open_days, 5);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let file = r#"
            [slack]
            bot_token = "xoxb-very-secret-token"
            signing_secret = "8f742231b10e8888abcd99yyyzzz85a5"
            [llm]
            model = "gpt-4o"
            api_key = "sk-live-secret"
            [store]
            url = "postgres://bot:hunter2@db/sentinel"
            [server]
            metrics_token = "scrape-me-not"
        "#;
        let config = Config::from_sources(file, Vec::new()).unwrap();
        let debug = format!("{config:?}");
        for secret in [
            "xoxb-very-secret-token",
            "8f742231b10e8888abcd99yyyzzz85a5",
            "sk-live-secret",
            "hunter2",
            "scrape-me-not",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked into Debug output");
        }
        assert!(debug.contains("gpt-4o"));
    }

    /// Every section filled in, with a secret in each secret field.
    const FULL: &str = r#"
        [server]
        public_url = "https://bot.contoso.com"
        metrics_token = "scrape-me-not"
        [azure]
        tenant_id = "t-1"
        client_id = "c-1"
        client_secret = "azure-client-secret-value"
        subscription_id = "s-1"
        resource_group = "soc-rg"
        workspace_name = "soc"
        workspace_id = "w-1"
        extra_workspace_ids = ["w-2", "w-3"]
        [teams]
        app_id = "a-1"
        app_password = "teams-app-password-value"
        report_channels = [{service_url = "https://smba", channel_id = "19:x@thread.tacv2", tenant_id = "t-1"}]
        [slack]
        bot_token = "xoxb-very-secret-token"
        signing_secret = "8f742231b10e8888abcd99yyyzzz85a5"
        app_token = "xapp-secret-app-token"
        report_channels = ["C1"]
        [llm]
        provider = "azure_open_ai"
        model = "gpt-4o"
        api_key = "sk-live-secret"
        [store]
        url = "postgres://bot:hunter2@db/sentinel"
        [triage]
        enabled = true
        webhook_secret = "webhook-bearer-secret"
    "#;

    #[test]
    fn the_summary_reads_as_sections_of_settings_and_never_shows_a_secret() {
        let summary = Config::from_sources(FULL, Vec::new()).unwrap().summary();
        for secret in [
            "scrape-me-not",
            "azure-client-secret-value",
            "teams-app-password-value",
            "xoxb-very-secret-token",
            "8f742231b10e8888abcd99yyyzzz85a5",
            "xapp-secret-app-token",
            "sk-live-secret",
            "hunter2",
            "bot:",
            "webhook-bearer-secret",
        ] {
            assert!(!summary.contains(secret), "{secret} shown:\n{summary}");
        }
        for artefact in ["Some(", "None", "{ ", "[]", "\"", "Secret", "REDACTED"] {
            assert!(!summary.contains(artefact), "{artefact:?} in:\n{summary}");
        }
        for line in [
            "[server]\n",
            "public_url = https://bot.contoso.com\n",
            "metrics_token = set\n",
            "[azure]\n",
            "client_secret = set\n",
            "extra_workspace_ids = w-2, w-3\n",
            "aggregate_above = 50000 incidents (larger periods are aggregated in Log Analytics)\n",
            "[teams]\n",
            "app_password = set\n",
            "report_channels = 19:x@thread.tacv2\n",
            "allowed_tenants = none\n",
            "[slack]\n",
            "bot_token = set\n",
            "signing_secret = set\n",
            "app_token = set\n",
            "[llm]\n",
            "provider = azure_open_ai\n",
            "api_key = set\n",
            "api_version = not set\n",
            "model = gpt-4o\n",
            "url = set (PostgreSQL)\n",
            "webhook_secret = set\n",
        ] {
            assert!(summary.contains(line), "no {line:?} in:\n{summary}");
        }
        assert!(summary.starts_with("[server]\n"), "{summary}");
    }

    #[test]
    fn the_summary_of_an_empty_config_says_what_is_missing() {
        let summary = Config::from_sources("", Vec::new()).unwrap().summary();
        for line in [
            "[azure]\nnot configured: the embedded demo data answers\n",
            "[slack]\nnot configured",
            "metrics_token = not set\n",
            "webhook_secret = not set\n",
            "url = set (SQLite file sentinel-bot.db)\n",
            "cron = 0 0 8 * * Mon\n",
        ] {
            assert!(summary.contains(line), "no {line:?} in:\n{summary}");
        }
        let blank = Config::from_sources("[server]\nmetrics_token = \" \"\n", Vec::new()).unwrap();
        assert!(blank.summary().contains("metrics_token = not set\n"));
    }

    #[test]
    fn a_blank_metrics_token_means_none() {
        let blank = Config::from_sources("[server]\nmetrics_token = \" \"\n", Vec::new()).unwrap();
        assert!(blank.server.metrics_token().is_none());
        let set = Config::from_sources("[server]\nmetrics_token = \"t\"\n", Vec::new()).unwrap();
        assert_eq!(
            set.server
                .metrics_token()
                .map(|token| token.expose_secret().to_string()),
            Some("t".to_string())
        );
    }

    #[test]
    fn workspaces_get_short_names_and_arm_locations_with_defaults() {
        let file = r#"
            [azure]
            tenant_id = "t"
            subscription_id = "sub-main"
            resource_group = "rg-main"
            workspace_name = "ws-contoso"
            workspace_id = "11111111-1111-1111-1111-111111111111"
            extra_workspace_ids = ["77777777-7777-7777-7777-777777777777", "66666666-6666-6666-6666-666666666666"]

            [[azure.extra_workspaces]]
            id = "66666666-6666-6666-6666-666666666666"
            name = "fabrikam-sentinel"
            resource_group = "rg-fabrikam"
            short_name = "fabrikam"

            [[azure.extra_workspaces]]
            id = "88888888-8888-8888-8888-888888888888"
            name = "northwind-ws"
            subscription_id = "sub-nw"
        "#;
        let config = Config::from_sources(file, Vec::new()).unwrap();
        let workspaces = config.azure.unwrap().workspaces().unwrap();
        let arm = |subscription: &str, group: &str, name: &str| {
            Some(ArmLocation {
                subscription_id: subscription.to_string(),
                resource_group: group.to_string(),
                workspace_name: name.to_string(),
            })
        };
        let seen: Vec<(&str, &str, Option<ArmLocation>)> = workspaces
            .iter()
            .map(|it| (it.short_name.as_str(), it.id.as_str(), it.arm.clone()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "ws-contoso",
                    "11111111-1111-1111-1111-111111111111",
                    arm("sub-main", "rg-main", "ws-contoso")
                ),
                (
                    "fabrikam",
                    "66666666-6666-6666-6666-666666666666",
                    arm("sub-main", "rg-fabrikam", "fabrikam-sentinel")
                ),
                (
                    "northwind-ws",
                    "88888888-8888-8888-8888-888888888888",
                    arm("sub-nw", "rg-main", "northwind-ws")
                ),
                // Listed by id only (and not again among extra_workspaces): queries only.
                ("77777777", "77777777-7777-7777-7777-777777777777", None),
            ]
        );
    }

    #[test]
    fn clashing_or_untypable_short_names_are_refused() {
        let base = r#"
            [azure]
            tenant_id = "t"
            subscription_id = "s"
            resource_group = "g"
            workspace_name = "ws"
            workspace_id = "11111111-1111-1111-1111-111111111111"
        "#;
        let with = |extra: &str| {
            let config = Config::from_sources(&format!("{base}{extra}"), Vec::new()).unwrap();
            config.azure.unwrap().workspaces()
        };
        let clash =
            with("[[azure.extra_workspaces]]\nid = \"2\"\nname = \"other\"\nshort_name = \"WS\"\n");
        assert_eq!(
            clash.unwrap_err(),
            "two workspaces are called `WS`: give each its own short_name"
        );
        let spaced =
            with("[[azure.extra_workspaces]]\nid = \"2\"\nname = \"n\"\nshort_name = \"my ws\"\n");
        assert!(
            spaced
                .unwrap_err()
                .contains("`my ws` must be 1 to 64 letters")
        );
        let twice = with("extra_workspace_ids = [\"11111111-1111-1111-1111-111111111111\"]\n");
        assert_eq!(
            twice.map(|it| it.len()),
            Ok(1),
            "the main id again is no second workspace"
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let error = Config::from_sources("[slack]\nbot_tokn = \"x\"\n", Vec::new()).unwrap_err();
        assert!(format!("{error:#}").contains("bot_tokn"), "{error:#}");
        let error = Config::from_sources(
            "",
            vec![("SENTINEL_BOT__REPORT__CRONN".to_string(), "x".to_string())],
        )
        .unwrap_err();
        assert!(format!("{error:#}").contains("cronn"), "{error:#}");
    }
}
