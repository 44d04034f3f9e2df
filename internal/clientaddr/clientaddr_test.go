package clientaddr

import (
	"net/netip"
	"testing"
)

func TestClient(t *testing.T) {
	trusted := Trusted{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}
	proxy, outsider := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("198.51.100.7")
	for _, c := range []struct {
		peer netip.Addr
		xff  string
		want string
	}{
		{outsider, "203.0.113.1", "198.51.100.7"},                 // an untrusted peer's header is ignored
		{proxy, "", "10.1.2.3"},                                   // no header: the proxy itself
		{proxy, "203.0.113.1", "203.0.113.1"},                     // the client the proxy names
		{proxy, "1.1.1.1, 203.0.113.1, 192.0.2.1", "203.0.113.1"}, // past a second trusted proxy
		{proxy, "1.1.1.1, not-an-address", "10.1.2.3"},            // garbage ends the walk
		{proxy, "fe80::1%eth0", "10.1.2.3"},                       // a zone ends the walk
		{proxy, "::ffff:203.0.113.1", "203.0.113.1"},              // mapped addresses unmapped
		{proxy, "10.9.9.9, 10.8.8.8", "10.9.9.9"},                 // all trusted: the leftmost
	} {
		if got := trusted.Client(c.peer, []byte(c.xff)); got.String() != c.want {
			t.Errorf("Client(%v, %q) = %v, want %s", c.peer, c.xff, got, c.want)
		}
	}
	xff := []byte("1.1.1.1, 203.0.113.1")
	if n := testing.AllocsPerRun(100, func() { trusted.Client(proxy, xff) }); n != 0 {
		t.Errorf("Client allocates %v times", n)
	}
}
