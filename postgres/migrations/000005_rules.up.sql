-- Redirect rules (SPEC 9): a link's ordered rules as JSON, NULL when it has
-- none. Clicks record the index of the rule that chose their target (-1:
-- the link's own). Neither column has a volatile default, so both are
-- added without rewriting the tables, and an edge or origin of the
-- previous release, which names its columns, keeps working meanwhile.
ALTER TABLE urls ADD COLUMN rules jsonb;
ALTER TABLE clicks ADD COLUMN rule smallint NOT NULL DEFAULT -1;
