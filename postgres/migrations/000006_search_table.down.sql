CREATE INDEX urls_search_idx ON urls USING gin
    ((short_code || E'\n' || original_url || E'\n' || coalesce(title, '')) gin_trgm_ops);
DROP TABLE url_search_pending;
DROP TABLE url_search;
