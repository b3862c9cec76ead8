//! SQL state through sqlx: conversations, schedule runs, audit log, dedupe keys.
