//! Inbound adapters: the chat platforms (the only code that knows Teams or Slack wire
//! formats) and the Sentinel automation webhook.

pub mod slack;
pub mod teams;
pub mod webhook;
pub mod workload;
