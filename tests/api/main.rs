//! Integration tests: one binary, one module per area.

mod advice;
mod aggregate;
mod app;
mod azure;
mod cards;
mod cli;
mod close;
mod deadlines;
mod figures;
mod guards;
mod kusto;
mod manifest;
mod metrics;
mod reader;
mod render;
mod schedule;
mod slack;
mod slack_people;
mod store;
mod tactics;
mod teams;
mod teams_people;
mod triage;
mod upstream_text;
mod web_report;
mod workspaces;
