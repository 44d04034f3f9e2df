// Package cache is Rebound's Redis layer: the key schema, link entries written
// through by the origin and read by the edges, negative entries for unknown
// codes, the invalidation channel that keeps every edge's in-process tier
// coherent, per-link click counters for max_clicks, and the click stream.
//
// Keys (P is the configured prefix; every key holds one code or one link, so
// the schema works unchanged on a Redis Cluster):
//
//	P l:{key}     link entry, or "-" for a code known not to exist; key is
//	              rebound.LinkKey: the code on the default domain, "host/code"
//	              on another
//	P n:{id}      clicks counted so far for a link with max_clicks
//	P domains     every domain, as JSON, for edges to read at start
//	P inval       pub/sub channel: the keys whose entries changed, one a line,
//	              or "*domains" when the domains changed
//	P clicks      stream of click batches from the edges to the origin
package cache

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options tunes a Client. The zero value works.
type Options struct {
	Prefix      string        // default "rb:"
	LinkTTL     time.Duration // default 24h
	NegativeTTL time.Duration // default 5s
}

// Client reads and writes Rebound's keys. It is safe for concurrent use.
type Client struct {
	rdb        redis.UniversalClient
	prefix     string
	linkTTL    time.Duration
	negTTL     time.Duration
	encodeBufs sync.Pool // *[]byte scratch buffers of AddClicks
}

// New wraps a Redis client (single node or cluster).
func New(rdb redis.UniversalClient, opts Options) *Client {
	c := &Client{rdb: rdb, prefix: opts.Prefix, linkTTL: opts.LinkTTL, negTTL: opts.NegativeTTL}
	if c.prefix == "" {
		c.prefix = "rb:"
	}
	if c.linkTTL <= 0 {
		c.linkTTL = 24 * time.Hour
	}
	if c.negTTL <= 0 {
		c.negTTL = 5 * time.Second
	}
	return c
}

// Redis returns the underlying client, for health checks and metrics.
func (c *Client) Redis() redis.UniversalClient { return c.rdb }

// Dial builds a Redis client for REDIS_URL, or for a cluster when
// clusterAddrs is not empty. Every command has a short deadline so that a
// dead Redis makes callers fall back instead of hang, and a caller's context
// deadline, when shorter, bounds the command too: go-redis ignores context
// deadlines on the socket unless ContextTimeoutEnabled is set, so the edge's
// 250 ms lookups took the 500 ms read timeout on a Redis that stopped
// answering (measured in edge.TestRedisSlow). It speaks RESP2:
// Rebound uses no RESP3 feature, and go-redis checks every RESP3 reply for
// pending push notifications, which profiling showed costs a few percent of
// the edge's lookups.
func Dial(redisURL string, clusterAddrs []string) (redis.UniversalClient, error) {
	const (
		dialTimeout = time.Second
		ioTimeout   = 500 * time.Millisecond
	)
	if len(clusterAddrs) > 0 {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: clusterAddrs, DialTimeout: dialTimeout, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout,
			PoolTimeout: time.Second, MaxRetries: 1, Protocol: 2, ContextTimeoutEnabled: true,
		}), nil
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		// net/url's error quotes the whole URL, password included: keep
		// only what is wrong with it, as pgx does for DATABASE_URL.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = dialTimeout, ioTimeout, ioTimeout
	opt.PoolTimeout, opt.MaxRetries, opt.Protocol = time.Second, 1, 2
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

func (c *Client) linkKey(code string) string { return c.prefix + "l:{" + code + "}" }
func (c *Client) countKey(id int64) string   { return fmt.Sprintf("%sn:{%d}", c.prefix, id) }
func (c *Client) channel() string            { return c.prefix + "inval" }
func (c *Client) domainsKey() string         { return c.prefix + "domains" }
func (c *Client) streamKey() string          { return c.prefix + "clicks" }
func isNil(err error) bool                   { return errors.Is(err, redis.Nil) }
