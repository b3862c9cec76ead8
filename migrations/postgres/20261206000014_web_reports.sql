-- Full reports served as web pages at GET /reports/{id} until they expire (issue 14).
-- Only a SHA-256 of the id is kept, so reading the table does not reveal live links.
CREATE TABLE web_reports (
    id_hash    TEXT PRIMARY KEY,
    html       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_reports_expires ON web_reports (expires_at);
