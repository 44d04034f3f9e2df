package rebound_test

import (
	"testing"

	"github.com/reboundhq/rebound"
)

func TestShortURLBaseRefusesItsOwnShortLinks(t *testing.T) {
	for _, c := range []struct {
		base, target string
		refused      bool
	}{
		{"http://localhost:8080", "http://localhost:8080/abc", true},
		{"http://localhost:8080", "http://LocalHost.:8080/abc?q=1#top", true}, // host case, trailing dot, query
		{"http://localhost:8080", "http://localhost:8080/x/../abc", true},     // a browser removes dot segments
		{"http://localhost:8080", "http://localhost:8081/abc", false},         // another server
		{"http://localhost:8080", "http://127.0.0.1:8080/abc", false},         // hosts are compared as written
		{"http://localhost:8080", "http://localhost:8080/health", false},      // not a code: the edge answers it itself
		{"http://localhost:8080", "http://localhost:8080/", false},
		{"http://localhost:8080", "http://localhost:8080/abc/", false},  // the edge does not answer this as a code
		{"http://localhost:8080", "http://localhost:8080/%61bc", false}, // nor this: it matches the path undecoded
		{"http://localhost:8080", "http://localhost:8080/a.b", false},
		{"https://sho.rt", "http://sho.rt/abc", true}, // the TLS terminator upgrades it to the short link
		{"https://sho.rt", "https://SHO.RT:443/abc", true},
		{"https://sho.rt/", "https://sho.rt/Ab_-9", true},
		{"https://sho.rt", "https://sho.rt:8443/abc", false},
		{"https://sho.rt", "https://www.sho.rt/abc", false},
		{"https://sho.rt", "https://example.com/abc", false},
		{"https://example.com/s/", "https://example.com/s/abc", true},
		{"https://example.com/s", "https://example.com/abc", false}, // the rest of the site is not short links
		{"https://example.com/s", "https://example.com/sabc", false},
		{"https://example.com/s", "https://example.com/s/abc/def", false},
		{"", "http://localhost:8080/abc", false}, // the zero value refuses nothing
	} {
		err := rebound.NewShortURLBase(c.base).ValidateOriginalURL(c.target)
		if refused := err != nil; refused != c.refused {
			t.Errorf("base %q, target %q: err %v, want refused %v", c.base, c.target, err, c.refused)
			continue
		}
		if err != nil && (rebound.ErrorCode(err) != rebound.EValidation || rebound.ErrorField(err) != "original_url") {
			t.Errorf("base %q, target %q: err %v, want a validation error of original_url", c.base, c.target, err)
		}
	}
}

func TestShortURLBaseKeepsThePlainChecks(t *testing.T) {
	base := rebound.NewShortURLBase("https://sho.rt")
	for _, target := range []string{"", "ftp://x.org/f", "https://u:p@x.org/", "https://x.org:99999/", "https://x.org/a b"} {
		if err := base.ValidateOriginalURL(target); err == nil {
			t.Errorf("%q accepted", target)
		}
	}
}

func TestShortURLBaseBuildsShortURLs(t *testing.T) {
	for base, want := range map[string]string{
		"https://sho.rt":     "https://sho.rt/abc",
		"https://sho.rt/s/":  "https://sho.rt/s/abc", // a trailing slash is not doubled
		"http://localhost:8": "http://localhost:8/abc",
	} {
		if got := rebound.NewShortURLBase(base).ShortURL("abc"); got != want {
			t.Errorf("base %q: short URL %q, want %q", base, got, want)
		}
	}
}
