//! Renderers of the platform-neutral `Reply`: Adaptive Card, Block Kit, Markdown, HTML, PNG charts.

pub mod adaptive_card;
pub mod block_kit;
pub mod chart;
pub mod escape;
pub mod html;
pub mod markdown;
