//! Slack: signature check, slash commands, events, interactions, Web API posts.
