//! Schedule runs: a unique key claimed under a lease before posting, marked done after;
//! and the state of each part of a run's post, written only by the lease holder.

use super::{Store, StoreError};
use chrono::{DateTime, TimeDelta, Utc};

/// Proof that this process holds the claim on a run key until the lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLease {
    /// The run key, e.g. `report:slack:C123:2026-W48`.
    pub key: String,
    /// Random id of this claim; finishing or failing needs it, so a stale holder cannot.
    pub owner: String,
    /// How many times the run has been claimed, this claim included.
    pub attempt: i64,
}

/// Result of [`Store::claim_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller may do the work now.
    Acquired(RunLease),
    /// The run already finished; do nothing.
    Done,
    /// Another holder's lease (or a failure's retry delay) has not ended yet.
    Busy,
}

const CLAIMED: &str = "claimed";
const FAILED: &str = "failed";
const DONE: &str = "done";

impl Store {
    /// Claims `key` until `now + lease`: succeeds when there is no row yet, or the row
    /// is not done and its lease (or retry delay) has ended, e.g. a crashed replica's.
    pub async fn claim_run(
        &self,
        key: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
    ) -> Result<Claim, StoreError> {
        let owner = uuid::Uuid::new_v4().to_string();
        let now_secs = now.timestamp();
        let lease_until = (now + lease).timestamp();
        let inserted = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO schedule_runs (run_key, status, owner, lease_until, attempts, updated_at) \
                 VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (run_key) DO NOTHING",
            )
            .bind(key)
            .bind(CLAIMED)
            .bind(&owner)
            .bind(lease_until)
            .bind(now_secs)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 1 {
            return Ok(Claim::Acquired(RunLease {
                key: key.to_string(),
                owner,
                attempt: 1,
            }));
        }
        // One conditional UPDATE, so two contenders cannot both take over an expired lease.
        let taken: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "UPDATE schedule_runs SET status = $2, owner = $3, lease_until = $4, \
                 attempts = attempts + 1, updated_at = $5 \
                 WHERE run_key = $1 AND status <> $6 AND lease_until <= $5 RETURNING attempts",
            )
            .bind(key)
            .bind(CLAIMED)
            .bind(&owner)
            .bind(lease_until)
            .bind(now_secs)
            .bind(DONE)
            .fetch_optional(pool)
            .await?
        });
        if let Some(attempt) = taken {
            return Ok(Claim::Acquired(RunLease {
                key: key.to_string(),
                owner,
                attempt,
            }));
        }
        if self.run_done(key).await? {
            Ok(Claim::Done)
        } else {
            Ok(Claim::Busy)
        }
    }

    /// Marks the run done; returns false if the lease was lost to another holder meanwhile.
    pub async fn finish_run(
        &self,
        lease: &RunLease,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE schedule_runs SET status = $3, last_error = NULL, updated_at = $4 \
                 WHERE run_key = $1 AND owner = $2",
            )
            .bind(&lease.key)
            .bind(&lease.owner)
            .bind(DONE)
            .bind(now.timestamp())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Extends a held claim to `now + lease`; false if it was lost (taken over after it
    /// ended) or the run is no longer claimed.
    pub async fn renew_run(
        &self,
        lease: &RunLease,
        now: DateTime<Utc>,
        length: TimeDelta,
    ) -> Result<bool, StoreError> {
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE schedule_runs SET lease_until = $3, updated_at = $4 \
                 WHERE run_key = $1 AND owner = $2 AND status = $5",
            )
            .bind(&lease.key)
            .bind(&lease.owner)
            .bind((now + length).timestamp())
            .bind(now.timestamp())
            .bind(CLAIMED)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Releases the claim after a failure so the run is retried from `retry_at` on,
    /// keeping the error text; the attempt count is kept in the row.
    pub async fn fail_run(
        &self,
        lease: &RunLease,
        error: &str,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE schedule_runs SET status = $3, last_error = $4, lease_until = $5, updated_at = $6 \
                 WHERE run_key = $1 AND owner = $2 AND status = $7",
            )
            .bind(&lease.key)
            .bind(&lease.owner)
            .bind(FAILED)
            .bind(error)
            .bind(retry_at.timestamp())
            .bind(now.timestamp())
            .bind(CLAIMED)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    /// True once the run has been marked done.
    pub async fn run_done(&self, key: &str) -> Result<bool, StoreError> {
        let status: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT status FROM schedule_runs WHERE run_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(status.as_deref() == Some(DONE))
    }

    /// Attempts so far and the last error of a run, if it exists.
    pub async fn run_attempts(
        &self,
        key: &str,
    ) -> Result<Option<(i64, Option<String>)>, StoreError> {
        let row: Option<(i64, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT attempts, last_error FROM schedule_runs WHERE run_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }
}

/// What the store knows of one part of a run's post (a message, the chart file, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartState {
    /// No send was ever started.
    Unsent,
    /// A send started at `since` and may have reached the platform: its answer was never
    /// recorded. `hint` is what identifies the part in the channel besides its marker.
    Sending {
        hint: Option<String>,
        since: DateTime<Utc>,
    },
    /// The platform holds the part under `receipt` (its ids); it may still need filling.
    Placed { receipt: String },
    /// Sent and filled; never touched again.
    Done { receipt: String },
}

const SENDING: &str = "sending";
const PLACED: &str = "placed";

/// Upserts a part row, but only while `$7` still holds the claim on the run: a holder
/// whose lease was taken over cannot overwrite what the new holder records.
const UPSERT_PART: &str = "INSERT INTO schedule_parts (run_key, part, state, hint, receipt, since, updated_at) \
     SELECT $1, $2, $3, $4, $5, $6, $6 WHERE EXISTS (SELECT 1 FROM schedule_runs \
     WHERE run_key = $1 AND owner = $7 AND status = $8) \
     ON CONFLICT (run_key, part) DO UPDATE SET state = excluded.state, hint = excluded.hint, \
     receipt = excluded.receipt, since = excluded.since, updated_at = excluded.updated_at";

impl Store {
    /// The recorded state of `part` of the run `key`.
    pub async fn part_state(&self, key: &str, part: &str) -> Result<PartState, StoreError> {
        type Row = (String, Option<String>, Option<String>, i64);
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT state, hint, receipt, since FROM schedule_parts WHERE run_key = $1 AND part = $2",
            )
            .bind(key)
            .bind(part)
            .fetch_optional(pool)
            .await?
        });
        let Some((state, hint, receipt, since)) = row else {
            return Ok(PartState::Unsent);
        };
        match (state.as_str(), receipt) {
            (DONE, Some(receipt)) => Ok(PartState::Done { receipt }),
            (PLACED, Some(receipt)) => Ok(PartState::Placed { receipt }),
            (SENDING, _) => Ok(PartState::Sending {
                hint,
                since: super::from_epoch(since)?,
            }),
            (other, _) => Err(StoreError::BadData(format!(
                "part {part} of {key} is in unknown state {other:?}"
            ))),
        }
    }

    /// Records, before sending, that a send of `part` starts now (write-ahead: after a crash
    /// the next holder knows to look in the channel first). False if the lease was lost.
    pub async fn part_sending(
        &self,
        lease: &RunLease,
        part: &str,
        hint: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.upsert_part(lease, part, SENDING, hint, None, now)
            .await
    }

    /// Records that the platform holds `part` under `receipt`. False if the lease was lost.
    pub async fn part_placed(
        &self,
        lease: &RunLease,
        part: &str,
        receipt: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.upsert_part(lease, part, PLACED, None, Some(receipt), now)
            .await
    }

    /// Records that `part` is finished. False if the lease was lost.
    pub async fn part_done(
        &self,
        lease: &RunLease,
        part: &str,
        receipt: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.upsert_part(lease, part, DONE, None, Some(receipt), now)
            .await
    }

    async fn upsert_part(
        &self,
        lease: &RunLease,
        part: &str,
        state: &str,
        hint: Option<&str>,
        receipt: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let updated = on_pool!(self, pool => {
            sqlx::query(UPSERT_PART)
                .bind(&lease.key)
                .bind(part)
                .bind(state)
                .bind(hint)
                .bind(receipt)
                .bind(now.timestamp())
                .bind(&lease.owner)
                .bind(CLAIMED)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(updated == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::sqlite_store;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    const LEASE: TimeDelta = TimeDelta::minutes(10);

    #[tokio::test]
    async fn second_claim_is_busy_then_done_after_finish() {
        let (store, _dir) = sqlite_store().await;
        let Claim::Acquired(lease) = store.claim_run("k", at(0), LEASE).await.unwrap() else {
            panic!("first claim must succeed");
        };
        assert_eq!(
            store.claim_run("k", at(1), LEASE).await.unwrap(),
            Claim::Busy
        );
        assert!(!store.run_done("k").await.unwrap());
        assert!(store.finish_run(&lease, at(2)).await.unwrap());
        assert!(store.run_done("k").await.unwrap());
        // Even long after any lease, a done run is never claimed again.
        assert_eq!(
            store.claim_run("k", at(100_000), LEASE).await.unwrap(),
            Claim::Done
        );
    }

    #[tokio::test]
    async fn expired_lease_is_taken_over_and_the_stale_owner_cannot_finish() {
        let (store, _dir) = sqlite_store().await;
        let Claim::Acquired(crashed) = store.claim_run("k", at(0), LEASE).await.unwrap() else {
            panic!("first claim must succeed");
        };
        let later = at(LEASE.num_seconds());
        let Claim::Acquired(takeover) = store.claim_run("k", later, LEASE).await.unwrap() else {
            panic!("expired lease must be taken over");
        };
        assert_eq!(takeover.attempt, 2);
        assert!(
            !store
                .fail_run(&crashed, "late", later, later)
                .await
                .unwrap()
        );
        assert!(!store.finish_run(&crashed, later).await.unwrap());
        assert!(!store.renew_run(&crashed, later, LEASE).await.unwrap());
        assert!(store.renew_run(&takeover, later, LEASE).await.unwrap());
        // Renewed: still busy for others until the new end.
        assert_eq!(
            store
                .claim_run("k", later + LEASE - TimeDelta::seconds(1), LEASE)
                .await
                .unwrap(),
            Claim::Busy
        );
        assert!(store.finish_run(&takeover, later).await.unwrap());
    }

    #[tokio::test]
    async fn failed_run_is_retried_after_the_delay_and_counts_attempts() {
        let (store, _dir) = sqlite_store().await;
        let Claim::Acquired(first) = store.claim_run("k", at(0), LEASE).await.unwrap() else {
            panic!("first claim must succeed");
        };
        assert!(
            store
                .fail_run(&first, "HTTP 500", at(300), at(1))
                .await
                .unwrap()
        );
        assert_eq!(
            store.claim_run("k", at(299), LEASE).await.unwrap(),
            Claim::Busy
        );
        let Claim::Acquired(second) = store.claim_run("k", at(300), LEASE).await.unwrap() else {
            panic!("retry must be claimable after the delay");
        };
        assert_eq!(second.attempt, 2);
        assert_eq!(
            store.run_attempts("k").await.unwrap(),
            Some((2, Some("HTTP 500".to_string())))
        );
        assert!(store.finish_run(&second, at(301)).await.unwrap());
        assert_eq!(store.run_attempts("k").await.unwrap(), Some((2, None)));
    }

    #[tokio::test]
    async fn parts_move_forward_and_only_the_lease_holder_writes_them() {
        let (store, _dir) = sqlite_store().await;
        let Claim::Acquired(crashed) = store.claim_run("k", at(0), LEASE).await.unwrap() else {
            panic!("first claim must succeed");
        };
        assert_eq!(
            store.part_state("k", "message:0").await.unwrap(),
            PartState::Unsent
        );
        assert!(
            store
                .part_sending(&crashed, "file:chart", Some("F1"), at(5))
                .await
                .unwrap()
        );
        assert_eq!(
            store.part_state("k", "file:chart").await.unwrap(),
            PartState::Sending {
                hint: Some("F1".to_string()),
                since: at(5)
            }
        );
        // The holder dies; the next one takes over and finds the part where it was left.
        let later = at(LEASE.num_seconds());
        let Claim::Acquired(takeover) = store.claim_run("k", later, LEASE).await.unwrap() else {
            panic!("expired lease must be taken over");
        };
        assert!(
            !store
                .part_placed(&crashed, "file:chart", "stale", later)
                .await
                .unwrap(),
            "a holder that lost its lease writes nothing"
        );
        assert!(
            store
                .part_placed(&takeover, "file:chart", "F1", later)
                .await
                .unwrap()
        );
        assert_eq!(
            store.part_state("k", "file:chart").await.unwrap(),
            PartState::Placed {
                receipt: "F1".to_string()
            }
        );
        assert!(
            store
                .part_done(&takeover, "file:chart", "F1", later)
                .await
                .unwrap()
        );
        assert_eq!(
            store.part_state("k", "file:chart").await.unwrap(),
            PartState::Done {
                receipt: "F1".to_string()
            }
        );
        // Once the run is done nobody holds it, so nothing can be written any more.
        assert!(store.finish_run(&takeover, later).await.unwrap());
        assert!(
            !store
                .part_sending(&takeover, "file:chart", None, later)
                .await
                .unwrap()
        );
        assert_eq!(
            store.part_state("k", "message:0").await.unwrap(),
            PartState::Unsent
        );
    }
}
