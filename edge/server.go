// Package edge is Rebound's redirect server, on fasthttp. GET and HEAD
// /{code} answer the link's redirect from an in-process tier, Redis, or
// Postgres (in that order). The edge rate-limits each client, keeps serving
// what it has cached when a dependency dies, answers every error as JSON, and
// records clicks off the request path.
package edge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sony/gobreaker/v2"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"golang.org/x/time/rate"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/targeting"
)

// Options configures an edge. Store and Cache are required; zero values of
// the rest work.
type Options struct {
	Store            Store
	Cache            *cache.Client
	Logger           *slog.Logger
	Registry         *prometheus.Registry
	LocalCacheSize   int           // default 100,000
	LocalCacheTTL    time.Duration // default 30s
	NegativeCacheTTL time.Duration // default 5s
	// PermanentMaxAge is the Cache-Control max-age of 301 and 308
	// redirects. Zero is a valid choice, not "unset": max-age=0, the
	// browser asks again every time (config's default is 24h).
	PermanentMaxAge  time.Duration
	DBConcurrency    int     // Postgres lookups at once; default 16
	RateLimit        float64 // requests per second per client; 0 turns the limit off
	RateBurst        int
	RateLimitClients int // default 100,000
	TrustedProxies   []netip.Prefix
	// DefaultHost is the default domain's host (REBOUND_PUBLIC_URL's),
	// lower-case. Until the edge has read the domains, requests for other
	// hosts are answered 503; empty takes every host for the default then.
	DefaultHost string
	// ShortURLs makes the short URLs the edge's QR codes encode.
	ShortURLs rebound.ShortURLBase
	// PasswordChecksPerSecond caps the password checks (bcrypt, about
	// 60 ms of CPU each) the edge runs a second, so that a flood of
	// guesses cannot take the CPU redirects need; default 3.
	PasswordChecksPerSecond float64
	// CountryHeader names the header a trusted proxy tells the client's
	// country in (e.g. CF-IPCountry), for the country condition of redirect
	// rules; Countries answers when it is empty or absent.
	CountryHeader      string
	Countries          targeting.Countries
	ClickFlushInterval time.Duration // default 100ms
	// ClickQueueSize bounds the clicks handlers may queue between two
	// collections by the shipper; default 65,536.
	ClickQueueSize int
	// ReadTimeout bounds the read of a request from its first byte (default
	// 10s), IdleTimeout the wait for the next request on a kept-alive
	// connection (default 2m; longer than a load balancer's usual 60 s, so
	// the balancer, not the edge, closes an idle connection), WriteTimeout
	// the write of a response (default 10s).
	ReadTimeout, IdleTimeout, WriteTimeout time.Duration
	// Subscribe, when true, follows the invalidation channel. Tests that
	// drive invalidation by hand leave it off.
	Subscribe bool
}

// Server is an edge: its fasthttp server, lookup tiers and background work.
type Server struct {
	res       *resolver
	limiter   *limiter
	clicks    *clickShipper
	bots      *botVerdicts
	targets   targetHeaders
	domains   *domainTable
	passwords *passwordGate
	store     Store
	cache     *cache.Client
	log       *slog.Logger
	m         *metrics
	srv       *fasthttp.Server
	metricsH  fasthttp.RequestHandler
	reqIDs    atomic.Uint64
	idPrefix  [8]byte
	shortURLs rebound.ShortURLBase
	stopSub   context.CancelFunc
	subDone   chan struct{}
	// domainsDone is closed when the domain reload loop has stopped.
	domainsDone chan struct{}
	draining    atomic.Bool
	stopOnce    sync.Once
	stopErr     error
	// errorLog lets one error line through a second; errorsSinceLog counts
	// the errors each line stands for.
	errorLog       rate.Sometimes
	errorsSinceLog atomic.Int64
}

// New builds an edge and starts its background work (invalidation
// subscription and click shipping); Shutdown stops it.
func New(opts Options) *Server {
	setDefaults(&opts)
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	m := newMetrics(opts.Registry)
	bots := newBotVerdicts(botVerdictSlots)
	s := &Server{store: opts.Store, cache: opts.Cache, log: opts.Logger, m: m, subDone: make(chan struct{}),
		bots: bots, errorLog: rate.Sometimes{Interval: time.Second}, shortURLs: opts.ShortURLs,
		targets: newTargetHeaders(bots, opts.TrustedProxies, opts.CountryHeader, opts.Countries)}
	s.res = &resolver{
		local: newLocalTier(opts.LocalCacheSize, opts.LocalCacheTTL, opts.NegativeCacheTTL),
		redis: newRedisBatcher(opts.Cache, 512, secondBatchMin, redisTimeout),
		cache: opts.Cache, store: opts.Store, dbSlots: make(chan struct{}, opts.DBConcurrency),
		permanentCacheControl: []byte(rebound.RedirectCacheControl(301, opts.PermanentMaxAge)), m: m,
	}
	s.res.redisBreaker = gobreaker.NewCircuitBreaker[struct{}](breakerSettings("redis", m, time.Second))
	s.res.dbBreaker = gobreaker.NewCircuitBreaker[*entry](breakerSettings("postgres", m, 2*time.Second))
	opts.Registry.MustRegister(breakerGauge{vec: m.breakerState,
		breakers: []interface{ State() gobreaker.State }{s.res.redisBreaker, s.res.dbBreaker}})
	s.limiter = newLimiter(opts.RateLimit, opts.RateBurst, opts.RateLimitClients, opts.TrustedProxies)
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	edgeID := int64(binary.BigEndian.Uint64(seed[:]) >> 1)
	hex.Encode(s.idPrefix[:], seed[:4])
	s.clicks = newClickShipper(edgeID, opts.Cache, opts.Store, opts.ClickFlushInterval, opts.ClickQueueSize, opts.Countries, m, opts.Logger)
	s.metricsH = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
	s.srv = &fasthttp.Server{
		Handler:              s.Handle,
		ErrorHandler:         s.handleParseError,
		Name:                 "rebound",
		ReadTimeout:          opts.ReadTimeout,
		WriteTimeout:         opts.WriteTimeout,
		IdleTimeout:          opts.IdleTimeout,
		LazyRequestTime:      true,    // the handler reads the clock once, through ctx.Time
		ReadBufferSize:       8 << 10, // also the largest request head accepted
		MaxRequestBodySize:   64 << 10,
		CloseOnShutdown:      true,
		NoDefaultContentType: true,
		Logger:               fasthttpLogger{opts.Logger},
	}
	s.domains = newDomainTable(opts.DefaultHost, opts.Store, opts.Cache, opts.Logger)
	s.passwords = newPasswordGate(opts.TrustedProxies, opts.PasswordChecksPerSecond)
	s.res.onDomains = s.domains.reloadSoon
	subCtx, stop := context.WithCancel(context.Background())
	s.stopSub = stop
	s.domainsDone = make(chan struct{})
	go func() { defer close(s.domainsDone); s.domains.run(subCtx) }()
	if opts.Subscribe {
		go func() { defer close(s.subDone); opts.Cache.Subscribe(subCtx, s.res) }()
	} else {
		s.res.SubscriptionChanged(true)
		close(s.subDone)
	}
	return s
}

func setDefaults(o *Options) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	orDefault(&o.LocalCacheSize, 100_000)
	orDefault(&o.LocalCacheTTL, 30*time.Second)
	orDefault(&o.NegativeCacheTTL, 5*time.Second)
	orDefault(&o.DBConcurrency, 16)
	orDefault(&o.RateBurst, max(1, int(o.RateLimit)))
	orDefault(&o.RateLimitClients, 100_000)
	orDefault(&o.ClickQueueSize, 1<<16)
	orDefault(&o.ReadTimeout, 10*time.Second)
	orDefault(&o.IdleTimeout, 2*time.Minute)
	orDefault(&o.WriteTimeout, 10*time.Second)
	orDefault(&o.ClickFlushInterval, 100*time.Millisecond)
}

// orDefault sets *v to def unless it is positive: zero (and nonsense below
// it) means "not set".
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// fasthttpLogger sends fasthttp's own messages (connections it could not
// serve: malformed requests, bodies over the limit, timeouts) to the
// structured log at debug level: they are clients' errors, which the client
// got a JSON answer for, and a flood of them must not flood the log.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("connection not served", "detail", fmt.Sprintf(format, args...))
	}
}

// Serve answers connections from ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(edgeListener{ln}); err != nil {
		return fmt.Errorf("serve edge: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections, waits for requests in flight, then
// ships every pending click (until ctx ends) and stops background work.
// Calls after the first return the first's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.draining.Store(true)
		err := s.srv.ShutdownWithContext(ctx)
		s.clicks.close(ctx)
		s.stopSub()
		<-s.subDone
		<-s.domainsDone
		s.res.redis.close()
		if err != nil {
			s.stopErr = fmt.Errorf("shut down edge: %w", err)
		}
	})
	return s.stopErr
}

var (
	strGET          = []byte("GET")
	strPOST         = []byte("POST")
	strHEAD         = []byte("HEAD")
	strLocation     = []byte("Location")
	strCacheControl = []byte("Cache-Control")
	strRequestID    = []byte("X-Request-Id") // fasthttp's canonical form
	strXFF          = []byte("X-Forwarded-For")
	strRobots       = []byte("User-agent: *\nDisallow:\n")
)

// Handle answers one request. It is the fasthttp handler.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	start := ctx.Time()
	s.m.inFlight.Inc()
	defer s.recoverPanic(ctx)
	s.serve(ctx, start)
	s.m.status(ctx.Response.StatusCode())
	s.m.duration.Observe(time.Since(start).Seconds())
	s.m.inFlight.Dec()
}

func (s *Server) serve(ctx *fasthttp.RequestCtx, now time.Time) {
	s.setRequestID(ctx)
	// The raw path, not fasthttp's decoded and cleaned one: a code is only
	// ever sent as itself, and "/..%2fetc" must not turn into "/etc".
	path := ctx.URI().PathOriginal()
	method := ctx.Method()
	readOnly := bytes.Equal(method, strGET) || bytes.Equal(method, strHEAD)
	switch string(path) {
	case "/health":
		if readOnly {
			s.health(ctx)
			return
		}
	case "/metrics":
		if readOnly {
			s.metricsH(ctx)
			return
		}
	case "/favicon.ico":
		if readOnly {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return
		}
	case "/robots.txt":
		if readOnly {
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBody(strRobots)
			return
		}
	}
	// POST is a password for a protected link; anything else but GET and
	// HEAD is refused here, before any lookup.
	post := bytes.Equal(method, strPOST)
	if !readOnly && !post {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.fail(ctx, errMethod)
		return
	}
	if s.limiter != nil && !s.limiter.allow(ctx, now) {
		s.m.rateLimited.Inc()
		ctx.Response.Header.SetBytesV("Retry-After", s.limiter.retryAfter)
		s.fail(ctx, errRateLimited)
		return
	}
	dom, known := s.domains.lookup(ctx.Host())
	if !known {
		s.unavailable(ctx, errDomainsUnknown)
		return
	}
	if len(path) == 0 || path[0] != '/' {
		s.fail(ctx, errNotFound)
		return
	}
	code := path[1:]
	qrImage := bytes.HasSuffix(code, strQRSuffix)
	if qrImage {
		code = code[:len(code)-len(strQRSuffix)]
	}
	if len(code) == 0 && dom != nil && dom.root != nil {
		s.elsewhere(ctx, dom.root)
		return
	}
	if !rebound.IsCodeShaped(code) || rebound.IsReservedCode(b2s(code)) {
		s.missing(ctx, dom, errNotFound)
		return
	}
	// A link's key is its code on the default domain, "host/code" on
	// another (rebound.LinkKey), built on the stack.
	key := code
	var keyBuf [rebound.MaxHostLen + 1 + rebound.MaxCodeLen]byte
	if dom != nil {
		key = append(append(keyBuf[:0], dom.keyPrefix...), code...)
	}
	e, err := s.res.resolve(ctx, key, now)
	if err != nil {
		s.unavailable(ctx, err)
		return
	}
	if post && (e.absent || e.password == nil || qrImage) {
		// Only a password link takes a POST.
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		s.fail(ctx, errMethod)
		return
	}
	if e.absent {
		s.missing(ctx, dom, errNotFound)
		return
	}
	if !e.live(now.UnixMilli()) {
		s.missing(ctx, dom, errGone)
		return
	}
	if qrImage {
		s.serveQR(ctx, dom, code)
		return
	}
	if e.password != nil && !s.passwords.admit(ctx, s, e, code, post, now) {
		return // the form, or the refusal, is the answer
	}
	if e.maxClicks > 0 {
		ok, err := s.res.countClick(e)
		if err != nil {
			s.unavailable(ctx, err)
			return
		}
		if !ok {
			s.missing(ctx, dom, errGone)
			return
		}
	}
	location, rule := e.location, -1
	if e.rules != nil {
		location, rule = s.targets.choose(ctx, e, now)
	}
	s.recordClick(ctx, e, now, rule)
	s.redirect(ctx, e, location)
}

// errDomainsUnknown: the edge has not read the domains yet, so a host other
// than the default domain's may be any domain's.
var errDomainsUnknown = errors.New("domains not read yet")

// missing answers an unknown or gone code: a redirect to the domain's
// not_found_url when it has one, else the JSON error e.
func (s *Server) missing(ctx *fasthttp.RequestCtx, dom *domainConf, e *edgeError) {
	if dom != nil && dom.notFound != nil {
		s.elsewhere(ctx, dom.notFound)
		return
	}
	s.fail(ctx, e)
}

// elsewhere answers a 302 to a domain's own page (not_found_url, root_url),
// which a browser must not keep: the code may name a link tomorrow.
func (s *Server) elsewhere(ctx *fasthttp.RequestCtx, location []byte) {
	ctx.SetStatusCode(fasthttp.StatusFound)
	ctx.Response.Header.SetCanonical(strLocation, location)
	ctx.Response.Header.SetCanonical(strCacheControl, ruleCacheControl)
}

// recoverPanic keeps a bug in one request from taking the edge down: fasthttp
// does not recover handler panics. The client gets a 500 JSON error.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	if p := recover(); p != nil {
		s.log.Error("panic answering request", "panic", fmt.Sprint(p), "path", string(ctx.Path()),
			"stack", string(debug.Stack()))
		ctx.Response.Reset()
		s.setRequestID(ctx)
		s.fail(ctx, errInternal)
		s.m.status(fasthttp.StatusInternalServerError)
		s.m.inFlight.Dec()
	}
}

// redirect answers e's redirect to location: the link's own target, or the
// one a rule chose (whose Cache-Control and Vary choose set already).
func (s *Server) redirect(ctx *fasthttp.RequestCtx, e *entry, location []byte) {
	ctx.SetStatusCode(e.status)
	h := &ctx.Response.Header
	q := ctx.URI().QueryString()
	if e.forwardQuery && bytes.Contains(q, strQR) {
		// qr=1 marks a scan of the link's QR code, for the edge only.
		qb := bytebufferpool.Get()
		defer bytebufferpool.Put(qb)
		qb.B = rebound.AppendWithoutParam(qb.B[:0], q, "qr=1")
		q = qb.B
	}
	if e.forwardQuery && len(q) > 0 {
		// The header copies the value, so a pooled scratch buffer serves.
		buf := bytebufferpool.Get()
		buf.B = rebound.AppendForwarded(buf.B[:0], location, q)
		h.SetCanonical(strLocation, buf.B)
		bytebufferpool.Put(buf)
	} else {
		h.SetCanonical(strLocation, location)
	}
	if e.password != nil {
		// Answering a posted password: 303 turns the POST into a GET of the
		// target (a 307 or 308 would post the password there), and nothing
		// may keep the answer.
		ctx.SetStatusCode(fasthttp.StatusSeeOther)
		h.Set("Cache-Control", "no-store")
		return
	}
	if e.rules == nil {
		h.SetCanonical(strCacheControl, e.cacheControl)
	}
}

// recordClick queues the click of a redirect with what its request said.
// The agent's verdict is the one the bot flag needs anyway (remembered per
// agent); the country, the campaign and the QR trigger are only copied here,
// and read by the click collector.
func (s *Server) recordClick(ctx *fasthttp.RequestCtx, e *entry, now time.Time, rule int) {
	var rec clickRec
	rec.linkID, rec.at, rec.rule = e.id, now.UnixNano(), int8(rule)
	bits := s.bots.verdict(ctx.Request.Header.UserAgent())
	rec.bot, rec.agent = bits&botBit != 0, uint8(bits>>deviceShift)
	ref := rebound.AppendReferrerHost(rec.ref[:0], ctx.Request.Header.Referer())
	rec.refLen = uint8(len(ref))
	if s.targets.locates() {
		s.targets.locate(ctx, &rec)
	}
	if q := ctx.URI().QueryString(); len(q) > 0 && hasCampaign(q) {
		rec.queryLen = uint8(copy(rec.query[:], q))
	}
	s.clicks.add(&rec)
}

var (
	strUTM = []byte("utm_")
	strQR  = []byte("qr=")
)

// hasCampaign reports whether a query may name a utm_ parameter or qr.
func hasCampaign(q []byte) bool { return bytes.Contains(q, strUTM) || bytes.Contains(q, strQR) }

// setRequestID echoes a safe X-Request-ID, or makes one from the edge's
// random prefix and a counter.
func (s *Server) setRequestID(ctx *fasthttp.RequestCtx) {
	if id := ctx.Request.Header.PeekBytes(strRequestID); validRequestID(id) {
		ctx.Response.Header.SetCanonical(strRequestID, id)
		return
	}
	var buf [8 + 1 + 16]byte
	copy(buf[:8], s.idPrefix[:])
	buf[8] = '-'
	n := s.reqIDs.Add(1)
	const digits = "0123456789abcdef"
	for i := len(buf) - 1; i > 8; i-- {
		buf[i] = digits[n&0xf]
		n >>= 4
	}
	ctx.Response.Header.SetCanonical(strRequestID, buf[:])
}

func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// handleParseError answers requests fasthttp could not read (a request
// head over the buffer, a body too large, garbage, a head or body not
// received in time) with the JSON error shape.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	s.setRequestID(ctx)
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.fail(ctx, errTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		s.fail(ctx, errTimeout)
	default:
		s.fail(ctx, errBadRequest)
	}
}
