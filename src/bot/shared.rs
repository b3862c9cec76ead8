//! Shared work for identical questions: while one answer is being computed, the same
//! question asked again waits for it instead of running its own query (single-flight),
//! and a finished answer is reused for a short time (`ttl`). Twenty analysts typing
//! `/incidents week` on Monday morning cost one Log Analytics query and one computation.
//!
//! Only questions whose answer does not depend on who asks are shared (the callers pick
//! them); a failed answer is handed to the callers already waiting, never kept. Writes to
//! incidents call [`SharedAnswers::forget`], so nobody reads an answer older than a change
//! made through the bot. Platform-neutral; knows nothing of chat or HTTP.

use crate::reply::Reply;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a finished answer is reused by default: Sentinel's own ingestion delay is
/// minutes, so a minute-old answer is as fresh as the data behind it.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// A computed answer: the reply, and whether it may be kept (false for an apology).
/// Behind an `Arc` so that everyone served from one computation holds the same reply,
/// which lets a channel lay it out once for all of them.
type Outcome = (Arc<Reply>, bool);

enum Entry {
    /// Being computed; waiters watch for the outcome. The sender going away with no
    /// outcome means the computing caller was cancelled.
    Running(watch::Receiver<Option<Outcome>>),
    /// Computed at `at`.
    Done { reply: Arc<Reply>, at: Instant },
}

/// Counts of how questions were answered, for benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedStats {
    /// Answers computed.
    pub computed: u64,
    /// Questions that waited for an answer being computed.
    pub joined: u64,
    /// Questions answered from a finished answer.
    pub reused: u64,
}

/// The single-flight table with its short cache. See the module docs.
pub struct SharedAnswers {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    computed: AtomicU64,
    joined: AtomicU64,
    reused: AtomicU64,
}

impl Default for SharedAnswers {
    fn default() -> Self {
        SharedAnswers::new(DEFAULT_TTL)
    }
}

impl std::fmt::Debug for SharedAnswers {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SharedAnswers")
            .field("ttl", &self.ttl)
            .field("stats", &self.stats())
            .finish()
    }
}

/// What the table says to a caller of a key.
enum Turn {
    Reuse(Arc<Reply>),
    Wait(watch::Receiver<Option<Outcome>>),
    Compute(watch::Sender<Option<Outcome>>),
}

impl SharedAnswers {
    /// A table that keeps finished answers for `ttl` (zero: share only answers in flight).
    pub fn new(ttl: Duration) -> SharedAnswers {
        SharedAnswers {
            ttl,
            entries: Mutex::new(HashMap::new()),
            computed: AtomicU64::new(0),
            joined: AtomicU64::new(0),
            reused: AtomicU64::new(0),
        }
    }

    /// The answer to `key`: a fresh finished one, the one being computed, or `compute`'s,
    /// which then serves everyone asking `key` meanwhile. `compute` returns the reply and
    /// whether it may be kept. Every caller served from one computation gets the same `Arc`.
    pub async fn answer<F>(&self, key: String, compute: F) -> Arc<Reply>
    where
        F: Future<Output = (Reply, bool)>,
    {
        let mut compute = Some(compute);
        loop {
            match self.turn(&key) {
                Turn::Reuse(reply) => {
                    self.reused.fetch_add(1, Ordering::Relaxed);
                    return reply;
                }
                Turn::Wait(mut receiver) => {
                    self.joined.fetch_add(1, Ordering::Relaxed);
                    if let Ok(outcome) = receiver.wait_for(Option::is_some).await
                        && let Some((reply, _)) = outcome.as_ref()
                    {
                        return reply.clone();
                    }
                    // The computing caller was cancelled: take over.
                }
                Turn::Compute(sender) => {
                    let Some(compute) = compute.take() else {
                        unreachable!("a caller computes at most once")
                    };
                    return self.lead(key, sender, compute).await;
                }
            }
        }
    }

    /// Forgets every finished answer (after a change to incidents).
    pub fn forget(&self) {
        self.lock()
            .retain(|_, entry| matches!(entry, Entry::Running(_)));
    }

    /// How questions were answered so far.
    pub fn stats(&self) -> SharedStats {
        SharedStats {
            computed: self.computed.load(Ordering::Relaxed),
            joined: self.joined.load(Ordering::Relaxed),
            reused: self.reused.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves the map consistent (every write is one
        // insert or remove), so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn turn(&self, key: &str) -> Turn {
        let mut entries = self.lock();
        let now = Instant::now();
        match entries.get(key) {
            Some(Entry::Done { reply, at }) if now.duration_since(*at) < self.ttl => {
                return Turn::Reuse(reply.clone());
            }
            Some(Entry::Running(receiver)) if receiver.has_changed().is_ok() => {
                return Turn::Wait(receiver.clone());
            }
            _ => {}
        }
        // Expired answers of other questions go too, so the table stays small.
        entries.retain(|_, entry| match entry {
            Entry::Done { at, .. } => now.duration_since(*at) < self.ttl,
            Entry::Running(receiver) => receiver.has_changed().is_ok(),
        });
        let (sender, receiver) = watch::channel(None);
        entries.insert(key.to_string(), Entry::Running(receiver));
        Turn::Compute(sender)
    }

    async fn lead<F>(
        &self,
        key: String,
        sender: watch::Sender<Option<Outcome>>,
        compute: F,
    ) -> Arc<Reply>
    where
        F: Future<Output = (Reply, bool)>,
    {
        self.computed.fetch_add(1, Ordering::Relaxed);
        // Should this caller be cancelled mid-way, the guard takes the entry out and the
        // dropped sender wakes the waiters, one of whom computes instead.
        let guard = Unfinished {
            table: self,
            key: Some(key),
        };
        let (reply, keep) = compute.await;
        let reply = Arc::new(reply);
        let key = guard.done();
        {
            let mut entries = self.lock();
            if keep && !self.ttl.is_zero() {
                entries.insert(
                    key,
                    Entry::Done {
                        reply: reply.clone(),
                        at: Instant::now(),
                    },
                );
            } else {
                entries.remove(&key);
            }
        }
        sender.send_replace(Some((reply.clone(), keep)));
        reply
    }
}

/// Removes a running entry whose computing caller went away.
struct Unfinished<'a> {
    table: &'a SharedAnswers,
    key: Option<String>,
}

impl Unfinished<'_> {
    fn done(mut self) -> String {
        self.key.take().unwrap_or_default()
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.table.lock().remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn reply(text: &str) -> Reply {
        Reply::titled(text.to_string())
    }

    #[tokio::test]
    async fn identical_questions_in_flight_share_one_computation() {
        let table = Arc::new(SharedAnswers::new(Duration::ZERO));
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = watch::channel(false);
        let callers: Vec<_> = (0..32)
            .map(|_| {
                let table = table.clone();
                let runs = runs.clone();
                let mut released = released.clone();
                tokio::spawn(async move {
                    table
                        .answer("incidents week".into(), async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            let _ = released.wait_for(|it| *it).await;
                            (reply("answer"), true)
                        })
                        .await
                })
            })
            .collect();
        // Let every caller reach the table before the computation may finish.
        while table.stats().computed + table.stats().joined < 32 {
            tokio::task::yield_now().await;
        }
        release.send_replace(true);
        let mut replies = Vec::new();
        for caller in callers {
            replies.push(caller.await.expect("caller"));
        }
        assert_eq!(replies[0].title, "answer");
        // One computation, one reply: every caller holds the very same one.
        assert!(replies.iter().all(|it| Arc::ptr_eq(it, &replies[0])));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            table.stats(),
            SharedStats {
                computed: 1,
                joined: 31,
                reused: 0
            }
        );
        // With no time to live, the next question computes again.
        table
            .answer("incidents week".into(), async { (reply("again"), true) })
            .await;
        assert_eq!(table.stats().computed, 2);
    }

    #[tokio::test]
    async fn finished_answers_are_reused_until_forgotten_and_failures_never() {
        let table = SharedAnswers::new(Duration::from_secs(60));
        let first = table
            .answer("a".into(), async { (reply("first"), true) })
            .await;
        let second = table
            .answer("a".into(), async { (reply("second"), true) })
            .await;
        assert_eq!(
            (first.title.as_str(), second.title.as_str()),
            ("first", "first")
        );
        assert!(Arc::ptr_eq(&first, &second));
        let other = table
            .answer("b".into(), async { (reply("other question"), true) })
            .await;
        assert_eq!(other.title, "other question");
        table.forget();
        let after_change = table
            .answer("a".into(), async { (reply("after change"), true) })
            .await;
        assert_eq!(after_change.title, "after change");
        let failed = table
            .answer("c".into(), async { (reply("sorry"), false) })
            .await;
        let retried = table
            .answer("c".into(), async { (reply("recovered"), true) })
            .await;
        assert_eq!(
            (failed.title.as_str(), retried.title.as_str()),
            ("sorry", "recovered")
        );
        assert_eq!(
            table.stats(),
            SharedStats {
                computed: 5,
                joined: 0,
                reused: 1
            }
        );
    }

    #[tokio::test]
    async fn a_cancelled_computation_hands_over_to_a_waiter() {
        let table = Arc::new(SharedAnswers::new(Duration::from_secs(60)));
        let leader = {
            let table = table.clone();
            tokio::spawn(async move {
                table
                    .answer("a".into(), async {
                        std::future::pending::<()>().await;
                        (reply("never"), true)
                    })
                    .await
            })
        };
        while table.stats().computed == 0 {
            tokio::task::yield_now().await;
        }
        let waiter = {
            let table = table.clone();
            tokio::spawn(async move {
                table
                    .answer("a".into(), async { (reply("from the waiter"), true) })
                    .await
            })
        };
        while table.stats().joined == 0 {
            tokio::task::yield_now().await;
        }
        leader.abort();
        assert_eq!(waiter.await.expect("waiter").title, "from the waiter");
        assert_eq!(table.stats().computed, 2);
    }
}
