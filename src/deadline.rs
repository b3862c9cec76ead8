//! The time budget of one answer: a deadline that every outbound call made while answering
//! respects (it lives in a task-local, so no signature has to carry it), and the outside
//! systems being waited on, so a late answer can name the slow one. Knows nothing of the
//! bot, its sources or its channels.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

tokio::task_local! {
    static CURRENT: Budget;
}

/// Systems with calls in flight, and how many calls each.
type Waiting = Arc<Mutex<Vec<(&'static str, usize)>>>;

/// A deadline and the systems with calls in flight under it. Cheap to clone; clones share
/// the record of who is being waited on.
#[derive(Debug, Clone)]
pub struct Budget {
    deadline: Instant,
    /// How long the work was allowed, for messages ("within 25 s").
    allowed: Duration,
    /// This budget's record first, then those of the budgets it was carved from.
    records: Vec<Waiting>,
}

/// The work did not finish before its budget's deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no answer within {}", seconds(self.allowed))]
pub struct TimedOut {
    /// How long the work was allowed.
    pub allowed: Duration,
    /// The systems it was still waiting for when the time was up, first called first.
    pub waiting: Vec<&'static str>,
}

impl TimedOut {
    /// "Microsoft Graph did not answer within 4 s", or "no answer within 4 s" when no outside
    /// system was being waited on.
    pub fn describe(&self) -> String {
        if self.waiting.is_empty() {
            self.to_string()
        } else {
            format!(
                "{} did not answer within {}",
                join_names(&self.waiting),
                seconds(self.allowed)
            )
        }
    }
}

impl Budget {
    /// A budget that ends `allowed` from now.
    pub fn new(allowed: Duration) -> Budget {
        Budget {
            deadline: Instant::now() + allowed,
            allowed,
            records: vec![Waiting::default()],
        }
    }

    /// When the time is up.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How long the whole answer was allowed.
    pub fn allowed(&self) -> Duration {
        self.allowed
    }

    /// Time left, zero once the deadline has passed.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A budget for part of the work that must end by `deadline` (never later than this
    /// one's). It keeps its own record of who is waited on; calls under it are also recorded
    /// in this budget's.
    pub fn until(&self, deadline: Instant) -> Budget {
        let deadline = deadline.min(self.deadline);
        let mut records = vec![Waiting::default()];
        records.extend(self.records.iter().cloned());
        Budget {
            deadline,
            allowed: deadline.saturating_duration_since(Instant::now()),
            records,
        }
    }

    /// The outside systems with a call in flight now, in the order they were first called.
    pub fn waiting_on(&self) -> Vec<&'static str> {
        lock(&self.records[0])
            .iter()
            .filter(|(_, calls)| *calls > 0)
            .map(|(system, _)| *system)
            .collect()
    }

    /// Runs `work` with this budget as the current one, and stops waiting for it at the
    /// deadline. Calls made inside see the budget through [`current`]; the error names the
    /// systems still being waited on when the time was up.
    pub async fn run<F: Future>(&self, work: F) -> Result<F::Output, TimedOut> {
        let work = CURRENT.scope(self.clone(), work);
        tokio::pin!(work);
        tokio::select! {
            biased;
            output = &mut work => Ok(output),
            () = tokio::time::sleep_until(self.deadline) => Err(TimedOut {
                allowed: self.allowed,
                // Read while the work still holds its calls open.
                waiting: self.waiting_on(),
            }),
        }
    }

    /// Runs `work` with this budget as the current one, without stopping it at the deadline:
    /// for work that applies the deadline itself (the bot's `answer`), while someone else
    /// watches [`Budget::waiting_on`].
    pub fn scope<F: Future>(&self, work: F) -> impl Future<Output = F::Output> + use<F> {
        CURRENT.scope(self.clone(), work)
    }

    fn enter(&self, system: &'static str) {
        for record in &self.records {
            let mut waiting = lock(record);
            match waiting.iter_mut().find(|(seen, _)| *seen == system) {
                Some((_, calls)) => *calls += 1,
                None => waiting.push((system, 1)),
            }
        }
    }

    fn leave(&self, system: &'static str) {
        for record in &self.records {
            if let Some((_, calls)) = lock(record).iter_mut().find(|(seen, _)| *seen == system) {
                *calls = calls.saturating_sub(1);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The budget of the answer being computed on this task, if any.
pub fn current() -> Option<Budget> {
    CURRENT.try_with(Budget::clone).ok()
}

/// Marks a call to `system` as in flight until the guard is dropped.
pub fn waiting_for(system: &'static str) -> InFlight {
    let budget = current();
    if let Some(budget) = &budget {
        budget.enter(system);
    }
    InFlight { budget, system }
}

/// Holds a system's place in [`Budget::waiting_on`] while a call to it is in flight.
#[derive(Debug)]
pub struct InFlight {
    budget: Option<Budget>,
    system: &'static str,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.leave(self.system);
        }
    }
}

/// A duration as people read it in a message: `800 ms`, `25 s`, `1.5 s`.
pub fn seconds(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// "Log Analytics", "Log Analytics and Microsoft Graph", "A, B and C".
pub fn join_names(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_in_flight_are_named_and_forgotten_when_done() {
        let budget = Budget::new(Duration::from_secs(5));
        let seen = budget
            .run(async {
                let _graph = waiting_for("Microsoft Graph");
                {
                    let _sentinel = waiting_for("Sentinel");
                    assert_eq!(
                        current().expect("set").waiting_on(),
                        vec!["Microsoft Graph", "Sentinel"]
                    );
                }
                current().expect("set").waiting_on()
            })
            .await
            .expect("in time");
        assert_eq!(seen, vec!["Microsoft Graph"]);
        assert!(budget.waiting_on().is_empty());
        assert!(current().is_none(), "the budget is scoped to the run");
    }

    #[tokio::test]
    async fn work_past_the_deadline_is_stopped_and_a_narrower_budget_never_outlives_its_parent() {
        let budget = Budget::new(Duration::from_millis(20));
        let late = budget
            .run(async {
                let _graph = waiting_for("Microsoft Graph");
                tokio::time::sleep(Duration::from_secs(5)).await;
            })
            .await;
        let timed_out = late.expect_err("stopped at the deadline");
        assert_eq!(timed_out.waiting, vec!["Microsoft Graph"]);
        assert_eq!(
            timed_out.describe(),
            "Microsoft Graph did not answer within 20 ms"
        );
        assert!(budget.waiting_on().is_empty(), "the call was dropped");
        let later = budget.until(Instant::now() + Duration::from_secs(60));
        assert_eq!(later.deadline(), budget.deadline());
    }

    #[test]
    fn durations_and_names_read_well() {
        assert_eq!(seconds(Duration::from_millis(800)), "800 ms");
        assert_eq!(seconds(Duration::from_secs(25)), "25 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(join_names(&["A"]), "A");
        assert_eq!(join_names(&["A", "B", "C"]), "A, B and C");
    }
}
