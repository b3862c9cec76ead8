//! Cached answers by key (e.g. incident id + last-modified time).

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// The cached value for `key`, if any.
    pub async fn cache_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let value: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM answer_cache WHERE cache_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(value)
    }

    /// Stores or replaces the value for `key`.
    pub async fn cache_put(
        &self,
        key: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO answer_cache (cache_key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(key)
            .bind(value)
            .bind(now.timestamp())
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::sqlite_store;
    use chrono::DateTime;

    #[tokio::test]
    async fn put_then_get_and_replace() {
        let (store, _dir) = sqlite_store().await;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(store.cache_get("inc:1:v1").await.unwrap(), None);
        store.cache_put("inc:1:v1", "first", now).await.unwrap();
        store.cache_put("inc:1:v1", "second", now).await.unwrap();
        assert_eq!(
            store.cache_get("inc:1:v1").await.unwrap().as_deref(),
            Some("second")
        );
    }
}
