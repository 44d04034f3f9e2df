-- A link's version orders its writes. The origin copies each write to Redis
-- after the commit, and two writes of one link (an update racing a delete,
-- say) can reach Redis in either order; Redis keeps an entry only over an
-- older version, so the last commit wins there as it does here.
--
-- One sequence for all links, not a counter per row: a deleted code's
-- tombstone must lose to a link created later under the same code.
-- A value is drawn with the row locked (UPDATE after SELECT FOR UPDATE,
-- DELETE ... RETURNING), so writes of one row get versions in commit order.
CREATE SEQUENCE link_versions;
ALTER TABLE urls ADD COLUMN version bigint NOT NULL DEFAULT nextval('link_versions');
