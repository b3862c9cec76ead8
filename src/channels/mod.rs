//! Chat platform adapters: the only code that knows Teams or Slack wire formats.

pub mod slack;
pub mod teams;
