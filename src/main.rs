//! The `sentinel-bot` command line: parse arguments, load config, run one job.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sentinel_bot::app;
use sentinel_bot::bot::command::{self, Command};
use sentinel_bot::bot::{Realm, Request, User};
use sentinel_bot::config::Config;
use sentinel_bot::render;
use sentinel_bot::report::{self, Layout};
use std::path::PathBuf;

/// A Microsoft Sentinel chat bot for Teams and Slack.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML config file; `SENTINEL_BOT__SECTION__KEY` variables override it.
    #[arg(long, global = true, env = "SENTINEL_BOT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    job: Job,
}

#[derive(Subcommand)]
enum Job {
    /// Serve Teams and Slack, and post the weekly report on schedule.
    Serve,
    /// Answer one command and print the answer as Markdown, e.g. `ask "/incidents week"`.
    Ask {
        /// The command text, as typed in chat.
        text: String,
    },
    /// Build the incident report and print it (or write it to a file).
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
        /// Period: today, week, month, Nd (days) or Nh (hours), ending now or at `--end`.
        #[arg(long, default_value = "week")]
        period: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// End of the period (RFC 3339, e.g. `2026-11-23T00:00:00Z`), to rebuild a past
        /// report from today's data (the demo data set stays the same); the default is now.
        #[arg(long)]
        end: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Build the Teams app package (manifest.json and icons) for an app id.
    Manifest {
        /// The bot's Microsoft App ID (a GUID).
        #[arg(long)]
        app_id: String,
        /// Where to write the zip.
        #[arg(long, default_value = "sentinel-bot-teams.zip")]
        out: PathBuf,
    },
    /// Check the configuration and say what the bot would use.
    CheckConfig,
}

/// Report output formats.
#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Md,
    Html,
    Json,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sentinel_bot::no_transparent_huge_pages();
    let cli = Cli::parse();
    init_logging(matches!(cli.job, Job::Serve));
    let config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    match cli.job {
        Job::Serve => app::serve(config).await?,
        Job::Ask { text } => {
            let now = chrono::Utc::now();
            let app = app::build(&config, now).await?;
            let request = Request {
                text,
                user: User {
                    id: "cli".to_string(),
                    name: Some("Terminal user".to_string()),
                    email: None,
                    realm: Realm::Local,
                },
                ..Request::default()
            };
            let reply = app.bot.answer(&request, now).await;
            print(&render::markdown::render(&reply))?;
        }
        Job::Report {
            format,
            period,
            out,
            end,
        } => {
            let today = chrono::Utc::now();
            if let Some(end) = end.filter(|end| *end > today) {
                // A window ending later would count incidents that do not exist yet as none.
                anyhow::bail!(
                    "--end {} is in the future: a report covers time that has passed",
                    end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
            }
            let now = end.unwrap_or(today);
            let period = match command::parse(&format!("/report {period}")) {
                Ok(Command::Report { period }) => period,
                Ok(_) => anyhow::bail!("`{period}` is not a period. {}", periods()),
                // The chat usage line (`/report ...`) means nothing here: the CLI's own words.
                Err(error) => anyhow::bail!("{} {}", error.message, periods()),
            };
            // The data set is today's (the demo's anchor included); `--end` only picks which
            // period of it the report covers.
            let app = app::build(&config, today).await?;
            // `app::build` set the prompt purge for `serve`; this process ends after one report.
            sentinel_bot::return_freed_memory_lazily();
            let report = app
                .bot
                .weekly_report(period.window(now), now)
                .await
                .context("building the report")?;
            match format {
                Format::Json => write_out(out.as_deref(), |writer| {
                    serde_json::to_writer_pretty(writer, &report).map_err(std::io::Error::from)
                })?,
                Format::Md => {
                    // Each incident's row is laid out and written in turn, so the export
                    // holds neither a cell per field of every incident nor the whole text.
                    let layout = report::full_reply(&report);
                    let rows = layout
                        .detail_at
                        .map(|at| (at, report::detail_rows(&report)));
                    write_out(out.as_deref(), |writer| {
                        render::markdown::render_to(&layout.reply, rows, writer)
                    })?;
                }
                Format::Html => {
                    let chart = sentinel_bot::present::daily_chart(&report.facts.created);
                    let reply = report::to_reply(&report, Layout::Full);
                    // The laid-out reply holds everything the export shows: free the
                    // incidents before rendering, so both are never resident together.
                    drop(report);
                    let pngs: Vec<Vec<u8>> =
                        render::chart::png(&chart, 1000, 500).into_iter().collect();
                    let text = render::html::render(&reply, &pngs);
                    write_out(out.as_deref(), |writer| writer.write_all(text.as_bytes()))?;
                    return Ok(());
                }
            }
            // The output is written and the process is about to exit: handing the incidents
            // back one by one would only cost time (a fifth of a large export's). The rest of
            // the app (the store's connections among it) is still closed normally.
            std::mem::forget(report);
        }
        Job::Manifest { app_id, out } => {
            sentinel_bot::channels::teams::manifest::package(&app_id, &out)?;
            print(&format!("wrote {}", out.display()))?;
        }
        Job::CheckConfig => print(&check_config(&config, chrono::Utc::now())?)?,
    }
    Ok(())
}

/// What `check-config` prints: where incidents come from, when the next weekly report is due,
/// then [`Config::summary`] (secrets as `set` / `not set` only).
fn check_config(config: &Config, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<String> {
    let schedule = sentinel_bot::schedule::ReportSchedule::from_config(&config.report)
        .context("reading [report] schedule")?;
    let source = if config.uses_demo_data() {
        "embedded demo data"
    } else {
        "Microsoft Sentinel"
    };
    let next = match (config.report.enabled, schedule.next_after(now)) {
        (false, _) => "off ([report] enabled = false)".to_string(),
        (true, Some(at)) => at.format("%a %d %b %Y %H:%M UTC").to_string(),
        (true, None) => "never (the cron expression has no future time)".to_string(),
    };
    let mut workspaces = String::new();
    if let Some(azure) = &config.azure {
        let listed = azure
            .workspaces()
            .map_err(anyhow::Error::msg)
            .context("reading the [azure] workspaces")?;
        for workspace in &listed {
            let location = match &workspace.arm {
                Some(arm) => format!(
                    "subscription {}, resource group {}, workspace {}",
                    arm.subscription_id, arm.resource_group, arm.workspace_name
                ),
                None => "queries only: no ARM location, so no actions".to_string(),
            };
            workspaces.push_str(&format!(
                "workspace {}: {} ({location})\n",
                workspace.short_name, workspace.id
            ));
        }
    }
    Ok(format!(
        "incident data: {source}\n{workspaces}next weekly report: {next}\n\n{}",
        config.summary().trim_end()
    ))
}

/// Writes what `body` writes to the file at `path`, or else to standard output followed by a
/// newline as [`print`] does (a reader that stops early ends the output quietly).
fn write_out(
    path: Option<&std::path::Path>,
    body: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    use std::io::Write;
    match path {
        // Written to a temporary file in the same directory and renamed over `path` only
        // when whole: a write that fails part-way (a full disk) leaves the previous file.
        Some(path) => {
            let directory = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => std::path::Path::new("."),
            };
            let writing = || format!("writing {}", path.display());
            let file = tempfile::NamedTempFile::new_in(directory).with_context(writing)?;
            let mut writer = std::io::BufWriter::with_capacity(1 << 16, file);
            body(&mut writer)
                .and_then(|()| writer.flush())
                .with_context(writing)?;
            let file = writer
                .into_inner()
                .map_err(|error| error.into_error())
                .with_context(writing)?;
            file.persist(path)
                .map_err(|error| error.error)
                .with_context(writing)?;
            Ok(())
        }
        None => {
            let mut writer = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            match body(&mut writer)
                .and_then(|()| writer.write_all(b"\n"))
                .and_then(|()| writer.flush())
            {
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("writing to standard output"),
            }
        }
    }
}

/// What `report --period` takes, for its errors.
fn periods() -> String {
    let most = sentinel_bot::period::MAX_DAYS;
    format!("--period takes today, week, month, Nd (days, up to {most}) or Nh (hours).")
}

/// Writes `text` and a newline to standard output. A reader that stops early
/// (`sentinel-bot report | head`) closes the pipe; that ends the output quietly instead of
/// panicking as `println!` would.
fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

/// JSON logs for the server (one object per line, with request ids), plain text for the CLI.
/// Colours only on a terminal (and not under `NO_COLOR`, no-color.org): a log piped to a
/// file or a collector gets no escape codes.
fn init_logging(json: bool) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.with_target(false).init();
    }
}
