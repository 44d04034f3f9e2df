package geoip_test

import (
	"net/netip"
	"testing"

	"github.com/reboundhq/rebound/internal/geoip"
	"github.com/reboundhq/rebound/internal/geoip/geoiptest"
)

func TestCountry(t *testing.T) {
	db := geoiptest.Open(t, map[string]string{"203.0.113.0/24": "FR", "2001:db8::/32": "JP"})
	for addr, want := range map[string]string{"203.0.113.7": "FR", "2001:db8::1": "JP", "198.51.100.1": ""} {
		if got := db.Country(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Country(%s) = %q, want %q", addr, got, want)
		}
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := geoip.Open(t.TempDir() + "/none.mmdb"); err == nil {
		t.Fatal("opened a database that does not exist")
	}
}
