//! Signatures of accepted Slack requests, each kept until its request's timestamp leaves the
//! five-minute window, so a replayed copy is refused by every replica sharing the database.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// Records `signature` as used until `expires`; true the first time, false for a repeat
    /// that has not expired. Atomic, so two replicas given the same copy at once agree.
    ///
    /// On a SQLite file this is one write per Slack request, so it goes through the
    /// connections that do not fsync each commit (WAL, `synchronous = NORMAL`): an fsync per
    /// request made signed acks 2.5 to 4.5 times slower (BENCHMARKS.md, `slack_ack`). The
    /// trade: a signature survives the bot being killed or restarted (the log is in the
    /// operating system's cache), and the database stays consistent, but the signatures
    /// recorded in the last moments before a power cut or an operating-system crash may be
    /// lost, so a copy of such a request replayed within its five minutes after the machine
    /// comes back would be accepted. Every other table keeps a synced commit.
    pub async fn first_use_of_signature(
        &self,
        signature: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const RECORD: &str = "INSERT INTO slack_request_signatures (signature, expires_at) VALUES ($1, $2) \
             ON CONFLICT (signature) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE slack_request_signatures.expires_at <= $3";
        let affected = match &self.unsynced {
            Some(pool) => sqlx::query(RECORD)
                .bind(signature)
                .bind(expires.timestamp())
                .bind(now.timestamp())
                .execute(pool)
                .await?
                .rows_affected(),
            None => on_pool!(self, pool => {
                sqlx::query(RECORD)
                    .bind(signature)
                    .bind(expires.timestamp())
                    .bind(now.timestamp())
                    .execute(pool)
                    .await?
                    .rows_affected()
            }),
        };
        Ok(affected == 1)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;
    use crate::store::testing::sqlite_store;
    use chrono::{DateTime, TimeDelta};

    #[tokio::test]
    async fn signatures_skip_the_fsync_that_every_other_write_keeps() {
        let (store, _dir) = sqlite_store().await;
        let synchronous = |pool| async move {
            sqlx::query_scalar::<_, i64>("PRAGMA synchronous")
                .fetch_one(pool)
                .await
                .unwrap()
        };
        let unsynced = store
            .unsynced
            .as_ref()
            .expect("a file has unsynced connections");
        // 1 is NORMAL, 2 is FULL (https://sqlite.org/pragma.html#pragma_synchronous).
        assert_eq!(synchronous(unsynced).await, 1);
        let crate::store::Backend::Sqlite(main) = &store.backend else {
            unreachable!("a SQLite store")
        };
        assert_eq!(synchronous(main).await, 2);
    }

    #[tokio::test]
    async fn a_replay_is_refused_by_another_replica_and_after_a_restart() {
        let (store, dir) = sqlite_store().await;
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let expires = now + TimeDelta::minutes(5);
        assert!(
            store
                .first_use_of_signature("v0=ab", now, expires)
                .await
                .unwrap()
        );
        let replica = Store::connect(&url).await.unwrap();
        assert!(
            !replica
                .first_use_of_signature("v0=ab", now, expires)
                .await
                .unwrap()
        );
        store.close().await;
        replica.close().await;
        let restarted = Store::connect(&url).await.unwrap();
        assert!(
            !restarted
                .first_use_of_signature("v0=ab", now, expires)
                .await
                .unwrap()
        );
        assert!(
            restarted
                .first_use_of_signature("v0=cd", now, expires)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_signature_is_accepted_once_until_it_expires_and_then_purged() {
        let (store, _dir) = sqlite_store().await;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let expires = now + TimeDelta::minutes(5);
        assert!(
            store
                .first_use_of_signature("v0=ab", now, expires)
                .await
                .unwrap()
        );
        assert!(
            !store
                .first_use_of_signature("v0=ab", now, expires)
                .await
                .unwrap()
        );
        assert!(
            store
                .first_use_of_signature("v0=cd", now, expires)
                .await
                .unwrap()
        );
        assert!(
            store
                .first_use_of_signature("v0=ab", expires, expires + TimeDelta::minutes(5))
                .await
                .unwrap()
        );
        store
            .purge_expired(expires + TimeDelta::minutes(6))
            .await
            .unwrap();
        let left: i64 = on_pool!(store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM slack_request_signatures")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert_eq!(left, 0);
    }
}
