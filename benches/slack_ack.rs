//! Signed Slack slash-command acknowledgements per second and their latency, on loopback.
//!
//! Starts the bot's real server (store on a temporary SQLite file, demo incident data,
//! the Slack routes behind the v0 signature middleware, the operational middleware) on
//! 127.0.0.1, points `response_url` at a fake Slack on 127.0.0.1, and fires correctly
//! signed `POST /slack/commands` requests from concurrent keep-alive clients. Every
//! request is signed on its own (a unique `trigger_id`), and the server checks each
//! signature before it acks. Prints requests/s, p50, p99 and max, and how many acks were
//! 200 with the "Working on it" body. The background answers (help text, or the demo
//! week's incident table) still run and are posted to the fake; the run waits for them.
//!
//! Identical questions share their answer (`bot::shared`): for each run it prints how many
//! answers were computed, how many requests waited for one being computed, and how many
//! reused a finished one. A second server that keeps answers for one second
//! (`answer_cache_seconds = 1`) then takes bursts of 32 simultaneous `/incidents week`,
//! 1.2 s apart: each burst should cost one computation. It also prints how many Block Kit
//! layouts were made and reused (`channels::slack::layouts`): one per shared answer.
//!
//! Run: `cargo bench --bench slack_ack`.

#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/server.rs"]
mod server;

use chrono::Utc;
use secrecy::SecretString;
use sentinel_bot::channels::slack::commands::WORKING;
use sentinel_bot::channels::slack::verify;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// One load run: a slash command sent `requests` times by `clients` keep-alive
/// connections, each sending its next request when the previous ack arrives.
struct Scenario {
    command: &'static str,
    text: &'static str,
    clients: usize,
    requests: usize,
}

/// What one run measured.
struct Outcome {
    elapsed: Duration,
    latencies: Vec<Duration>,
    acked: usize,
    other: usize,
}

/// Trigger ids never repeat within a run, so the server's replay protection (which
/// remembers signed bodies) never refuses a request as a replay.
static NEXT_TRIGGER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn form(scenario: &Scenario, response_url: &str, _sequence: usize) -> String {
    let sequence = NEXT_TRIGGER.fetch_add(1, Ordering::Relaxed);
    format!(
        "token=x&team_id=T1&team_domain=soc&channel_id=C1&channel_name=soc&user_id=UANA&user_name=ana&command={}&text={}&response_url={}&trigger_id={sequence}.1.2&api_app_id=A1",
        urlencoding::encode(scenario.command),
        urlencoding::encode(scenario.text),
        urlencoding::encode(response_url)
    )
}

async fn fire(server_url: &str, response_url: &str, scenario: &Scenario) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(scenario.clients)
        .build()
        .expect("client");
    let secret = SecretString::from(server::SIGNING_SECRET);
    let endpoint = format!("{server_url}/slack/commands");
    let started = Instant::now();
    let workers: Vec<_> = (0..scenario.clients)
        .map(|worker| {
            let client = client.clone();
            let secret = secret.clone();
            let endpoint = endpoint.clone();
            let forms: Vec<String> = (worker..scenario.requests)
                .step_by(scenario.clients)
                .map(|sequence| form(scenario, response_url, sequence))
                .collect();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(forms.len());
                let (mut acked, mut other) = (0, 0);
                for body in forms {
                    let timestamp = Utc::now().timestamp().to_string();
                    let signature =
                        verify::sign(&secret, &timestamp, body.as_bytes()).expect("signable");
                    let sent = Instant::now();
                    let response = client
                        .post(&endpoint)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header(verify::TIMESTAMP_HEADER, timestamp)
                        .header(verify::SIGNATURE_HEADER, signature)
                        .body(body)
                        .send()
                        .await;
                    let ok = match response {
                        Ok(response) => {
                            let status = response.status();
                            let ack: Value = response.json().await.unwrap_or(Value::Null);
                            status == reqwest::StatusCode::OK && ack["text"] == WORKING
                        }
                        Err(_) => false,
                    };
                    latencies.push(sent.elapsed());
                    if ok {
                        acked += 1;
                    } else {
                        other += 1;
                    }
                }
                (latencies, acked, other)
            })
        })
        .collect();
    let mut outcome = Outcome {
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(scenario.requests),
        acked: 0,
        other: 0,
    };
    for worker in workers {
        let (latencies, acked, other) = worker.await.expect("client task");
        outcome.latencies.extend(latencies);
        outcome.acked += acked;
        outcome.other += other;
    }
    outcome.elapsed = started.elapsed();
    outcome.latencies.sort();
    outcome
}

/// Proves the server checks signatures: a request signed with another secret gets 401.
async fn refuses_a_bad_signature(server_url: &str, response_url: &str) {
    let body = form(&help(1, 1), response_url, 0);
    let timestamp = Utc::now().timestamp().to_string();
    let signature = verify::sign(
        &SecretString::from("not-the-secret"),
        &timestamp,
        body.as_bytes(),
    )
    .expect("signable");
    let status = reqwest::Client::new()
        .post(format!("{server_url}/slack/commands"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(verify::TIMESTAMP_HEADER, timestamp)
        .header(verify::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .expect("server answers")
        .status();
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
}

/// `/help`, the cheapest answer, so the ack path dominates the figures.
fn help(clients: usize, requests: usize) -> Scenario {
    Scenario {
        command: "/help",
        text: "",
        clients,
        requests,
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[index - 1]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn main() {
    // The server gets its own runtime with the default worker count (one per core), as
    // `serve` does; the load generator and the fake Slack share a second one.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let slack = client_runtime.block_on(fake_slack::start());
    let bot = server_runtime.block_on(server::start(&slack.url, None, ""));
    let response_url = format!("{}/commands/T1/1/hook", slack.url);
    client_runtime.block_on(refuses_a_bad_signature(&bot.url, &response_url));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);

    println!(
        "Signed Slack slash-command acks on loopback ({cores} cores shared by server, clients and fake Slack)"
    );
    println!(
        "{:<16} | {:>7} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>7} | {:>10}",
        "command",
        "clients",
        "requests",
        "acks/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "200 acks",
        "non-200",
        "follow-ups"
    );
    // `-- quick` (e.g. on a debug build): only the 32-client runs, smaller.
    let quick = std::env::args().any(|it| it == "quick");
    let incidents = |requests| Scenario {
        command: "/incidents",
        text: "week",
        clients: 32,
        requests,
    };
    let scenarios: Vec<Scenario> = if quick {
        vec![help(32, 500), help(32, 2_000), incidents(2_000)]
    } else {
        vec![
            help(32, 2_000),
            help(1, 20_000),
            help(8, 50_000),
            help(32, 100_000),
            incidents(20_000),
        ]
    };
    let shared = bot.app.bot.settings.shared_answers.clone();
    let layouts = bot.app.slack.as_ref().expect("Slack").layouts.clone();
    for (index, scenario) in scenarios.iter().enumerate() {
        let stats_before = shared.stats();
        let layouts_before = layouts.stats();
        let before = slack.received.load(Ordering::Relaxed);
        let outcome = client_runtime.block_on(fire(&bot.url, &response_url, scenario));
        // Wait for the background answers, so the next run starts quiet.
        let drain_started = Instant::now();
        while slack.received.load(Ordering::Relaxed) - before < outcome.acked
            && drain_started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let delivered = slack.received.load(Ordering::Relaxed) - before;
        if index == 0 {
            // The first run only warms up connections and caches.
            continue;
        }
        println!(
            "{:<16} | {:>7} | {:>8} | {:>8.0} | {:>8.3} | {:>8.3} | {:>8.3} | {:>8} | {:>7} | {:>10}",
            format!("{} {}", scenario.command, scenario.text).trim(),
            scenario.clients,
            scenario.requests,
            scenario.requests as f64 / outcome.elapsed.as_secs_f64(),
            millis(percentile(&outcome.latencies, 0.50)),
            millis(percentile(&outcome.latencies, 0.99)),
            millis(*outcome.latencies.last().unwrap_or(&Duration::ZERO)),
            outcome.acked,
            outcome.other,
            delivered,
        );
        let stats = shared.stats();
        let laid_out = layouts.stats();
        println!(
            "{:<16}   load {:.2} s; background answers all posted {:.2} s after the last ack; \
             answers computed {}, waited for one in flight {}, reused {}; \
             Block Kit layouts made {}, reused {}",
            "",
            outcome.elapsed.as_secs_f64(),
            drain_started.elapsed().as_secs_f64(),
            stats.computed - stats_before.computed,
            stats.joined - stats_before.joined,
            stats.reused - stats_before.reused,
            laid_out.made - layouts_before.made,
            laid_out.reused - layouts_before.reused,
        );
    }
    server_runtime.block_on(bot.app.store.close());
    bursts(&server_runtime, &client_runtime, &slack);
}

/// Bursts of 32 simultaneous `/incidents week`, further apart than the server keeps an
/// answer: each burst should compute once, the other 31 requests waiting for it or
/// reusing it.
fn bursts(
    server_runtime: &tokio::runtime::Runtime,
    client_runtime: &tokio::runtime::Runtime,
    slack: &fake_slack::Slack,
) {
    const BURSTS: usize = 20;
    let bot = server_runtime.block_on(server::start(
        &slack.url,
        None,
        "[report]\nanswer_cache_seconds = 1\n",
    ));
    let response_url = format!("{}/commands/T1/1/hook", slack.url);
    let shared = bot.app.bot.settings.shared_answers.clone();
    let scenario = Scenario {
        command: "/incidents",
        text: "week",
        clients: 32,
        requests: 32,
    };
    let mut acked = 0;
    let started = Instant::now();
    for _ in 0..BURSTS {
        std::thread::sleep(Duration::from_millis(1_200));
        let before = slack.received.load(Ordering::Relaxed);
        let outcome = client_runtime.block_on(fire(&bot.url, &response_url, &scenario));
        acked += outcome.acked;
        let drain_started = Instant::now();
        while slack.received.load(Ordering::Relaxed) - before < outcome.acked
            && drain_started.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let stats = shared.stats();
    println!(
        "bursts, answers kept 1 s: {BURSTS} bursts of {} simultaneous `/incidents week`, 1.2 s apart ({acked} acked) in {:.2} s: \
         answers computed {} ({:.2} per burst), waited for one in flight {}, reused {}",
        scenario.clients,
        started.elapsed().as_secs_f64(),
        stats.computed,
        stats.computed as f64 / BURSTS as f64,
        stats.joined,
        stats.reused,
    );
    server_runtime.block_on(bot.app.store.close());
}
