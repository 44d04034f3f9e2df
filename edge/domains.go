package edge

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
)

// domainConf is one domain as the edge answers it, prepared once.
type domainConf struct {
	keyPrefix []byte // "host/": the start of its links' keys (rebound.LinkKey)
	notFound  []byte // Location for unknown and gone codes; nil: the 404 JSON
	root      []byte // Location for GET /; nil: the 404 JSON
}

// domainSet is the domains an edge knows, by lower-case host.
type domainSet map[string]*domainConf

// domainTable holds the edge's current domains, replaced whole on each
// reload, so requests read it with one atomic load and no lock. Until the
// first load succeeds it is nil: a request whose host is not the default
// domain's cannot be told apart from another domain's and is answered 503.
type domainTable struct {
	set         atomic.Pointer[domainSet]
	defaultHost string // REBOUND_PUBLIC_URL's host; "" takes every host for it until loaded
	store       Store
	cache       *cache.Client
	log         *slog.Logger
	kick        chan struct{} // a reload is asked for (capacity 1)
}

// domainRefresh is how often an edge reads the domains again even without
// being told: a change whose message a dead Redis lost is picked up then.
const domainRefresh = 30 * time.Second

func newDomainTable(defaultHost string, store Store, c *cache.Client, log *slog.Logger) *domainTable {
	return &domainTable{defaultHost: defaultHost, store: store, cache: c, log: log, kick: make(chan struct{}, 1)}
}

// reloadSoon asks the reload loop to read the domains again.
func (t *domainTable) reloadSoon() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// run loads the domains, then reloads them when asked and every
// domainRefresh, until ctx ends. A failed load is retried every second.
func (t *domainTable) run(ctx context.Context) {
	tick := time.NewTicker(domainRefresh)
	defer tick.Stop()
	for {
		if err := t.load(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("reading domains failed; will retry", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-t.kick:
		}
	}
}

// load reads every domain from Postgres, or from Redis's copy while
// Postgres fails, and installs them.
func (t *domainTable) load(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ds, err := t.store.Domains(ctx)
	if err != nil {
		var ok bool
		var cerr error
		if ds, ok, cerr = t.cache.Domains(ctx); cerr != nil || !ok {
			return errors.Join(err, cerr)
		}
	}
	set := make(domainSet, len(ds))
	for _, d := range ds {
		c := &domainConf{keyPrefix: []byte(d.Host + rebound.KeySeparator)}
		if d.NotFoundURL != nil {
			c.notFound = []byte(*d.NotFoundURL)
		}
		if d.RootURL != nil {
			c.root = []byte(*d.RootURL)
		}
		set[d.Host] = c
	}
	t.set.Store(&set)
	return nil
}

// lookup returns the domain a request's Host header names: nil for the
// default domain (its own host, or a host no domain has). ok is false when
// the domains are not loaded yet and host is not the default's.
func (t *domainTable) lookup(hostHeader []byte) (*domainConf, bool) {
	var buf [rebound.MaxHostLen]byte
	host, fits := canonicalHost(buf[:0], hostHeader)
	set := t.set.Load()
	if set == nil {
		return nil, t.defaultHost == "" || string(host) == t.defaultHost
	}
	if !fits {
		return nil, true
	}
	return (*set)[string(host)], true // the conversion in a map index does not allocate
}

// canonicalHost appends host without its port and trailing dot, lower-cased,
// to dst (which has room for MaxHostLen bytes); fits is false for a host too
// long to be a domain's.
func canonicalHost(dst, host []byte) ([]byte, bool) {
	if i := lastColon(host); i >= 0 {
		host = host[:i]
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	if len(host) > cap(dst) {
		return dst, false
	}
	for _, c := range host {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}

// lastColon is the index of the port's colon in a Host value, -1 without
// one; an IPv6 literal's colons are inside brackets.
func lastColon(h []byte) int {
	for i := len(h) - 1; i >= 0; i-- {
		switch h[i] {
		case ':':
			return i
		case ']':
			return -1
		}
	}
	return -1
}
