//! A stand-in for Slack on 127.0.0.1 with an ephemeral port, so a benchmark's follow-ups
//! and posts never leave the machine.

use axum::Router;
use axum::body::Bytes;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Serves `router` on 127.0.0.1 in the current runtime; returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

/// A Slack that answers `{"ok":true}` to any POST (Web API or `response_url`) and counts them.
pub struct Slack {
    /// Base URL; any path works.
    pub url: String,
    /// Posts received so far.
    pub received: Arc<AtomicUsize>,
}

/// Starts the fake Slack in the current runtime.
pub async fn start() -> Slack {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let router = Router::new().fallback(move |_body: Bytes| {
        counter.fetch_add(1, Ordering::Relaxed);
        async { axum::Json(json!({"ok": true})) }
    });
    Slack {
        url: serve(router).await,
        received,
    }
}
