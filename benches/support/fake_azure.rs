//! A stand-in for Entra ID and Log Analytics on 127.0.0.1 with an ephemeral port, so a
//! benchmark's queries never leave the machine: tokens for anyone, and the report query
//! answered with a prepared body.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

/// Serves `router` on 127.0.0.1 in the current runtime; returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

/// Entra ID's token endpoint and the Log Analytics query endpoint: a query whose
/// `timespan` is `report_timespan` gets `body`; any other query gets an empty table.
pub async fn start(body: Bytes, report_timespan: String) -> String {
    let empty = json!({"tables":[{"name":"PrimaryResult","columns":[],"rows":[]}]}).to_string();
    let router = Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(|| async {
                axum::Json(json!({"token_type":"Bearer","expires_in":3599,"access_token":"bench"}))
            }),
        )
        .route(
            "/v1/workspaces/{workspace}/query",
            post(move |axum::Json(request): axum::Json<Value>| {
                // Bytes clones share the buffer, so every answer is the same allocation.
                let answer = if request["timespan"] == report_timespan.as_str() {
                    body.clone()
                } else {
                    Bytes::from(empty.clone())
                };
                async move {
                    Response::builder()
                        .header(CONTENT_TYPE, "application/json")
                        .body(Body::from(answer))
                        .expect("response")
                }
            }),
        );
    serve(router).await
}
