//! Conversation memory and the answer cache: small traits with bounded, expiring in-memory
//! implementations. SQL-backed implementations (shared by replicas) belong to the store.

use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One exchange of a conversation, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// What was asked, e.g. the facts prompt or a follow-up question.
    pub question: String,
    /// What the bot answered (already grounded).
    pub answer: String,
}

/// Earlier turns per thread (Teams reply chain, Slack thread), so follow-ups keep context.
#[async_trait]
pub trait ConversationMemory: Send + Sync {
    /// The thread's turns, oldest first; empty when unknown or expired.
    async fn turns(&self, thread: &str) -> Vec<Turn>;
    /// Appends a turn, dropping the oldest beyond the bound.
    async fn append(&self, thread: &str, turn: Turn);
}

/// Cached answers by key (incident number + last-modified time), so an unchanged
/// incident is not sent to the model twice.
#[async_trait]
pub trait AnswerCache: Send + Sync {
    /// The cached value, if present and fresh.
    async fn get(&self, key: &str) -> Option<String>;
    /// Stores a value.
    async fn put(&self, key: &str, value: String);
}

/// A bounded map whose entries expire `ttl` after their last write.
#[derive(Debug)]
struct Expiring<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
    capacity: usize,
    ttl: Duration,
}

impl<V: Clone> Expiring<V> {
    fn new(capacity: usize, ttl: Duration) -> Self {
        Expiring {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            ttl,
        }
    }

    fn get(&self, key: &str) -> Option<V> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        match entries.get(key) {
            Some((written, value)) if now.duration_since(*written) < self.ttl => {
                Some(value.clone())
            }
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn update(&self, key: &str, change: impl FnOnce(Option<V>) -> V) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let ttl = self.ttl;
        entries.retain(|_, (written, _)| now.duration_since(*written) < ttl);
        let previous = entries.remove(key).map(|(_, value)| value);
        if entries.len() >= self.capacity {
            // Evict the stalest entry to stay within the bound.
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (written, _))| *written)
                .map(|(key, _)| key.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key.to_string(), (now, change(previous)));
    }
}

/// In-memory conversations: at most `threads` threads of `turns` turns each, forgotten
/// `ttl` after the last turn.
#[derive(Debug)]
pub struct InMemoryConversations {
    threads: Expiring<VecDeque<Turn>>,
    max_turns: usize,
}

impl InMemoryConversations {
    /// A memory with explicit bounds.
    pub fn new(threads: usize, max_turns: usize, ttl: Duration) -> Self {
        InMemoryConversations {
            threads: Expiring::new(threads, ttl),
            max_turns: max_turns.max(1),
        }
    }
}

impl Default for InMemoryConversations {
    /// 1,000 threads of 6 turns, kept for 24 hours.
    fn default() -> Self {
        InMemoryConversations::new(1_000, 6, Duration::from_secs(24 * 3600))
    }
}

#[async_trait]
impl ConversationMemory for InMemoryConversations {
    async fn turns(&self, thread: &str) -> Vec<Turn> {
        self.threads
            .get(thread)
            .map(|turns| turns.into_iter().collect())
            .unwrap_or_default()
    }

    async fn append(&self, thread: &str, turn: Turn) {
        let max_turns = self.max_turns;
        self.threads.update(thread, |previous| {
            let mut turns = previous.unwrap_or_default();
            turns.push_back(turn);
            while turns.len() > max_turns {
                turns.pop_front();
            }
            turns
        });
    }
}

/// In-memory answer cache, bounded and expiring.
#[derive(Debug)]
pub struct InMemoryCache {
    entries: Expiring<String>,
}

impl InMemoryCache {
    /// A cache of at most `capacity` answers kept for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        InMemoryCache {
            entries: Expiring::new(capacity, ttl),
        }
    }
}

impl Default for InMemoryCache {
    /// 500 answers kept for 7 days (the key changes when the incident does).
    fn default() -> Self {
        InMemoryCache::new(500, Duration::from_secs(7 * 24 * 3600))
    }
}

#[async_trait]
impl AnswerCache for InMemoryCache {
    async fn get(&self, key: &str) -> Option<String> {
        self.entries.get(key)
    }

    async fn put(&self, key: &str, value: String) {
        self.entries.update(key, |_| value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(number: usize) -> Turn {
        Turn {
            question: format!("q{number}"),
            answer: format!("a{number}"),
        }
    }

    #[tokio::test]
    async fn conversations_keep_the_latest_turns_per_thread() {
        let memory = InMemoryConversations::new(10, 2, Duration::from_secs(60));
        for number in 0..3 {
            memory.append("t1", turn(number)).await;
        }
        memory.append("t2", turn(9)).await;
        assert_eq!(memory.turns("t1").await, vec![turn(1), turn(2)]);
        assert_eq!(memory.turns("t2").await, vec![turn(9)]);
        assert!(memory.turns("t3").await.is_empty());
    }

    #[tokio::test]
    async fn threads_are_bounded_and_expire() {
        let memory = InMemoryConversations::new(2, 5, Duration::from_secs(60));
        memory.append("a", turn(1)).await;
        memory.append("b", turn(2)).await;
        memory.append("c", turn(3)).await;
        assert!(
            memory.turns("a").await.is_empty(),
            "the stalest thread is evicted"
        );
        assert_eq!(memory.turns("c").await, vec![turn(3)]);

        let expired = InMemoryConversations::new(2, 5, Duration::ZERO);
        expired.append("a", turn(1)).await;
        assert!(expired.turns("a").await.is_empty());
    }

    #[tokio::test]
    async fn cache_returns_what_was_put() {
        let cache = InMemoryCache::new(2, Duration::from_secs(60));
        assert_eq!(cache.get("k").await, None);
        cache.put("k", "v".to_string()).await;
        assert_eq!(cache.get("k").await.as_deref(), Some("v"));
    }
}
