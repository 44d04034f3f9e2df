package systemtest

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/testenv"
)

// TestDomains: two domains besides the default one, each with its own
// codes; a domain's not_found_url and root_url; every change of a domain
// and of its links reaches both edges within the coherence window, and a
// deleted domain's links stop redirecting.
func TestDomains(t *testing.T) {
	s := newSystemAt(t, redisTarget{url: testenv.RedisURL()}, 2, edge.Options{DefaultHost: "sho.rt"}, "https://sho.rt")
	for _, d := range []map[string]any{{"host": "Go.Acme.test"}, {"host": "acme.link", "not_found_url": "https://acme.example/404"}} {
		if st, body := s.api("POST", "/domains", d); st != http.StatusCreated {
			t.Fatalf("create domain %v: %d %v", d, st, body)
		}
	}
	if st, body := s.api("POST", "/domains", map[string]any{"host": "go.acme.test"}); st != http.StatusConflict || body["field"] != "host" {
		t.Fatalf("a second go.acme.test: %d %v", st, body)
	}
	if st, body := s.api("POST", "/domains", map[string]any{"host": "sho.rt"}); st != http.StatusConflict {
		t.Fatalf("the default domain as a domain: %d %v", st, body)
	}
	if st, body := s.api("POST", "/domains", map[string]any{"host": "acme.test:8080"}); st != http.StatusBadRequest || body["field"] != "host" {
		t.Fatalf("a host with a port: %d %v", st, body)
	}
	// The same code on three domains names three links.
	ids := map[string]int64{}
	for _, c := range []struct{ domain, target, shortURL string }{
		{"", "https://example.com/default", "https://sho.rt/launch"},
		{"go.acme.test", "https://acme.example/go", "https://go.acme.test/launch"},
		{"ACME.link", "https://acme.example/link", "https://acme.link/launch"},
	} {
		body := map[string]any{"original_url": c.target, "short_code": "launch"}
		if c.domain != "" {
			body["domain"] = c.domain
		}
		st, l := s.api("POST", "/urls", body)
		if st != http.StatusCreated || l["short_url"] != c.shortURL {
			t.Fatalf("create launch on %q: %d %v", c.domain, st, l)
		}
		ids[c.target] = num(l, "id")
	}
	if st, body := s.api("POST", "/urls", map[string]any{"original_url": "https://x.example", "short_code": "launch", "domain": "go.acme.test"}); st != http.StatusConflict {
		t.Fatalf("launch twice on go.acme.test: %d %v", st, body)
	}
	if st, body := s.api("POST", "/urls", map[string]any{"original_url": "https://x.example", "domain": "nowhere.test"}); st != http.StatusNotFound || body["field"] != "domain" {
		t.Fatalf("a link on no domain: %d %v", st, body)
	}
	for host, want := range map[string]string{"sho.rt": "https://example.com/default", "unknown.test": "https://example.com/default",
		"go.acme.test:8443": "https://acme.example/go", "ACME.LINK.": "https://acme.example/link"} {
		s.everyEdgeWithinOn(coherenceWindow, host, "launch", 302, want)
	}
	// Unknown codes: 404 JSON on a domain without not_found_url, a
	// redirect there on one with it; GET / likewise with root_url.
	s.everyEdgeWithinOn(coherenceWindow, "go.acme.test", "nothing", 404, "")
	s.everyEdgeWithinOn(coherenceWindow, "acme.link", "nothing", 302, "https://acme.example/404")
	if st, body := s.api("PATCH", "/domains/go.acme.test", map[string]any{"root_url": "https://acme.example/", "not_found_url": "https://acme.example/missing"}); st != 200 {
		t.Fatalf("patch domain: %d %v", st, body)
	}
	s.everyEdgeWithinOn(coherenceWindow, "go.acme.test", "", 302, "https://acme.example/")
	s.everyEdgeWithinOn(coherenceWindow, "go.acme.test", "nothing", 302, "https://acme.example/missing")
	s.everyEdgeWithinOn(coherenceWindow, "sho.rt", "", 404, "")

	// A gone link on a domain with not_found_url goes there too.
	if st, _ := s.api("PATCH", fmt.Sprintf("/urls/%d", ids["https://acme.example/go"]), map[string]any{"is_active": false}); st != 200 {
		t.Fatalf("deactivate: %d", st)
	}
	s.everyEdgeWithinOn(coherenceWindow, "go.acme.test", "launch", 302, "https://acme.example/missing")

	// A domain in use is not deleted, unless with its links.
	if st, body := s.api("DELETE", "/domains/acme.link", nil); st != http.StatusConflict {
		t.Fatalf("delete a domain in use: %d %v", st, body)
	}
	if st, body := s.api("DELETE", "/domains/acme.link?with_links=true", nil); st != http.StatusNoContent {
		t.Fatalf("delete a domain with its links: %d %v", st, body)
	}
	s.everyEdgeWithinOn(coherenceWindow, "acme.link", "launch", 302, "https://example.com/default") // now the default domain
	if st, _ := s.api("GET", fmt.Sprintf("/urls/%d", ids["https://acme.example/link"]), nil); st != http.StatusNotFound {
		t.Fatalf("the deleted domain's link: %d", st)
	}
	if st, body := s.api("GET", fmt.Sprintf("/events?url_id=%d&event_type=deleted", ids["https://acme.example/link"]), nil); st != 200 || num(body, "total") != 1 {
		t.Fatalf("the deleted link's event: %d %v", st, body)
	}
	st, list := s.api("GET", "/domains", nil)
	if data, _ := list["data"].([]any); st != 200 || len(data) != 1 {
		t.Fatalf("domains left: %d %v", st, list)
	}
}
