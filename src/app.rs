//! Wiring: builds the bot, its sources, store, channels, scheduler and auto-triage from
//! `Config`, adapts the SQL store to the small traits the core and channels define, and runs
//! `serve`.

use crate::advice::memory::{AnswerCache, ConversationMemory, Turn};
use crate::advice::{Advisor, llm::LlmClient};
use crate::bot::actions::{AuditRecord, Ledger, Proposal};
use crate::bot::permissions::Permissions;
use crate::bot::{Bot, Deadlines, Settings};
use crate::channels::slack::seen::SeenKeys;
use crate::channels::slack::{self, SlackState, WebApi};
use crate::channels::teams::{self, TeamsState};
use crate::channels::webhook::{self, WebhookState};
use crate::channels::workload::Workload;
use crate::config::{Config, TeamsChannel};
use crate::directory::{self, GroupDirectory};
use crate::render;
use crate::reply::Reply;
use crate::report::Layout;
use crate::schedule::{self, Poster, ReportSchedule, Scheduler, Slot};
use crate::server::{self, MetricsAccess, Ops};
use crate::sources::azure::AzureSource;
use crate::sources::demo::DemoSource;
use crate::sources::{IncidentSource, ThreatIntel};
use crate::store::{AuditEntry, Role, Store};
use crate::triage::{Announcer, Triage};
use crate::web_report::{self, WebReports};
use anyhow::{Context, bail};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;
use std::sync::Arc;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for acknowledged answers and background jobs to finish.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// How long dedupe keys (Slack event ids, thread markers) are remembered.
const SEEN_TTL: Duration = Duration::days(2);

/// Everything `serve` runs.
pub struct App {
    pub bot: Arc<Bot>,
    pub store: Store,
    pub teams: Option<TeamsState>,
    pub slack: Option<SlackState>,
    /// Auto-triage, when `[triage] enabled`.
    pub triage: Option<Arc<Triage>>,
    /// Answers the channels deliver after acknowledging a request; shutdown waits for them.
    pub tasks: TaskTracker,
}

/// Builds the bot and channels. With no `[azure]` section the demo data answers.
pub async fn build(config: &Config, now: DateTime<Utc>) -> anyhow::Result<App> {
    crate::return_freed_memory_promptly();
    let store = Store::connect(config.store.url.expose_secret())
        .await
        .context("opening the store")?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .context("building the HTTP client")?;
    let azure = config
        .azure
        .as_ref()
        .map(|azure| AzureSource::new(azure, http.clone()).map(Arc::new))
        .transpose()
        .context("configuring Azure")?;
    let (source, intel): (Arc<dyn IncidentSource>, Arc<dyn ThreatIntel>) = match &azure {
        Some(azure) => (azure.clone(), azure.clone()),
        None => {
            let demo = Arc::new(DemoSource::new(now));
            (demo.clone(), demo)
        }
    };
    let slack_api = config.slack.as_ref().map(|slack_config| {
        Arc::new(WebApi::new(
            &slack_config.api_url,
            slack_config.bot_token.clone(),
        ))
    });
    let llm = config
        .llm
        .as_ref()
        .map(LlmClient::new)
        .transpose()
        .context("configuring the LLM")?;
    let advisor = Arc::new(
        Advisor::new(llm, intel.clone())
            .with_memory(Arc::new(StoreAdapter(store.clone())))
            .with_cache(Arc::new(StoreAdapter(store.clone()))),
    );
    let settings = Settings {
        long_open_after: Duration::days(i64::from(config.report.long_open_days)),
        permissions: permissions(config, azure, slack_api.clone()),
        web_reports: WebReports::from_config(config, store.clone()),
        shared_answers: Arc::new(crate::bot::shared::SharedAnswers::new(
            std::time::Duration::from_secs(config.report.answer_cache_seconds),
        )),
        deadlines: Deadlines {
            interactive: std::time::Duration::from_secs(config.server.answer_seconds),
            scheduled: std::time::Duration::from_secs(config.report.deadline_seconds),
        },
        ..Settings::default()
    };
    let workload = Workload::new(
        config.server.max_running_answers,
        config.server.max_waiting_answers,
    );
    let bot = Arc::new(Bot {
        source,
        intel,
        ledger: Arc::new(StoreAdapter(store.clone())),
        settings,
        advisor: Some(advisor.clone()),
    });
    let tasks = TaskTracker::new();
    let teams = config.teams.as_ref().map(|teams_config| {
        TeamsState::new(
            bot.clone(),
            teams_config,
            http.clone(),
            teams::is_loopback_bind(&config.server.bind),
        )
        .with_tasks(tasks.clone())
        .with_workload(workload.clone())
    });
    let slack = config
        .slack
        .as_ref()
        .zip(slack_api)
        .map(|(slack_config, api)| SlackState {
            tasks: tasks.clone(),
            workload: workload.clone(),
            ..SlackState::new(
                bot.clone(),
                slack_config,
                api,
                Arc::new(StoreAdapter(store.clone())),
            )
        });
    let triage = config.triage.enabled.then(|| {
        let channels = ChannelPoster::new(config, teams.clone(), slack.clone());
        let alert_channels = alert_channels(config);
        let announcer: Option<Arc<dyn Announcer>> = if alert_channels.is_empty() {
            tracing::info!(
                "no alert_channels configured; high-severity incidents are not announced"
            );
            None
        } else {
            Some(Arc::new(ChannelAnnouncer {
                channels,
                alert_channels,
            }))
        };
        Arc::new(Triage::new(
            bot.source.clone(),
            advisor,
            store.clone(),
            announcer,
        ))
    });
    Ok(App {
        bot,
        store,
        teams,
        slack,
        triage,
        tasks,
    })
}

/// Who may act: `[actions]`, with groups looked up in Graph (Teams users) or Slack (Slack users).
fn permissions(
    config: &Config,
    azure: Option<Arc<AzureSource>>,
    slack: Option<Arc<WebApi>>,
) -> Permissions {
    let groups = &config.actions.allowed_groups;
    let unrecognised = directory::unrecognised_groups(groups);
    if !unrecognised.is_empty() {
        tracing::warn!(
            ?unrecognised,
            "actions.allowed_groups holds ids that are neither Entra group GUIDs nor Slack S... ids; they never match"
        );
    }
    Permissions {
        allowed_users: config.actions.allowed_users.clone(),
        allowed_groups: groups.clone(),
        directory: Arc::new(GroupDirectory {
            entra: azure,
            slack,
        }),
    }
}

/// Runs the HTTP server, the weekly scheduler and Socket Mode until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let schedule =
        ReportSchedule::from_config(&config.report).context("reading [report] schedule")?;
    let app = build(&config, Utc::now()).await?;
    if config.teams.is_none() && config.slack.is_none() {
        tracing::warn!(
            "neither [teams] nor [slack] is configured: only health and metrics endpoints are served"
        );
    }
    let ops = Ops::install().with_access(MetricsAccess {
        separate_listener: !config.server.metrics_bind.is_empty(),
        token: config.server.metrics_token(),
    });
    let mut channels = axum::Router::new();
    if let Some(teams_state) = &app.teams {
        channels = channels.merge(teams::router(teams_state.clone()));
    }
    let socket_mode = config.slack.as_ref().is_some_and(|slack| slack.socket_mode);
    if let (Some(slack_state), false) = (&app.slack, socket_mode) {
        channels = channels.merge(slack::router(slack_state.clone()));
    }
    if config.report.web_pages {
        channels = channels.merge(web_report::router(app.store.clone()));
    }
    if let (Some(triage), Some(secret)) = (&app.triage, &config.triage.webhook_secret) {
        channels = channels.merge(webhook::router(WebhookState {
            triage: triage.clone(),
            secret: secret.clone(),
        }));
    }
    let router = server::router(channels, ops.clone(), config.server.body_limit);

    let (stop_sender, stop) = tokio::sync::watch::channel(false);
    let mut background = tokio::task::JoinSet::new();
    if config.report.enabled {
        let channels = schedule::report_channels(&config);
        if channels.is_empty() {
            tracing::info!("no report channels configured; the weekly post is off");
        } else {
            let poster = report_poster(&app, &config);
            let seconds = |value: u64, default: Duration| {
                i64::try_from(value.max(1))
                    .ok()
                    .and_then(Duration::try_seconds)
                    .unwrap_or(default)
            };
            let scheduler = Scheduler::new(app.store.clone(), schedule, channels, poster)
                .with_timing(
                    seconds(config.report.lease_seconds, schedule::DEFAULT_LEASE),
                    seconds(config.report.retry_seconds, schedule::DEFAULT_RETRY_DELAY),
                );
            let mut stop = stop.clone();
            background.spawn(scheduler.run(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            }));
        }
    }
    if let Some(triage) = &app.triage
        && config.triage.poll_seconds > 0
    {
        let triage = triage.clone();
        let every = std::time::Duration::from_secs(config.triage.poll_seconds);
        let mut stop = stop.clone();
        background.spawn(async move {
            triage
                .run(every, async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
        });
    }
    let mut socket_listener = None;
    if let (Some(slack_state), Some(slack_config)) = (&app.slack, &config.slack)
        && socket_mode
    {
        let Some(app_token) = slack_config.app_token.clone() else {
            bail!("slack.socket_mode needs slack.app_token (xapp-...)");
        };
        let slack_state = slack_state.clone();
        socket_listener = Some(tokio::spawn(async move {
            if let Err(error) = slack::socket_mode::serve(slack_state, &app_token).await {
                tracing::error!(error = %format!("{error:#}"), "Slack Socket Mode stopped");
            }
        }));
    }

    background.spawn(purge_expired(app.store.clone(), stop.clone()));
    if !config.server.metrics_bind.is_empty() {
        let bind = &config.server.metrics_bind;
        if !teams::is_loopback_bind(bind) && config.server.metrics_token().is_none() {
            tracing::warn!(
                bind,
                "/metrics is served beyond loopback without server.metrics_token"
            );
        }
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding server.metrics_bind {bind}"))?;
        let mut stop = stop.clone();
        let metrics = server::metrics_router(ops.clone());
        background.spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            if let Err(error) = axum::serve(listener, metrics)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(&config.server.bind)
        .await
        .with_context(|| format!("binding {}", config.server.bind))?;
    tracing::info!(bind = %config.server.bind, demo = config.uses_demo_data(), "serving");
    ops.set_ready(true);
    let shutdown_ops = ops.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Stop taking traffic from the load balancer while in-flight requests finish.
            shutdown_ops.set_ready(false);
            let _ = stop_sender.send(true);
        })
        .await
        .context("serving HTTP")?;
    // In-flight HTTP requests are done. Socket Mode takes no new work; answers already
    // acknowledged, a report post or a triage poll in progress get a bounded time to finish.
    if let Some(listener) = socket_listener {
        listener.abort();
    }
    app.tasks.close();
    let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
        app.tasks.wait().await;
        while let Some(result) = background.join_next().await {
            if let Err(error) = result {
                tracing::warn!(%error, "background task ended abnormally");
            }
        }
    })
    .await;
    if finished.is_err() {
        tracing::warn!(grace = ?SHUTDOWN_GRACE, "shutting down with work still in progress");
    }
    app.store.close().await;
    Ok(())
}

/// How often expired store rows (dedupe keys, Slack signatures, confirmations) are deleted.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes expired rows now and then until `stop`, so the small tables stay small.
async fn purge_expired(store: Store, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(PURGE_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(error) = store.purge_expired(Utc::now()).await {
                    tracing::warn!(%error, "purging expired store rows failed");
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// The scheduler's poster: builds the report for the slot's week as a post for a Teams or
/// Slack channel, sent part by part.
pub fn report_poster(app: &App, config: &Config) -> Arc<dyn Poster> {
    Arc::new(ReportPoster {
        bot: app.bot.clone(),
        channels: ChannelPoster::new(config, app.teams.clone(), app.slack.clone()),
        attach_page: config.report.web_pages,
    })
}

/// The weekly post for `window`: the report's chat summary, with an "Open full report" link
/// when web pages are on, and the report itself (for files that follow the post).
pub async fn weekly_post(
    bot: &Bot,
    window: crate::period::Window,
    at: DateTime<Utc>,
) -> anyhow::Result<(Reply, crate::report::WeeklyReport)> {
    let report = bot
        .weekly_report(window, at)
        .await
        .context("building the weekly report")?;
    let mut reply = crate::report::to_reply(&report, Layout::Chat);
    if let Some(pages) = &bot.settings.web_reports {
        reply = pages.link(reply, &report, at).await;
    }
    Ok((reply, report))
}

/// Builds the weekly report posts to Teams and Slack channels for the scheduler.
struct ReportPoster {
    bot: Arc<Bot>,
    channels: ChannelPoster,
    /// In Slack, attach the full report as an HTML file (`report.web_pages`).
    attach_page: bool,
}

#[async_trait]
impl Poster for ReportPoster {
    async fn prepare(
        &self,
        channel: &str,
        slot: &Slot,
        run_key: &str,
    ) -> anyhow::Result<Box<dyn schedule::Post>> {
        let window = crate::period::Window {
            start: slot.at - Duration::days(7),
            end: slot.at,
        };
        let (reply, report) = weekly_post(&self.bot, window, slot.at).await?;
        let placeholder = schedule::placeholder_text(slot);
        if let Some(channel_id) = channel.strip_prefix("teams:") {
            let (teams_state, target) = self.channels.teams_target(channel_id)?;
            return Ok(Box::new(teams::report_post::ReportPost::new(
                teams_state.connector().clone(),
                target.clone(),
                run_key,
                &placeholder,
                &reply,
            )));
        }
        if let Some(channel_id) = channel.strip_prefix("slack:") {
            let Some(slack_state) = &self.channels.slack else {
                bail!("Slack is not configured");
            };
            return Ok(Box::new(slack::report_post::ReportPost::new(
                slack_state.api.clone(),
                channel_id,
                run_key,
                &placeholder,
                render::block_kit::render(&reply),
                slack_files(&report, self.attach_page),
            )));
        }
        bail!("unknown channel kind in `{channel}`")
    }
}

/// What follows the weekly post in Slack, which cannot show it inline: the chart as a PNG and,
/// with `page`, the full report as an HTML file, whose access follows the channel's membership.
fn slack_files(
    report: &crate::report::WeeklyReport,
    page: bool,
) -> Vec<slack::report_post::ReportFile> {
    use slack::report_post::ReportFile;
    let chart = crate::present::daily_chart(&report.facts.created);
    let png = render::chart::png(&chart, 1000, 500)
        .ok()
        .map(|png| ReportFile {
            part: "file:chart",
            name: "incidents.png",
            title: "Incidents chart",
            bytes: png,
        });
    let page = page.then(|| ReportFile {
        part: "file:report",
        name: "incident-report.html",
        title: "Full incident report",
        bytes: web_report::page(report, None).into_bytes(),
    });
    png.into_iter().chain(page).collect()
}

/// Channel keys (`teams:<id>`, `slack:<id>`) of every configured alert channel.
fn alert_channels(config: &Config) -> Vec<String> {
    schedule::channel_keys(
        config.teams.iter().flat_map(|teams| &teams.alert_channels),
        config.slack.iter().flat_map(|slack| &slack.alert_channels),
    )
}

/// Posts a reply to a channel named by its key, `teams:<channel id>` or `slack:<channel id>`.
#[derive(Clone)]
struct ChannelPoster {
    teams: Option<TeamsState>,
    slack: Option<SlackState>,
    /// Every configured Teams channel (report and alert), to find a key's service URL and tenant.
    teams_channels: Vec<TeamsChannel>,
}

impl ChannelPoster {
    fn new(config: &Config, teams: Option<TeamsState>, slack: Option<SlackState>) -> ChannelPoster {
        let teams_channels = config
            .teams
            .iter()
            .flat_map(|teams| teams.report_channels.iter().chain(&teams.alert_channels))
            .cloned()
            .collect();
        ChannelPoster {
            teams,
            slack,
            teams_channels,
        }
    }

    /// The Teams client and the configured channel with this id.
    fn teams_target(&self, channel_id: &str) -> anyhow::Result<(&TeamsState, &TeamsChannel)> {
        let Some(teams_state) = &self.teams else {
            bail!("Teams is not configured");
        };
        let target = self
            .teams_channels
            .iter()
            .find(|target| target.channel_id == channel_id)
            .context("Teams channel is not configured")?;
        Ok((teams_state, target))
    }

    /// Posts `reply` (an announcement) to one channel.
    async fn post(&self, channel: &str, reply: &Reply) -> anyhow::Result<()> {
        if let Some(channel_id) = channel.strip_prefix("teams:") {
            let (teams_state, target) = self.teams_target(channel_id)?;
            teams_state
                .connector()
                .post_to_channel(target, reply)
                .await?;
            return Ok(());
        }
        if let Some(channel_id) = channel.strip_prefix("slack:") {
            let Some(slack_state) = &self.slack else {
                bail!("Slack is not configured");
            };
            let messages = render::block_kit::render(reply);
            slack_state
                .api
                .post_report(channel_id, &messages, None)
                .await?;
            return Ok(());
        }
        bail!("unknown channel kind in `{channel}`")
    }
}

/// Announces triaged high-severity incidents in every alert channel.
struct ChannelAnnouncer {
    channels: ChannelPoster,
    alert_channels: Vec<String>,
}

#[async_trait]
impl Announcer for ChannelAnnouncer {
    async fn announce(&self, reply: &Reply) -> anyhow::Result<()> {
        // Every channel is tried, so one failing channel does not silence the others.
        let mut failures = Vec::new();
        for channel in &self.alert_channels {
            if let Err(error) = self.channels.post(channel, reply).await {
                failures.push(format!("{channel}: {error:#}"));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            bail!("announcing failed in {}", failures.join("; "))
        }
    }
}

/// The SQL store seen through the traits of the core and the channels.
struct StoreAdapter(Store);

#[async_trait]
impl Ledger for StoreAdapter {
    async fn put_pending(
        &self,
        token: &str,
        user_id: &str,
        proposal: &Proposal,
        expires: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let json = serde_json::to_string(proposal)?;
        Ok(self.0.put_pending(token, user_id, &json, expires).await?)
    }

    async fn take_pending(
        &self,
        token: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Proposal>> {
        let Some(json) = self.0.take_pending(token, user_id, now).await? else {
            return Ok(None);
        };
        // Rows written before proposals carried the incident's version hold the bare action.
        let proposal = match serde_json::from_str(&json) {
            Ok(proposal) => proposal,
            Err(_) => Proposal {
                action: serde_json::from_str(&json).context("reading a pending action")?,
                seen: None,
            },
        };
        Ok(Some(proposal))
    }

    async fn audit(&self, record: &AuditRecord) -> anyhow::Result<()> {
        let actor = match &record.user_name {
            Some(name) => format!("{} ({name})", record.user_id),
            None => record.user_id.clone(),
        };
        let entry = AuditEntry {
            at: record.at,
            actor,
            action: record.action.clone(),
            incident: record.incident.map(|number| number.to_string()),
            result: record.result.clone(),
        };
        Ok(self.0.audit(&entry).await?)
    }
}

#[async_trait]
impl SeenKeys for StoreAdapter {
    async fn first_time(&self, key: &str) -> anyhow::Result<bool> {
        Ok(self.0.first_time(key, Utc::now(), SEEN_TTL).await?)
    }

    async fn contains(&self, key: &str) -> anyhow::Result<bool> {
        Ok(self.0.seen(key, Utc::now()).await?)
    }

    async fn first_use(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        Ok(self.0.first_use_of_signature(key, now, until).await?)
    }
}

#[async_trait]
impl ConversationMemory for StoreAdapter {
    async fn turns(&self, thread: &str) -> Vec<Turn> {
        let since = Utc::now() - crate::store::TURN_TTL;
        let rows = match self
            .0
            .turns(thread, crate::store::MAX_TURNS_PER_THREAD, since)
            .await
        {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(%error, "reading conversation turns");
                return Vec::new();
            }
        };
        // Stored as alternating user/assistant rows; pair them back up.
        let mut turns = Vec::new();
        let mut question: Option<String> = None;
        for row in rows {
            match row.role {
                Role::User => question = Some(row.text),
                Role::Assistant => turns.push(Turn {
                    question: question.take().unwrap_or_default(),
                    answer: row.text,
                }),
            }
        }
        turns
    }

    async fn append(&self, thread: &str, turn: Turn) {
        let now = Utc::now();
        for (role, text) in [
            (Role::User, &turn.question),
            (Role::Assistant, &turn.answer),
        ] {
            if let Err(error) = self.0.append_turn(thread, role, text, now).await {
                tracing::warn!(%error, "saving a conversation turn");
            }
        }
    }
}

#[async_trait]
impl AnswerCache for StoreAdapter {
    async fn get(&self, key: &str) -> Option<String> {
        self.0.cache_get(key).await.ok().flatten()
    }

    async fn put(&self, key: &str, value: String) {
        if let Err(error) = self.0.cache_put(key, &value, Utc::now()).await {
            tracing::warn!(%error, "saving an answer in the cache");
        }
    }
}
