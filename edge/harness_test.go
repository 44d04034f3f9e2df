package edge_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/faultproxy"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// harness is an edge on a real listener, with Postgres and Redis reached
// either directly or through fault proxies, plus direct handles for setup.
type harness struct {
	t          testing.TB
	url        string
	db         *postgres.DB  // direct, for setup and checks
	cache      *cache.Client // direct, same prefix as the edge's
	prefix     string
	srv        *edge.Server
	reg        *prometheus.Registry
	pgProxy    *faultproxy.Proxy
	redisProxy *faultproxy.Proxy
	client     *http.Client
}

type harnessOpts struct {
	proxied bool
	edge    edge.Options
	// store, when set, wraps the edge's Postgres store (to inject a fault).
	store func(edge.Store) edge.Store
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	db, dsn := testenv.NewDB(t)
	rdb, prefix := testenv.NewRedis(t)
	h := &harness{t: t, db: db, prefix: prefix, reg: prometheus.NewRegistry(),
		cache:  cache.New(rdb, cache.Options{Prefix: prefix, NegativeTTL: time.Second}),
		client: newClient(),
	}
	t.Cleanup(h.client.CloseIdleConnections)
	edgeDSN, redisURL := dsn, testenv.RedisURL()
	if o.proxied {
		h.pgProxy, edgeDSN = testenv.ProxyURL(t, dsn)
		h.redisProxy, redisURL = testenv.ProxyURL(t, redisURL)
	}
	edgeDB, err := postgres.Open(context.Background(), edgeDSN, postgres.Options{MaxConns: 8, Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(edgeDB.Close)
	erdb, err := cache.Dial(redisURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = erdb.Close() })
	opts := o.edge
	opts.Store = edgeDB
	if o.store != nil {
		opts.Store = o.store(edgeDB)
	}
	opts.Cache = cache.New(erdb, cache.Options{Prefix: prefix, NegativeTTL: time.Second})
	opts.Registry = h.reg
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.ClickFlushInterval == 0 {
		opts.ClickFlushInterval = 20 * time.Millisecond
	}
	h.srv = edge.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.srv.Serve(ln) }()
	h.url = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.srv.Shutdown(ctx) // a no-op when the test already shut it down
	})
	return h
}

// newClient is an HTTP client that does not follow redirects, with its own
// pool of connections: requests made one after another reuse one.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// onNewConnection returns the harness with a client of its own, whose
// requests reach the edge on another connection than h's.
func (h *harness) onNewConnection() *harness {
	other := *h
	other.client = newClient()
	h.t.Cleanup(other.client.CloseIdleConnections)
	return &other
}

// link creates a link in Postgres (not in any cache). Callers set IsActive.
func (h *harness) link(in postgres.NewLink) rebound.Link {
	h.t.Helper()
	if in.RedirectType == 0 {
		in.RedirectType = 302
	}
	l, err := h.db.CreateLink(context.Background(), in)
	if err != nil {
		h.t.Fatalf("create link: %v", err)
	}
	return l
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (h *harness) get(path string, headers ...string) answer {
	h.t.Helper()
	return h.do("GET", path, headers...)
}

func (h *harness) do(method, path string, headers ...string) answer {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return answerOf(h.t, res)
}

// answerOf reads res whole and closes its body.
func answerOf(t testing.TB, res *http.Response) answer {
	t.Helper()
	a, err := readAnswer(res)
	if err != nil {
		t.Fatalf("read the answer's body: %v", err)
	}
	return a
}

func readAnswer(res *http.Response) (answer, error) {
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(b)}, err
}

// getFromGoroutine is get for a goroutine other than the test's, which may
// not stop the test: a request that fails is an answer of status -1 whose
// body is the error.
func (h *harness) getFromGoroutine(path string) answer {
	res, err := h.client.Get(h.url + path)
	if err == nil {
		var a answer
		if a, err = readAnswer(res); err == nil {
			return a
		}
	}
	return answer{status: -1, body: err.Error()}
}

// wantError checks the status and the documented JSON error shape.
func wantError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d (%s)", a.status, status, a.body)
	}
	if a.header.Get("Content-Type") != "application/json" || !strings.Contains(a.body, `"code":"`+code+`"`) ||
		!strings.Contains(a.body, `"error":"`) || strings.Contains(a.body, `"request_id":""`) {
		t.Fatalf("error body %q (%s), want code %s with a request id", a.body, a.header.Get("Content-Type"), code)
	}
}

// metric returns the value of the counter or gauge with the labels.
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue series
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func (h *harness) lookups(tier, result string) float64 {
	return h.metric("rebound_edge_cache_lookups_total", "tier", tier, "result", result)
}

func (h *harness) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.t.Fatalf("shutdown: %v", err)
	}
}

// streamedClicks reads every click the edge put in the click stream, as a
// consumer group of its own.
func (h *harness) streamedClicks() []rebound.Click {
	h.t.Helper()
	if err := h.cache.EnsureClickGroup(context.Background(), "test"); err != nil {
		h.t.Fatal(err)
	}
	batches, err := h.cache.ReadClicks(context.Background(), "test", "c1", 100, 10*time.Millisecond, time.Minute)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []rebound.Click
	for _, b := range batches {
		out = append(out, b.Clicks...)
	}
	return out
}
