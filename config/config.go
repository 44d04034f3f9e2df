// Package config reads Rebound's configuration once, from the environment and
// an optional .env file, into a typed and validated struct. No other package
// reads the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/reboundhq/rebound"
)

// Config is the whole of Rebound's configuration. Every field has a working
// default except the API tokens, which origin requires unless InsecureNoAuth.
type Config struct {
	DatabaseURL       string   // DATABASE_URL
	RedisURL          string   // REDIS_URL
	RedisClusterAddrs []string // REDIS_CLUSTER_ADDRS: when set, REDIS_URL is ignored
	RedisPrefix       string   // REBOUND_REDIS_PREFIX: prefix of every Redis key and channel

	EdgeAddr   string // REBOUND_EDGE_ADDR
	OriginAddr string // REBOUND_ORIGIN_ADDR
	PublicURL  string // REBOUND_PUBLIC_URL: base of short_url

	APITokens      []string // REBOUND_API_TOKENS
	InsecureNoAuth bool     // REBOUND_INSECURE_NO_AUTH

	TrustedProxies   []netip.Prefix // REBOUND_TRUSTED_PROXIES: CIDRs or addresses
	RateLimit        float64        // REBOUND_RATE_LIMIT: requests per second per client; 0 disables
	RateBurst        int            // REBOUND_RATE_BURST
	RateLimitClients int            // REBOUND_RATE_LIMIT_CLIENTS: clients tracked at once

	// CountryHeader is REBOUND_COUNTRY_HEADER: the header (e.g. CF-IPCountry)
	// a trusted proxy names the client's country in, for redirect rules.
	CountryHeader string
	// GeoIPDB is REBOUND_GEOIP_DB: a MaxMind-format country database, read
	// when no trusted country header tells the country.
	GeoIPDB string
	// PasswordChecksPerSecond is REBOUND_PASSWORD_CHECKS_PER_SECOND: the
	// password checks (bcrypt) an edge runs a second at most.
	PasswordChecksPerSecond float64

	LogLevel slog.Level // REBOUND_LOG_LEVEL

	PermanentMaxAge    time.Duration // REBOUND_PERMANENT_MAX_AGE: Cache-Control max-age of 301/308
	LocalCacheSize     int           // REBOUND_LOCAL_CACHE_SIZE: links in the edge's in-process tier
	LocalCacheTTL      time.Duration // REBOUND_LOCAL_CACHE_TTL
	NegativeCacheTTL   time.Duration // REBOUND_NEGATIVE_CACHE_TTL: how long an unknown code is remembered
	RedisLinkTTL       time.Duration // REBOUND_REDIS_LINK_TTL
	EdgeDBConcurrency  int           // REBOUND_EDGE_DB_CONCURRENCY: Postgres lookups in flight per edge
	DBMaxConns         int           // REBOUND_DB_MAX_CONNS; 0 for each service's default, see OriginDBMaxConns and EdgeDBMaxConns
	ClickFlushInterval time.Duration // REBOUND_CLICK_FLUSH_INTERVAL
	ShutdownTimeout    time.Duration // REBOUND_SHUTDOWN_TIMEOUT
	// EdgeTimerSlack is REBOUND_EDGE_TIMER_SLACK: the Linux timer slack the
	// edge runs with (see internal/timerslack); 0 leaves it as started.
	EdgeTimerSlack time.Duration
	// Tracking is REBOUND_TRACKING: how much of each click is stored
	// (full, minimal or off).
	Tracking rebound.Tracking
	// ClickRetention is REBOUND_CLICK_RETENTION: how long raw clicks are
	// kept (whole days); their rollups stay.
	ClickRetention time.Duration
}

// Load reads the configuration from the environment, after loading envFile
// (if it exists) for variables the environment does not set.
func Load(envFile string) (Config, error) {
	if envFile != "" {
		if err := godotenv.Load(envFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Config{}, fmt.Errorf("read %s: %w", envFile, err)
		}
	}
	return FromLookup(os.LookupEnv)
}

// FromLookup builds a Config from a lookup function, so tests need not touch
// the process environment.
func FromLookup(lookup func(string) (string, bool)) (Config, error) {
	r := reader{lookup: lookup}
	c := Config{
		DatabaseURL:             r.str("DATABASE_URL", "postgres://rebound:rebound@127.0.0.1:5432/rebound?sslmode=disable"),
		RedisURL:                r.str("REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisClusterAddrs:       r.list("REDIS_CLUSTER_ADDRS"),
		RedisPrefix:             r.str("REBOUND_REDIS_PREFIX", "rb:"),
		EdgeAddr:                r.str("REBOUND_EDGE_ADDR", ":8080"),
		OriginAddr:              r.str("REBOUND_ORIGIN_ADDR", ":8081"),
		PublicURL:               strings.TrimRight(r.str("REBOUND_PUBLIC_URL", "http://localhost:8080"), "/"),
		APITokens:               r.list("REBOUND_API_TOKENS"),
		InsecureNoAuth:          r.boolean("REBOUND_INSECURE_NO_AUTH", false),
		TrustedProxies:          r.prefixes("REBOUND_TRUSTED_PROXIES"),
		CountryHeader:           r.str("REBOUND_COUNTRY_HEADER", ""),
		GeoIPDB:                 r.str("REBOUND_GEOIP_DB", ""),
		PasswordChecksPerSecond: r.float("REBOUND_PASSWORD_CHECKS_PER_SECOND", 3),
		RateLimit:               r.float("REBOUND_RATE_LIMIT", 100),
		RateBurst:               r.integer("REBOUND_RATE_BURST", 200, 1),
		RateLimitClients:        r.integer("REBOUND_RATE_LIMIT_CLIENTS", 100_000, 1),
		LogLevel:                r.level("REBOUND_LOG_LEVEL", slog.LevelInfo),
		PermanentMaxAge:         r.duration("REBOUND_PERMANENT_MAX_AGE", 24*time.Hour),
		LocalCacheSize:          r.integer("REBOUND_LOCAL_CACHE_SIZE", 100_000, 1),
		LocalCacheTTL:           r.duration("REBOUND_LOCAL_CACHE_TTL", 30*time.Second),
		NegativeCacheTTL:        r.duration("REBOUND_NEGATIVE_CACHE_TTL", 5*time.Second),
		RedisLinkTTL:            r.duration("REBOUND_REDIS_LINK_TTL", 24*time.Hour),
		EdgeDBConcurrency:       r.integer("REBOUND_EDGE_DB_CONCURRENCY", 16, 1),
		DBMaxConns:              r.integer("REBOUND_DB_MAX_CONNS", 0, 2),
		ClickFlushInterval:      r.duration("REBOUND_CLICK_FLUSH_INTERVAL", 100*time.Millisecond),
		ShutdownTimeout:         r.duration("REBOUND_SHUTDOWN_TIMEOUT", 10*time.Second),
		EdgeTimerSlack:          r.duration("REBOUND_EDGE_TIMER_SLACK", time.Millisecond),
		ClickRetention:          r.days("REBOUND_CLICK_RETENTION", 90),
	}
	if t, err := rebound.ParseTracking(r.str("REBOUND_TRACKING", "full")); err != nil {
		r.fail("REBOUND_TRACKING", "must be full, minimal or off")
	} else {
		c.Tracking = t
	}
	if c.PasswordChecksPerSecond <= 0 {
		r.fail("REBOUND_PASSWORD_CHECKS_PER_SECOND", "must be a positive number")
	}
	if c.RateLimit < 0 {
		r.fail("REBOUND_RATE_LIMIT", "must be zero (off) or a positive number")
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail("REBOUND_PUBLIC_URL", "must be an absolute http or https URL")
	}
	if c.EdgeTimerSlack < 0 || c.EdgeTimerSlack > maxTimerSlack {
		r.fail("REBOUND_EDGE_TIMER_SLACK", "must be from 0 (leave it) to "+maxTimerSlack.String())
	}
	if c.PermanentMaxAge < 0 {
		r.fail("REBOUND_PERMANENT_MAX_AGE", "must be zero or a positive duration such as 24h")
	}
	if c.CountryHeader != "" && !validHeaderName(c.CountryHeader) {
		r.fail("REBOUND_COUNTRY_HEADER", "must be a header name such as CF-IPCountry")
	}
	r.listenAddr("REBOUND_EDGE_ADDR", c.EdgeAddr)
	r.listenAddr("REBOUND_ORIGIN_ADDR", c.OriginAddr)
	if c.DatabaseURL == "" {
		r.fail("DATABASE_URL", "must not be empty")
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{
		{"REBOUND_LOCAL_CACHE_TTL", c.LocalCacheTTL}, {"REBOUND_NEGATIVE_CACHE_TTL", c.NegativeCacheTTL},
		{"REBOUND_REDIS_LINK_TTL", c.RedisLinkTTL}, {"REBOUND_CLICK_FLUSH_INTERVAL", c.ClickFlushInterval},
		{"REBOUND_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
	} {
		if v.d <= 0 {
			r.fail(v.name, "must be a positive duration such as 500ms or 30s")
		}
	}
	return c, errors.Join(r.errs...)
}

// maxTimerSlack bounds REBOUND_EDGE_TIMER_SLACK: every timed wait of the
// edge may end up to that much late.
const maxTimerSlack = 10 * time.Millisecond

// RequireAuth returns an error naming REBOUND_API_TOKENS when origin would
// start without any token and without the explicit opt-out.
func (c Config) RequireAuth() error {
	if len(c.APITokens) == 0 && !c.InsecureNoAuth {
		return errors.New("REBOUND_API_TOKENS: origin needs at least one token (or REBOUND_INSECURE_NO_AUTH=true)")
	}
	return nil
}

// MinTokenLength is the length under which an admin token is guessable by
// an attacker who may try it over and over: the origin does not rate-limit
// failed attempts. 16 random base64 characters hold 96 bits.
const MinTokenLength = 16

// ShortTokens returns how many of the API tokens are shorter than
// MinTokenLength. The origin warns at start rather than refuse them, so that
// a deployment configured with a short token keeps starting.
func (c Config) ShortTokens() int {
	n := 0
	for _, t := range c.APITokens {
		if len(t) < MinTokenLength {
			n++
		}
	}
	return n
}

type reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (r *reader) fail(name, msg string) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, msg))
}

func (r *reader) raw(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *reader) str(name, def string) string {
	if v, ok := r.raw(name); ok {
		return v
	}
	return def
}

func (r *reader) list(name string) []string {
	v, ok := r.raw(name)
	if !ok {
		return nil
	}
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func (r *reader) boolean(name string, def bool) bool {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, fmt.Sprintf("must be true or false, got %q", v))
	}
	return b
}

func (r *reader) float(name string, def float64) float64 {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		r.fail(name, fmt.Sprintf("must be a number, got %q", v))
	}
	return f
}

func (r *reader) integer(name string, def, min int) int {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		r.fail(name, fmt.Sprintf("must be a whole number of at least %d, got %q", min, v))
	}
	return n
}

// days reads a number of days written "90d" (or "90").
func (r *reader) days(name string, def int) time.Duration {
	v, ok := r.raw(name)
	if !ok {
		return time.Duration(def) * 24 * time.Hour
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
	if err != nil || n < 1 || n > 36500 {
		r.fail(name, fmt.Sprintf("must be a number of days such as 90d, got %q", v))
	}
	return time.Duration(n) * 24 * time.Hour
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(name, fmt.Sprintf("must be a duration such as 500ms or 30s, got %q", v))
	}
	return d
}

// listenAddr checks that addr is host:port with a numeric port, so a typo
// stops start-up with the variable's name rather than a bare listen error.
func (r *reader) listenAddr(name, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		r.fail(name, fmt.Sprintf("must be host:port or :port, got %q", addr))
	}
}

func (r *reader) level(name string, def slog.Level) slog.Level {
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.fail(name, fmt.Sprintf("must be debug, info, warn or error, got %q", v))
	}
	return l
}

func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range r.list(name) {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			r.fail(name, fmt.Sprintf("must be a comma-separated list of IP addresses or CIDRs, got %q", s))
			continue
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out
}

// OriginDBMaxConns is the origin's Postgres pool size: REBOUND_DB_MAX_CONNS,
// or two connections per core the service may use and at least four. More do
// not make a write faster: on two cores a pool of 20 took the create-link p99
// at 500/s from about 15 ms to 60 ms, since every stall (a slow WAL flush,
// say) woke as many backends at once as requests had queued meanwhile.
func (c Config) OriginDBMaxConns() int {
	if c.DBMaxConns > 0 {
		return c.DBMaxConns
	}
	return max(4, 2*runtime.GOMAXPROCS(0))
}

// EdgeDBMaxConns is the edge's Postgres pool size: REBOUND_DB_MAX_CONNS, or
// a connection for each lookup REBOUND_EDGE_DB_CONCURRENCY lets run at once
// and four for writing clicks while Redis is down, so that a lookup holding
// a slot never also waits for a connection.
func (c Config) EdgeDBMaxConns() int {
	if c.DBMaxConns > 0 {
		return c.DBMaxConns
	}
	return c.EdgeDBConcurrency + 4
}

// validHeaderName reports whether s is an HTTP header name (RFC 9110 token).
func validHeaderName(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// DefaultHost is the default domain's host: REBOUND_PUBLIC_URL's, as the
// origin canonicalises it for short_url (lower-case, no trailing dot).
func (c Config) DefaultHost() string { return rebound.NewShortURLBase(c.PublicURL).Host() }
