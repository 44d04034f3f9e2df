-- Codes whose change is committed here but may not be in Redis yet. An
-- update or delete queues its codes in its own transaction, and the origin
-- removes them once Redis has the change. What a Redis outage leaves here
-- outlives the origin that wrote it: any origin, after a restart too,
-- writes the codes again from what this database holds. Without it a
-- stale entry (a deleted link, an old target) could stay in Redis, and so
-- at every edge, until its TTL, when Redis comes back with its data after
-- the origin that owed the write has gone.
--
-- version is the newest change queued for the code: a row is removed only
-- by a write of at least that version.
CREATE TABLE cache_outbox (
    short_code text PRIMARY KEY,
    version    bigint NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now()
);
