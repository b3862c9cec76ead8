//! The `sentinel-bot` command line: parse arguments, load config, run one job.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sentinel_bot::bot::command::{self, Command};
use sentinel_bot::bot::{Bot, Request, Settings, User};
use sentinel_bot::config::Config;
use sentinel_bot::render;
use sentinel_bot::report::{self, Layout};
use sentinel_bot::sources::demo::DemoSource;
use std::path::PathBuf;
use std::sync::Arc;

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
        /// Period: week, month, or Nd.
        #[arg(long, default_value = "week")]
        period: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
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
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    match cli.job {
        Job::Ask { text } => {
            let now = chrono::Utc::now();
            let bot = demo_bot(now);
            let request = Request {
                text,
                user: User {
                    id: "cli".to_string(),
                    name: Some("Terminal user".to_string()),
                    email: None,
                },
                thread: None,
            };
            let reply = bot.answer(&request, now).await;
            println!("{}", render::markdown::render(&reply));
        }
        Job::Report {
            format,
            period,
            out,
        } => {
            let now = chrono::Utc::now();
            let period = match command::parse(&format!("/report {period}")) {
                Ok(Command::Report { period }) => period,
                Ok(_) => anyhow::bail!("`{period}` is not a period"),
                Err(error) => anyhow::bail!("{error}"),
            };
            let bot = demo_bot(now);
            let report = bot
                .weekly_report(period.window(now), now)
                .await
                .context("building the report")?;
            let reply = report::to_reply(&report, Layout::Full);
            let text = match format {
                Format::Md => render::markdown::render(&reply),
                Format::Html => render::html::render(&reply, &[]),
                Format::Json => serde_json::to_string_pretty(&report)?,
            };
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => println!("{text}"),
            }
        }
        Job::CheckConfig => {
            println!("{config:#?}");
        }
    }
    Ok(())
}

fn demo_bot(now: chrono::DateTime<chrono::Utc>) -> Bot {
    let demo = Arc::new(DemoSource::new(now));
    Bot {
        source: demo.clone(),
        intel: demo,
        ledger: Arc::new(sentinel_bot::bot::actions::MemoryLedger::default()),
        settings: Settings::default(),
        advisor: None,
    }
}
