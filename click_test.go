package rebound_test

import (
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
)

// isBotReference is IsBot written the obvious way, to check the fast one.
func isBotReference(ua string) bool {
	if ua == "" {
		return true
	}
	// ASCII folding only, as IsBot documents: strings.ToLower would also fold
	// the Kelvin sign into "k".
	lower := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, ua)
	for _, m := range []string{"bot", "crawl", "spider", "slurp", "preview", "fetch", "curl", "wget", "python",
		"go-http-client", "java/", "headless", "facebookexternalhit", "monitor", "scan", "http"} {
		if strings.Contains(lower, m) {
			return true
		}
	}
	return false
}

func TestIsBot(t *testing.T) {
	pad := strings.Repeat("x", 250)
	for _, c := range []struct {
		ua   string
		want bool
	}{
		{"", true},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", false},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1", false},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
		{"curl/8.5.0", true},
		{"FACEBOOKEXTERNALHIT/1.1", true},
		{"python-requests/2.31", true},
		{pad + "Bot", true},                           // across the first window's edge
		{pad + "facebookexternalhit", true},           // the longest marker across the edge
		{strings.Repeat("a", 1000) + "crawler", true}, // several windows in
		{strings.Repeat("Mozilla ", 200), false},      // long and human
	} {
		if got := rebound.IsBot([]byte(c.ua)); got != c.want {
			t.Errorf("IsBot(%.40q...) = %v, want %v", c.ua, got, c.want)
		}
	}
}

func FuzzIsBot(f *testing.F) {
	f.Add("Mozilla/5.0 Firefox/128.0")
	f.Add(strings.Repeat("y", 245) + "facebookexternalhit")
	f.Fuzz(func(t *testing.T, ua string) {
		if got, want := rebound.IsBot([]byte(ua)), isBotReference(ua); got != want {
			t.Fatalf("IsBot(%q) = %v, reference says %v", ua, got, want)
		}
	})
}
