//! Prompt tokens per weekly report: the facts prompt the advisor sends versus pasting the raw
//! incident rows, for 100 / 1,000 / 10,000 incidents. Tokens are estimated as characters / 4
//! (`advice::llm::estimate_tokens`). Prints figures; asserts only the size goal, never time.
//!
//! Run: `cargo bench --bench prompt_tokens` (or `cargo test --bench prompt_tokens` for a
//! quick unoptimised run).

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sentinel_bot::advice::llm::estimate_tokens;
use sentinel_bot::advice::prompt;
use sentinel_bot::analytics::{DEFAULT_LONG_OPEN, PeriodFacts};
use sentinel_bot::incident::{Incident, Owner, Severity, Status, Tactic};
use sentinel_bot::period::Window;

/// A small synthetic incident generator, independent of the demo data set.
fn generate(count: usize, now: DateTime<Utc>, seed: u64) -> Vec<Incident> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let titles = [
        "Suspicious sign-in from an unfamiliar location",
        "Multi-stage incident involving Initial access & Execution on one endpoint",
        "Possible ransomware activity detected",
        "Phishing e-mail delivered to several mailboxes",
        "Unusual volume of file downloads from SharePoint",
    ];
    (0..count)
        .map(|index| {
            let created = now - Duration::minutes(rng.random_range(0..7 * 24 * 60));
            let status = Status::ALL[rng.random_range(0..3)];
            let triaged = (status != Status::New)
                .then(|| created + Duration::minutes(rng.random_range(5..600)));
            let closed = (status == Status::Closed)
                .then(|| created + Duration::minutes(rng.random_range(600..4000)));
            // The 14 Enterprise tactics, as before the other Sentinel values were known.
            let tactic = Tactic::KNOWN
                .iter()
                .filter(|it| it.id().is_some_and(|id| !["TA0106", "TA0107"].contains(&id)))
                .nth(rng.random_range(0..14))
                .cloned()
                .expect("14 Enterprise tactics");
            Incident {
                workspace: sentinel_bot::incident::Workspace::ONLY,
                number: 10_000 + index as u64,
                id: format!("00000000-0000-0000-0000-{index:012}"),
                title: titles[index % titles.len()].into(),
                description: "An analytics rule matched activity that resembles a known attack pattern; review the alerts and entities.".into(),
                severity: Severity::ALL[rng.random_range(0..4)],
                status,
                classification: None,
                classification_comment: None,
                owner: if triaged.is_some() {
                    Owner {
                        name: Some("Dana Analyst".into()),
                        email: Some("dana@example.com".into()),
                        object_id: None,
                    }
                } else {
                    Owner::default()
                },
                tactics: vec![tactic],
                techniques: vec![format!("T{}", 1000 + rng.random_range(0..600)).into()],
                alert_products: vec!["Microsoft Defender for Endpoint".into()],
                alert_ids: vec![format!("alert-{index}")],
                labels: Vec::new(),
                created,
                first_modified: triaged,
                first_human_action: triaged,
                last_modified: closed.or(triaged).unwrap_or(created),
                closed,
                url: Some(format!("https://security.microsoft.com/incidents/{index}")),
            }
        })
        .collect()
}

fn main() {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 8, 0, 0)
        .single()
        .expect("valid time");
    let window = Window {
        start: now - Duration::days(7),
        end: now,
    };
    println!("Prompt tokens per weekly report (estimate: characters / 4)");
    println!(
        "{:>10} | {:>14} | {:>16} | {:>8}",
        "incidents", "facts prompt", "raw rows prompt", "ratio"
    );
    let mut facts_sizes = Vec::new();
    for count in [100, 1_000, 10_000] {
        let incidents = generate(count, now, 7);
        let facts = PeriodFacts::compute(&incidents, None, window, now, DEFAULT_LONG_OPEN);
        let facts_prompt = format!(
            "{}\n{}",
            prompt::WEEKLY_SYSTEM,
            prompt::weekly_prompt(&facts)
        );
        let raw_rows: String = incidents
            .iter()
            .filter_map(|it| serde_json::to_string(it).ok())
            .collect::<Vec<_>>()
            .join("\n");
        let raw_prompt = format!("{}\n{raw_rows}", prompt::WEEKLY_SYSTEM);
        let facts_tokens = estimate_tokens(&facts_prompt);
        let raw_tokens = estimate_tokens(&raw_prompt);
        println!(
            "{count:>10} | {facts_tokens:>14} | {raw_tokens:>16} | {:>7.4}x",
            f64::from(facts_tokens) / f64::from(raw_tokens)
        );
        assert!(
            facts_tokens * 10 <= raw_tokens,
            "the facts prompt should be at most a tenth of the raw rows"
        );
        facts_sizes.push(facts_tokens);
    }
    let spread = facts_sizes.iter().max().unwrap_or(&0) - facts_sizes.iter().min().unwrap_or(&0);
    println!("Facts prompt size varies by {spread} tokens from 100 to 10,000 incidents (flat).");
}
