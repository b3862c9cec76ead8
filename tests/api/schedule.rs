//! Scheduler tests. The first half: restarts, two replicas, failures and catch-up, with a
//! fixed `now` and an in-memory channel (no real chat, no sleeping). The second half: each
//! resumable step of the real Slack and Teams posts (`app::report_poster` over the real
//! clients) against a fake Slack, Bot Connector and Graph on 127.0.0.1, with crashes
//! simulated by dropping a tick while its request is in flight.

use crate::store::{postgres_url, sqlite_url};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sentinel_bot::schedule::{
    Filled, Lookup, Outcome, Post, Poster, ReportSchedule, Scheduler, Slot,
};
use sentinel_bot::store::Store;
use std::sync::{Arc, Mutex};

/// A fake platform: remembers what was delivered to which channel, fails the first
/// `failures` sends (after delivering them when `deliver_failures`).
#[derive(Default)]
struct RecordingPoster {
    posts: Mutex<Vec<(String, String)>>,
    failures: Mutex<usize>,
    /// Failed sends still reach the channel, like a 500 answered after delivering.
    deliver_failures: bool,
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

/// The recording platform as the scheduler's poster.
struct Platform(Arc<RecordingPoster>);

#[async_trait::async_trait]
impl Poster for Platform {
    async fn prepare(
        &self,
        channel: &str,
        slot: &Slot,
        _run_key: &str,
    ) -> anyhow::Result<Box<dyn Post>> {
        Ok(Box::new(OneMessage {
            platform: self.0.clone(),
            delivery: (channel.to_string(), slot.week.clone()),
        }))
    }
}

/// A post of one part in the fake platform.
struct OneMessage {
    platform: Arc<RecordingPoster>,
    delivery: (String, String),
}

#[async_trait::async_trait]
impl Post for OneMessage {
    fn parts(&self) -> Vec<String> {
        vec!["message:0".to_string()]
    }

    async fn prepare(&self, _part: &str) -> anyhow::Result<Option<String>> {
        Ok(None)
    }

    async fn send(&self, _part: &str, _hint: Option<&str>) -> anyhow::Result<String> {
        let fail = {
            let mut failures = self.platform.failures.lock().unwrap();
            let fail = *failures > 0;
            *failures = failures.saturating_sub(1);
            fail
        };
        if fail && !self.platform.deliver_failures {
            anyhow::bail!("HTTP 502 from the channel");
        }
        // Yield (and wait, if asked) so concurrent schedulers really interleave.
        tokio::task::yield_now().await;
        tokio::time::sleep(self.platform.delay).await;
        self.platform
            .posts
            .lock()
            .unwrap()
            .push(self.delivery.clone());
        if fail {
            anyhow::bail!("HTTP 500 from the channel");
        }
        Ok("receipt".to_string())
    }

    async fn find(
        &self,
        _part: &str,
        _hint: Option<&str>,
        _since: DateTime<Utc>,
    ) -> anyhow::Result<Lookup> {
        let found = self.platform.posts().contains(&self.delivery);
        Ok(if found {
            Lookup::Found("receipt".to_string())
        } else {
            Lookup::Absent
        })
    }

    async fn fill(&self, _part: &str, _receipt: &str) -> anyhow::Result<Filled> {
        Ok(Filled::Yes)
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
    Scheduler::new(
        store.clone(),
        monday_eight(),
        channels(),
        Arc::new(Platform(poster.clone())),
    )
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
        Arc::new(Platform(poster.clone())),
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
async fn a_failure_answered_after_delivering_is_found_not_posted_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir)).await.unwrap();
    let poster = Arc::new(RecordingPoster {
        failures: Mutex::new(1),
        deliver_failures: true,
        ..Default::default()
    });
    let scheduler = Scheduler::new(
        store.clone(),
        monday_eight(),
        vec!["slack:C1".into()],
        Arc::new(Platform(poster.clone())),
    );
    let outcomes = scheduler.tick(utc(23, 7, 0)).await;
    assert!(
        matches!(&outcomes[..], [Outcome::Failed { error, .. }] if error.contains("HTTP 500")),
        "{outcomes:?}"
    );
    assert_eq!(
        scheduler.tick(utc(23, 7, 5)).await,
        [Outcome::Posted {
            channel: "slack:C1".into(),
            attempt: 2
        }]
    );
    assert_eq!(
        poster.posts(),
        [("slack:C1".to_string(), "2026-W48".to_string())],
        "the retry found the delivered message instead of sending it again"
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

/// The real posts: `app::report_poster` over the real Slack and Teams clients, against
/// wiremock fakes shaped like the Slack Web API, the Bot Framework connector and Graph.
mod platforms {
    use super::utc;
    use chrono::{DateTime, TimeDelta, Utc};
    use sentinel_bot::app::{self, App};
    use sentinel_bot::config::Config;
    use sentinel_bot::schedule::{self, Outcome, ReportSchedule, Scheduler};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    const APP_ID: &str = "11111111-2222-3333-4444-555555555555";
    const TEAMS_CHANNEL: &str = "19:soc@thread.tacv2";
    const LEASE: TimeDelta = TimeDelta::minutes(10);
    const RETRY: TimeDelta = TimeDelta::minutes(5);
    /// When a failed run may be tried again: the retry delay counts from the failure,
    /// a little after the tick's start.
    const AFTER_RETRY: TimeDelta = TimeDelta::minutes(6);

    /// A process of the bot: its app (store, clients) and scheduler.
    struct Replica {
        app: App,
        scheduler: Scheduler,
    }

    async fn start(config: &Config, lease: TimeDelta) -> Replica {
        let now = utc(23, 7, 0);
        let app = app::build(config, now).await.unwrap();
        let scheduler = Scheduler::new(
            app.store.clone(),
            ReportSchedule::from_config(&config.report).unwrap(),
            schedule::report_channels(config),
            app::report_poster(&app, config),
        )
        .with_timing(lease, RETRY);
        Replica { app, scheduler }
    }

    fn config(dir: &tempfile::TempDir, server: &MockServer, platform: &str) -> Config {
        let uri = server.uri();
        let store = crate::store::sqlite_url(dir);
        let section = match platform {
            "slack" => format!(
                "[slack]\nbot_token = \"xoxb-test\"\nsigning_secret = \"s\"\nreport_channels = [\"C-SOC\"]\napi_url = \"{uri}/slack\"\n"
            ),
            _ => format!(
                "[teams]\napp_id = \"{APP_ID}\"\napp_password = \"pw\"\nlogin_url = \"{uri}/login\"\ngraph_url = \"{uri}/graph\"\n\
                 [[teams.report_channels]]\nservice_url = \"{uri}/svc/\"\nchannel_id = \"{TEAMS_CHANNEL}\"\ntenant_id = \"tenant-1\"\nteam_id = \"team-1\"\n"
            ),
        };
        let toml = format!(
            // One file part (the chart): these tests count each part's sends.
            "[store]\nurl = \"{store}\"\n[report]\ncron = \"0 0 8 * * Mon\"\ntime_zone = \"Europe/Paris\"\nweb_pages = false\n{section}"
        );
        Config::from_sources(&toml, Vec::new()).unwrap()
    }

    async fn requests(server: &MockServer, verb: &str, path_part: &str) -> Vec<Request> {
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|request| {
                request.method.as_str() == verb && request.url.path().contains(path_part)
            })
            .collect()
    }

    fn form_field(request: &Request, name: &str) -> Option<String> {
        String::from_utf8_lossy(&request.body)
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .and_then(|(_, value)| {
                urlencoding::decode(&value.replace('+', " "))
                    .ok()
                    .map(|value| value.into_owned())
            })
    }

    /// Ticks until the request to `path_end` has reached the fake, then drops the tick: the
    /// process dies with its request in flight, before it could record the answer.
    async fn crash_during(replica: &Replica, server: &MockServer, verb: &str, path_part: &str) {
        let tick = replica.scheduler.tick(utc(23, 7, 0));
        tokio::pin!(tick);
        loop {
            tokio::select! {
                outcomes = &mut tick => panic!("the request should still be in flight: {outcomes:?}"),
                () = tokio::time::sleep(Duration::from_millis(10)) => {
                    if !requests(server, verb, path_part).await.is_empty() {
                        break;
                    }
                }
            }
        }
    }

    /// Answers files.getUploadURLExternal with F1, F2, ... so every upload is told apart.
    struct UploadTickets {
        server_uri: String,
        issued: AtomicUsize,
    }

    impl Respond for UploadTickets {
        fn respond(&self, _request: &Request) -> ResponseTemplate {
            let number = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            ResponseTemplate::new(200).set_body_json(json!({
                "ok": true,
                "upload_url": format!("{}/upload/F{number}", self.server_uri),
                "file_id": format!("F{number}"),
            }))
        }
    }

    /// A fake Slack whose every method works; tests mount failures over it with priority 1.
    async fn slack() -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/slack/chat.postMessage"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"ok": true, "channel": "C-SOC", "ts": "1764000000.000100", "message": {}}),
            ))
            .with_priority(5)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/slack/chat.update"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({"ok": true, "channel": "C-SOC", "ts": "1764000000.000100"}),
                ),
            )
            .with_priority(5)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/slack/conversations.history"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"ok": true, "messages": [], "has_more": false})),
            )
            .with_priority(5)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/slack/files.getUploadURLExternal"))
            .respond_with(UploadTickets {
                server_uri: server.uri(),
                issued: AtomicUsize::new(0),
            })
            .with_priority(5)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex("^/upload/F[0-9]+$"))
            .respond_with(ResponseTemplate::new(200))
            .with_priority(5)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/slack/files.completeUploadExternal"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"ok": true, "files": [{"id": "F1"}]})),
            )
            .with_priority(5)
            .mount(&server)
            .await;
        server
    }

    /// Makes conversations.history return `messages` from now on; each later call needs a
    /// smaller `priority` (wiremock prefers it, then the earliest mounted).
    async fn slack_history(server: &MockServer, messages: Vec<Value>, priority: u8) {
        Mock::given(method("GET"))
            .and(path("/slack/conversations.history"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"ok": true, "messages": messages, "has_more": false})),
            )
            .with_priority(priority)
            .mount(server)
            .await;
    }

    /// The message Slack stored for a chat.postMessage request, as history shows it.
    fn stored_message(request: &Request, ts: &str) -> Value {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        json!({
            "type": "message", "ts": ts, "bot_id": "B1", "app_id": "A1",
            "text": body["text"], "metadata": body["metadata"],
        })
    }

    fn slack_body(request: &Request) -> Value {
        serde_json::from_slice(&request.body).unwrap()
    }

    /// How many requests to `method` (`chat.postMessage`, `chat.update`) each part of the
    /// post got, by the run-key metadata they carry. The report may span several Block Kit
    /// messages, each its own part.
    async fn per_part(server: &MockServer, method: &str) -> BTreeMap<String, usize> {
        let mut parts = BTreeMap::new();
        for request in requests(server, "POST", method).await {
            let body = slack_body(&request);
            let part = body["metadata"]["event_payload"]["part"]
                .as_str()
                .unwrap_or("unmarked")
                .to_string();
            *parts.entry(part).or_default() += 1;
        }
        parts
    }

    /// Every part once, `message:0` `first` times.
    fn once_each_but_first(parts: &BTreeMap<String, usize>, first: usize) -> bool {
        parts.get("message:0") == Some(&first)
            && parts
                .iter()
                .all(|(part, count)| part == "message:0" || *count == 1)
            && !parts.contains_key("unmarked")
    }

    #[tokio::test]
    async fn slack_message_sent_and_file_failed_retry_sends_only_the_file() {
        let server = slack().await;
        // The share fails, and Slack did not share it (history stays empty).
        Mock::given(method("POST"))
            .and(path("/slack/files.completeUploadExternal"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let config = config(&dir, &server, "slack");
        let replica = start(&config, LEASE).await;

        let outcomes = replica.scheduler.tick(utc(23, 7, 0)).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Failed { error, .. }]
                if error.contains("file:chart") && error.contains("HTTP 500")),
            "{outcomes:?}"
        );
        let posted = per_part(&server, "/chat.postMessage").await;
        assert!(once_each_but_first(&posted, 1), "{posted:?}");
        assert_eq!(
            per_part(&server, "/chat.update").await,
            posted,
            "every message is posted and filled"
        );

        let outcomes = replica.scheduler.tick(utc(23, 7, 0) + AFTER_RETRY).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { attempt: 2, .. }]),
            "{outcomes:?}"
        );
        assert_eq!(per_part(&server, "/chat.postMessage").await, posted);
        assert_eq!(per_part(&server, "/chat.update").await, posted);
        let shares = requests(&server, "POST", "/files.completeUploadExternal").await;
        assert_eq!(shares.len(), 2, "the failed share, then the retried one");
        // Before uploading again the retry looked whether F1 had been shared after all.
        let lookups = requests(&server, "GET", "/conversations.history").await;
        assert_eq!(lookups.len(), 1);
        let last_share = form_field(&shares[1], "files").unwrap();
        assert!(last_share.contains("\"F2\""), "{last_share}");
        assert_eq!(
            form_field(&shares[1], "channel_id").as_deref(),
            Some("C-SOC")
        );
    }

    #[tokio::test]
    async fn slack_upload_refused_before_sending_is_retried_without_looking() {
        let server = slack().await;
        Mock::given(method("POST"))
            .and(path("/slack/files.getUploadURLExternal"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"ok": false, "error": "ratelimited"})),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let replica = start(&config(&dir, &server, "slack"), LEASE).await;
        let outcomes = replica.scheduler.tick(utc(23, 7, 0)).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Failed { .. }]),
            "{outcomes:?}"
        );
        let outcomes = replica.scheduler.tick(utc(23, 7, 0) + AFTER_RETRY).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { .. }]),
            "{outcomes:?}"
        );
        assert!(
            requests(&server, "GET", "/conversations.history")
                .await
                .is_empty(),
            "nothing could have been shared, so nothing was looked up"
        );
        let posted = per_part(&server, "/chat.postMessage").await;
        assert!(once_each_but_first(&posted, 1), "{posted:?}");
        assert_eq!(
            requests(&server, "POST", "/files.completeUploadExternal")
                .await
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn slack_placeholder_accepted_then_crash_is_found_by_its_key_and_filled() {
        let server = slack().await;
        // Slack takes the placeholder but the answer never reaches the bot.
        Mock::given(method("POST"))
            .and(path("/slack/chat.postMessage"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(
                        json!({"ok": true, "channel": "C-SOC", "ts": "1764000000.000100"}),
                    )
                    .set_delay(Duration::from_secs(30)),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let config = config(&dir, &server, "slack");
        let replica = start(&config, LEASE).await;
        crash_during(&replica, &server, "POST", "/chat.postMessage").await;
        replica.app.store.close().await;

        let posted = requests(&server, "POST", "/chat.postMessage").await;
        let placeholder = slack_body(&posted[0]);
        assert_eq!(
            placeholder["text"],
            "Weekly incident report for week 2026-W48: preparing…"
        );
        assert_eq!(placeholder["metadata"]["event_type"], "sentinel_bot_report");
        assert_eq!(
            placeholder["metadata"]["event_payload"],
            json!({"run_key": "report:slack:C-SOC:2026-W48", "part": "message:0"})
        );
        // Slack stored it; an unrelated message came after.
        slack_history(
            &server,
            vec![
                json!({"type": "message", "ts": "1764000001.000200", "user": "U1", "text": "morning"}),
                stored_message(&posted[0], "1764000000.000100"),
            ],
            1,
        )
        .await;

        // The restarted process takes the run over once the lease has ended.
        let restarted = start(&config, LEASE).await;
        let outcomes = restarted.scheduler.tick(utc(23, 7, 0) + LEASE).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { attempt: 2, .. }]),
            "{outcomes:?}"
        );
        let posted = per_part(&server, "/chat.postMessage").await;
        assert!(
            once_each_but_first(&posted, 1),
            "the placeholder was found, not posted again: {posted:?}"
        );
        let lookup = &requests(&server, "GET", "/conversations.history").await[0];
        let query: Vec<(String, String)> = lookup.url.query_pairs().into_owned().collect();
        assert!(
            query.contains(&("include_all_metadata".into(), "true".into())),
            "{query:?}"
        );
        assert!(
            query.contains(&("channel".into(), "C-SOC".into())),
            "{query:?}"
        );
        assert_eq!(per_part(&server, "/chat.update").await, posted);
        let update = requests(&server, "POST", "/chat.update")
            .await
            .iter()
            .map(slack_body)
            .find(|body| body["metadata"]["event_payload"]["part"] == "message:0")
            .unwrap();
        assert_eq!(update["ts"], "1764000000.000100");
        assert_eq!(update["channel"], "C-SOC");
        assert!(
            update["blocks"]
                .as_array()
                .is_some_and(|blocks| blocks.len() > 3),
            "filled with the report: {update}"
        );
        assert_eq!(update["metadata"], placeholder["metadata"]);
        assert_eq!(
            requests(&server, "POST", "/files.completeUploadExternal")
                .await
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn slack_500_or_timeout_after_delivering_posts_nothing_twice() {
        for answer in [
            ResponseTemplate::new(500),
            // Longer than half the lease below, so the attempt is cut off.
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C-SOC", "ts": "1.1"}))
                .set_delay(Duration::from_secs(5)),
        ] {
            let server = slack().await;
            Mock::given(method("POST"))
                .and(path("/slack/chat.postMessage"))
                .respond_with(answer)
                .up_to_n_times(1)
                .with_priority(1)
                .mount(&server)
                .await;
            // The share is delivered too, then answered with 500.
            Mock::given(method("POST"))
                .and(path("/slack/files.completeUploadExternal"))
                .respond_with(ResponseTemplate::new(500))
                .up_to_n_times(1)
                .with_priority(1)
                .mount(&server)
                .await;
            let dir = tempfile::tempdir().unwrap();
            let config = config(&dir, &server, "slack");
            // A short lease, so the delayed answer outlasts the cut-off at half of it.
            let first_replica = start(&config, TimeDelta::seconds(2)).await;
            let first = first_replica.scheduler.tick(utc(23, 7, 0)).await;
            assert!(matches!(&first[..], [Outcome::Failed { .. }]), "{first:?}");
            assert_eq!(
                requests(&server, "POST", "/chat.postMessage").await.len(),
                1,
                "an answer that may hide a delivery is not retried blindly"
            );
            let posted = requests(&server, "POST", "/chat.postMessage").await;
            slack_history(&server, vec![stored_message(&posted[0], "1.1")], 4).await;

            // Retry (here by another replica with the usual lease): finds the message,
            // fills it, posts the file (whose share then fails after delivering), and the
            // next retry finds the file.
            let replica = start(&config, LEASE).await;
            let second = replica.scheduler.tick(utc(23, 7, 0) + AFTER_RETRY).await;
            assert!(
                matches!(&second[..], [Outcome::Failed { error, .. }] if error.contains("file:chart")),
                "{second:?}"
            );
            slack_history(
                &server,
                vec![
                    json!({"type": "message", "ts": "1.2", "files": [{"id": "F1"}], "upload": true}),
                    stored_message(&posted[0], "1.1"),
                ],
                3,
            )
            .await;
            let third = replica
                .scheduler
                .tick(utc(23, 7, 0) + AFTER_RETRY * 2)
                .await;
            assert!(
                matches!(&third[..], [Outcome::Posted { attempt: 3, .. }]),
                "{third:?}"
            );
            let posted = per_part(&server, "/chat.postMessage").await;
            assert!(once_each_but_first(&posted, 1), "{posted:?}");
            assert_eq!(per_part(&server, "/chat.update").await, posted);
            assert_eq!(
                requests(&server, "POST", "/files.completeUploadExternal")
                    .await
                    .len(),
                1,
                "the delivered share was found, not repeated"
            );
        }
    }

    #[tokio::test]
    async fn slack_placeholder_deleted_before_filling_is_sent_again() {
        let server = slack().await;
        Mock::given(method("POST"))
            .and(path("/slack/chat.update"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"ok": false, "error": "message_not_found"})),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let replica = start(&config(&dir, &server, "slack"), LEASE).await;
        let outcomes = replica.scheduler.tick(utc(23, 7, 0)).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { attempt: 1, .. }]),
            "{outcomes:?}"
        );
        // Someone deleted the "preparing…" message: a new one is posted and filled.
        let posted = per_part(&server, "/chat.postMessage").await;
        assert!(once_each_but_first(&posted, 2), "{posted:?}");
        assert_eq!(per_part(&server, "/chat.update").await, posted);
    }

    #[tokio::test]
    async fn slack_placeholder_refused_with_429_is_sent_again_at_once() {
        let server = slack().await;
        Mock::given(method("POST"))
            .and(path("/slack/chat.postMessage"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let replica = start(&config(&dir, &server, "slack"), LEASE).await;
        let outcomes = replica.scheduler.tick(utc(23, 7, 0)).await;
        // Slack answers 429 before doing anything, so that one is safe to repeat.
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { attempt: 1, .. }]),
            "{outcomes:?}"
        );
        let posted = per_part(&server, "/chat.postMessage").await;
        assert!(once_each_but_first(&posted, 2), "{posted:?}");
        assert!(
            requests(&server, "GET", "/conversations.history")
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn slack_without_history_access_sends_again_and_fills_only_the_new_message() {
        let server = slack().await;
        Mock::given(method("POST"))
            .and(path("/slack/chat.postMessage"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/slack/conversations.history"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"ok": false, "error": "not_in_channel"})),
            )
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let replica = start(&config(&dir, &server, "slack"), LEASE).await;
        replica.scheduler.tick(utc(23, 7, 0)).await;
        let outcomes = replica.scheduler.tick(utc(23, 7, 0) + AFTER_RETRY).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { .. }]),
            "{outcomes:?}"
        );
        // The 503's outcome stays unknown without the history: a second placeholder is
        // sent, and only the one the store recorded is filled with the report.
        let posted = per_part(&server, "/chat.postMessage").await;
        assert!(once_each_but_first(&posted, 2), "{posted:?}");
        let filled = per_part(&server, "/chat.update").await;
        assert!(once_each_but_first(&filled, 1), "{filled:?}");
    }

    /// A fake Bot Connector, Entra token endpoint and Graph.
    async fn teams() -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex("^/login/[^/]+/oauth2/v2.0/token$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"token_type": "Bearer", "expires_in": 3600, "access_token": "token"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/svc/v3/conversations"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": format!("{TEAMS_CHANNEL};messageid=1764000000111"),
                "activityId": "1764000000111",
            })))
            .with_priority(5)
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path_regex(
                "^/svc/v3/conversations/[^/]+/activities/[0-9]+$",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1764000000111"})))
            .mount(&server)
            .await;
        graph_messages(&server, Vec::new(), 5).await;
        server
    }

    async fn graph_messages(server: &MockServer, messages: Vec<Value>, priority: u8) {
        Mock::given(method("GET"))
            .and(path_regex("^/graph/v1.0/teams/team-1/channels/[^/]+/messages$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#teams('team-1')/channels('19%3Asoc%40thread.tacv2')/messages",
                "@odata.count": messages.len(),
                "value": messages,
            })))
            .with_priority(priority)
            .mount(server)
            .await;
    }

    /// The channel message Graph lists for a createConversation request the connector took.
    fn graph_message(request: &Request, id: &str, at: DateTime<Utc>) -> Value {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let card = &body["activity"]["attachments"][0]["content"];
        json!({
            "id": id, "replyToId": null, "etag": id, "messageType": "message",
            "createdDateTime": at.to_rfc3339(), "lastModifiedDateTime": at.to_rfc3339(),
            "from": {"user": null, "device": null, "application": {
                "id": APP_ID, "displayName": "Sentinel Bot", "applicationIdentityType": "bot"}},
            "body": {"contentType": "html", "content": "<attachment id=\"a1\"></attachment>"},
            "attachments": [{"id": "a1", "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null, "content": card.to_string(), "name": null, "thumbnailUrl": null}],
        })
    }

    fn user_message(id: &str, at: DateTime<Utc>) -> Value {
        json!({
            "id": id, "messageType": "message", "createdDateTime": at.to_rfc3339(),
            "from": {"application": null, "device": null,
                "user": {"id": "u1", "displayName": "Robin Kline", "userIdentityType": "aadUser"}},
            "body": {"contentType": "html", "content": "Hello"}, "attachments": [],
        })
    }

    #[tokio::test]
    async fn teams_placeholder_accepted_then_crash_is_found_by_its_key_and_filled() {
        let server = teams().await;
        Mock::given(method("POST"))
            .and(path("/svc/v3/conversations"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"id": "x", "activityId": "1764000000111"}))
                    .set_delay(Duration::from_secs(30)),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let config = config(&dir, &server, "teams");
        let replica = start(&config, LEASE).await;
        crash_during(&replica, &server, "POST", "/v3/conversations").await;
        replica.app.store.close().await;

        let created = requests(&server, "POST", "/v3/conversations").await;
        let body: Value = serde_json::from_slice(&created[0].body).unwrap();
        let placeholder = &body["activity"]["attachments"][0]["content"];
        assert_eq!(placeholder["body"][0]["isVisible"], false);
        assert_eq!(
            placeholder["body"][0]["id"],
            "sentinel-bot-report:report:teams:19:soc@thread.tacv2:2026-W48#message:0"
        );
        assert!(placeholder.to_string().contains("preparing…"));
        let at = utc(23, 7, 0);
        graph_messages(
            &server,
            vec![
                user_message("1764000000999", at),
                graph_message(&created[0], "1764000000111", at),
            ],
            1,
        )
        .await;

        let restarted = start(&config, LEASE).await;
        let outcomes = restarted.scheduler.tick(utc(23, 7, 0) + LEASE).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { attempt: 2, .. }]),
            "{outcomes:?}"
        );
        assert_eq!(
            requests(&server, "POST", "/v3/conversations").await.len(),
            1
        );
        let lookup = &requests(&server, "GET", "/messages").await[0];
        assert_eq!(
            lookup.headers.get("authorization").unwrap(),
            "Bearer token",
            "an app-only Graph token"
        );
        let token_requests = requests(&server, "POST", "/tenant-1/oauth2/v2.0/token").await;
        assert!(
            token_requests
                .iter()
                .any(|request| form_field(request, "scope").as_deref()
                    == Some(&*format!("{}/graph/.default", server.uri()))),
            "the Graph token comes from the channel's tenant"
        );
        let updates = requests(&server, "PUT", "/activities/1764000000111").await;
        assert_eq!(updates.len(), 1);
        assert!(
            updates[0].url.path().contains("messageid%3D1764000000111"),
            "{}",
            updates[0].url.path()
        );
        let update: Value = serde_json::from_slice(&updates[0].body).unwrap();
        let card = &update["attachments"][0]["content"];
        assert_eq!(card["body"][0]["id"], placeholder["body"][0]["id"]);
        assert!(
            !card.to_string().contains("preparing…"),
            "filled with the report"
        );
        assert!(card["body"].as_array().unwrap().len() > 3);
    }

    #[tokio::test]
    async fn teams_502_after_delivering_posts_nothing_twice() {
        let server = teams().await;
        Mock::given(method("POST"))
            .and(path("/svc/v3/conversations"))
            .respond_with(ResponseTemplate::new(502))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let replica = start(&config(&dir, &server, "teams"), LEASE).await;
        let outcomes = replica.scheduler.tick(utc(23, 7, 0)).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Failed { error, .. }] if error.contains("502")),
            "{outcomes:?}"
        );
        let created = requests(&server, "POST", "/v3/conversations").await;
        assert_eq!(
            created.len(),
            1,
            "a 502 may hide a delivery, so it is not retried blindly"
        );
        graph_messages(
            &server,
            vec![graph_message(&created[0], "1764000000111", utc(23, 7, 0))],
            1,
        )
        .await;

        let outcomes = replica.scheduler.tick(utc(23, 7, 0) + AFTER_RETRY).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { attempt: 2, .. }]),
            "{outcomes:?}"
        );
        assert_eq!(
            requests(&server, "POST", "/v3/conversations").await.len(),
            1
        );
        assert_eq!(
            requests(&server, "PUT", "/activities/1764000000111")
                .await
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn teams_history_follows_graphs_pages_and_sends_its_token_nowhere_else() {
        let server = teams().await;
        Mock::given(method("POST"))
            .and(path("/svc/v3/conversations"))
            .respond_with(ResponseTemplate::new(502))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let replica = start(&config(&dir, &server, "teams"), LEASE).await;
        replica.scheduler.tick(utc(23, 7, 0)).await;
        let created = requests(&server, "POST", "/v3/conversations").await;
        let at = utc(23, 7, 0);
        let elsewhere = MockServer::start().await;
        // Page 1: someone else's message, and a link to page 2 on Graph.
        Mock::given(method("GET"))
            .and(path_regex("/messages$"))
            .and(wiremock::matchers::query_param("$top", "50"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "value": [user_message("1764000000999", at)],
                "@odata.nextLink": format!(
                    "{}/graph/v1.0/teams/team-1/channels/x/messages?$skiptoken=page2", server.uri()),
            })))
            .with_priority(1)
            .mount(&server)
            .await;
        // Page 2: the bot's placeholder, and a link off Graph that must not be followed.
        Mock::given(method("GET"))
            .and(wiremock::matchers::query_param("$skiptoken", "page2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "value": [graph_message(&created[0], "1764000000111", at)],
                "@odata.nextLink": format!("{}/steal?$skiptoken=page3", elsewhere.uri()),
            })))
            .with_priority(1)
            .mount(&server)
            .await;
        let outcomes = replica.scheduler.tick(utc(23, 7, 0) + AFTER_RETRY).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { attempt: 2, .. }]),
            "{outcomes:?}"
        );
        assert_eq!(requests(&server, "GET", "/messages").await.len(), 2);
        assert_eq!(
            requests(&server, "POST", "/v3/conversations").await.len(),
            1
        );
        assert_eq!(
            requests(&server, "PUT", "/activities/1764000000111")
                .await
                .len(),
            1
        );
        assert!(
            elsewhere
                .received_requests()
                .await
                .unwrap_or_default()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn teams_without_the_graph_consent_posts_again_and_fills_only_the_new_post() {
        let server = teams().await;
        Mock::given(method("POST"))
            .and(path("/svc/v3/conversations"))
            .respond_with(ResponseTemplate::new(504))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/graph/"))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({
                "error": {"code": "Forbidden", "message": "Missing role permissions on the request."}
            })))
            .with_priority(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let replica = start(&config(&dir, &server, "teams"), LEASE).await;
        replica.scheduler.tick(utc(23, 7, 0)).await;
        let outcomes = replica.scheduler.tick(utc(23, 7, 0) + AFTER_RETRY).await;
        assert!(
            matches!(&outcomes[..], [Outcome::Posted { .. }]),
            "{outcomes:?}"
        );
        // Without ChannelMessage.Read.Group the outcome of the 504 stays unknown: the bot
        // sends again (at worst a stray placeholder), and the report fills only one post.
        assert_eq!(
            requests(&server, "POST", "/v3/conversations").await.len(),
            2
        );
        assert_eq!(requests(&server, "PUT", "/activities/").await.len(), 1);
    }
}
