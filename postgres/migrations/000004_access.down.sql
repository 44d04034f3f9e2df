DROP TABLE url_click_totals;
DROP INDEX urls_created_at_idx;
DROP INDEX urls_search_idx;
DROP INDEX urls_tags_idx;
ALTER TABLE urls DROP COLUMN tags;
DROP TABLE api_keys;
