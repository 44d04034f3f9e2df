package cache

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/reboundhq/rebound"
)

// domainsChanged is the invalidation message that tells edges to read the
// domains again (Invalidator.DomainsChanged). No link key holds '*'.
const domainsChanged = "*domains"

// StoreDomains writes every domain to Redis and tells the edges, in one
// round trip. The origin calls it after each change of a domain.
func (c *Client) StoreDomains(ctx context.Context, domains []rebound.Domain) error {
	b, err := json.Marshal(domains)
	if err != nil {
		return fmt.Errorf("encode domains: %w", err)
	}
	pipe := c.rdb.Pipeline()
	pipe.Set(ctx, c.domainsKey(), b, 0)
	pipe.Publish(ctx, c.channel(), domainsChanged)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("write %d domains and tell the edges: %w", len(domains), err)
	}
	return nil
}

// Domains returns the domains Redis holds, and false when it holds none
// (then the caller asks Postgres).
func (c *Client) Domains(ctx context.Context) ([]rebound.Domain, bool, error) {
	b, err := c.rdb.Get(ctx, c.domainsKey()).Bytes()
	if isNil(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read domains: %w", err)
	}
	var out []rebound.Domain
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, false, nil // corrupt: ask Postgres
	}
	return out, true, nil
}
