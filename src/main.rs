//! The `sentinel-bot` command line: parse arguments, load config, run one job.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sentinel_bot::bot::{Bot, Request, Settings, User};
use sentinel_bot::config::Config;
use sentinel_bot::render;
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
    /// Check the configuration and say what the bot would use.
    CheckConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref()).context("loading configuration")?;
    match cli.job {
        Job::Ask { text } => {
            let now = chrono::Utc::now();
            let demo = Arc::new(DemoSource::new(now));
            let bot = Bot {
                source: demo.clone(),
                intel: demo,
                settings: Settings::default(),
                advisor: None,
            };
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
        Job::CheckConfig => {
            println!("{config:#?}");
        }
    }
    Ok(())
}
