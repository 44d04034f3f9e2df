DROP TABLE IF EXISTS cache_outbox;
