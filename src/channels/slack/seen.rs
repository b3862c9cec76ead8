//! Dedupe keys: event ids already handled and threads the bot speaks in. The
//! trait is what the SQL store implements; the in-memory version is bounded
//! and expiring, for one process and for tests.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys seen before, shared by all replicas when SQL-backed.
#[async_trait]
pub trait SeenKeys: Send + Sync {
    /// Records `key`; true only for the first caller ever to record it.
    async fn first_time(&self, key: &str) -> anyhow::Result<bool>;
    /// Records `key` without asking whether it was new.
    async fn remember(&self, key: &str) -> anyhow::Result<()> {
        self.first_time(key).await.map(|_| ())
    }
    /// Whether `key` was recorded (and has not expired).
    async fn contains(&self, key: &str) -> anyhow::Result<bool>;
    /// Records `key` until `until`; true only for the first caller before it expires. Used for
    /// request signatures, which must be remembered exactly as long as Slack's window.
    async fn first_use(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<bool>;
}

/// In-memory keys: at most `capacity`, each forgotten after `ttl`.
pub struct MemorySeenKeys {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Inner>,
    /// Keys recorded by [`SeenKeys::first_use`], with their expiry.
    until: Mutex<HashMap<String, DateTime<Utc>>>,
}

#[derive(Default)]
struct Inner {
    added: HashMap<String, Instant>,
    order: VecDeque<(String, Instant)>,
}

impl MemorySeenKeys {
    /// Keeps up to `capacity` keys for `ttl` each.
    pub fn new(capacity: usize, ttl: Duration) -> MemorySeenKeys {
        MemorySeenKeys {
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::new(Inner::default()),
            until: Mutex::default(),
        }
    }

    fn prune(&self, inner: &mut Inner, now: Instant) {
        while let Some((key, added)) = inner.order.front().cloned() {
            let expired = now.duration_since(added) >= self.ttl;
            if !expired && inner.order.len() <= self.capacity {
                break;
            }
            inner.order.pop_front();
            // Only drop the map entry if it still belongs to this queue entry.
            if inner.added.get(&key) == Some(&added) {
                inner.added.remove(&key);
            }
        }
    }
}

impl Default for MemorySeenKeys {
    /// 10,000 keys for a day: more than Slack's retry window needs.
    fn default() -> Self {
        MemorySeenKeys::new(10_000, Duration::from_secs(24 * 3600))
    }
}

#[async_trait]
impl SeenKeys for MemorySeenKeys {
    async fn first_time(&self, key: &str) -> anyhow::Result<bool> {
        let now = Instant::now();
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| anyhow::anyhow!("seen-keys lock poisoned"))?;
        self.prune(&mut inner, now);
        if inner.added.contains_key(key) {
            return Ok(false);
        }
        inner.added.insert(key.to_string(), now);
        inner.order.push_back((key.to_string(), now));
        self.prune(&mut inner, now);
        Ok(true)
    }

    async fn contains(&self, key: &str) -> anyhow::Result<bool> {
        let now = Instant::now();
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| anyhow::anyhow!("seen-keys lock poisoned"))?;
        self.prune(&mut inner, now);
        Ok(inner.added.contains_key(key))
    }

    async fn first_use(
        &self,
        key: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut keys = self
            .until
            .lock()
            .map_err(|_| anyhow::anyhow!("seen-keys lock poisoned"))?;
        keys.retain(|_, expires| *expires > now);
        if keys.contains_key(key) {
            return Ok(false);
        }
        keys.insert(key.to_string(), until);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_time_only_once_and_capacity_evicts_oldest() {
        let seen = MemorySeenKeys::new(2, Duration::from_secs(60));
        assert!(seen.first_time("a").await.unwrap());
        assert!(!seen.first_time("a").await.unwrap());
        assert!(seen.first_time("b").await.unwrap());
        assert!(seen.first_time("c").await.unwrap());
        assert!(!seen.contains("a").await.unwrap());
        assert!(seen.contains("b").await.unwrap());
        assert!(seen.contains("c").await.unwrap());
    }

    #[tokio::test]
    async fn first_use_holds_until_its_own_expiry() {
        let seen = MemorySeenKeys::default();
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        let until = DateTime::from_timestamp(1_301, 0).unwrap();
        assert!(seen.first_use("sig", now, until).await.unwrap());
        assert!(
            !seen
                .first_use("sig", until - chrono::TimeDelta::seconds(1), until)
                .await
                .unwrap()
        );
        assert!(seen.first_use("sig", until, until).await.unwrap());
    }

    #[tokio::test]
    async fn keys_expire() {
        let seen = MemorySeenKeys::new(10, Duration::from_millis(0));
        assert!(seen.first_time("a").await.unwrap());
        assert!(seen.first_time("a").await.unwrap());
    }
}
