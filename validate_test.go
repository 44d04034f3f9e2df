package rebound_test

import (
	"testing"

	"github.com/reboundhq/rebound"
)

func TestAppendForwarded(t *testing.T) {
	for _, c := range []struct{ target, query, want string }{
		{"https://example.com/p", "q=1", "https://example.com/p?q=1"},
		{"https://example.com/p?a=1", "q=1", "https://example.com/p?a=1&q=1"},
		{"https://example.com/p?a=1#sec", "q=1", "https://example.com/p?a=1&q=1#sec"},
		{"https://example.com/p#sec?x", "q=1", "https://example.com/p?q=1#sec?x"},
		{"https://example.com/p?", "q=1", "https://example.com/p?q=1"},
		{"https://example.com/p?a=1&", "q=1", "https://example.com/p?a=1&q=1"},
		{"https://example.com/p?#sec", "q=1&r=%20", "https://example.com/p?q=1&r=%20#sec"},
	} {
		if got := string(rebound.AppendForwarded([]byte("x"), []byte(c.target), []byte(c.query))); got != "x"+c.want {
			t.Errorf("AppendForwarded(%q, %q) = %q, want %q", c.target, c.query, got[1:], c.want)
		}
	}
}
