-- Analytics (SPEC 11).
--
-- Raw clicks move to a table partitioned by UTC day, so that retention
-- drops whole partitions instead of deleting rows. A click carries the
-- dimensions the edge derived (no IP address, no User-Agent) and the id of
-- its "click" event: GET /events reads click events from here rather than
-- from a second row per click in events. (edge_id, seq) still makes a
-- redelivered click a no-op; the partition key must be part of a unique
-- key, and a click redelivered has the same time, so it meets itself.
ALTER TABLE clicks RENAME TO clicks_before_analytics;
ALTER TABLE clicks_before_analytics RENAME CONSTRAINT clicks_pkey TO clicks_before_analytics_pkey;
ALTER INDEX clicks_url_at_idx RENAME TO clicks_before_analytics_url_at_idx;
CREATE TABLE clicks (
    edge_id      bigint NOT NULL,
    seq          bigint NOT NULL,
    url_id       bigint NOT NULL,
    at           timestamptz NOT NULL,
    event_id     bigint,           -- NULL: the click's event is a row of events
    user_id      bigint,           -- the link's owner when clicked, as its event names
    rule         smallint NOT NULL DEFAULT -1,
    bot          boolean NOT NULL DEFAULT false,
    qr           boolean NOT NULL DEFAULT false,
    referrer     text NOT NULL DEFAULT '',
    country      text NOT NULL DEFAULT '',
    device       text NOT NULL DEFAULT '',
    browser      text NOT NULL DEFAULT '',
    os           text NOT NULL DEFAULT '',
    utm_source   text NOT NULL DEFAULT '',
    utm_medium   text NOT NULL DEFAULT '',
    utm_campaign text NOT NULL DEFAULT '',
    PRIMARY KEY (edge_id, seq, at)
) PARTITION BY RANGE (at);
CREATE INDEX clicks_url_at_idx ON clicks (url_id, at);
CREATE INDEX clicks_event_id_idx ON clicks (event_id);

-- Per UTC hour: each link's clicks (dimension 0, the total, key ''), and
-- every link's (url_id 0) per dimension, numbered as rebound.Dimension
-- says. Hourly rows per link and dimension would add a dozen rows to each
-- click of a link clicked once an hour; hourly groups of one link are read
-- from the raw clicks instead. Kept forever.
CREATE TABLE click_rollups (
    url_id bigint NOT NULL,
    dim    smallint NOT NULL,
    hour   timestamptz NOT NULL,
    key    text NOT NULL,
    clicks bigint NOT NULL,
    PRIMARY KEY (url_id, dim, hour, key)
);

-- Per UTC day (day: its midnight), link (url_id 0: every link) and
-- dimension: what daily and monthly stats read. Kept forever.
CREATE TABLE click_rollups_daily (
    url_id bigint NOT NULL,
    dim    smallint NOT NULL,
    day    timestamptz NOT NULL,
    key    text NOT NULL,
    clicks bigint NOT NULL,
    PRIMARY KEY (url_id, dim, day, key)
);

-- The clicks stored so far: one partition per day they fall on, and their
-- rollups (what they recorded: total, referrer, rule, bot).
DO $$
DECLARE d date;
BEGIN
    FOR d IN SELECT DISTINCT (at AT TIME ZONE 'UTC')::date FROM clicks_before_analytics LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF clicks FOR VALUES FROM (%L) TO (%L)',
            'clicks_' || to_char(d, 'YYYYMMDD'), d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
    END LOOP;
END $$;
INSERT INTO clicks (edge_id, seq, url_id, at, rule, bot, referrer)
    SELECT edge_id, seq, url_id, at, rule, bot, referrer FROM clicks_before_analytics;
CREATE TEMPORARY TABLE clicks_grouped AS
    SELECT url_id, date_trunc('hour', at, 'UTC') AS h, referrer, rule, bot, count(*) AS n
    FROM clicks_before_analytics GROUP BY 1, 2, 3, 4, 5;
-- By the hour: each link's total, and every link's (url_id 0) dimensions.
INSERT INTO click_rollups (url_id, dim, hour, key, clicks)
    SELECT u, d, h, k, sum(n) FROM clicks_grouped c
    CROSS JOIN LATERAL (VALUES (c.url_id), (0::bigint)) AS l(u)
    CROSS JOIN LATERAL (VALUES
        (0::smallint, ''),
        (1::smallint, CASE WHEN c.referrer = '' THEN 'direct' ELSE c.referrer END),
        (6::smallint, CASE WHEN c.rule < 0 THEN 'default' ELSE c.rule::text END),
        (10::smallint, c.bot::text)) AS x(d, k)
    WHERE u = 0 OR d = 0
    GROUP BY 1, 2, 3, 4;
-- By the day: every dimension, per link and over every link.
INSERT INTO click_rollups_daily (url_id, dim, day, key, clicks)
    SELECT u, d, date_trunc('day', h, 'UTC'), k, sum(n) FROM clicks_grouped c
    CROSS JOIN LATERAL (VALUES (c.url_id), (0::bigint)) AS l(u)
    CROSS JOIN LATERAL (VALUES
        (0::smallint, ''),
        (1::smallint, CASE WHEN c.referrer = '' THEN 'direct' ELSE c.referrer END),
        (6::smallint, CASE WHEN c.rule < 0 THEN 'default' ELSE c.rule::text END),
        (10::smallint, c.bot::text)) AS x(d, k)
    GROUP BY 1, 2, 3, 4;
DROP TABLE clicks_grouped;
DROP TABLE clicks_before_analytics;
