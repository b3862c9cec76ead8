//! Integration tests: one binary, one module per area.

mod advice;
mod app;
mod azure;
mod cards;
mod deadlines;
mod figures;
mod guards;
mod kusto;
mod manifest;
mod metrics;
mod render;
mod schedule;
mod slack;
mod slack_people;
mod store;
mod teams;
mod teams_people;
mod triage;
mod web_report;
mod workspaces;
