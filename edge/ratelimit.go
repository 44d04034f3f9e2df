package edge

import (
	"net"
	"net/netip"
	"strconv"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"

	"github.com/reboundhq/rebound/internal/clientaddr"
)

// limiter is the per-client token bucket. It remembers at most a fixed number
// of clients, forgetting the least recently seen, so a flood of distinct
// addresses costs bounded memory (a forgotten client's new connections start
// a fresh bucket; see peerLimit).
type limiter struct {
	rate       rate.Limit
	burst      int
	clients    *lru.Cache[netip.Addr, *rate.Limiter]
	trusted    clientaddr.Trusted
	retryAfter []byte
}

func newLimiter(perSecond float64, burst, maxClients int, trusted []netip.Prefix) *limiter {
	if perSecond <= 0 {
		return nil
	}
	clients, _ := lru.New[netip.Addr, *rate.Limiter](maxClients) // size is validated > 0 by config
	wait := int(1/perSecond) + 1
	return &limiter{rate: rate.Limit(perSecond), burst: burst, clients: clients, trusted: trusted,
		retryAfter: []byte(strconv.Itoa(wait))}
}

// bucket returns the client's token bucket, creating it on first sight.
func (l *limiter) bucket(client netip.Addr) *rate.Limiter {
	if lim, ok := l.clients.Get(client); ok {
		return lim
	}
	lim := rate.NewLimiter(l.rate, l.burst)
	if prev, ok, _ := l.clients.PeekOrAdd(client, lim); ok {
		return prev // another request created it meanwhile
	}
	return lim
}

// peerLimit is what a connection remembers of its peer for the limiter. A
// connection's peer never changes, so its bucket is looked up in the table
// of clients once per connection: the table is one lock, and a write to
// its recency list, that every request on every core would take otherwise
// (make ab measured the gain at a few percent at most, inside the noise;
// docs/capacity.md). Only the goroutine serving the connection touches it.
type peerLimit struct {
	addr    netip.Addr
	trusted bool          // a trusted proxy: X-Forwarded-For names the client
	known   bool          // addr and trusted are set
	bucket  *rate.Limiter // the peer's own; nil until its first request
}

// learn sets the peer's address and whether it is a trusted proxy, once.
func (p *peerLimit) learn(ctx *fasthttp.RequestCtx, trusted clientaddr.Trusted) {
	if !p.known {
		p.addr = peerAddr(ctx.RemoteIP())
		p.trusted = trusted.Contains(p.addr)
		p.known = true
	}
}

// client returns the request's client (the peer, or whom a trusted proxy
// names) and whether the peer is a trusted proxy, as allow reads them.
func client(ctx *fasthttp.RequestCtx, trusted clientaddr.Trusted) (netip.Addr, bool) {
	var own peerLimit
	p := &own
	if c, ok := ctx.Conn().(*edgeConn); ok {
		p = &c.peer
	}
	p.learn(ctx, trusted)
	if p.trusted {
		if xff := ctx.Request.Header.PeekBytes(strXFF); len(xff) > 0 {
			return trusted.Forwarded(p.addr, xff), true
		}
	}
	return p.addr, p.trusted
}

// allow takes a token from the bucket of the request's client: the peer's,
// looked up once per connection (peerLimit), unless the peer is a trusted
// proxy that names another client in X-Forwarded-For; so the header is only
// read from trusted proxies. A request that did not come through an edge
// listener (a handler test's RequestCtx) remembers nothing between requests.
// A bucket the table forgot meanwhile stays in use by the connections that
// hold it; new connections of that client start afresh, as a forgotten
// client does.
func (l *limiter) allow(ctx *fasthttp.RequestCtx, now time.Time) bool {
	var own peerLimit
	p := &own
	if c, ok := ctx.Conn().(*edgeConn); ok {
		p = &c.peer
	}
	p.learn(ctx, l.trusted)
	if p.bucket == nil {
		p.bucket = l.bucket(p.addr)
	}
	if p.trusted {
		if xff := ctx.Request.Header.PeekBytes(strXFF); len(xff) > 0 {
			return l.bucket(l.trusted.Forwarded(p.addr, xff)).AllowN(now, 1)
		}
	}
	return p.bucket.AllowN(now, 1)
}

func peerAddr(remote net.IP) netip.Addr {
	peer, _ := netip.AddrFromSlice(remote)
	return peer.Unmap()
}
