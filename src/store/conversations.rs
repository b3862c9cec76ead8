//! Conversation turns per Teams reply chain or Slack thread: bounded and expiring.

use super::{Store, StoreError, from_epoch};
use chrono::{DateTime, TimeDelta, Utc};

/// Most turns kept per thread; older ones are deleted on append.
pub const MAX_TURNS_PER_THREAD: i64 = 20;
/// Turns older than this are dropped by [`Store::purge_expired`].
pub const TURN_TTL: TimeDelta = TimeDelta::hours(24);

/// Who said a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The chat user.
    User,
    /// The bot.
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    fn parse(text: &str) -> Result<Role, StoreError> {
        match text {
            "user" => Ok(Role::User),
            "assistant" => Ok(Role::Assistant),
            other => Err(StoreError::BadData(format!("unknown role {other:?}"))),
        }
    }
}

/// One stored message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Who said it.
    pub role: Role,
    /// The text as it was said (escape before showing it in chat).
    pub text: String,
    /// When it was stored.
    pub at: DateTime<Utc>,
}

impl Store {
    /// Appends a turn to `thread` and trims the thread to the last [`MAX_TURNS_PER_THREAD`].
    pub async fn append_turn(
        &self,
        thread: &str,
        role: Role,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO conversation_turns (thread, role, body, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(thread)
            .bind(role.as_str())
            .bind(text)
            .bind(now.timestamp())
            .execute(pool)
            .await?;
            sqlx::query(
                "DELETE FROM conversation_turns WHERE thread = $1 AND id NOT IN \
                 (SELECT id FROM conversation_turns WHERE thread = $1 ORDER BY id DESC LIMIT $2)",
            )
            .bind(thread)
            .bind(MAX_TURNS_PER_THREAD)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The last `limit` turns of `thread` stored at or after `since`, oldest first.
    pub async fn turns(
        &self,
        thread: &str,
        limit: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<Turn>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT role, body, created_at FROM conversation_turns \
                 WHERE thread = $1 AND created_at >= $2 ORDER BY id DESC LIMIT $3",
            )
            .bind(thread)
            .bind(since.timestamp())
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut turns = rows
            .into_iter()
            .map(|(role, text, at)| {
                Ok(Turn {
                    role: Role::parse(&role)?,
                    text,
                    at: from_epoch(at)?,
                })
            })
            .collect::<Result<Vec<Turn>, StoreError>>()?;
        turns.reverse();
        Ok(turns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::sqlite_store;

    #[tokio::test]
    async fn keeps_the_last_turns_per_thread_in_order() {
        let (store, _dir) = sqlite_store().await;
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        for index in 0..25 {
            let role = if index % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            let at = start + TimeDelta::seconds(index);
            store
                .append_turn("t1", role, &format!("m{index}"), at)
                .await
                .unwrap();
        }
        store
            .append_turn("t2", Role::User, "other", start)
            .await
            .unwrap();
        let all = store.turns("t1", 100, start).await.unwrap();
        assert_eq!(all.len() as i64, MAX_TURNS_PER_THREAD);
        assert_eq!(all.first().unwrap().text, "m5");
        assert_eq!(all.last().unwrap().text, "m24");
        let last_three = store.turns("t1", 3, start).await.unwrap();
        let texts: Vec<&str> = last_three.iter().map(|turn| turn.text.as_str()).collect();
        assert_eq!(texts, ["m22", "m23", "m24"]);
        assert_eq!(last_three[0].role, Role::User);
        assert_eq!(store.turns("t2", 10, start).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn old_turns_are_filtered_and_purged() {
        let (store, _dir) = sqlite_store().await;
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        store
            .append_turn("t", Role::User, "old", start)
            .await
            .unwrap();
        let later = start + TURN_TTL + TimeDelta::hours(1);
        store
            .append_turn("t", Role::User, "new", later)
            .await
            .unwrap();
        let recent = store.turns("t", 10, later - TURN_TTL).await.unwrap();
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].text, "new");
        store.purge_expired(later).await.unwrap();
        assert_eq!(store.turns("t", 10, start).await.unwrap().len(), 1);
    }
}
