//! Block Kit layouts of shared answers, made once per answer. The core hands every request
//! served from one computation the same `Arc<Reply>` (`Bot::answer_shared`); laying that
//! reply out as Block Kit and serializing it for each of twenty identical `/incidents week`
//! was most of what was left per request, so the layout and its `response_url` bodies are
//! kept beside the reply for as long as the core keeps the reply itself.

use super::{SlackSettings, limits};
use crate::render::block_kit::{self, Message};
use crate::reply::Reply;
use axum::body::Bytes;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// One reply laid out for Slack: its messages within Block Kit limits, and each message's
/// body for a slash command's `response_url`, serialized once.
#[derive(Debug)]
pub struct Layout {
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// Shown only to the person who asked.
    pub notice: bool,
    /// `messages[i]` as the JSON body of a new message at a `response_url`.
    pub response_bodies: Vec<Bytes>,
}

impl Layout {
    /// Lays out `messages` with the response type the settings and `notice` call for.
    pub fn new(messages: Vec<Message>, notice: bool, settings: &SlackSettings) -> Layout {
        let response_type = if notice {
            "ephemeral"
        } else {
            settings.response_type()
        };
        let response_bodies = messages
            .iter()
            .map(|message| {
                let body = json!({
                    "response_type": response_type,
                    "replace_original": false,
                    "text": message.text,
                    "blocks": message.blocks,
                });
                Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
            })
            .collect();
        Layout {
            messages,
            notice,
            response_bodies,
        }
    }

    /// `reply` rendered as Block Kit within Slack's limits.
    pub fn of(reply: &Reply, settings: &SlackSettings) -> Layout {
        let messages = block_kit::render(reply)
            .into_iter()
            .map(limits::within_limits)
            .collect();
        Layout::new(messages, reply.notice, settings)
    }
}

/// Counts of layouts made and reused, for benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayoutStats {
    /// Replies laid out.
    pub made: u64,
    /// Requests given a layout already made for the same shared reply.
    pub reused: u64,
}

/// Layouts of the shared replies still alive, keyed by the reply's `Arc`. An entry holds a
/// `Weak`, so it never keeps a reply alive, and its allocation cannot be reused by another
/// reply while the entry exists (the identity check cannot be fooled).
#[derive(Default)]
pub struct Layouts {
    entries: Mutex<Vec<(Weak<Reply>, Arc<Layout>)>>,
    made: AtomicU64,
    reused: AtomicU64,
}

impl Layouts {
    /// The layout of `reply`: the one made for the same shared reply, or a new one. A reply
    /// nobody else holds (not shared) is laid out and not kept.
    pub fn layout(&self, reply: &Arc<Reply>, settings: &SlackSettings) -> Arc<Layout> {
        let shared = Arc::strong_count(reply) > 1;
        if shared
            && let Some(layout) = self.lock().iter().find_map(|(weak, layout)| {
                std::ptr::eq(weak.as_ptr(), Arc::as_ptr(reply)).then(|| layout.clone())
            })
        {
            self.reused.fetch_add(1, Ordering::Relaxed);
            return layout;
        }
        // Laid out outside the lock; two requests racing here both lay out, which is
        // only wasted work.
        let layout = Arc::new(Layout::of(reply, settings));
        self.made.fetch_add(1, Ordering::Relaxed);
        if shared {
            let mut entries = self.lock();
            entries.retain(|(weak, _)| weak.strong_count() > 0);
            entries.push((Arc::downgrade(reply), layout.clone()));
        }
        layout
    }

    /// How many layouts were made and reused so far.
    pub fn stats(&self) -> LayoutStats {
        LayoutStats {
            made: self.made.load(Ordering::Relaxed),
            reused: self.reused.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Weak<Reply>, Arc<Layout>)>> {
        // Every write is one push or retain, so a poisoned list is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SlackSettings {
        SlackSettings {
            signing_secret: None,
            in_channel: true,
            allowed_teams: Vec::new(),
            allowed_channels: Vec::new(),
            body_limit: 1024,
        }
    }

    #[test]
    fn a_shared_reply_is_laid_out_once_and_a_lone_one_every_time() {
        let layouts = Layouts::default();
        let settings = settings();
        let shared = Arc::new(Reply::titled("Incidents this week".to_string()));
        let holder = shared.clone();
        let first = layouts.layout(&shared, &settings);
        let second = layouts.layout(&holder, &settings);
        assert!(Arc::ptr_eq(&first, &second));
        let body: serde_json::Value =
            serde_json::from_slice(&first.response_bodies[0]).expect("JSON body");
        assert_eq!(body["response_type"], "in_channel");
        assert_eq!(body["replace_original"], false);
        assert_eq!(body["text"], first.messages[0].text.as_str());
        assert_eq!(body["blocks"], serde_json::json!(first.messages[0].blocks));
        // An equal reply from another computation is another answer: laid out anew.
        let other = Arc::new(Reply::titled("Incidents this week".to_string()));
        let _other_holder = other.clone();
        assert!(!Arc::ptr_eq(&layouts.layout(&other, &settings), &first));
        let lone = Arc::new(Reply::titled("Help".to_string()));
        layouts.layout(&lone, &settings);
        layouts.layout(&lone, &settings);
        assert_eq!(layouts.stats(), LayoutStats { made: 4, reused: 1 });
        // Once the core lets the reply go, its layout goes with the next one kept.
        drop((shared, holder));
        let next = Arc::new(Reply::titled("Next".to_string()));
        let _next_holder = next.clone();
        layouts.layout(&next, &settings);
        assert_eq!(layouts.lock().len(), 2);
    }
}
