-- Password links (SPEC 10): a bcrypt hash, NULL for an open link. No
-- default, so no rewrite; an edge of the previous release does not know
-- the column, which is why origins may set passwords only once every edge
-- runs this release (docs/operations.md).
ALTER TABLE urls ADD COLUMN password_hash text;
