package edge

import (
	"bytes"
	"net"
	"net/netip"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// limiter is the per-client token bucket. It remembers at most a fixed number
// of clients, forgetting the least recently seen, so a flood of distinct
// addresses costs bounded memory (a forgotten client starts a fresh bucket).
type limiter struct {
	rate       rate.Limit
	burst      int
	clients    *lru.Cache[netip.Addr, *rate.Limiter]
	trusted    []netip.Prefix
	retryAfter []byte
}

func newLimiter(perSecond float64, burst, maxClients int, trusted []netip.Prefix) *limiter {
	if perSecond <= 0 {
		return nil
	}
	clients, _ := lru.New[netip.Addr, *rate.Limiter](maxClients) // size is validated > 0 by config
	wait := int(1/perSecond) + 1
	return &limiter{rate: rate.Limit(perSecond), burst: burst, clients: clients, trusted: trusted,
		retryAfter: []byte(itoa(wait))}
}

// allow takes a token for the client, creating its bucket on first sight.
func (l *limiter) allow(client netip.Addr, now time.Time) bool {
	lim, ok := l.clients.Get(client)
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.clients.Add(client, lim)
	}
	return lim.AllowN(now, 1)
}

func (l *limiter) isTrusted(a netip.Addr) bool {
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address the limit applies to: the peer, or, when the
// peer is a trusted proxy, the nearest X-Forwarded-For entry that is not a
// trusted proxy (entries further left are client-controlled and ignored).
func (l *limiter) clientAddr(remote net.IP, xff []byte) netip.Addr {
	peer, _ := netip.AddrFromSlice(remote)
	peer = peer.Unmap()
	if len(xff) == 0 || !l.isTrusted(peer) {
		return peer
	}
	client := peer
	for len(xff) > 0 {
		i := bytes.LastIndexByte(xff, ',')
		part := bytes.TrimSpace(xff[i+1:])
		if i < 0 {
			xff = nil
		} else {
			xff = xff[:i]
		}
		// A zone ("%eth0") would make ParseAddr keep a reference to the
		// header bytes; no proxy sends one, so such an entry ends the walk.
		if len(part) == 0 || bytes.IndexByte(part, '%') >= 0 {
			break
		}
		a, err := netip.ParseAddr(b2s(part))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !l.isTrusted(client) {
			break
		}
	}
	return client
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
