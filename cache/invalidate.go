package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reboundhq/rebound"
)

// codeSeparator separates the codes of one invalidation message.
const codeSeparator = "\n"

// invalidation is the message that invalidates codes; Subscribe splits it.
func invalidation(codes []string) string { return strings.Join(codes, codeSeparator) }

// StoreLinks writes links' entries through and, in the same round trip,
// tells every edge to drop its in-process copies of them. An API write waits
// for this before it answers, so it is one round trip rather than two.
//
// An entry is written only over an older version of its code (storeScript),
// so of two racing writes of one link the later commit stays in Redis
// whichever reaches Redis last. The edges are told either way.
func (c *Client) StoreLinks(ctx context.Context, links ...rebound.Link) error {
	if err := c.store(ctx, links, nil); err != nil {
		return fmt.Errorf("write through and invalidate %d links: %w", len(links), err)
	}
	return nil
}

// StoreAbsent is StoreLinks for a code that names no link any more (deleted,
// or renamed away) since the write of the given version: it remembers that
// for the negative TTL, unless Redis holds a newer version of the code (a
// link created under it since).
func (c *Client) StoreAbsent(ctx context.Context, code string, version int64) error {
	if err := c.store(ctx, nil, map[string]int64{code: version}); err != nil {
		return fmt.Errorf("mark %q absent and invalidate: %w", code, err)
	}
	return nil
}

// Store is StoreLinks and StoreAbsent at once, for a batch of codes: links
// are written through, each code of gone is marked absent as of its
// version, and the edges are told about all of them, in one round trip.
// The origin re-syncs what Postgres holds for many codes this way.
func (c *Client) Store(ctx context.Context, links []rebound.Link, gone map[string]int64) error {
	if err := c.store(ctx, links, gone); err != nil {
		return fmt.Errorf("write through %d links, mark %d codes absent and invalidate: %w", len(links), len(gone), err)
	}
	return nil
}

func (c *Client) store(ctx context.Context, links []rebound.Link, gone map[string]int64) error {
	if len(links) == 0 && len(gone) == 0 {
		return nil
	}
	codes := make([]string, 0, len(links)+len(gone))
	for _, l := range links {
		codes = append(codes, l.Key())
	}
	for code := range gone {
		codes = append(codes, code)
	}
	return c.execStore(ctx, func(pipe redis.Pipeliner) {
		for _, l := range links {
			c.queueStore(ctx, pipe, l.Key(), l.Version, EntryOf(l).Marshal(), c.linkTTL)
		}
		for code, version := range gone {
			c.queueStore(ctx, pipe, code, version, absent+"|"+strconv.FormatInt(version, 10), c.negTTL)
		}
		pipe.Publish(ctx, c.channel(), invalidation(codes))
	})
}

// storeScript sets a link's key (KEYS[1]) to a value (ARGV[2]) with a TTL in
// milliseconds (ARGV[3]) unless the key holds a newer version than ARGV[1]:
// an entry "3|version|...", or a tombstone "-|version" (the patterns are
// built from entryFormat and absent, so they follow the encoding). Entries
// of format 2, and the bare "-" of a fill, have no version and are always
// replaced.
var storeScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
	local v = string.match(cur, '^` + entryFormat + `|(%d+)|') or string.match(cur, '^%` + absent + `|(%d+)$')
	if v and tonumber(v) > tonumber(ARGV[1]) then
		return 0
	end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

// queueStore adds one storeScript call to pipe.
func (c *Client) queueStore(ctx context.Context, pipe redis.Pipeliner, code string, version int64, value any, ttl time.Duration) {
	storeScript.EvalSha(ctx, pipe, []string{c.linkKey(code)}, version, value, ttl.Milliseconds())
}

// execStore runs a pipeline that queue fills with storeScript calls. Redis
// forgets scripts when it restarts and a new cluster node starts without
// them, so on NOSCRIPT it loads the script and runs the pipeline once more:
// every call in it can run twice (a write repeated, an edge told twice).
func (c *Client) execStore(ctx context.Context, queue func(redis.Pipeliner)) error {
	for loaded := false; ; loaded = true {
		pipe := c.rdb.Pipeline()
		queue(pipe)
		_, err := pipe.Exec(ctx)
		if loaded || !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return err
		}
		if err := storeScript.Load(ctx, c.rdb).Err(); err != nil {
			return fmt.Errorf("load the store script: %w", err)
		}
	}
}

// Invalidator is what an edge does with invalidation messages.
type Invalidator interface {
	// Invalidate drops one link key from the in-process tier.
	Invalidate(code string)
	// DomainsChanged says that a domain was added, changed or deleted.
	DomainsChanged()
	// InvalidateAll drops every entry: when the subscription comes back,
	// since messages sent meanwhile were missed.
	InvalidateAll()
	// SubscriptionChanged reports whether messages are being received.
	SubscriptionChanged(live bool)
}

// subscriptionProbe is how long a quiet subscription waits before it pings
// Redis to learn that the connection is still alive.
const subscriptionProbe = time.Second

// Subscribe delivers invalidation messages to inv until ctx ends. It notices
// a lost connection within about two probe intervals, reports it, and keeps
// reconnecting.
func (c *Client) Subscribe(ctx context.Context, inv Invalidator) {
	live := false
	setLive := func(v bool) {
		if v != live {
			live = v
			if v {
				inv.InvalidateAll()
			}
			inv.SubscriptionChanged(v)
		}
	}
	for ctx.Err() == nil {
		ps := c.rdb.Subscribe(ctx, c.channel())
		c.receive(ctx, ps, inv, setLive)
		_ = ps.Close()
		setLive(false)
		sleep(ctx, 200*time.Millisecond)
	}
}

// receive reads one connection's messages until it fails.
func (c *Client) receive(ctx context.Context, ps *redis.PubSub, inv Invalidator, setLive func(bool)) {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, subscriptionProbe)
		if err != nil {
			var ne net.Error
			if ctx.Err() != nil || !errors.As(err, &ne) || !ne.Timeout() || pinged {
				return
			}
			if err := ps.Ping(ctx); err != nil {
				return
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				setLive(true)
			}
		case *redis.Message:
			if m.Payload == domainsChanged {
				inv.DomainsChanged()
				continue
			}
			for _, code := range strings.Split(m.Payload, codeSeparator) {
				inv.Invalidate(code)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
