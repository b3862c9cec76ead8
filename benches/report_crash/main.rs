//! The weekly post, exactly once, under SIGKILL: a crash test anyone can rerun.
//!
//! Two real `sentinel-bot serve` replicas share one PostgreSQL (a fresh schema per trial)
//! and post the weekly report to one Slack channel and one Teams channel of a fake on
//! 127.0.0.1 (Slack Web API, Bot Framework connector, Entra token endpoint, Graph). Each
//! trial picks a moment around the post (waiting to claim, holding the claim, a request
//! in flight, the platform answered 200 but the store was not updated yet, or a platform
//! that answers 5xx or too late after delivering), kills one or both replicas there with
//! SIGKILL, restarts them, waits until both channels' runs are done, and counts what the
//! channels received. Success is, in the Slack channel, exactly one message per part of the
//! report (a first trial without faults says how many Block Kit messages the report spans)
//! and one chart file, and in the Teams channel one thread, each holding the report.
//!
//! Run (needs PostgreSQL on 127.0.0.1:5432 with a `test` database, trust auth; takes a few
//! seconds per trial):
//!
//! ```sh
//! cargo bench --bench report_crash -- --trials 100
//! ```
//!
//! Options: `--trials N` per platform (a plain `cargo bench` runs 3), `--seed S`, `--lease SECONDS`
//! (default 4; the bot cuts a post off at half of it), `--without-history` (the control
//! run: the fake refuses every history read, as for a bot without `channels:history` or
//! the Teams consent, to show what the lookup prevents). `SENTINEL_BOT_TEST_POSTGRES`
//! overrides the database URL. Exits 1 if any trial delivered other than exactly once.

mod fake;
mod trial;

use fake::{Fake, Fault, Step};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use trial::{Counts, Moment, Setup, Victims};

/// The bot's Microsoft App ID in the fake tenant.
pub const APP_ID: &str = "11111111-2222-3333-4444-555555555555";

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The moments aimed at in trials for `platform`.
fn moments(platform: &str) -> Vec<Moment> {
    let steps: &[Step] = if platform == "Slack" {
        &[
            Step::SlackPost,
            Step::SlackUpdate,
            Step::SlackUploadUrl,
            Step::SlackShare,
        ]
    } else {
        &[Step::TeamsCreate, Step::TeamsUpdate]
    };
    let mut moments = vec![Moment::BeforeClaim, Moment::AfterClaim];
    for &step in steps {
        moments.push(Moment::Request(step, Fault::InFlight { deliver: true }));
        moments.push(Moment::Request(step, Fault::InFlight { deliver: false }));
        moments.push(Moment::Request(step, Fault::AfterDelivery));
    }
    // The sends that are not idempotent, answered badly after delivering.
    let risky: &[Step] = if platform == "Slack" {
        &[Step::SlackPost, Step::SlackShare]
    } else {
        &[Step::TeamsCreate]
    };
    for &step in risky {
        moments.push(Moment::Request(step, Fault::ServerError));
        moments.push(Moment::Request(step, Fault::Timeout));
    }
    moments
}

struct Args {
    trials: usize,
    seed: u64,
    lease: u64,
    /// `--trials` was given: a deliberate run, which fails loudly without PostgreSQL.
    deliberate: bool,
    /// `--without-history`: the control run, with every history read refused.
    without_history: bool,
}

fn args() -> Args {
    // A plain `cargo bench` runs a short sample, like the other benchmarks.
    let mut args = Args {
        trials: 3,
        seed: 18,
        lease: 4,
        deliberate: false,
        without_history: false,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut value = || words.next().and_then(|it| it.parse::<u64>().ok());
        match word.as_str() {
            "--trials" => {
                args.trials = value().unwrap_or(100) as usize;
                args.deliberate = true;
            }
            "--seed" => args.seed = value().unwrap_or(18),
            "--lease" => args.lease = value().unwrap_or(4).max(2),
            "--without-history" => args.without_history = true,
            // `cargo bench` passes `--bench`.
            _ => {}
        }
    }
    args
}

/// Tallies for one row of the table.
#[derive(Default)]
struct Row {
    trials: usize,
    reached: usize,
    exactly_once: usize,
    slack_messages: BTreeMap<usize, usize>,
    slack_files: BTreeMap<usize, usize>,
    teams_messages: BTreeMap<usize, usize>,
    unfilled: usize,
    unfinished: usize,
    history_reads: usize,
    graph_reads: usize,
}

impl Row {
    fn add(&mut self, counts: &Counts, parts: usize) {
        self.trials += 1;
        self.reached += usize::from(counts.reached);
        self.exactly_once += usize::from(counts.exactly_once(parts));
        *self
            .slack_messages
            .entry(counts.slack_messages)
            .or_default() += 1;
        *self.slack_files.entry(counts.slack_files).or_default() += 1;
        *self
            .teams_messages
            .entry(counts.teams_messages)
            .or_default() += 1;
        self.unfilled += usize::from(!(counts.slack_filled && counts.teams_filled));
        self.unfinished += usize::from(!counts.finished);
        self.history_reads += counts.history_reads;
        self.graph_reads += counts.graph_reads;
    }
}

/// `1×40` or `1×38, 2×2`: how many trials saw each count.
fn spread(counts: &BTreeMap<usize, usize>) -> String {
    counts
        .iter()
        .map(|(count, trials)| format!("{count}×{trials}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_table(rows: &BTreeMap<(String, String, &'static str), Row>) {
    println!(
        "| aimed at | moment | killed | trials | moment reached | exactly once | Slack messages | Slack files | Teams messages | not filled | not finished | Slack history reads | Graph reads |"
    );
    println!(
        "| --- | --- | --- | ---: | ---: | ---: | --- | --- | --- | ---: | ---: | ---: | ---: |"
    );
    let mut total = Row::default();
    for ((platform, moment, killed), row) in rows {
        println!(
            "| {platform} | {moment} | {killed} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.trials,
            row.reached,
            row.exactly_once,
            spread(&row.slack_messages),
            spread(&row.slack_files),
            spread(&row.teams_messages),
            row.unfilled,
            row.unfinished,
            row.history_reads,
            row.graph_reads,
        );
        total.trials += row.trials;
        total.reached += row.reached;
        total.exactly_once += row.exactly_once;
        for (count, trials) in &row.slack_messages {
            *total.slack_messages.entry(*count).or_default() += trials;
        }
        for (count, trials) in &row.slack_files {
            *total.slack_files.entry(*count).or_default() += trials;
        }
        for (count, trials) in &row.teams_messages {
            *total.teams_messages.entry(*count).or_default() += trials;
        }
        total.unfilled += row.unfilled;
        total.unfinished += row.unfinished;
        total.history_reads += row.history_reads;
        total.graph_reads += row.graph_reads;
    }
    println!(
        "| **all** | | | **{}** | {} | **{}** | {} | {} | {} | {} | {} | {} | {} |",
        total.trials,
        total.reached,
        total.exactly_once,
        spread(&total.slack_messages),
        spread(&total.slack_files),
        spread(&total.teams_messages),
        total.unfilled,
        total.unfinished,
        total.history_reads,
        total.graph_reads,
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args();
    let postgres =
        std::env::var("SENTINEL_BOT_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
    if let Err(error) = <sqlx::PgConnection as sqlx::Connection>::connect(&postgres).await {
        eprintln!("report_crash needs PostgreSQL at {postgres}: {error}");
        if args.deliberate {
            std::process::exit(2);
        }
        println!("report_crash: skipped, no PostgreSQL at {postgres}");
        return Ok(());
    }
    let hold = Duration::from_secs(args.lease / 2 + 1);
    let (fake, mut events) = Fake::start(60, hold, args.without_history).await;
    let work = tempfile::tempdir()?;
    // A private copy, so a rebuild during a long run cannot swap the binary underneath.
    let binary = work.path().join("sentinel-bot");
    std::fs::copy(env!("CARGO_BIN_EXE_sentinel-bot"), &binary)?;
    let setup = Setup {
        binary,
        postgres,
        fake,
        lease_seconds: args.lease,
        work: work.path().to_path_buf(),
    };
    // What the channels get when nothing goes wrong: the number of Slack messages the
    // report spans (each a part), which every trial must then match.
    let baseline = trial::run(&setup, &mut events, 0, Moment::Baseline, Victims::None).await?;
    let parts = baseline.slack_parts;
    if !baseline.exactly_once(parts) || parts == 0 {
        eprintln!("the baseline run itself did not deliver once: {baseline:?}");
        std::process::exit(1);
    }
    println!(
        "Baseline without faults: the report spans {parts} Slack message(s) plus the chart file, and one Teams card."
    );
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut rows: BTreeMap<(String, String, &'static str), Row> = BTreeMap::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    for number in 1..=args.trials * 2 {
        let platform = if number % 2 == 0 { "Slack" } else { "Teams" };
        let choices = moments(platform);
        let moment = choices[rng.random_range(0..choices.len())];
        let victims = match moment {
            Moment::Request(_, Fault::ServerError | Fault::Timeout) => Victims::None,
            _ if rng.random_bool(0.5) => Victims::Both,
            _ => Victims::One,
        };
        let counts = trial::run(&setup, &mut events, number, moment, victims).await?;
        eprintln!(
            "trial {number:>3} {platform} {:<55} killed {:<4} -> Slack {} msg {} file, Teams {} msg{}",
            moment.label(),
            victims.label(),
            counts.slack_messages,
            counts.slack_files,
            counts.teams_messages,
            if counts.exactly_once(parts) {
                ""
            } else {
                "  <-- NOT EXACTLY ONCE"
            }
        );
        if !counts.exactly_once(parts) {
            failures.push((number, trial::keep_logs(&setup.work, number)));
        }
        rows.entry((platform.to_string(), moment.label(), victims.label()))
            .or_default()
            .add(&counts, parts);
    }
    println!(
        "\n{} trials in {:.0} s (seed {}, lease {} s, posts cut off at {} s{})\n",
        args.trials * 2,
        started.elapsed().as_secs_f64(),
        args.seed,
        args.lease,
        args.lease as f64 / 2.0,
        if args.without_history {
            "; CONTROL RUN: every history read refused"
        } else {
            ""
        }
    );
    print_table(&rows);
    if failures.is_empty() {
        return Ok(());
    }
    for (number, logs) in &failures {
        eprintln!(
            "trial {number} failed; replica logs kept in {}",
            logs.display()
        );
    }
    // Keep the logs past the temporary directory's cleanup.
    std::mem::forget(work);
    std::process::exit(1);
}
