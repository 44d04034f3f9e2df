// Package clientaddr tells which client sent a request: the peer, or the
// address a trusted proxy in front of it names in X-Forwarded-For. The edge
// (per-client rate limit) and the origin (failed-authentication limit) read
// clients the same way.
package clientaddr

import (
	"bytes"
	"net/netip"
	"unsafe"
)

// Trusted is the proxies (REBOUND_TRUSTED_PROXIES) whose X-Forwarded-For is
// believed.
type Trusted []netip.Prefix

// Contains reports whether a is a trusted proxy.
func (t Trusted) Contains(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client of a request from peer carrying the
// X-Forwarded-For header xff: peer itself unless peer is trusted, else
// Forwarded's answer.
func (t Trusted) Client(peer netip.Addr, xff []byte) netip.Addr {
	if len(xff) == 0 || !t.Contains(peer) {
		return peer
	}
	return t.Forwarded(peer, xff)
}

// Forwarded returns the nearest entry of xff, sent by the trusted proxy
// peer, that is not a trusted proxy itself (entries further left are the
// client's to forge, and ignored); peer when there is none. It does not
// allocate. The caller has checked that peer is trusted: the edge knows it
// once per connection.
func (t Trusted) Forwarded(peer netip.Addr, xff []byte) netip.Addr {
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
		a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(part), len(part)))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !t.Contains(client) {
			break
		}
	}
	return client
}
