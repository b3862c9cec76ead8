//! A channel's post split into parts (its messages, the chart file, later a web-report
//! link), each sent at most once and resumed after a crash at any moment. The platform
//! adapters implement [`Post`]; [`deliver`] walks the parts against the state the store
//! keeps for them. Knows no chat platform and no wire format.
//!
//! Neither Slack's `chat.postMessage` nor the Bot Framework's send takes an idempotency
//! key, so every part goes through the same steps:
//!
//! 1. `prepare`: anything that shows nothing in the channel (e.g. uploading a file unshared).
//! 2. The store records `sending` (with what to look for) before the risky call.
//! 3. `send`: the one call that is not idempotent, small and marked with the run key
//!    (a "preparing…" placeholder, or sharing the uploaded file).
//! 4. The store records `placed` with the platform's ids (the receipt).
//! 5. `fill`: gives the part its content by an update that can be repeated safely.
//! 6. The store records `done`.
//!
//! A crash between 2 and 4 leaves the one unknown: did the platform get the send? The next
//! attempt then looks in the channel's recent history for the marker and adopts what it
//! finds, or sends afresh if the history shows nothing.

use crate::store::{PartState, RunLease, Store, StoreError};
use chrono::{DateTime, Utc};

/// What looking in the channel for an earlier send found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The part is in the channel, under this receipt.
    Found(String),
    /// The channel's recent history holds no such part.
    Absent,
    /// The history cannot be read (a permission is missing or not configured), so the
    /// earlier send's outcome stays unknown; the reason is logged.
    Unavailable(String),
}

/// What filling a placed part found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// The part now holds its content.
    Yes,
    /// The placed message is gone from the channel (someone deleted a placeholder that
    /// waited too long): the part must be sent again.
    Gone,
}

/// One channel's post for one run, rendered for its platform, sent part by part.
#[async_trait::async_trait]
pub trait Post: Send + Sync {
    /// Part names in sending order, the same across attempts: `message:0`, `file:chart`.
    fn parts(&self) -> Vec<String>;

    /// Readies a fresh send of `part` without showing anything in the channel and returns
    /// what identifies it there besides the run-key marker (e.g. the uploaded file's id).
    async fn prepare(&self, part: &str) -> anyhow::Result<Option<String>>;

    /// The one step that is not idempotent: posts the part's placeholder marked with the run
    /// key, or shares the prepared file. Returns the receipt (the platform's ids, as text).
    /// Must not retry an answer that may hide a delivery (5xx, timeout): the next attempt
    /// looks in the channel instead.
    async fn send(&self, part: &str, hint: Option<&str>) -> anyhow::Result<String>;

    /// Looks in the channel's messages since `since` for `part` sent by an earlier attempt.
    async fn find(
        &self,
        part: &str,
        hint: Option<&str>,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Lookup>;

    /// Gives the placed part its final content; repeating it changes nothing more
    /// (`chat.update`, Bot Framework `UpdateActivity`).
    async fn fill(&self, part: &str, receipt: &str) -> anyhow::Result<Filled>;
}

/// Why a delivery stopped before its last part.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The store could not be read or written.
    #[error("the store failed")]
    Store(#[from] StoreError),
    /// Another holder took the run over; this one must stop writing and sending.
    #[error("the claim on the run was taken over by another holder")]
    LeaseLost,
    /// The platform refused or failed a step; the part is retried from its recorded state.
    #[error("{part}: {source:#}")]
    Platform {
        /// The part that failed.
        part: String,
        /// The platform client's error.
        source: anyhow::Error,
    },
}

/// How many parts one delivery handled, by what it had to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Sent now.
    pub sent: usize,
    /// Found in the channel after an earlier attempt lost its answer, and filled.
    pub adopted: usize,
    /// Placed by an earlier attempt and only filled now.
    pub filled: usize,
    /// Already done by an earlier attempt.
    pub skipped: usize,
}

/// Sends every part of `post` not yet done, resuming each at its recorded step, while
/// `lease` holds. `now` is when sending starts (history lookups start no later).
pub async fn deliver(
    store: &Store,
    lease: &RunLease,
    post: &dyn Post,
    now: DateTime<Utc>,
) -> Result<Delivery, DeliveryError> {
    let mut delivery = Delivery::default();
    for part in post.parts() {
        let receipt = match store.part_state(&lease.key, &part).await? {
            PartState::Done { .. } => {
                delivery.skipped += 1;
                continue;
            }
            PartState::Placed { receipt } => {
                delivery.filled += 1;
                receipt
            }
            PartState::Sending { hint, since } => {
                let lookup = post
                    .find(&part, hint.as_deref(), since)
                    .await
                    .map_err(|source| platform(&part, source))?;
                match lookup {
                    Lookup::Found(receipt) => {
                        tracing::info!(key = %lease.key, %part, "adopting the part an earlier attempt sent");
                        held(store.part_placed(lease, &part, &receipt, now).await?)?;
                        delivery.adopted += 1;
                        receipt
                    }
                    Lookup::Absent => {
                        delivery.sent += 1;
                        send_fresh(store, lease, post, &part, now).await?
                    }
                    Lookup::Unavailable(reason) => {
                        tracing::warn!(key = %lease.key, %part, %reason,
                            "an earlier send's outcome is unknown and the channel's history cannot be read; sending again may leave a stray placeholder");
                        delivery.sent += 1;
                        send_fresh(store, lease, post, &part, now).await?
                    }
                }
            }
            PartState::Unsent => {
                delivery.sent += 1;
                send_fresh(store, lease, post, &part, now).await?
            }
        };
        let receipt = fill(store, lease, post, &part, receipt, now).await?;
        held(store.part_done(lease, &part, &receipt, now).await?)?;
    }
    Ok(delivery)
}

/// Step 5, and once more from step 1 if the placed message was deleted meanwhile.
/// Returns the receipt of the filled part.
async fn fill(
    store: &Store,
    lease: &RunLease,
    post: &dyn Post,
    part: &str,
    receipt: String,
    now: DateTime<Utc>,
) -> Result<String, DeliveryError> {
    let filled = post
        .fill(part, &receipt)
        .await
        .map_err(|source| platform(part, source))?;
    if filled == Filled::Yes {
        return Ok(receipt);
    }
    tracing::warn!(key = %lease.key, %part, "the placed part is gone from the channel; sending it again");
    let receipt = send_fresh(store, lease, post, part, now).await?;
    match post.fill(part, &receipt).await {
        Ok(Filled::Yes) => Ok(receipt),
        Ok(Filled::Gone) => Err(platform(
            part,
            anyhow::anyhow!("the part was gone again right after it was sent"),
        )),
        Err(source) => Err(platform(part, source)),
    }
}

/// Steps 1 to 4 of a part: prepare, record the intent, send, record the receipt.
async fn send_fresh(
    store: &Store,
    lease: &RunLease,
    post: &dyn Post,
    part: &str,
    now: DateTime<Utc>,
) -> Result<String, DeliveryError> {
    let hint = post
        .prepare(part)
        .await
        .map_err(|source| platform(part, source))?;
    held(
        store
            .part_sending(lease, part, hint.as_deref(), now)
            .await?,
    )?;
    let receipt = post
        .send(part, hint.as_deref())
        .await
        .map_err(|source| platform(part, source))?;
    held(store.part_placed(lease, part, &receipt, now).await?)?;
    Ok(receipt)
}

fn held(written: bool) -> Result<(), DeliveryError> {
    if written {
        Ok(())
    } else {
        Err(DeliveryError::LeaseLost)
    }
}

fn platform(part: &str, source: anyhow::Error) -> DeliveryError {
    DeliveryError::Platform {
        part: part.to_string(),
        source,
    }
}
