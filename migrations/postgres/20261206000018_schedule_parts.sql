-- Parts of a weekly report post (its messages, the chart file, later a web-report link),
-- each with its own state, so a retry resumes at the first part not yet sent and never
-- repeats one that was. States: `sending` (a send started; it may have reached the
-- platform), `placed` (the platform holds it under `receipt`), `done`.
CREATE TABLE schedule_parts (
    run_key    TEXT NOT NULL,
    part       TEXT NOT NULL,
    state      TEXT NOT NULL,
    -- What to look for in the channel if a send's outcome was lost (e.g. a file id).
    hint       TEXT,
    -- The platform's ids of the sent part (channel + ts, conversation + activity id).
    receipt    TEXT,
    -- When the send started (epoch seconds): history lookups start there.
    since      BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (run_key, part)
);
