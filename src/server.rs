//! The axum router: channel endpoints, health, readiness, Prometheus metrics, and
//! the middleware every request passes (request ids, body limit, tracing, counters).

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Shared state of the operational endpoints.
#[derive(Clone)]
pub struct Ops {
    metrics: Option<PrometheusHandle>,
    ready: Arc<AtomicBool>,
}

impl Ops {
    /// Installs the global Prometheus recorder (once per process) and starts not ready.
    pub fn install() -> Ops {
        let metrics = PrometheusBuilder::new().install_recorder().ok();
        crate::upstream::describe();
        Ops {
            metrics,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Ops without a metrics recorder, for tests that build several routers.
    pub fn without_metrics() -> Ops {
        Ops {
            metrics: None,
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Marks the process ready (store migrated, clients built) or not (shutting down).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }
}

/// Wraps the channel routes with the operational endpoints and middleware.
pub fn router(channels: Router, ops: Ops, body_limit: usize) -> Router {
    let operational = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ops);
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

async fn metrics(State(ops): State<Ops>) -> Response {
    match &ops.metrics {
        Some(handle) => (
            [("content-type", "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled").into_response(),
    }
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
