//! Web report pages by id hash, expiring: what `GET /reports/{id}` serves on every replica.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// Keeps a report page under `id_hash` until `expires`.
    pub async fn put_web_report(
        &self,
        id_hash: &str,
        html: &str,
        created: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO web_reports (id_hash, html, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id_hash)
            .bind(html)
            .bind(created.timestamp())
            .bind(expires.timestamp())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Deletes the pages expired at `now`; returns how many.
    pub async fn delete_expired_web_reports(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = on_pool!(self, pool => {
            sqlx::query("DELETE FROM web_reports WHERE expires_at <= $1")
                .bind(now.timestamp())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted)
    }

    /// The page under `id_hash`, unless it is unknown or expired at `now`.
    pub async fn web_report(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let html: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT html FROM web_reports WHERE id_hash = $1 AND expires_at > $2")
                .bind(id_hash)
                .bind(now.timestamp())
                .fetch_optional(pool)
                .await?
        });
        Ok(html)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::sqlite_store;
    use chrono::{DateTime, TimeDelta};

    #[tokio::test]
    async fn a_page_is_served_until_it_expires_then_purged() {
        let (store, _dir) = sqlite_store().await;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let day = TimeDelta::days(1);
        store
            .put_web_report("h1", "<p>report</p>", now, now + day)
            .await
            .unwrap();
        assert_eq!(
            store.web_report("h1", now).await.unwrap().as_deref(),
            Some("<p>report</p>")
        );
        assert_eq!(store.web_report("h2", now).await.unwrap(), None);
        assert_eq!(store.web_report("h1", now + day).await.unwrap(), None);
        store
            .put_web_report("h3", "<p>later</p>", now, now + day * 2)
            .await
            .unwrap();
        assert_eq!(
            store.delete_expired_web_reports(now + day).await.unwrap(),
            1
        );
        store.purge_expired(now + day * 2).await.unwrap();
        let left: i64 = on_pool!(store, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM web_reports").fetch_one(pool).await.unwrap()
        });
        assert_eq!(left, 0);
    }
}
