-- An incident's identity is (workspace, number): with several workspaces (MSSP) two of them
-- can both have incident 5, and each is triaged once. `workspace` is the workspace's short
-- name, or '' for the only workspace of a single-workspace bot. Marks made before this were
-- by number alone: they are kept under '', so a single-workspace bot goes on as before; a
-- bot that already read several workspaces marks their incidents anew by name, and the
-- marker in its own triage comments keeps it from commenting on one twice.
-- SQLite cannot change a primary key in place, so the table is rebuilt.
CREATE TABLE triaged_incidents_by_workspace (
    workspace       TEXT   NOT NULL DEFAULT '',
    incident_number BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    PRIMARY KEY (workspace, incident_number)
);
INSERT INTO triaged_incidents_by_workspace (workspace, incident_number, at)
    SELECT '', incident_number, at FROM triaged_incidents;
DROP TABLE triaged_incidents;
ALTER TABLE triaged_incidents_by_workspace RENAME TO triaged_incidents;
