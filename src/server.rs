//! The axum router: channel endpoints, health, metrics, middleware.
