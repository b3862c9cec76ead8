//! sentinel-bot: a Microsoft Sentinel chat bot for Teams and Slack.
//! See DESIGN.md (in the project's shared folder) and README.md for the map.

pub mod advice;
pub mod analytics;
pub mod app;
pub mod attack;
pub mod bot;
pub mod channels;
pub mod config;
pub mod deadline;
pub mod directory;
pub mod incident;
pub mod period;
pub mod present;
pub mod render;
pub mod reply;
pub mod report;
pub mod schedule;
pub mod server;
pub mod sources;
pub mod store;
pub mod triage;
pub mod upstream;
pub mod web_report;
