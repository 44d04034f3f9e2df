-- Domains (SPEC 10). A link's domain is NULL on the default domain
-- (REBOUND_PUBLIC_URL's host), so every link that predates domains is on it
-- without a row rewritten, and an edge of the previous release, which
-- looks links up by short_code alone, keeps finding them: the unique
-- index that replaces short_code's own leads with short_code.
CREATE TABLE domains (
    host          text PRIMARY KEY CHECK (host = lower(host) AND length(host) BETWEEN 1 AND 253),
    not_found_url text,
    root_url      text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE urls ADD COLUMN domain text REFERENCES domains (host);
-- Codes are unique per domain. The index takes the old constraint's name,
-- which the store turns into a conflict on short_code.
CREATE UNIQUE INDEX urls_short_code_domain_idx ON urls (short_code, coalesce(domain, ''));
ALTER TABLE urls DROP CONSTRAINT urls_short_code_key;
ALTER INDEX urls_short_code_domain_idx RENAME TO urls_short_code_key;
CREATE INDEX urls_domain_idx ON urls (domain) WHERE domain IS NOT NULL;
