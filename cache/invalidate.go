package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
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
func (c *Client) StoreLinks(ctx context.Context, links ...rebound.Link) error {
	if len(links) == 0 {
		return nil
	}
	pipe := c.rdb.Pipeline()
	c.queueLinks(ctx, pipe, links)
	codes := make([]string, len(links))
	for i, l := range links {
		codes[i] = l.ShortCode
	}
	pipe.Publish(ctx, c.channel(), invalidation(codes))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("write through and invalidate %d links: %w", len(links), err)
	}
	return nil
}

// StoreAbsent is StoreLinks for a code that names no link any more: it
// remembers that for the negative TTL.
func (c *Client) StoreAbsent(ctx context.Context, code string) error {
	pipe := c.rdb.Pipeline()
	pipe.Set(ctx, c.linkKey(code), absent, c.negTTL)
	pipe.Publish(ctx, c.channel(), code)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("mark %q absent and invalidate: %w", code, err)
	}
	return nil
}

// Invalidator is what an edge does with invalidation messages.
type Invalidator interface {
	// Invalidate drops one code from the in-process tier.
	Invalidate(code string)
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
