//! The axum router: channel endpoints, health, readiness, Prometheus metrics, and
//! the middleware every request passes (request ids, body limit, tracing, counters).

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use subtle::ConstantTimeEq;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Shared state of the operational endpoints.
#[derive(Clone)]
pub struct Ops {
    metrics: Option<PrometheusHandle>,
    ready: Arc<AtomicBool>,
    access: MetricsAccess,
}

/// Who may read `/metrics`, and on which listener.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    /// Serve `/metrics` on its own listener ([`metrics_router`]) rather than the main one.
    pub separate_listener: bool,
    /// When set, only requests with `Authorization: Bearer <token>` may read it.
    pub token: Option<SecretString>,
}

impl Ops {
    /// Installs the global Prometheus recorder (once per process) and starts not ready.
    pub fn install() -> Ops {
        let metrics = PrometheusBuilder::new().install_recorder().ok();
        crate::upstream::describe();
        describe_workload();
        Ops {
            metrics,
            ready: Arc::new(AtomicBool::new(false)),
            access: MetricsAccess::default(),
        }
    }

    /// Ops around an existing recorder handle, for tests.
    pub fn with_handle(handle: PrometheusHandle) -> Ops {
        Ops {
            metrics: Some(handle),
            ..Ops::without_metrics()
        }
    }

    /// Ops without a metrics recorder, for tests that build several routers.
    pub fn without_metrics() -> Ops {
        Ops {
            metrics: None,
            ready: Arc::new(AtomicBool::new(false)),
            access: MetricsAccess::default(),
        }
    }

    /// Sets where `/metrics` is served and whether it needs the bearer token.
    pub fn with_access(mut self, access: MetricsAccess) -> Ops {
        self.access = access;
        self
    }

    /// Marks the process ready (store migrated, clients built) or not (shutting down).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }
}

/// Wraps the channel routes with the operational endpoints and middleware. `/metrics` is
/// among them only when it has no listener of its own.
pub fn router(channels: Router, ops: Ops, body_limit: usize) -> Router {
    let mut operational = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    if !ops.access.separate_listener {
        operational = operational.route("/metrics", get(metrics));
    }
    let operational = operational.with_state(ops);
    let request_span = |request: &Request<Body>| {
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
    };
    channels
        .merge(operational)
        .layer(middleware::from_fn(count_requests))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn readyz(State(ops): State<Ops>) -> Response {
    if ops.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// `/metrics` alone, for its own listener (by default on loopback, out of the load
/// balancer's reach).
pub fn metrics_router(ops: Ops) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(ops)
        .layer(TraceLayer::new_for_http())
}

async fn metrics(State(ops): State<Ops>, headers: HeaderMap) -> Response {
    if let Some(token) = &ops.access.token {
        let expected = format!("Bearer {}", token.expose_secret());
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .map(|value| value.as_bytes())
            .unwrap_or_default();
        // Constant time, so the comparison leaks nothing about how much matched.
        if !bool::from(expected.as_bytes().ct_eq(given)) {
            return (
                StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required",
            )
                .into_response();
        }
    }
    match &ops.metrics {
        Some(handle) => (
            [("content-type", "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled").into_response(),
    }
}

fn describe_workload() {
    metrics::describe_gauge!(
        crate::channels::workload::WAITING_GAUGE,
        "Answers acknowledged and waiting for a free slot (the background queue depth)."
    );
    metrics::describe_gauge!(
        crate::channels::workload::RUNNING_GAUGE,
        "Answers being computed or delivered after their acknowledgement."
    );
    metrics::describe_counter!(
        "answers_refused_busy_total",
        "Requests told the bot is busy because the background queue was full."
    );
}

/// Counts requests and their latency by route and status; the route template keeps label cardinality low.
async fn count_requests(request: Request<Body>, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    fn app(ops: Ops) -> Router {
        let channels = Router::new().route(
            "/echo",
            axum::routing::post(|body: String| async move { body }),
        );
        router(channels, ops, 16)
    }

    #[tokio::test]
    async fn health_readiness_and_request_ids() {
        let ops = Ops::without_metrics();
        let response = app(ops.clone())
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().contains_key("x-request-id"));

        let response = app(ops.clone())
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        ops.set_ready(true);
        let response = app(ops.clone())
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    async fn status_of(router: Router, authorization: Option<&str>) -> StatusCode {
        let mut request = Request::get("/metrics");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        router
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
            .status()
    }

    #[tokio::test]
    async fn metrics_on_their_own_listener_need_the_bearer_token_when_one_is_set() {
        let handle = PrometheusBuilder::new().build_recorder().handle();
        let ops = Ops::with_handle(handle).with_access(MetricsAccess {
            separate_listener: true,
            token: Some(SecretString::from("scrape-token")),
        });
        assert_eq!(
            status_of(app(ops.clone()), Some("Bearer scrape-token")).await,
            StatusCode::NOT_FOUND,
            "not on the public listener"
        );
        let metrics = || metrics_router(ops.clone());
        assert_eq!(status_of(metrics(), None).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status_of(metrics(), Some("Bearer scrape-tokeN")).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status_of(metrics(), Some("scrape-token")).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status_of(metrics(), Some("Bearer scrape-token")).await,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn metrics_may_share_the_main_listener() {
        let handle = PrometheusBuilder::new().build_recorder().handle();
        let open = Ops::with_handle(handle.clone());
        assert_eq!(status_of(app(open), None).await, StatusCode::OK);
        let guarded = Ops::with_handle(handle).with_access(MetricsAccess {
            separate_listener: false,
            token: Some(SecretString::from("scrape-token")),
        });
        assert_eq!(
            status_of(app(guarded.clone()), None).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status_of(app(guarded), Some("Bearer scrape-token")).await,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let response = app(Ops::without_metrics())
            .oneshot(
                Request::post("/echo")
                    .body(Body::from("x".repeat(17)))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let response = app(Ops::without_metrics())
            .oneshot(Request::post("/echo").body(Body::from("small")).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
