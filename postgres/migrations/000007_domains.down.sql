DROP INDEX urls_domain_idx;
DROP INDEX urls_short_code_key;
ALTER TABLE urls ADD CONSTRAINT urls_short_code_key UNIQUE (short_code);
ALTER TABLE urls DROP COLUMN domain;
DROP TABLE domains;
