//! The weekly report job: exactly once per channel and week. A run is claimed in the
//! store under a unique key and a lease (mutual exclusion between replicas), its post is
//! sent part by part with each part's state in the store ([`post`]), and the run is marked
//! done after; failures release the claim for a later retry, which resumes at the first
//! part not yet sent. Builds no report itself: a [`Poster`] does that.

pub mod post;

use crate::config::{Config, ReportConfig, TeamsChannel};
use crate::store::{Claim, RunLease, Store, StoreError};
use chrono::{DateTime, Datelike, TimeDelta, Utc};
use chrono_tz::Tz;
pub use post::{Delivery, DeliveryError, Filled, Lookup, Post};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

/// How long a claim is held before another replica may take it over (after a crash).
pub const DEFAULT_LEASE: TimeDelta = TimeDelta::minutes(10);
/// Delay before a failed post is tried again.
pub const DEFAULT_RETRY_DELAY: TimeDelta = TimeDelta::minutes(5);
/// How far back a missed slot is still caught up at start.
pub const CATCH_UP_WINDOW: TimeDelta = TimeDelta::days(7);

/// Invalid schedule settings, reported at startup.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The cron expression does not parse.
    #[error(
        "invalid report cron {expression:?} (expected `sec min hour day-of-month month day-of-week`, e.g. `0 0 8 * * Mon`): {reason}"
    )]
    BadCron {
        /// The expression as configured.
        expression: String,
        /// The parser's message.
        reason: String,
    },
    /// The time zone is not an IANA name.
    #[error("invalid report time zone {0:?} (expected an IANA name such as `Europe/Paris`)")]
    BadTimeZone(String),
}

/// One scheduled time and the week it reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The scheduled instant.
    pub at: DateTime<Utc>,
    /// ISO week of `at` in the schedule's time zone, e.g. `2026-W48`.
    pub week: String,
}

/// When reports are due: a cron expression read in a time zone.
#[derive(Debug, Clone)]
pub struct ReportSchedule {
    cron: cron::Schedule,
    time_zone: Tz,
}

impl ReportSchedule {
    /// Parses and validates a cron expression (with seconds) and an IANA time zone.
    pub fn parse(expression: &str, time_zone: &str) -> Result<ReportSchedule, ScheduleError> {
        let cron = cron::Schedule::from_str(expression).map_err(|err| ScheduleError::BadCron {
            expression: expression.to_string(),
            reason: err.to_string(),
        })?;
        let time_zone = Tz::from_str(time_zone)
            .map_err(|_| ScheduleError::BadTimeZone(time_zone.to_string()))?;
        Ok(ReportSchedule { cron, time_zone })
    }

    /// The schedule from the `[report]` settings.
    pub fn from_config(config: &ReportConfig) -> Result<ReportSchedule, ScheduleError> {
        ReportSchedule::parse(&config.cron, &config.time_zone)
    }

    /// The latest scheduled time at or before `now`, if it lies within the catch-up window.
    pub fn due_slot(&self, now: DateTime<Utc>) -> Option<Slot> {
        let local_now = now.with_timezone(&self.time_zone);
        // The iterator walks backwards from strictly before its start, so start one
        // second later and skip a time that is still in the future (sub-second `now`).
        let mut earlier = self.cron.after(&(local_now + TimeDelta::seconds(1)));
        let latest = std::iter::from_fn(|| earlier.next_back())
            .take(3)
            .find(|time| *time <= local_now)?;
        let at = latest.with_timezone(&Utc);
        (now - at <= CATCH_UP_WINDOW).then(|| self.slot(at))
    }

    /// The first scheduled time strictly after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local_now = now.with_timezone(&self.time_zone);
        self.cron
            .after(&local_now)
            .next()
            .map(|time| time.with_timezone(&Utc))
    }

    fn slot(&self, at: DateTime<Utc>) -> Slot {
        let week = at.with_timezone(&self.time_zone).iso_week();
        Slot {
            at,
            week: format!("{:04}-W{:02}", week.year(), week.week()),
        }
    }
}

/// Builds the weekly report post for one channel; implemented by the wiring over the
/// Teams and Slack clients.
#[async_trait::async_trait]
pub trait Poster: Send + Sync {
    /// Builds the report for `slot`, rendered for `channel` (`teams:<id>` or `slack:<id>`),
    /// as a [`Post`] whose parts are marked with `run_key`. Sends nothing.
    async fn prepare(
        &self,
        channel: &str,
        slot: &Slot,
        run_key: &str,
    ) -> anyhow::Result<Box<dyn Post>>;
}

/// The text of a post's placeholder, shown until its content is filled in.
pub fn placeholder_text(slot: &Slot) -> String {
    format!("Weekly incident report for week {}: preparing…", slot.week)
}

/// What one tick did for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Posted now (or finished what an earlier attempt started); `attempt` counts earlier
    /// tries too.
    Posted { channel: String, attempt: i64 },
    /// Already posted for this week.
    AlreadyDone { channel: String },
    /// Another replica holds the claim, or a failure's retry delay has not passed.
    Busy { channel: String },
    /// The post failed; it is retried after the retry delay.
    Failed { channel: String, error: String },
    /// The store could not be used; nothing was posted.
    StoreFailed { channel: String, error: String },
}

/// The store key of one channel's report for one week.
pub fn run_key(channel: &str, slot: &Slot) -> String {
    format!("report:{channel}:{}", slot.week)
}

/// Channel ids of every configured report channel: `teams:<channel id>` and `slack:<channel id>`.
pub fn report_channels(config: &Config) -> Vec<String> {
    channel_keys(
        config.teams.iter().flat_map(|teams| &teams.report_channels),
        config.slack.iter().flat_map(|slack| &slack.report_channels),
    )
}

/// Keys naming channels across platforms: `teams:<channel id>` and `slack:<channel id>`.
pub fn channel_keys<'a>(
    teams: impl Iterator<Item = &'a TeamsChannel>,
    slack: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    teams
        .map(|channel| format!("teams:{}", channel.channel_id))
        .chain(slack.map(|channel| format!("slack:{channel}")))
        .collect()
}

/// Posts the weekly report to every channel once per week.
pub struct Scheduler {
    store: Store,
    schedule: ReportSchedule,
    channels: Vec<String>,
    poster: Arc<dyn Poster>,
    lease: TimeDelta,
    retry_delay: TimeDelta,
}

impl Scheduler {
    /// A scheduler with the default lease and retry delay.
    pub fn new(
        store: Store,
        schedule: ReportSchedule,
        channels: Vec<String>,
        poster: Arc<dyn Poster>,
    ) -> Scheduler {
        Scheduler {
            store,
            schedule,
            channels,
            poster,
            lease: DEFAULT_LEASE,
            retry_delay: DEFAULT_RETRY_DELAY,
        }
    }

    /// Changes the claim lease and the retry delay (tests, or slow channels).
    pub fn with_timing(mut self, lease: TimeDelta, retry_delay: TimeDelta) -> Scheduler {
        self.lease = lease;
        self.retry_delay = retry_delay;
        self
    }

    /// Posts the due slot (if any) to every channel not yet done for its week.
    pub async fn tick(&self, now: DateTime<Utc>) -> Vec<Outcome> {
        let Some(slot) = self.schedule.due_slot(now) else {
            return Vec::new();
        };
        let mut outcomes = Vec::with_capacity(self.channels.len());
        let started = std::time::Instant::now();
        for channel in &self.channels {
            // Each channel's claim starts its own lease when it is taken, not when the tick
            // began: earlier channels' posts take time.
            let now = now + elapsed(started);
            let outcome = match self.post_once(channel, &slot, now).await {
                Ok(outcome) => outcome,
                Err(err) => Outcome::StoreFailed {
                    channel: channel.clone(),
                    error: error_chain(&err),
                },
            };
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn post_once(
        &self,
        channel: &str,
        slot: &Slot,
        now: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let key = run_key(channel, slot);
        let channel = channel.to_string();
        let lease = match self.store.claim_run(&key, now, self.lease).await? {
            Claim::Acquired(lease) => lease,
            Claim::Done => return Ok(Outcome::AlreadyDone { channel }),
            Claim::Busy => return Ok(Outcome::Busy { channel }),
        };
        let started = std::time::Instant::now();
        let result = self.attempt(&lease, &channel, slot, now).await;
        let now = now + elapsed(started);
        match result {
            Ok(delivery) => {
                if !self.store.finish_run(&lease, now).await? {
                    tracing::warn!(%key, "report posted but the claim was lost meanwhile");
                }
                tracing::info!(%key, attempt = lease.attempt, ?delivery, "weekly report posted");
                Ok(Outcome::Posted {
                    channel,
                    attempt: lease.attempt,
                })
            }
            Err(DeliveryError::LeaseLost) => {
                tracing::warn!(%key, "another holder took the report run over; stopping");
                Ok(Outcome::Busy { channel })
            }
            Err(DeliveryError::Store(error)) => Err(error),
            Err(err) => {
                let error = err.to_string();
                tracing::warn!(%key, attempt = lease.attempt, error = %error, "weekly report post failed; will retry");
                self.store
                    .fail_run(&lease, &error, now + self.retry_delay, now)
                    .await?;
                Ok(Outcome::Failed { channel, error })
            }
        }
    }

    /// Builds the channel's post, renews the lease, and sends what is not sent yet. A
    /// holder whose request is still on its way when its lease ends could deliver after
    /// the next holder looked in the channel, so sending is cut off at half the lease: the
    /// platform then has the other half to finish what it received. Building the report
    /// (bounded by its own deadline) comes before, so a slow build does not eat into it.
    async fn attempt(
        &self,
        lease: &RunLease,
        channel: &str,
        slot: &Slot,
        now: DateTime<Utc>,
    ) -> Result<Delivery, DeliveryError> {
        let started = std::time::Instant::now();
        let building = self.poster.prepare(channel, slot, &lease.key);
        let post = tokio::time::timeout(self.lease.to_std().unwrap_or_default(), building)
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out after the lease")))
            .map_err(|source| DeliveryError::Platform {
                part: "building the report".to_string(),
                source,
            })?;
        let now = now + elapsed(started);
        if !self.store.renew_run(lease, now, self.lease).await? {
            return Err(DeliveryError::LeaseLost);
        }
        let limit = (self.lease / 2).to_std().unwrap_or_default();
        let sending = post::deliver(&self.store, lease, post.as_ref(), now);
        tokio::time::timeout(limit, sending)
            .await
            .unwrap_or_else(|_| {
                Err(DeliveryError::Platform {
                    part: "the post".to_string(),
                    source: anyhow::anyhow!("timed out after {limit:?}"),
                })
            })
    }

    /// Ticks now and at every scheduled time, retrying failures, until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let now = Utc::now();
            let outcomes = self.tick(now).await;
            let unfinished = outcomes.iter().any(|outcome| {
                !matches!(
                    outcome,
                    Outcome::Posted { .. } | Outcome::AlreadyDone { .. }
                )
            });
            let mut wake = self
                .schedule
                .next_after(now)
                .unwrap_or(now + TimeDelta::days(1));
            if unfinished {
                wake = wake.min(now + self.retry_delay);
            }
            // Woken at least hourly so a changed clock cannot stall the schedule for long.
            let wait = (wake - now)
                .clamp(TimeDelta::seconds(1), TimeDelta::hours(1))
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(60));
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

fn elapsed(since: std::time::Instant) -> TimeDelta {
    TimeDelta::from_std(since.elapsed()).unwrap_or_default()
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
            .unwrap()
    }

    #[test]
    fn default_config_is_monday_eight_utc() {
        let schedule = ReportSchedule::from_config(&ReportConfig::default()).unwrap();
        // 2026-11-23 is a Monday.
        let slot = schedule.due_slot(utc(2026, 11, 23, 8, 0)).unwrap();
        assert_eq!(slot.at, utc(2026, 11, 23, 8, 0));
        assert_eq!(slot.week, "2026-W48");
        let before = schedule.due_slot(utc(2026, 11, 23, 7, 59)).unwrap();
        assert_eq!(before.at, utc(2026, 11, 16, 8, 0));
        assert_eq!(before.week, "2026-W47");
        assert_eq!(
            schedule.next_after(utc(2026, 11, 23, 8, 0)),
            Some(utc(2026, 11, 30, 8, 0))
        );
    }

    #[test]
    fn sub_second_now_never_yields_a_future_slot() {
        let schedule = ReportSchedule::parse("* * * * * *", "UTC").unwrap();
        let now = utc(2026, 11, 23, 8, 0) + TimeDelta::milliseconds(500);
        assert_eq!(schedule.due_slot(now).unwrap().at, utc(2026, 11, 23, 8, 0));
    }

    #[test]
    fn slots_older_than_the_catch_up_window_are_not_due() {
        let schedule = ReportSchedule::parse("0 0 8 1 1 *", "UTC").unwrap();
        assert_eq!(schedule.due_slot(utc(2026, 3, 1, 0, 0)), None);
        assert!(schedule.due_slot(utc(2026, 1, 5, 0, 0)).is_some());
    }

    #[test]
    fn paris_follows_daylight_saving_time() {
        let schedule = ReportSchedule::parse("0 0 8 * * Mon", "Europe/Paris").unwrap();
        // Winter: CET is UTC+1.
        assert_eq!(
            schedule.due_slot(utc(2026, 11, 23, 7, 0)).unwrap().at,
            utc(2026, 11, 23, 7, 0)
        );
        // Summer: CEST is UTC+2, so 06:30 UTC is already past 08:00 in Paris.
        assert_eq!(
            schedule.due_slot(utc(2026, 6, 22, 6, 30)).unwrap().at,
            utc(2026, 6, 22, 6, 0)
        );
        // The Monday right after the switch to summer time (Sunday 2026-03-29).
        assert_eq!(
            schedule.due_slot(utc(2026, 3, 30, 6, 0)).unwrap().at,
            utc(2026, 3, 30, 6, 0)
        );
        assert_eq!(
            schedule.due_slot(utc(2026, 3, 30, 5, 59)).unwrap().at,
            utc(2026, 3, 23, 7, 0)
        );
    }

    #[test]
    fn week_key_is_the_local_week() {
        // Monday 00:30 in Auckland is still Sunday in UTC, in the previous ISO week.
        let schedule = ReportSchedule::parse("0 30 0 * * Mon", "Pacific/Auckland").unwrap();
        let slot = schedule.due_slot(utc(2026, 11, 22, 12, 0)).unwrap();
        assert_eq!(slot.at, utc(2026, 11, 22, 11, 30));
        assert_eq!(slot.week, "2026-W48");
    }

    #[test]
    fn bad_settings_are_reported_clearly() {
        let err = ReportSchedule::parse("0 8 * * Mon", "UTC").unwrap_err();
        assert!(matches!(err, ScheduleError::BadCron { .. }));
        assert!(err.to_string().contains("0 8 * * Mon"));
        let err = ReportSchedule::parse("0 0 8 * * Mon", "Mars/Olympus").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid report time zone \"Mars/Olympus\" (expected an IANA name such as `Europe/Paris`)"
        );
    }

    #[test]
    fn channels_come_from_teams_and_slack_settings() {
        let config = Config::from_sources(
            r#"
            [teams]
            app_id = "app"
            [[teams.report_channels]]
            service_url = "https://smba.example/"
            channel_id = "19:abc@thread.tacv2"
            tenant_id = "t"
            [slack]
            bot_token = "xoxb-1"
            report_channels = ["C1", "C2"]
            "#,
            Vec::new(),
        )
        .unwrap();
        assert_eq!(
            report_channels(&config),
            ["teams:19:abc@thread.tacv2", "slack:C1", "slack:C2"]
        );
    }
}
