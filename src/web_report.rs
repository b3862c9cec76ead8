//! The full report as a web page: rendered to HTML (charts inline), kept in the store under an
//! unguessable id so every replica serves it, linked from chat with an "Open full report"
//! button, and served at `GET /reports/{id}` until it expires.
//!
//! Trade-off, stated in the README: anyone holding a link can read the page until it expires
//! (the link is the only key). The id has 256 random bits, the store keeps only its SHA-256,
//! pages expire after `report.web_page_days` (default 14), and `report.web_pages = false` turns
//! the feature off. Responses are `Cache-Control: no-store` and ask not to be indexed.

use crate::config::Config;
use crate::render;
use crate::reply::{Action, Block, Reply};
use crate::report::{self, Layout, WeeklyReport};
use crate::store::{Store, StoreError};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// Random bytes in a page id (256 bits).
const ID_BYTES: usize = 32;
/// Characters of a page id: the bytes in unpadded base64url.
const ID_CHARS: usize = 43;
/// Size of the daily chart drawn into the page, in pixels.
const CHART_SIZE: (u32, u32) = (1000, 500);

/// Why a page could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum WebReportError {
    /// The store refused the page.
    #[error("the report page could not be saved: {0}")]
    Store(#[from] StoreError),
}

/// Publishes report pages; present only when `report.web_pages` is on and
/// `server.public_url` is an `https://` URL.
#[derive(Debug, Clone)]
pub struct WebReports {
    store: Store,
    /// Base of every link, without a trailing slash.
    public_url: String,
    /// How long a page stays readable.
    lifetime: Duration,
}

impl WebReports {
    /// The publisher the configuration asks for, or `None` (with a warning when
    /// `public_url` is set but not https, since chat clients only open https links).
    pub fn from_config(config: &Config, store: Store) -> Option<WebReports> {
        if !config.report.web_pages {
            return None;
        }
        let public_url = config.server.public_url.as_deref()?.trim_end_matches('/');
        if !public_url.starts_with("https://") {
            tracing::warn!(
                "server.public_url is not an https:// URL; reports carry no web page link"
            );
            return None;
        }
        Some(WebReports {
            store,
            public_url: public_url.to_string(),
            lifetime: Duration::days(i64::from(config.report.web_page_days.max(1))),
        })
    }

    /// Keeps `report` as a page until `now` + the lifetime and returns its link.
    pub async fn publish(
        &self,
        report: &WeeklyReport,
        now: DateTime<Utc>,
    ) -> Result<String, WebReportError> {
        let expires = now + self.lifetime;
        let html = page(report, Some(expires));
        let id = new_id();
        self.store
            .put_web_report(&id_hash(&id), &html, now, expires)
            .await?;
        if let Err(error) = self.store.delete_expired_web_reports(now).await {
            tracing::warn!(%error, "deleting expired report pages");
        }
        Ok(format!("{}/reports/{id}", self.public_url))
    }

    /// `reply` with an "Open full report" button to a new page of `report`; when the page
    /// cannot be kept, with a note saying so instead (the chat answer still goes out).
    pub async fn link(&self, reply: Reply, report: &WeeklyReport, now: DateTime<Utc>) -> Reply {
        match self.publish(report, now).await {
            Ok(url) => reply.with_action(Action::link("Open full report", url)),
            Err(error) => {
                tracing::warn!(%error, "publishing the report page");
                reply.with(Block::Note(format!("Sorry: {error}.")))
            }
        }
    }
}

/// The full report as a standalone HTML page with the chart inline, e.g. for a Slack file or
/// `/reports/{id}`; `expires` adds a line saying until when the link works.
pub fn page(report: &WeeklyReport, expires: Option<DateTime<Utc>>) -> String {
    let mut reply = report::to_reply(report, Layout::Full);
    if let Some(expires) = expires {
        reply.blocks.insert(
            0,
            Block::Note(format!(
                "This page is readable by anyone with its link until {}; then it is deleted.",
                expires.format("%Y-%m-%d %H:%M UTC")
            )),
        );
    }
    let pngs: Vec<Vec<u8>> = reply
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Chart(chart) => render::chart::png(chart, CHART_SIZE.0, CHART_SIZE.1).ok(),
            _ => None,
        })
        .collect();
    render::html::render(&reply, &pngs)
}

/// A new page id: 256 random bits from the thread's CSPRNG, base64url without padding.
fn new_id() -> String {
    let bytes: [u8; ID_BYTES] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps instead of the id.
fn id_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Whether `id` has the shape of a page id; anything else is 404 without a store lookup.
fn well_formed(id: &str) -> bool {
    id.len() == ID_CHARS
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// The route `GET /reports/{id}`, reading pages from `store`.
pub fn router(store: Store) -> axum::Router {
    axum::Router::new()
        .route("/reports/{id}", axum::routing::get(serve))
        .with_state(store)
}

/// Serves a page, or 404 for an unknown, expired or malformed id; 500 when the store fails.
async fn serve(State(store): State<Store>, Path(id): Path<String>) -> Response {
    let found = if well_formed(&id) {
        store.web_report(&id_hash(&id), Utc::now()).await
    } else {
        Ok(None)
    };
    let (status, body) = match found {
        Ok(Some(html)) => (StatusCode::OK, html),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            "<!DOCTYPE html><meta name=\"robots\" content=\"noindex, nofollow\"><title>Not found</title><p>This report does not exist or has expired.</p>".to_string(),
        ),
        Err(error) => {
            tracing::error!(%error, "reading a report page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><title>Error</title><p>The report could not be read; try again later.</p>".to_string(),
            )
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_random_and_url_safe() {
        let first = new_id();
        let second = new_id();
        assert_ne!(first, second);
        assert_eq!(first.len(), ID_CHARS);
        assert!(well_formed(&first) && well_formed(&second));
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}/", &first[1..])));
        assert_eq!(id_hash(&first).len(), 64);
        assert_ne!(id_hash(&first), first);
    }

    #[tokio::test]
    async fn only_an_https_public_url_turns_links_on() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let mut config = Config::default();
        assert!(WebReports::from_config(&config, store.clone()).is_none());
        config.server.public_url = Some("http://bot.example".to_string());
        assert!(WebReports::from_config(&config, store.clone()).is_none());
        config.server.public_url = Some("https://bot.example/".to_string());
        let pages = WebReports::from_config(&config, store.clone()).expect("on");
        assert_eq!(pages.public_url, "https://bot.example");
        assert_eq!(pages.lifetime, Duration::days(14));
        config.report.web_pages = false;
        assert!(WebReports::from_config(&config, store).is_none());
    }
}
