package systemtest

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/geoip/geoiptest"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/origin"
)

// TestEdgeAndSlowPathChooseAlike sends one table of requests to the edge
// and to the origin's GET /urls/{code}/redirect, configured alike (a
// trusted proxy with a country header, a GeoIP database): both must answer
// the same status, Location, Cache-Control and Vary for each.
func TestEdgeAndSlowPathChooseAlike(t *testing.T) {
	geo := geoiptest.Open(t, map[string]string{"198.51.100.0/24": "JP", "2001:db8::/32": "BR"})
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	s := newSystemWith(t, redisTarget{url: testenv.RedisURL()}, 1,
		edge.Options{TrustedProxies: trusted, CountryHeader: "CF-IPCountry", Countries: geo}, "http://edge",
		func(o *origin.Options) { o.TrustedProxies, o.CountryHeader, o.Countries = trusted, "CF-IPCountry", geo })
	rules := []any{
		rule("https://apps.apple.com/x", cond("device", "is", "ios")),
		rule("https://example.com/tablet", cond("device", "is", "tablet")),
		rule("https://play.google.com/x", cond("device", "is", "android"), cond("browser", "is", "chrome")),
		rule("https://example.com/edge", cond("browser", "is", "edge"), map[string]any{"type": "after", "at": "2020-01-01T00:00:00Z"}),
		rule("https://example.com/pt", cond("language", "is", "pt")),
		rule("https://example.com/fr-ca", cond("language", "is", "fr-ca")),
		rule("https://example.com/mail", map[string]any{"type": "query", "name": "src", "value": "mail"}),
		rule("https://example.com/any-ref", map[string]any{"type": "query", "name": "ref"}),
		rule("https://example.com/jp", cond("country", "is", "JP")),
		rule("https://example.com/de", cond("country", "is", "DE")),
		rule("https://example.com/future", map[string]any{"type": "after", "at": "2999-01-01T00:00:00Z"}),
		rule("https://example.com/half", map[string]any{"type": "split", "percent": 50}),
	}
	st, l := s.api("POST", "/urls", map[string]any{"original_url": "https://example.com/own", "short_code": "same",
		"forward_query": true, "rules": rules})
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, l)
	}
	agents := []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
		"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.56",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"curl/8.5.0", "",
	}
	languages := []string{"", "pt-BR,pt;q=0.9", "fr-CA", "fr", "pt;q=0, en", "en-US"}
	queries := []string{"", "?src=mail", "?src=other&ref", "?ref=x%20y", "?utm=1"}
	countries := []string{"", "JP", "de"}
	clients := []string{"", "198.51.100.7", "2001:db8::5", "203.0.113.9", "192.0.2.44"}
	n, chose := 0, map[string]bool{}
	for i, ua := range agents {
		for j, lang := range languages {
			for k, q := range queries {
				// Countries and clients rotate with the rest, so the table
				// stays a few hundred requests while every value is used.
				country, client := countries[(i+2*j+k)%len(countries)], clients[(i*3+j+k)%len(clients)]
				headers := []string{"User-Agent", ua, "Accept-Language", lang, "CF-IPCountry", country, "X-Forwarded-For", client}
				e := s.get(s.edges[0].url+"/same"+q, headers)
				o := s.get(s.originURL+"/urls/same/redirect"+q, headers)
				if e != o {
					t.Fatalf("UA %q, lang %q, query %q, country %q, client %q:\nedge   %+v\norigin %+v", ua, lang, q, country, client, e, o)
				}
				target, _, _ := strings.Cut(e.location, "?")
				chose[target] = true
				n++
			}
		}
	}
	// Every rule chose for some request of the table but the one for the
	// future, and the link's own target too.
	if len(chose) != len(rules) || chose["https://example.com/future"] || !chose["https://example.com/own"] {
		t.Fatalf("%d requests reached %d targets: %v", n, len(chose), chose)
	}
}

type redirectAnswer struct {
	status                       int
	location, cacheControl, vary string
}

func (s *system) get(url string, headers []string) redirectAnswer {
	s.t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		} else if headers[i] == "User-Agent" {
			req.Header.Set("User-Agent", "") // Go's client would send its own
		}
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", url, err)
	}
	res.Body.Close()
	return redirectAnswer{res.StatusCode, res.Header.Get("Location"), res.Header.Get("Cache-Control"), res.Header.Get("Vary")}
}

func rule(to string, conds ...map[string]any) map[string]any {
	c := make([]any, len(conds))
	for i, x := range conds {
		c[i] = x
	}
	return map[string]any{"if": c, "to": to}
}

func cond(typ, field string, value any) map[string]any {
	return map[string]any{"type": typ, field: value}
}
