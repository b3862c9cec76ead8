//! Bounded background work: answers delivered after their request was acknowledged run at
//! most `running` at a time, at most `waiting` more wait for a slot, and past that the user
//! is told the bot is busy instead of the process taking on work it cannot finish. The
//! number waiting is the `answers_waiting` gauge on `/metrics`. Knows no chat platform.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// Gauge of answers admitted and waiting for a free slot (the queue depth).
pub const WAITING_GAUGE: &str = "answers_waiting";
/// Gauge of answers being computed or delivered now.
pub const RUNNING_GAUGE: &str = "answers_running";

/// What the user reads when the queue is full.
pub const BUSY: &str =
    "Sorry, I am busy with other answers right now. Please try again in a minute.";

/// The shared bound on background answers; cheap to clone.
#[derive(Clone, Debug)]
pub struct Workload {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    slots: Semaphore,
    running_limit: usize,
    waiting_limit: usize,
    waiting: AtomicUsize,
    running: AtomicUsize,
}

/// The queue is full; the request should be refused politely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the bot is busy")]
pub struct Busy;

impl Default for Workload {
    /// 16 at a time and 64 waiting, the configuration's defaults.
    fn default() -> Self {
        Workload::new(16, 64)
    }
}

impl Workload {
    /// At most `running` answers at once (at least one), `waiting` more queued.
    pub fn new(running: usize, waiting: usize) -> Workload {
        let running = running.max(1);
        Workload {
            inner: Arc::new(Inner {
                slots: Semaphore::new(running),
                running_limit: running,
                waiting_limit: waiting,
                waiting: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
            }),
        }
    }

    /// Takes a place in the queue, or says the bot is busy when every slot is taken and
    /// the queue is full. The place is given back when the [`Admitted`] is run or dropped.
    pub fn admit(&self) -> Result<Admitted, Busy> {
        let inner = &self.inner;
        let queued = inner.waiting.fetch_add(1, Ordering::SeqCst);
        let running = inner.running.load(Ordering::SeqCst);
        if queued + running >= inner.running_limit + inner.waiting_limit {
            inner.waiting.fetch_sub(1, Ordering::SeqCst);
            metrics::counter!("answers_refused_busy_total").increment(1);
            return Err(Busy);
        }
        self.publish();
        Ok(Admitted {
            workload: self.clone(),
            queued: true,
        })
    }

    /// Answers waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.inner.waiting.load(Ordering::SeqCst)
    }

    /// Answers running now.
    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::SeqCst)
    }

    fn publish(&self) {
        metrics::gauge!(WAITING_GAUGE).set(self.waiting() as f64);
        metrics::gauge!(RUNNING_GAUGE).set(self.running() as f64);
    }
}

/// A place in the queue.
#[derive(Debug)]
pub struct Admitted {
    workload: Workload,
    queued: bool,
}

impl Admitted {
    /// Waits for a free slot, then runs `work` in it.
    pub async fn run<F: Future>(mut self, work: F) -> F::Output {
        let inner = self.workload.inner.clone();
        // The semaphore is never closed, so acquiring only waits.
        let _slot = inner.slots.acquire().await;
        self.queued = false;
        inner.waiting.fetch_sub(1, Ordering::SeqCst);
        inner.running.fetch_add(1, Ordering::SeqCst);
        self.workload.publish();
        let _running = Running(self.workload.clone());
        work.await
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if self.queued {
            self.workload.inner.waiting.fetch_sub(1, Ordering::SeqCst);
            self.workload.publish();
        }
    }
}

/// Counts a running answer until it ends, even if it panics.
struct Running(Workload);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.inner.running.fetch_sub(1, Ordering::SeqCst);
        self.0.publish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    #[tokio::test]
    async fn past_the_running_and_waiting_bounds_the_answer_is_busy() {
        let workload = Workload::new(1, 1);
        let (release, hold) = oneshot::channel::<()>();
        let first = workload.admit().expect("a slot");
        let running = tokio::spawn(first.run(async move {
            let _ = hold.await;
        }));
        while workload.running() == 0 {
            tokio::task::yield_now().await;
        }
        let second = workload.admit().expect("a place in the queue");
        assert_eq!(workload.waiting(), 1);
        assert_eq!(workload.admit().unwrap_err(), Busy);
        let queued = tokio::spawn(second.run(async { 2 }));
        release.send(()).expect("still running");
        running.await.expect("ran");
        assert_eq!(queued.await.expect("ran after the first"), 2);
        assert_eq!((workload.waiting(), workload.running()), (0, 0));
        drop(workload.admit().expect("free again"));
        assert_eq!(workload.waiting(), 0, "a dropped place is given back");
    }
}
