package edge_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// panickyStore is the real store, except that looking up one code panics:
// a bug on the lookup path, as the edge would meet it.
type panickyStore struct {
	edge.Store
	code string
}

func (s panickyStore) LinkByKey(ctx context.Context, code string) (rebound.Link, error) {
	if code == s.code {
		panic("lookup bug for " + code)
	}
	return s.Store.LinkByKey(ctx, code)
}

// A panic while answering a request costs that request a 500 JSON error,
// logged with its stack, and nothing else: the edge, the connection and the
// request counters carry on.
func TestPanicAnswersInternalErrorAndEdgeCarriesOn(t *testing.T) {
	var logs testenv.SyncBuffer
	h := newHarness(t, harnessOpts{
		edge:  edge.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		store: func(s edge.Store) edge.Store { return panickyStore{Store: s, code: "boom"} },
	})
	h.link(postgres.NewLink{OriginalURL: "https://example.com/fine", ShortCode: "fine", IsActive: true})

	for range 2 { // the second time through the same connection
		a := h.get("/boom")
		wantError(t, a, 500, "internal")
		if strings.Contains(a.body, "lookup bug") || strings.Contains(a.body, "goroutine") {
			t.Fatalf("the 500 leaks the panic: %s", a.body)
		}
		if a := h.get("/fine"); a.status != 302 || a.header.Get("Location") != "https://example.com/fine" {
			t.Fatalf("after a panic: %d %q", a.status, a.header.Get("Location"))
		}
	}
	if got := h.metric("rebound_edge_http_requests_total", "code", "500"); got != 2 {
		t.Errorf("500s counted: %v, want 2", got)
	}
	if got := h.metric("rebound_edge_http_requests_in_flight"); got != 0 {
		t.Errorf("requests in flight after all were answered: %v", got)
	}
	if l := logs.String(); !strings.Contains(l, "panic answering request") || !strings.Contains(l, "lookup bug for boom") ||
		!strings.Contains(l, "goroutine") {
		t.Errorf("the panic is not logged with its stack:\n%s", l)
	}
}
