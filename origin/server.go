// Package origin is Rebound's admin HTTP API: users, links, events, bulk CSV
// imports, click statistics and health. Postgres is the source of truth;
// after every link write the origin updates Redis and tells every edge to
// drop its copy before it answers.
package origin

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/csvimport"
	"github.com/reboundhq/rebound/postgres"
	"github.com/reboundhq/rebound/targeting"
)

// Store is the part of the Postgres store the origin uses; *postgres.DB
// implements it.
type Store interface {
	csvimport.Store
	Ping(ctx context.Context) error
	CreateUser(ctx context.Context, username, email string) (rebound.User, error)
	GetUser(ctx context.Context, id int64) (rebound.User, error)
	ListUsers(ctx context.Context, p rebound.Page) ([]rebound.User, int64, error)
	UpdateUser(ctx context.Context, id int64, p postgres.UserPatch) (rebound.User, error)
	DeleteUser(ctx context.Context, id int64) error
	CreateLink(ctx context.Context, in postgres.NewLink) (rebound.Link, error)
	GetLink(ctx context.Context, id int64) (rebound.Link, error)
	LinkByKey(ctx context.Context, code string) (rebound.Link, error)
	LinksByKeys(ctx context.Context, codes []string) (map[string]rebound.Link, error)
	ListLinks(ctx context.Context, f postgres.LinkFilter, sort postgres.LinkSort, p rebound.Page) ([]rebound.Link, int64, error)
	UpdateLink(ctx context.Context, id int64, p postgres.LinkPatch, actor json.RawMessage) (before, after rebound.Link, err error)
	DeleteLink(ctx context.Context, id int64, actor json.RawMessage) (rebound.Link, error)
	Tags(ctx context.Context, userID *int64) ([]postgres.TagCount, error)
	IndexSearch(ctx context.Context) (int, error)
	CreateDomain(ctx context.Context, d rebound.Domain) (rebound.Domain, error)
	Domains(ctx context.Context) ([]rebound.Domain, error)
	UpdateDomain(ctx context.Context, host string, p postgres.DomainPatch) (rebound.Domain, error)
	DeleteDomain(ctx context.Context, host string, withLinks bool, actor json.RawMessage) ([]rebound.Link, error)
	KeyStore
	CreateKey(ctx context.Context, in postgres.NewKey) (rebound.APIKey, error)
	ListKeys(ctx context.Context, p rebound.Page) ([]rebound.APIKey, int64, error)
	RevokeKey(ctx context.Context, id int64) (rebound.APIKey, error)
	CreateEvent(ctx context.Context, e rebound.Event) (rebound.Event, error)
	ListEvents(ctx context.Context, f postgres.EventFilter, p rebound.Page) ([]rebound.Event, int64, error)
	LinkStats(ctx context.Context, id int64) (rebound.LinkStats, error)
	Stats(ctx context.Context, scope postgres.StatsScope, q rebound.StatsQuery) (rebound.Stats, error)
	WriteClicksCSV(ctx context.Context, w io.Writer, id int64, from, to time.Time) error
	EnsureClickPartitions(ctx context.Context, now time.Time, ahead int) error
	DropClickPartitions(ctx context.Context, before time.Time) ([]string, error)
	RecordClicks(ctx context.Context, clicks []rebound.Click) (int64, error)
	CacheWritten(ctx context.Context, written map[string]int64) error
	OwedCacheWrites(ctx context.Context, age time.Duration, limit int) (map[string]int64, error)
}

// Options configures a Server. Store and Cache are required.
type Options struct {
	Store     Store
	Cache     *cache.Client
	PublicURL string   // base of short_url, without a trailing slash
	Tokens    []string // admin bearer tokens; empty means no authentication
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client, for the limit on failed authentications.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
	Registry       *prometheus.Registry // where metrics go; a new one when nil
	// PermanentMaxAge is the Cache-Control max-age of the slow path's 301
	// and 308 redirects, as at the edge; zero is max-age=0.
	PermanentMaxAge time.Duration
	// CountryHeader and Countries tell the country of a client for the
	// country condition of redirect rules, as at the edge.
	CountryHeader string
	Countries     targeting.Countries
	// KeyUseFlushInterval is how often API keys' last use is written to
	// Postgres; 5 s when zero.
	KeyUseFlushInterval time.Duration
	// ClickRetention is how long raw clicks are kept; zero keeps them.
	ClickRetention time.Duration
}

// Server is the origin's HTTP handler and its background work.
type Server struct {
	store Store
	cache *cache.Client
	sync  *cacheSync
	// shortURLs builds the links' short URLs and refuses link targets that
	// are among them.
	shortURLs rebound.ShortURLBase
	// clickRetention is how long raw clicks are kept; zero keeps them.
	clickRetention time.Duration
	auth           *authenticator
	log            *slog.Logger
	registry       *prometheus.Registry
	metrics        *metrics
	mux            *http.ServeMux
	routes         []route
	edgeID         int64 // identifies this origin's own clicks (the /redirect slow path)
	clickSeq       atomic.Int64
	// permanentMaxAge is the max-age of the slow path's 301 and 308.
	permanentMaxAge time.Duration
	countryHeader   string
	countries       targeting.Countries
}

// route is one path of the API and the endpoint of each method on it.
type route struct {
	pattern string
	public  bool // served without a token
	methods map[string]endpoint
}

// endpoint is a method's handler and the roles that may call it. Handlers
// narrow an author further to its own user's links.
type endpoint struct {
	handler http.HandlerFunc
	roles   roleSet
}

// roleSet is a set of roles.
type roleSet uint8

const (
	admins roleSet = 1 << iota
	readers
	authors
	everyone = admins | readers | authors
)

func (rs roleSet) has(r rebound.Role) bool {
	switch r {
	case rebound.RoleAdmin:
		return rs&admins != 0
	case rebound.RoleReader:
		return rs&readers != 0
	case rebound.RoleAuthor:
		return rs&authors != 0
	}
	return false
}

func to(h http.HandlerFunc, roles roleSet) endpoint { return endpoint{handler: h, roles: roles} }

// New builds the origin's handler.
func New(opts Options) *Server {
	s := &Server{
		store: opts.Store, cache: opts.Cache,
		log: opts.Logger, registry: opts.Registry, mux: http.NewServeMux(), permanentMaxAge: opts.PermanentMaxAge,
		countryHeader: opts.CountryHeader, countries: opts.Countries,
		shortURLs: rebound.NewShortURLBase(opts.PublicURL), clickRetention: opts.ClickRetention,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	s.auth = newAuthenticator(opts.Tokens, opts.Store, opts.TrustedProxies, s.log)
	if opts.KeyUseFlushInterval > 0 {
		s.auth.flushEvery = opts.KeyUseFlushInterval
	}
	s.metrics = newMetrics(s.registry)
	s.sync = newCacheSync(opts.Store, opts.Cache, s.log)
	s.sync.gauge = s.metrics.syncPending
	s.metrics.watchBreaker(s.registry, s.sync.breaker)
	s.edgeID = randomID()
	metricsHandler := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP
	// Who may call what (SPEC 8); docs/api.md has the same table, and
	// TestRoleTable walks it.
	s.routes = []route{
		{pattern: "/health", public: true, methods: map[string]endpoint{"GET": to(s.health, everyone)}},
		{pattern: "/metrics", public: true, methods: map[string]endpoint{"GET": to(metricsHandler, everyone)}},
		{pattern: "/openapi.json", public: true, methods: map[string]endpoint{"GET": to(serveOpenAPI, everyone)}},
		{pattern: "/users", methods: map[string]endpoint{"GET": to(s.listUsers, admins|readers), "POST": to(s.createUser, admins)}},
		{pattern: "/users/bulk", methods: map[string]endpoint{"POST": to(s.importCSV(csvimport.Users), admins)}},
		{pattern: "/users/{id}", methods: map[string]endpoint{
			"GET": to(s.getUser, everyone), "PUT": to(s.updateUser, admins), "PATCH": to(s.updateUser, admins),
			"DELETE": to(s.deleteUser, admins)}},
		{pattern: "/urls", methods: map[string]endpoint{"GET": to(s.listLinks, everyone), "POST": to(s.createLink, admins|authors)}},
		{pattern: "/urls/bulk", methods: map[string]endpoint{"POST": to(s.importCSV(csvimport.Links), admins|authors)}},
		{pattern: "/urls/{id}", methods: map[string]endpoint{
			"GET": to(s.getLink, everyone), "PUT": to(s.updateLink, admins|authors), "PATCH": to(s.updateLink, admins|authors),
			"DELETE": to(s.deleteLink, admins|authors)}},
		{pattern: "/urls/{id}/stats", methods: map[string]endpoint{"GET": to(s.linkStats, everyone)}},
		{pattern: "/urls/{id}/clicks.csv", methods: map[string]endpoint{"GET": to(s.clicksCSV, everyone)}},
		{pattern: "/urls/{id}/qr", methods: map[string]endpoint{"GET": to(s.linkQR, everyone)}},
		{pattern: "/stats", methods: map[string]endpoint{"GET": to(s.allStats, everyone)}},
		{pattern: "/urls/{short_code}/redirect", public: true, methods: map[string]endpoint{"GET": to(s.redirect, everyone)}},
		{pattern: "/tags", methods: map[string]endpoint{"GET": to(s.listTags, everyone)}},
		{pattern: "/events", methods: map[string]endpoint{"GET": to(s.listEvents, admins|readers), "POST": to(s.createEvent, admins)}},
		{pattern: "/events/bulk", methods: map[string]endpoint{"POST": to(s.importCSV(csvimport.Events), admins)}},
		{pattern: "/keys", methods: map[string]endpoint{"GET": to(s.listKeys, admins), "POST": to(s.createKey, admins)}},
		{pattern: "/keys/{id}", methods: map[string]endpoint{"DELETE": to(s.revokeKey, admins)}},
		{pattern: "/domains", methods: map[string]endpoint{"GET": to(s.listDomains, everyone), "POST": to(s.createDomain, admins)}},
		{pattern: "/domains/{host}", methods: map[string]endpoint{
			"PATCH": to(s.updateDomain, admins), "DELETE": to(s.deleteDomain, admins)}},
	}
	for _, rt := range s.routes {
		s.mux.Handle(rt.pattern, s.dispatch(rt))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, rebound.Errorf(rebound.ENotFound, "no such endpoint: %s", r.URL.Path))
	})
	return s
}

// Routes lists every method and path the API serves, for documentation checks.
func (s *Server) Routes() [][2]string {
	var out [][2]string
	for _, rt := range s.routes {
		for m := range rt.methods {
			out = append(out, [2]string{m, rt.pattern})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[1]+a[0], b[1]+b[0]) })
	return out
}

// Run does the origin's background work until ctx ends: retrying cache
// writes that failed, moving clicks from the Redis stream to Postgres, and
// recording when API keys were last used.
func (s *Server) Run(ctx context.Context) {
	done := make(chan struct{}, 5)
	go func() { defer func() { done <- struct{}{} }(); s.maintainClickPartitions(ctx) }()
	go func() { defer func() { done <- struct{}{} }(); s.sync.run(ctx) }()
	go func() { defer func() { done <- struct{}{} }(); s.indexSearch(ctx) }()
	go func() { defer func() { done <- struct{}{} }(); s.watchClickLag(ctx) }()
	go func() { defer func() { done <- struct{}{} }(); s.auth.flushUse(ctx) }()
	s.consumeClicks(ctx)
	for range cap(done) {
		<-done
	}
}

// ServeHTTP serves the API with recovery, request ids, metrics and access logs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	id := r.Header.Get("X-Request-ID")
	if !validRequestID(id) {
		id = newRequestID()
	}
	r = r.WithContext(withRequestID(r.Context(), id))
	w.Header().Set("X-Request-ID", id)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()), "request_id", id)
			if !rec.wrote {
				s.writeError(rec, r, errors.New("panic"))
			}
		}
		pattern := r.Pattern
		if pattern == "" {
			pattern = "unmatched"
		}
		elapsed := time.Since(start)
		s.metrics.observe(r.Method, pattern, rec.status, elapsed)
		s.log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "route", pattern,
			"status", rec.status, "duration_ms", float64(elapsed.Microseconds())/1000, "request_id", id)
	}()
	// ServeMux would redirect unclean paths with an HTML body; answer JSON instead.
	if p := r.URL.Path; p == "" || p[0] != '/' || (p != "/" && path.Clean(p) != p) || r.Method == http.MethodConnect {
		s.writeError(rec, r, rebound.Errorf(rebound.ENotFound, "no such endpoint"))
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// dispatch picks the handler of the request's method, answering 405 with
// Allow for others, and checks the token on private routes.
func (s *Server) dispatch(rt route) http.Handler {
	allowed := make([]string, 0, len(rt.methods)+1)
	for m := range rt.methods {
		allowed = append(allowed, m)
	}
	if _, ok := rt.methods["GET"]; ok {
		allowed = append(allowed, "HEAD")
	}
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		ep, ok := rt.methods[method]
		if !ok {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, rebound.Errorf(rebound.EMethodNotAllowed, "%s is not allowed on %s; use %s", r.Method, rt.pattern, allow))
			return
		}
		if !rt.public {
			p, err := s.auth.authenticate(r)
			switch rebound.ErrorCode(err) {
			case "":
			case rebound.EUnauthorized:
				w.Header().Set("WWW-Authenticate", `Bearer realm="rebound"`)
				s.writeError(w, r, err)
				return
			case rebound.ERateLimited:
				w.Header().Set("Retry-After", retryAfterSeconds)
				s.writeError(w, r, err)
				return
			default:
				s.writeError(w, r, err)
				return
			}
			if !ep.roles.has(p.Role) {
				s.writeError(w, r, rebound.Errorf(rebound.EForbidden, "a key with the %s role may not %s %s", p.Role, method, rt.pattern))
				return
			}
			r = r.WithContext(withPrincipal(r.Context(), p))
		}
		ep.handler(w, r)
	})
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p rebound.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principal is who the request acts as; on a public route, nobody in
// particular (an anonymous admin, who owns nothing it could be denied).
func principal(r *http.Request) rebound.Principal {
	if p, ok := r.Context().Value(principalKey{}).(rebound.Principal); ok {
		return p
	}
	return rebound.Principal{Role: rebound.RoleAdmin, Anonymous: true}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type ctxKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// validRequestID accepts a client's X-Request-ID only when it is short and
// made of safe characters, so it can go into logs and headers as it is.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// randomID returns a random positive int64.
func randomID() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:]) >> 1)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
