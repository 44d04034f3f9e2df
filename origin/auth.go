package origin

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/time/rate"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/clientaddr"
)

// KeyStore is where API keys live; *postgres.DB implements it.
type KeyStore interface {
	KeyByHash(ctx context.Context, hash []byte) (rebound.APIKey, error)
	TouchKeys(ctx context.Context, used map[int64]time.Time) error
}

// How long an origin trusts what it read of a key. A key revoked on another
// origin is refused here within this time (SPEC 8 asks for 1 s); expiry is
// checked on every request against the time the key carries.
const keyCacheTTL = 500 * time.Millisecond

// keyUseFlushInterval is how often an origin writes its keys' last use to
// Postgres by default: one UPDATE for every key used since the last, instead
// of a write a request. last_used_at is therefore up to this much behind.
const keyUseFlushInterval = 5 * time.Second

// Failed authentications: more than failedAuthBurst a minute from one
// client are answered 429 without checking the token.
const (
	failedAuthBurst   = 20
	failedAuthClients = 100_000
)

// authenticator tells who a request acts as. Tokens from REBOUND_API_TOKENS
// are compared in constant time and act as admin; API keys are looked up by
// their SHA-256, cached briefly.
type authenticator struct {
	tokens  [][]byte
	noAuth  bool
	keys    KeyStore
	cache   *expirable.LRU[string, rebound.APIKey]
	trusted clientaddr.Trusted
	// failures holds a token bucket per client that failed to
	// authenticate; bounded, so a flood of addresses costs bounded memory.
	failures *lru.Cache[netip.Addr, *rate.Limiter]
	log      *slog.Logger

	flushEvery time.Duration // how often used is written to Postgres
	mu         sync.Mutex
	used       map[int64]time.Time // keys used since the last flush
}

func newAuthenticator(tokens []string, keys KeyStore, trusted []netip.Prefix, log *slog.Logger) *authenticator {
	a := &authenticator{
		noAuth: len(tokens) == 0, keys: keys, trusted: trusted, log: log,
		cache: expirable.NewLRU[string, rebound.APIKey](10_000, nil, keyCacheTTL),
		used:  map[int64]time.Time{}, flushEvery: keyUseFlushInterval,
	}
	a.failures, _ = lru.New[netip.Addr, *rate.Limiter](failedAuthClients)
	for _, t := range tokens {
		a.tokens = append(a.tokens, []byte(t))
	}
	return a
}

// unauthorized is an authentication failure (401).
func unauthorized(msg string) error { return rebound.Errorf(rebound.EUnauthorized, "%s", msg) }

// authenticate returns the principal of a request, or an error to answer.
func (a *authenticator) authenticate(r *http.Request) (rebound.Principal, error) {
	client := a.client(r)
	if lim, ok := a.failures.Get(client); ok && lim.Tokens() < 1 {
		return rebound.Principal{}, rebound.Errorf(rebound.ERateLimited,
			"too many failed authentications from this client; retry in a minute")
	}
	p, err := a.check(r)
	// Only a credential that was tried and refused counts: a request that
	// sent none is no guess.
	if err != nil && rebound.ErrorCode(err) == rebound.EUnauthorized && len(r.Header.Values("Authorization")) > 0 {
		a.failed(client)
	}
	return p, err
}

// check reads and verifies the bearer token.
func (a *authenticator) check(r *http.Request) (rebound.Principal, error) {
	headers := r.Header.Values("Authorization")
	if len(headers) == 0 && a.noAuth {
		return rebound.Principal{Role: rebound.RoleAdmin, Anonymous: true}, nil
	}
	if len(headers) == 0 {
		return rebound.Principal{}, unauthorized("a valid Authorization: Bearer token is required")
	}
	if len(headers) > 1 {
		return rebound.Principal{}, unauthorized("send one Authorization header, not several")
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(headers[0]), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return rebound.Principal{}, unauthorized("the Authorization header must be Bearer and one token")
	}
	if strings.ContainsAny(token, " \t,") {
		return rebound.Principal{}, unauthorized("the Authorization header must hold one token")
	}
	if a.isToken(token) {
		return rebound.Principal{Role: rebound.RoleAdmin}, nil
	}
	if !rebound.KeyShaped(token) {
		if strings.HasPrefix(token, rebound.KeyPrefix) {
			return rebound.Principal{}, unauthorized("an API key is rb_ and 32 letters and digits")
		}
		return rebound.Principal{}, unauthorized("a valid Authorization: Bearer token is required")
	}
	key, err := a.lookup(r.Context(), token)
	if err != nil {
		return rebound.Principal{}, err
	}
	now := time.Now()
	switch {
	case key.RevokedAt != nil:
		return rebound.Principal{}, unauthorized("this API key was revoked")
	case !key.Usable(now):
		return rebound.Principal{}, unauthorized("this API key has expired")
	}
	a.mu.Lock()
	a.used[key.ID] = now
	a.mu.Unlock()
	p := rebound.Principal{KeyID: key.ID, Role: key.Role}
	if key.Role == rebound.RoleAuthor {
		p.UserID = key.UserID
	}
	return p, nil
}

// isToken compares token with every configured token in constant time, so
// timing reveals neither which token nor how much matched.
func (a *authenticator) isToken(token string) bool {
	given := []byte(token)
	match := 0
	for _, t := range a.tokens {
		match |= subtle.ConstantTimeCompare(given, t)
	}
	return match == 1
}

// lookup finds a key by its hash, from the cache or Postgres.
func (a *authenticator) lookup(ctx context.Context, token string) (rebound.APIKey, error) {
	hash := rebound.HashKey(token)
	if k, ok := a.cache.Get(string(hash)); ok {
		return k, nil
	}
	k, err := a.keys.KeyByHash(ctx, hash)
	if rebound.ErrorCode(err) == rebound.ENotFound {
		return k, unauthorized("no such API key")
	}
	if err != nil {
		return k, err
	}
	a.cache.Add(string(hash), k)
	return k, nil
}

// forget drops every cached key, so a revocation made here takes effect here
// at once.
func (a *authenticator) forget() { a.cache.Purge() }

// failed counts a failed authentication against the client.
func (a *authenticator) failed(client netip.Addr) {
	lim, ok := a.failures.Get(client)
	if !ok {
		lim = rate.NewLimiter(rate.Every(time.Minute/failedAuthBurst), failedAuthBurst)
		if prev, found, _ := a.failures.PeekOrAdd(client, lim); found {
			lim = prev
		}
	}
	lim.Allow()
}

// client is the request's client: its peer, or the address a trusted proxy
// names in X-Forwarded-For.
func (a *authenticator) client(r *http.Request) netip.Addr {
	peer := peerAddr(r)
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return peer
	}
	// Proxies append; several headers read as one list, in order.
	return a.trusted.Client(peer, []byte(strings.Join(xff, ",")))
}

// peerAddr is the address of r's peer.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, _ := netip.ParseAddr(host)
	return peer.Unmap()
}

// flushUse writes the keys' last use to Postgres every flushEvery until ctx
// ends, and once more then.
func (a *authenticator) flushUse(ctx context.Context) {
	t := time.NewTicker(a.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			a.writeUse(stop)
			cancel()
			return
		case <-t.C:
			a.writeUse(ctx)
		}
	}
}

func (a *authenticator) writeUse(ctx context.Context) {
	a.mu.Lock()
	used := a.used
	a.used = map[int64]time.Time{}
	a.mu.Unlock()
	if err := a.keys.TouchKeys(ctx, used); err != nil {
		a.log.WarnContext(ctx, "record API key use", "err", err, "keys", len(used))
		a.mu.Lock()
		for id, t := range used { // keep them for the next try, unless newer
			if a.used[id].Before(t) {
				a.used[id] = t
			}
		}
		a.mu.Unlock()
	}
}

// retryAfterSeconds is the Retry-After of a client refused for failed
// authentications: the time one more attempt takes to be allowed.
var retryAfterSeconds = strconv.Itoa(int((time.Minute/failedAuthBurst + time.Second - 1) / time.Second))
