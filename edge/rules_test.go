package edge_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/geoip/geoiptest"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

const (
	uaIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	uaAndroid = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
	uaDesktop = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
)

func parseRules(t testing.TB, js string) []rebound.Rule {
	t.Helper()
	rules, err := rebound.ParseRules(json.RawMessage(js), rebound.ShortURLBase{}.ValidateOriginalURL)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// TestRuleRedirects: a link's rules choose the target per request, from
// the in-process tier and from Redis alike; such redirects are private,
// uncached and say what they varied on; clicks record the rule.
func TestRuleRedirects(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, CountryHeader: "CF-IPCountry",
	}})
	l := h.link(postgres.NewLink{ShortCode: "app", OriginalURL: "https://example.com/app", IsActive: true, ForwardQuery: true,
		Rules: parseRules(t, `[
			{"if":[{"type":"device","is":"ios"}],"to":"https://apps.apple.com/app"},
			{"if":[{"type":"device","is":"android"}],"to":"https://play.google.com/app"},
			{"if":[{"type":"language","is":"fr"}],"to":"https://example.com/fr"},
			{"if":[{"type":"query","name":"src","value":"mail"}],"to":"https://example.com/mail"},
			{"if":[{"type":"country","is":"DE"}],"to":"https://example.com/de"}]`)})
	cases := []struct {
		name, path, location, vary string
		headers                    []string
		rule                       int
	}{
		{"iPhone", "/app", "https://apps.apple.com/app", "User-Agent", []string{"User-Agent", uaIPhone}, 0},
		{"Android", "/app", "https://play.google.com/app", "User-Agent", []string{"User-Agent", uaAndroid}, 1},
		{"French desktop", "/app", "https://example.com/fr", "User-Agent, Accept-Language",
			[]string{"User-Agent", uaDesktop, "Accept-Language", "fr-FR,fr;q=0.9,en;q=0.8"}, 2},
		{"campaign, query forwarded", "/app?src=mail", "https://example.com/mail?src=mail", "User-Agent, Accept-Language",
			[]string{"User-Agent", uaDesktop, "Accept-Language", "en"}, 3},
		{"country from the trusted proxy", "/app", "https://example.com/de", "User-Agent, Accept-Language, CF-IPCountry",
			[]string{"User-Agent", uaDesktop, "CF-IPCountry", "de"}, 4},
		{"no rule holds", "/app", "https://example.com/app", "User-Agent, Accept-Language, CF-IPCountry",
			[]string{"User-Agent", uaDesktop}, -1},
	}
	for round := range 2 { // from Postgres and Redis, then from the in-process tier
		for _, c := range cases {
			a := h.get(c.path, c.headers...)
			if a.status != 302 || a.header.Get("Location") != c.location || a.header.Get("Cache-Control") != "private, max-age=0" ||
				a.header.Get("Vary") != c.vary {
				t.Fatalf("round %d, %s: %d %q %q vary %q", round, c.name, a.status, a.header.Get("Location"),
					a.header.Get("Cache-Control"), a.header.Get("Vary"))
			}
		}
	}
	want := map[int]int64{}
	for _, c := range cases {
		want[c.rule] += 2
	}
	// Stored as the origin stores them: from the click stream to Postgres.
	ctx := context.Background()
	if err := h.cache.EnsureClickGroup(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, "clicks per rule stored", func() bool {
		batches, err := h.cache.ReadClicks(ctx, "test", "c1", 100, 10*time.Millisecond, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			if _, err := h.db.RecordClicks(ctx, b.Clicks); err != nil {
				t.Fatal(err)
			}
		}
		s, err := h.db.LinkStats(ctx, l.ID)
		if err != nil || len(s.Rules) != len(want) {
			return false
		}
		for _, r := range s.Rules {
			if want[r.Rule] != r.Clicks {
				return false
			}
		}
		return true
	})
}

// TestCountryFromGeoIP: without a trusted proxy's header the country comes
// from the GeoIP database; an untrusted peer's header is ignored.
func TestCountryFromGeoIP(t *testing.T) {
	db := geoiptest.Open(t, map[string]string{"127.0.0.0/8": "FR"})
	h := newHarness(t, harnessOpts{edge: edge.Options{CountryHeader: "CF-IPCountry", Countries: db}})
	h.link(postgres.NewLink{ShortCode: "geo", OriginalURL: "https://example.com/", IsActive: true,
		Rules: parseRules(t, `[{"if":[{"type":"country","is":"DE"}],"to":"https://example.com/de"},
			{"if":[{"type":"country","is":"FR"}],"to":"https://example.com/fr"}]`)})
	// 127.0.0.1 is not a trusted proxy: its CF-IPCountry is not believed.
	if a := h.get("/geo", "CF-IPCountry", "DE"); a.header.Get("Location") != "https://example.com/fr" {
		t.Fatalf("GeoIP country: %d %q", a.status, a.header.Get("Location"))
	}
}

// TestLinksWithoutRulesUnchanged: a link without rules answers exactly as
// before rules: its own Cache-Control and no Vary.
func TestLinksWithoutRulesUnchanged(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.link(postgres.NewLink{ShortCode: "plainr", OriginalURL: "https://example.com/a", IsActive: true})
	a := h.get("/plainr", "User-Agent", uaIPhone)
	if a.header.Get("Cache-Control") != "private, max-age=90" || a.header.Get("Vary") != "" {
		t.Fatalf("%q %q", a.header.Get("Cache-Control"), a.header.Get("Vary"))
	}
}
