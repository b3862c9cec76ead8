//! Signatures of accepted Slack requests, each kept until its request's timestamp leaves the
//! five-minute window, so a replayed copy is refused by every replica sharing the database.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// Records `signature` as used until `expires`; true the first time, false for a repeat
    /// that has not expired. Atomic, so two replicas given the same copy at once agree.
    pub async fn first_use_of_signature(
        &self,
        signature: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let affected = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO slack_request_signatures (signature, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (signature) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE slack_request_signatures.expires_at <= $3",
            )
            .bind(signature)
            .bind(expires.timestamp())
            .bind(now.timestamp())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(affected == 1)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::sqlite_store;
    use chrono::{DateTime, TimeDelta};

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
