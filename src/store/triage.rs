//! Auto-triage marks (one comment per incident) and named poll watermarks.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};

impl Store {
    /// True only the first time an incident, (`workspace`, `incident_number`), is marked, so
    /// it is commented on at most once. `workspace` is the workspace's short name, or empty
    /// for the only workspace of a single-workspace bot.
    pub async fn mark_triaged(
        &self,
        workspace: &str,
        incident_number: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let affected = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO triaged_incidents (workspace, incident_number, at) VALUES ($1, $2, $3) \
                 ON CONFLICT (workspace, incident_number) DO NOTHING",
            )
            .bind(workspace)
            .bind(incident_number)
            .bind(now.timestamp())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(affected == 1)
    }

    /// Forgets a mark, so an incident whose triage failed is tried again.
    pub async fn unmark_triaged(
        &self,
        workspace: &str,
        incident_number: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM triaged_incidents WHERE workspace = $1 AND incident_number = $2")
                .bind(workspace)
                .bind(incident_number)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The watermark `name` (e.g. `incident_poll`), if set.
    pub async fn watermark(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let value: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM watermarks WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        value
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(|_| StoreError::BadData(format!("watermark {name} is not RFC 3339")))
            })
            .transpose()
    }

    /// Sets the watermark `name`, keeping sub-second precision.
    pub async fn set_watermark(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let text = at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO watermarks (name, value) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(name)
            .bind(&text)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing::sqlite_store;
    use chrono::{DateTime, TimeDelta};

    #[tokio::test]
    async fn triage_mark_is_true_once() {
        let (store, _dir) = sqlite_store().await;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(store.mark_triaged("", 42, now).await.unwrap());
        assert!(!store.mark_triaged("", 42, now).await.unwrap());
        assert!(store.mark_triaged("", 43, now).await.unwrap());
        store.unmark_triaged("", 42).await.unwrap();
        assert!(store.mark_triaged("", 42, now).await.unwrap());
        assert!(!store.mark_triaged("", 43, now).await.unwrap());
    }

    #[tokio::test]
    async fn triage_marks_are_per_workspace() {
        let (store, _dir) = sqlite_store().await;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(store.mark_triaged("contoso", 5, now).await.unwrap());
        assert!(store.mark_triaged("fabrikam", 5, now).await.unwrap());
        assert!(!store.mark_triaged("fabrikam", 5, now).await.unwrap());
        store.unmark_triaged("contoso", 5).await.unwrap();
        assert!(!store.mark_triaged("fabrikam", 5, now).await.unwrap());
        assert!(store.mark_triaged("contoso", 5, now).await.unwrap());
    }

    #[tokio::test]
    async fn watermark_round_trip_keeps_precision() {
        let (store, _dir) = sqlite_store().await;
        assert_eq!(store.watermark("poll").await.unwrap(), None);
        let at = DateTime::from_timestamp(1_800_000_000, 123_456_789).unwrap();
        store.set_watermark("poll", at).await.unwrap();
        store
            .set_watermark("poll", at + TimeDelta::seconds(1))
            .await
            .unwrap();
        assert_eq!(
            store.watermark("poll").await.unwrap(),
            Some(at + TimeDelta::seconds(1))
        );
    }
}
