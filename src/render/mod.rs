//! Renderers of the platform-neutral `Reply`: Adaptive Card, Block Kit, Markdown, PNG charts.

pub mod adaptive_card;
pub mod block_kit;
pub mod chart;
pub mod escape;
pub mod markdown;
