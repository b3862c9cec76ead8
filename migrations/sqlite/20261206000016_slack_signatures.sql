-- Signatures of accepted Slack requests, kept until the request's five-minute window ends,
-- so an exact copy sent again (a replay) is refused on every replica (issue 16).
CREATE TABLE slack_request_signatures (
    signature  TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX slack_request_signatures_expiry ON slack_request_signatures (expires_at);
