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
// X-Forwarded-For header xff: peer itself unless peer is trusted, else the
// nearest entry of xff that is not a trusted proxy (entries further left
// are the client's to forge, and ignored). It does not allocate.
func (t Trusted) Client(peer netip.Addr, xff []byte) netip.Addr {
	if len(xff) == 0 || !t.Contains(peer) {
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
