//! The full report as a web page: `/report` links to it, `GET /reports/{id}` serves it with
//! no-store and no-index headers until it expires, and any replica on the same PostgreSQL
//! serves what another stored.

use crate::store::postgres_url;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use sentinel_bot::app::{self, App};
use sentinel_bot::bot::{Request as ChatRequest, User};
use sentinel_bot::config::Config;
use sentinel_bot::period::Period;
use sentinel_bot::report;
use sentinel_bot::server::{self, Ops};
use sentinel_bot::store::Store;
use sentinel_bot::web_report::{self, WebReports};
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://sentinel-bot.example";

fn config(store_url: &str) -> Config {
    let env = vec![
        (
            "SENTINEL_BOT__STORE__URL".to_string(),
            store_url.to_string(),
        ),
        (
            "SENTINEL_BOT__SERVER__PUBLIC_URL".to_string(),
            PUBLIC_URL.to_string(),
        ),
    ];
    Config::from_sources("", env).unwrap()
}

/// The HTTP app as `serve` mounts the page route: behind the server's middleware.
fn router(store: Store) -> axum::Router {
    server::router(web_report::router(store), Ops::without_metrics(), 1 << 16)
}

struct Fetched {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn get(store: Store, path: &str) -> Fetched {
    let response = router(store)
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    Fetched {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn assert_private(fetched: &Fetched) {
    assert_eq!(fetched.headers["cache-control"], "no-store");
    assert_eq!(fetched.headers["x-robots-tag"], "noindex, nofollow");
    assert_eq!(fetched.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(fetched.headers["referrer-policy"], "no-referrer");
}

/// Asks `command` (a `/report`) and returns the page path its "Open full report" button
/// links to.
async fn report_link(app: &App, command: &str) -> String {
    let now = Utc::now();
    let request = ChatRequest {
        text: command.to_string(),
        user: User {
            id: "U1".to_string(),
            ..User::default()
        },
        ..ChatRequest::default()
    };
    // Boxed: the answer's future is large, and a debug build's test thread has 2 MB of stack.
    let reply = Box::pin(app.bot.answer(&request, now)).await;
    let button = reply
        .actions
        .iter()
        .find(|action| action.label == "Open full report")
        .unwrap_or_else(|| panic!("no report link on {reply:?}"));
    let url = button.url.clone().expect("a link button");
    url.strip_prefix(PUBLIC_URL)
        .expect("link under the public URL")
        .to_string()
}

#[tokio::test]
async fn report_links_to_a_page_served_with_private_headers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let app = app::build(&config(&url), Utc::now()).await.unwrap();
    let path = report_link(&app, "/report week").await;
    let id = path.strip_prefix("/reports/").expect("a /reports/ path");
    assert_eq!(id.len(), 43, "256 random bits in base64url");

    let fetched = get(app.store.clone(), &path).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_private(&fetched);
    assert!(
        fetched
            .body
            .contains("<meta name=\"robots\" content=\"noindex, nofollow\">")
    );
    assert!(fetched.body.contains("<h1>Incident report, "));
    assert!(
        fetched.body.contains("data:image/png;base64,"),
        "chart inline"
    );
    assert!(
        fetched
            .body
            .contains("readable by anyone with its link until")
    );

    // Another report is another page (the same question asked again within the minute
    // shares the first answer, link included).
    assert_ne!(report_link(&app, "/report 30d").await, path);
    assert_eq!(report_link(&app, "/report week").await, path);
}

#[tokio::test]
async fn unknown_malformed_and_expired_pages_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let config = config(&url);
    let app = app::build(&config, Utc::now()).await.unwrap();
    for path in [
        "/reports/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/reports/short",
        "/reports/..%2F..%2Fetc",
    ] {
        let fetched = get(app.store.clone(), path).await;
        assert_eq!(fetched.status, StatusCode::NOT_FOUND, "{path}");
        assert_private(&fetched);
    }

    // Published 15 days ago with the default 14-day lifetime: gone.
    let pages = WebReports::from_config(&config, app.store.clone()).expect("pages on");
    let then = Utc::now() - Duration::days(15);
    let report = Box::pin(app.bot.weekly_report(Period::Week.window(then), then))
        .await
        .unwrap();
    let old = pages.publish(&report, then).await.unwrap();
    let recent = pages
        .publish(&report, Utc::now() - Duration::days(13))
        .await
        .unwrap();
    let path = |url: &str| url.strip_prefix(PUBLIC_URL).unwrap().to_string();
    assert_eq!(
        get(app.store.clone(), &path(&old)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(app.store.clone(), &path(&recent)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn page_text_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let config = config(&url);
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
    let app = app::build(&config, now).await.unwrap();
    let window = Period::Week.window(now);
    let mut incidents = app.bot.source.incidents(window).await.unwrap().incidents;
    incidents[0].title = "<script>alert('x')</script> & \"quotes\"".into();
    let report = report::build(
        &incidents,
        &[],
        window,
        now,
        Duration::days(3),
        sentinel_bot::advice::WeeklyAdvice::default(),
    );
    let pages = WebReports::from_config(&config, app.store.clone()).unwrap();
    let link = pages.publish(&report, Utc::now()).await.unwrap();
    let fetched = get(app.store.clone(), link.strip_prefix(PUBLIC_URL).unwrap()).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert!(!fetched.body.contains("<script>"));
    assert!(
        fetched
            .body
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;")
    );
}

#[tokio::test]
async fn turned_off_there_is_no_link() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let mut config = config(&url);
    config.report.web_pages = false;
    let app = app::build(&config, Utc::now()).await.unwrap();
    let reply = Box::pin(app.bot.answer(
        &ChatRequest {
            text: "/report week".to_string(),
            ..ChatRequest::default()
        },
        Utc::now(),
    ))
    .await;
    assert!(reply.actions.iter().all(|action| action.url.is_none()));
}

#[tokio::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set SENTINEL_BOT_TEST_POSTGRES to run against PostgreSQL"
)]
async fn a_second_replica_on_postgres_serves_the_page() {
    let url = postgres_url().await;
    let first = app::build(&config(&url), Utc::now()).await.unwrap();
    let second = app::build(&config(&url), Utc::now()).await.unwrap();
    let path = report_link(&first, "/report week").await;
    let fetched = get(second.store.clone(), &path).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_private(&fetched);
    assert!(fetched.body.contains("<h1>Incident report, "));
    let missing = get(
        second.store.clone(),
        "/reports/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
