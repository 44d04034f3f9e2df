package cache

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/reboundhq/rebound"
)

// State says what Redis knows of a code.
type State uint8

// The answers of a lookup.
const (
	Miss   State = iota // Redis has no entry: ask Postgres
	Found               // Entry holds the link
	Absent              // the code is known not to exist
)

// Lookup is the answer for one code.
type Lookup struct {
	State State
	Entry Entry
}

// GetLinks looks up many codes in one round trip: one MGET on a single
// Redis, a pipeline of GETs (split per node) on a cluster, where the keys of
// one MGET would have to share a slot. out must have the length of codes.
func (c *Client) GetLinks(ctx context.Context, codes []string, out []Lookup) error {
	if _, single := c.rdb.(*redis.Client); single {
		return c.mgetLinks(ctx, codes, out)
	}
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(codes))
	for i, code := range codes {
		cmds[i] = pipe.Get(ctx, c.linkKey(code))
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return fmt.Errorf("get %d links: %w", len(codes), err)
	}
	for i, cmd := range cmds {
		v, err := cmd.Result()
		switch {
		case isNil(err):
			out[i] = Lookup{State: Miss}
		case err != nil:
			return fmt.Errorf("get link %q: %w", codes[i], err)
		default:
			out[i] = lookupOf(v)
		}
	}
	return nil
}

// mgetLinks is GetLinks with one MGET: one command and one reply for the
// batch instead of one each per code.
func (c *Client) mgetLinks(ctx context.Context, codes []string, out []Lookup) error {
	keys := make([]string, len(codes))
	for i, code := range codes {
		keys[i] = c.linkKey(code)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return fmt.Errorf("get %d links: %w", len(codes), err)
	}
	if len(vals) != len(codes) {
		return fmt.Errorf("get %d links: %d answers", len(codes), len(vals))
	}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[i] = lookupOf(s)
		} else {
			out[i] = Lookup{State: Miss}
		}
	}
	return nil
}

// lookupOf decodes a stored value. A corrupt entry is a miss: Postgres will
// rewrite it.
func lookupOf(v string) Lookup {
	if len(v) > 0 && v[0] == absent[0] { // "-" or a tombstone "-|version"; entries begin with a digit
		return Lookup{State: Absent}
	}
	e, err := unmarshalEntry(v)
	if err != nil {
		return Lookup{State: Miss}
	}
	return Lookup{State: Found, Entry: e}
}

// PutLinks writes many links' entries in one pipeline, without telling the
// edges, which keep any copy they hold until it expires (seeding a cache,
// say). A change to a link goes through StoreLinks instead.
func (c *Client) PutLinks(ctx context.Context, links []rebound.Link) error {
	pipe := c.rdb.Pipeline()
	for _, l := range links {
		pipe.Set(ctx, c.linkKey(l.Key()), EntryOf(l).Marshal(), c.linkTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("write %d links: %w", len(links), err)
	}
	return nil
}

// FillLink stores an entry read from Postgres unless one is already there:
// a fill must never overwrite the newer entry a concurrent write put there.
func (c *Client) FillLink(ctx context.Context, code string, e Entry) error {
	if err := c.rdb.SetNX(ctx, c.linkKey(code), e.Marshal(), c.linkTTL).Err(); err != nil {
		return fmt.Errorf("fill link %q: %w", code, err)
	}
	return nil
}

// FillAbsent remembers for the negative TTL that code names no link, for a
// read-through: unlike StoreAbsent it never overwrites an entry and tells no
// edge.
func (c *Client) FillAbsent(ctx context.Context, code string) error {
	if err := c.rdb.SetNX(ctx, c.linkKey(code), absent, c.negTTL).Err(); err != nil {
		return fmt.Errorf("fill absent %q: %w", code, err)
	}
	return nil
}

// CountClick adds one to a limited link's click counter and returns the new
// count. The counter lives as long as link entries do.
func (c *Client) CountClick(ctx context.Context, id int64) (int64, error) {
	key := c.countKey(id)
	pipe := c.rdb.Pipeline()
	incr := pipe.Incr(ctx, key)
	pipe.Expire(ctx, key, c.linkTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("count click of link %d: %w", id, err)
	}
	return incr.Val(), nil
}

// SeedClickCount sets a limited link's counter to n unless it exists, so that
// an edge reading a link from Postgres starts from the clicks stored there.
func (c *Client) SeedClickCount(ctx context.Context, id, n int64) error {
	if err := c.rdb.SetNX(ctx, c.countKey(id), n, c.linkTTL).Err(); err != nil {
		return fmt.Errorf("seed click count of link %d: %w", id, err)
	}
	return nil
}
