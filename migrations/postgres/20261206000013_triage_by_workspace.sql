-- An incident's identity is (workspace, number): with several workspaces (MSSP) two of them
-- can both have incident 5, and each is triaged once. `workspace` is the workspace's short
-- name, or '' for the only workspace of a single-workspace bot. Marks made before this were
-- by number alone: they are kept under '', so a single-workspace bot goes on as before; a
-- bot that already read several workspaces marks their incidents anew by name, and the
-- marker in its own triage comments keeps it from commenting on one twice.
ALTER TABLE triaged_incidents ADD COLUMN workspace TEXT NOT NULL DEFAULT '';
ALTER TABLE triaged_incidents DROP CONSTRAINT triaged_incidents_pkey;
ALTER TABLE triaged_incidents ADD PRIMARY KEY (workspace, incident_number);
