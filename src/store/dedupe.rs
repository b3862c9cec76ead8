//! First-time-seen keys (e.g. Slack `event_id`), expiring so the table stays small.

use super::{Store, StoreError};
use chrono::{DateTime, TimeDelta, Utc};

impl Store {
    /// True the first time `key` is seen within `ttl`; false for repeats. An expired key
    /// counts as new again. Atomic, so concurrent replicas agree on who saw it first.
    pub async fn first_time(
        &self,
        key: &str,
        now: DateTime<Utc>,
        ttl: TimeDelta,
    ) -> Result<bool, StoreError> {
        let affected = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO dedupe_keys (dedupe_key, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (dedupe_key) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE dedupe_keys.expires_at <= $3",
            )
            .bind(key)
            .bind((now + ttl).timestamp())
            .bind(now.timestamp())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(affected == 1)
    }

    /// True when `key` was recorded and has not expired at `now`.
    pub async fn seen(&self, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let found: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT expires_at FROM dedupe_keys WHERE dedupe_key = $1 AND expires_at > $2",
            )
            .bind(key)
            .bind(now.timestamp())
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::sqlite_store;
    use chrono::{DateTime, TimeDelta};

    #[tokio::test]
    async fn first_time_true_once_then_false_until_expiry() {
        let (store, _dir) = sqlite_store().await;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let ttl = TimeDelta::hours(1);
        assert!(store.first_time("Ev1", now, ttl).await.unwrap());
        assert!(!store.first_time("Ev1", now, ttl).await.unwrap());
        assert!(store.seen("Ev1", now).await.unwrap());
        assert!(!store.seen("Ev2", now).await.unwrap());
        assert!(!store.seen("Ev1", now + ttl).await.unwrap());
        assert!(
            !store
                .first_time("Ev1", now + TimeDelta::minutes(59), ttl)
                .await
                .unwrap()
        );
        assert!(store.first_time("Ev2", now, ttl).await.unwrap());
        assert!(store.first_time("Ev1", now + ttl, ttl).await.unwrap());
    }
}
