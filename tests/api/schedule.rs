//! Scheduler tests: restarts, two replicas, failures and catch-up, with a fixed `now`
//! and a recording poster (no real chat, no sleeping).

use crate::store::{postgres_url, sqlite_url};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sentinel_bot::schedule::{Outcome, Poster, ReportSchedule, Scheduler, Slot};
use sentinel_bot::store::Store;
use std::sync::{Arc, Mutex};

/// Records successful posts; fails the first `failures` calls.
#[derive(Default)]
struct RecordingPoster {
    posts: Mutex<Vec<(String, String)>>,
    failures: Mutex<usize>,
    /// Time each post takes, to widen the race window between replicas.
    delay: std::time::Duration,
}

impl RecordingPoster {
    fn failing(failures: usize) -> Arc<RecordingPoster> {
        Arc::new(RecordingPoster {
            failures: Mutex::new(failures),
            ..Default::default()
        })
    }

    fn posts(&self) -> Vec<(String, String)> {
        self.posts.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Poster for RecordingPoster {
    async fn post(&self, channel: &str, slot: &Slot) -> anyhow::Result<()> {
        {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                anyhow::bail!("HTTP 502 from the channel");
            }
        }
        // Yield (and wait, if asked) so concurrent schedulers really interleave.
        tokio::task::yield_now().await;
        tokio::time::sleep(self.delay).await;
        self.posts
            .lock()
            .unwrap()
            .push((channel.to_string(), slot.week.clone()));
        Ok(())
    }
}

fn channels() -> Vec<String> {
    vec![
        "teams:19:abc@thread.tacv2".to_string(),
        "slack:C1".to_string(),
    ]
}

fn monday_eight() -> ReportSchedule {
    ReportSchedule::parse("0 0 8 * * Mon", "Europe/Paris").unwrap()
}

/// 2026-11-23 is a Monday; 08:00 in Paris is 07:00 UTC.
fn utc(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, minute, 0)
        .unwrap()
}

fn scheduler(store: &Store, poster: &Arc<RecordingPoster>) -> Scheduler {
    Scheduler::new(store.clone(), monday_eight(), channels(), poster.clone())
}

fn count_posted(outcomes: &[Outcome]) -> usize {
    outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Posted { .. }))
        .count()
}

#[tokio::test]
async fn restart_inside_the_posting_window_posts_once() {
    let dir = tempfile::tempdir().unwrap();
    let poster = RecordingPoster::failing(0);
    let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
    let outcomes = scheduler(&store, &poster).tick(utc(23, 7, 1)).await;
    assert_eq!(count_posted(&outcomes), 2, "{outcomes:?}");
    store.close().await;

    // A new process: new pool on the same file, new scheduler, still Monday morning.
    let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
    let outcomes = scheduler(&store, &poster).tick(utc(23, 7, 30)).await;
    assert!(
        outcomes
            .iter()
            .all(|outcome| matches!(outcome, Outcome::AlreadyDone { .. })),
        "{outcomes:?}"
    );
    assert_eq!(
        poster.posts(),
        [
            (
                "teams:19:abc@thread.tacv2".to_string(),
                "2026-W48".to_string()
            ),
            ("slack:C1".to_string(), "2026-W48".to_string())
        ]
    );
}

#[tokio::test]
async fn crash_while_posting_is_taken_over_after_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
    // A replica claimed the Slack run and died before posting.
    let slot = monday_eight().due_slot(utc(23, 7, 0)).unwrap();
    let key = sentinel_bot::schedule::run_key("slack:C1", &slot);
    store
        .claim_run(&key, utc(23, 7, 0), TimeDelta::minutes(10))
        .await
        .unwrap();

    let poster = RecordingPoster::failing(0);
    let outcomes = scheduler(&store, &poster).tick(utc(23, 7, 5)).await;
    assert_eq!(
        outcomes[1],
        Outcome::Busy {
            channel: "slack:C1".into()
        }
    );
    let outcomes = scheduler(&store, &poster).tick(utc(23, 7, 10)).await;
    assert_eq!(
        outcomes[1],
        Outcome::Posted {
            channel: "slack:C1".into(),
            attempt: 2
        }
    );
    assert_eq!(poster.posts().len(), 2);
}

#[tokio::test]
async fn a_post_failing_once_is_retried_and_posted_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
    let poster = RecordingPoster::failing(1);
    let scheduler = Scheduler::new(
        store.clone(),
        monday_eight(),
        vec!["slack:C1".into()],
        poster.clone(),
    )
    .with_timing(TimeDelta::minutes(10), TimeDelta::minutes(5));

    let outcomes = scheduler.tick(utc(23, 7, 0)).await;
    assert!(
        matches!(&outcomes[..], [Outcome::Failed { error, .. }] if error.contains("HTTP 502")),
        "{outcomes:?}"
    );
    // Within the retry delay nothing happens.
    assert_eq!(
        scheduler.tick(utc(23, 7, 4)).await,
        [Outcome::Busy {
            channel: "slack:C1".into()
        }]
    );
    assert_eq!(
        scheduler.tick(utc(23, 7, 5)).await,
        [Outcome::Posted {
            channel: "slack:C1".into(),
            attempt: 2
        }]
    );
    assert_eq!(
        scheduler.tick(utc(23, 7, 6)).await,
        [Outcome::AlreadyDone {
            channel: "slack:C1".into()
        }]
    );
    assert_eq!(
        poster.posts(),
        [("slack:C1".to_string(), "2026-W48".to_string())]
    );
    let slot = monday_eight().due_slot(utc(23, 7, 0)).unwrap();
    assert!(
        store
            .run_done(&sentinel_bot::schedule::run_key("slack:C1", &slot))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn downtime_is_caught_up_and_the_next_week_waits_for_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
    let poster = RecordingPoster::failing(0);
    let scheduler = scheduler(&store, &poster);
    // Down over Monday morning; started on Tuesday afternoon.
    assert_eq!(count_posted(&scheduler.tick(utc(24, 15, 0)).await), 2);
    // Next Monday 07:59 Paris time: this week is done, next week is not due yet.
    let outcomes = scheduler.tick(utc(30, 6, 59)).await;
    assert_eq!(count_posted(&outcomes), 0, "{outcomes:?}");
    assert_eq!(count_posted(&scheduler.tick(utc(30, 7, 0)).await), 2);
    let weeks: Vec<String> = poster.posts().into_iter().map(|(_, week)| week).collect();
    assert_eq!(weeks, ["2026-W48", "2026-W48", "2026-W49", "2026-W49"]);
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set SENTINEL_BOT_TEST_POSTGRES to run against PostgreSQL"
)]
async fn two_schedulers_on_one_postgres_post_once_per_channel() {
    let url = postgres_url().await;
    let first_store = Store::connect(&url).await.unwrap();
    let second_store = Store::connect(&url).await.unwrap();
    let poster = Arc::new(RecordingPoster {
        delay: std::time::Duration::from_millis(50),
        ..Default::default()
    });
    let first = scheduler(&first_store, &poster);
    let second = scheduler(&second_store, &poster);
    for minute in 0..3 {
        let now = utc(23, 7, minute);
        let (left, right) = tokio::join!(first.tick(now), second.tick(now));
        assert!(
            left.iter().chain(&right).all(|outcome| !matches!(
                outcome,
                Outcome::Failed { .. } | Outcome::StoreFailed { .. }
            )),
            "{left:?} {right:?}"
        );
    }
    let mut posts = poster.posts();
    posts.sort();
    assert_eq!(
        posts,
        [
            ("slack:C1".to_string(), "2026-W48".to_string()),
            (
                "teams:19:abc@thread.tacv2".to_string(),
                "2026-W48".to_string()
            )
        ]
    );
}
