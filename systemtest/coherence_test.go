package systemtest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/testenv"
)

// coherenceWindow is the promise: after the API answers a write, every edge
// serves the new state within it (SPEC section 3).
const coherenceWindow = 100 * time.Millisecond

func TestCoherenceTwoEdges(t *testing.T) {
	s := newSystem(t, redisTarget{url: testenv.RedisURL()}, 2, edge.Options{})
	runCoherence(t, s)
}

func TestCoherenceRedisCluster(t *testing.T) {
	addrs := testenv.NewRedisCluster(t)
	s := newSystem(t, redisTarget{cluster: addrs}, 2, edge.Options{})
	runCoherence(t, s)
	runClicks(t, s)
}

func runCoherence(t *testing.T, s *system) {
	// A code both edges have cached as absent becomes a link.
	for _, n := range s.edges {
		if st, _ := s.hit(n, "fresh1"); st != http.StatusNotFound {
			t.Fatalf("unknown code: %d", st)
		}
	}
	st, l := s.api("POST", "/urls", map[string]any{"original_url": "https://example.com/v1", "short_code": "fresh1"})
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, l)
	}
	s.everyEdgeWithin(coherenceWindow, "fresh1", 302, "https://example.com/v1")
	path := fmt.Sprintf("/urls/%d", num(l, "id"))

	// An update reaches edges that hold the old target in their own tier.
	if st, _ := s.api("PATCH", path, map[string]any{"original_url": "https://example.com/v2"}); st != 200 {
		t.Fatalf("update: %d", st)
	}
	s.everyEdgeWithin(coherenceWindow, "fresh1", 302, "https://example.com/v2")

	// Deactivate, reactivate.
	if st, _ := s.api("PUT", path, map[string]any{"is_active": false}); st != 200 {
		t.Fatalf("deactivate: %d", st)
	}
	s.everyEdgeWithin(coherenceWindow, "fresh1", 404, "")
	if st, _ := s.api("PATCH", path, map[string]any{"is_active": true}); st != 200 {
		t.Fatalf("reactivate: %d", st)
	}
	s.everyEdgeWithin(coherenceWindow, "fresh1", 302, "https://example.com/v2")

	// Rules reach edges too: a rule without conditions holds for everyone;
	// removing the rules gives the link its own target back.
	if st, _ := s.api("PATCH", path, map[string]any{"rules": []any{map[string]any{"if": []any{}, "to": "https://example.com/ruled"}}}); st != 200 {
		t.Fatalf("set rules: %d", st)
	}
	s.everyEdgeWithin(coherenceWindow, "fresh1", 302, "https://example.com/ruled")
	if st, _ := s.api("PATCH", path, map[string]any{"rules": nil}); st != 200 {
		t.Fatalf("clear rules: %d", st)
	}
	s.everyEdgeWithin(coherenceWindow, "fresh1", 302, "https://example.com/v2")

	// The same code on a domain is another link, and its changes reach the
	// edges too (on a cluster, its keys hash by host and code).
	if st, _ := s.api("POST", "/domains", map[string]any{"host": "coherent.test"}); st != http.StatusCreated {
		t.Fatalf("create domain: %d", st)
	}
	st, dl := s.api("POST", "/urls", map[string]any{"original_url": "https://example.com/on-domain", "short_code": "fresh1", "domain": "coherent.test"})
	if st != http.StatusCreated {
		t.Fatalf("create on the domain: %d %v", st, dl)
	}
	s.everyEdgeWithinOn(coherenceWindow, "coherent.test", "fresh1", 302, "https://example.com/on-domain")
	s.everyEdgeWithin(coherenceWindow, "fresh1", 302, "https://example.com/v2")
	if st, _ := s.api("DELETE", fmt.Sprintf("/urls/%d", num(dl, "id")), nil); st != http.StatusNoContent {
		t.Fatalf("delete on the domain: %d", st)
	}
	s.everyEdgeWithinOn(coherenceWindow, "coherent.test", "fresh1", 404, "")
	// Once the domain is gone, its host is the default domain's.
	if st, _ := s.api("DELETE", "/domains/coherent.test", nil); st != http.StatusNoContent {
		t.Fatalf("delete domain: %d", st)
	}
	s.everyEdgeWithinOn(coherenceWindow, "coherent.test", "fresh1", 302, "https://example.com/v2")

	// A renamed code stops answering under its old name.
	if st, _ := s.api("PATCH", path, map[string]any{"short_code": "fresh2"}); st != 200 {
		t.Fatalf("rename: %d", st)
	}
	s.everyEdgeWithin(coherenceWindow, "fresh1", 404, "")
	s.everyEdgeWithin(coherenceWindow, "fresh2", 302, "https://example.com/v2")

	// A deleted link is never redirected again.
	if st, _ := s.api("DELETE", path, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	s.everyEdgeWithin(coherenceWindow, "fresh2", 404, "")
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for i, n := range s.edges {
			if st, _ := s.hit(n, "fresh2"); st != http.StatusNotFound {
				t.Fatalf("edge %d redirected a deleted link: %d", i, st)
			}
		}
	}
}
