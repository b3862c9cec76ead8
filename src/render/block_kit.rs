//! Reply -> Slack Block Kit messages, within Slack's documented limits.
