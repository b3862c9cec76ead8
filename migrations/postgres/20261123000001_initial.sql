-- Initial schema of sentinel-bot's store. Timestamps are epoch seconds (BIGINT)
-- so the same queries work on SQLite and PostgreSQL.

-- Weekly report runs: one row per channel and week, claimed before posting.
CREATE TABLE schedule_runs (
    run_key     TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    lease_until BIGINT NOT NULL,
    attempts    BIGINT NOT NULL,
    last_error  TEXT,
    updated_at  BIGINT NOT NULL
);

-- First-time-seen keys (Slack event ids, retries), expiring.
CREATE TABLE dedupe_keys (
    dedupe_key TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- Conversation turns per Teams reply chain or Slack thread.
CREATE TABLE conversation_turns (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    thread     TEXT NOT NULL,
    role       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX conversation_turns_thread ON conversation_turns (thread, id);

-- Cached answers, keyed by the caller (e.g. incident + last-modified).
CREATE TABLE answer_cache (
    cache_key  TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Chat actions waiting for the same user's confirmation.
CREATE TABLE pending_confirmations (
    token      TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    action     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Who did what, when, with which result.
CREATE TABLE audit_log (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    incident TEXT,
    result   TEXT NOT NULL
);

-- Incidents already triaged automatically (one comment each).
CREATE TABLE triaged_incidents (
    incident_number BIGINT PRIMARY KEY,
    at              BIGINT NOT NULL
);

-- Named watermarks, e.g. the incident poll position (RFC 3339 text).
CREATE TABLE watermarks (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
