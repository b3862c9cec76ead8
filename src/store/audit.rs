//! The audit log of chat actions: who, what, which incident, when, result.

use super::{Store, StoreError, from_epoch};
use chrono::{DateTime, Utc};

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When it happened (stored to the second).
    pub at: DateTime<Utc>,
    /// Who did it (Slack `U...` or Teams AAD object id).
    pub actor: String,
    /// What was done, e.g. `close incident`.
    pub action: String,
    /// The incident concerned, if any.
    pub incident: Option<String>,
    /// The outcome, e.g. `ok` or an error summary.
    pub result: String,
}

impl Store {
    /// Appends an entry to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO audit_log (at, actor, action, incident, result) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(entry.at.timestamp())
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(entry.incident.as_deref())
            .bind(&entry.result)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The newest `limit` entries, newest first.
    pub async fn audit_entries(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(i64, String, String, Option<String>, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT at, actor, action, incident, result FROM audit_log ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(at, actor, action, incident, result)| {
                Ok(AuditEntry {
                    at: from_epoch(at)?,
                    actor,
                    action,
                    incident,
                    result,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::sqlite_store;

    #[tokio::test]
    async fn round_trip_newest_first() {
        let (store, _dir) = sqlite_store().await;
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let first = AuditEntry {
            at,
            actor: "U1".into(),
            action: "close incident".into(),
            incident: Some("42".into()),
            result: "ok".into(),
        };
        let second = AuditEntry {
            incident: None,
            result: "denied".into(),
            ..first.clone()
        };
        store.audit(&first).await.unwrap();
        store.audit(&second).await.unwrap();
        assert_eq!(
            store.audit_entries(10).await.unwrap(),
            vec![second.clone(), first]
        );
        assert_eq!(store.audit_entries(1).await.unwrap(), vec![second]);
    }
}
