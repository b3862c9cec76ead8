//! Integration tests: one binary, one module per area.

mod advice;
mod app;
mod azure;
mod cards;
mod figures;
mod metrics;
mod render;
mod schedule;
mod slack;
mod store;
mod teams;
mod triage;
mod web_report;
