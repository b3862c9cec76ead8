//! What the chat side of a test sends and reads: a request as a user types it, and the notes
//! of a reply.

use sentinel_bot::bot::{Request, User};
use sentinel_bot::reply::{Block, Reply};

/// `text` as the analyst `U-ANALYST` types it.
pub fn request(text: &str) -> Request {
    request_as("U-ANALYST", text)
}

/// `text` as the user `user_id` types it.
pub fn request_as(user_id: &str, text: &str) -> Request {
    Request {
        text: text.to_string(),
        user: User {
            id: user_id.to_string(),
            ..User::default()
        },
        ..Request::default()
    }
}

/// The reply's notes, in order.
pub fn notes(reply: &Reply) -> Vec<&str> {
    reply
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Note(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
