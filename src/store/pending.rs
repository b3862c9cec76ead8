//! Chat actions waiting for confirmation: token -> action, only for the same user, expiring.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// Stores an action (serialized by the caller) that `user_id` must confirm before `expires`.
    pub async fn put_pending(
        &self,
        token: &str,
        user_id: &str,
        action_json: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO pending_confirmations (token, user_id, action, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token)
            .bind(user_id)
            .bind(action_json)
            .bind(expires.timestamp())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Removes and returns the action for `token` if it belongs to `user_id` and has not
    /// expired. One statement, so a double click confirms at most once.
    pub async fn take_pending(
        &self,
        token: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let action: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "DELETE FROM pending_confirmations \
                 WHERE token = $1 AND user_id = $2 AND expires_at > $3 RETURNING action",
            )
            .bind(token)
            .bind(user_id)
            .bind(now.timestamp())
            .fetch_optional(pool)
            .await?
        });
        Ok(action)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::sqlite_store;
    use chrono::{DateTime, TimeDelta};

    #[tokio::test]
    async fn only_the_same_user_takes_it_and_only_once() {
        let (store, _dir) = sqlite_store().await;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let expires = now + TimeDelta::minutes(5);
        store
            .put_pending("tok", "U1", r#"{"close":42}"#, expires)
            .await
            .unwrap();
        assert_eq!(store.take_pending("tok", "U2", now).await.unwrap(), None);
        assert_eq!(
            store
                .take_pending("tok", "U1", now)
                .await
                .unwrap()
                .as_deref(),
            Some(r#"{"close":42}"#)
        );
        assert_eq!(store.take_pending("tok", "U1", now).await.unwrap(), None);
    }

    #[tokio::test]
    async fn expired_confirmation_is_refused() {
        let (store, _dir) = sqlite_store().await;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        store.put_pending("tok", "U1", "{}", now).await.unwrap();
        assert_eq!(store.take_pending("tok", "U1", now).await.unwrap(), None);
    }
}
