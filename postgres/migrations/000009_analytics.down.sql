CREATE TABLE clicks_flat (
    edge_id  bigint NOT NULL,
    seq      bigint NOT NULL,
    url_id   bigint NOT NULL,
    at       timestamptz NOT NULL,
    referrer text NOT NULL DEFAULT '',
    bot      boolean NOT NULL DEFAULT false,
    rule     smallint NOT NULL DEFAULT -1,
    PRIMARY KEY (edge_id, seq)
);
INSERT INTO clicks_flat SELECT edge_id, seq, url_id, at, referrer, bot, rule FROM clicks ON CONFLICT DO NOTHING;
-- Click events served from clicks become rows of events again.
INSERT INTO events (id, url_id, user_id, event_type, timestamp, details)
    SELECT event_id, url_id, user_id, 'click', at, jsonb_build_object('referrer', referrer, 'bot', bot)
    FROM clicks WHERE event_id IS NOT NULL;
DROP TABLE clicks;
ALTER TABLE clicks_flat RENAME TO clicks;
ALTER INDEX clicks_flat_pkey RENAME TO clicks_pkey;
CREATE INDEX clicks_url_at_idx ON clicks (url_id, at);
DROP TABLE click_rollups, click_rollups_daily;
