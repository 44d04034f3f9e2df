package config_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound/config"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := config.FromLookup(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.EdgeAddr != ":8080" || c.OriginAddr != ":8081" || c.RateLimit != 100 || c.RateBurst != 200 ||
		c.LocalCacheTTL != 30*time.Second || c.PublicURL != "http://localhost:8080" || c.RedisPrefix != "rb:" ||
		c.EdgeTimerSlack != time.Millisecond {
		t.Fatalf("defaults %+v", c)
	}
	if err := c.RequireAuth(); err == nil || !strings.Contains(err.Error(), "REBOUND_API_TOKENS") {
		t.Fatalf("origin without tokens: %v", err)
	}
}

func TestPoolSizes(t *testing.T) {
	c, err := config.FromLookup(lookup(map[string]string{"REBOUND_EDGE_DB_CONCURRENCY": "10"}))
	if err != nil {
		t.Fatal(err)
	}
	// The origin's default follows the cores the process may use.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c2 := range []struct{ procs, want int }{{1, 4}, {2, 4}, {3, 6}, {8, 16}} {
		runtime.GOMAXPROCS(c2.procs)
		if got := c.OriginDBMaxConns(); got != c2.want {
			t.Errorf("origin pool %d by default with GOMAXPROCS=%d, want %d", got, c2.procs, c2.want)
		}
	}
	if c.EdgeDBMaxConns() != 14 {
		t.Errorf("edge pool %d by default with 10 lookups at once, want 14", c.EdgeDBMaxConns())
	}
	c, err = config.FromLookup(lookup(map[string]string{"REBOUND_DB_MAX_CONNS": "7"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.OriginDBMaxConns() != 7 || c.EdgeDBMaxConns() != 7 {
		t.Errorf("pools %d and %d with REBOUND_DB_MAX_CONNS=7", c.OriginDBMaxConns(), c.EdgeDBMaxConns())
	}
}

func TestValues(t *testing.T) {
	c, err := config.FromLookup(lookup(map[string]string{
		"REBOUND_API_TOKENS": " a, b ,", "REBOUND_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7",
		"REBOUND_RATE_LIMIT": "2.5", "REBOUND_LOG_LEVEL": "debug", "REBOUND_PUBLIC_URL": "https://s.example/",
		"REDIS_CLUSTER_ADDRS": "h1:1,h2:2", "REBOUND_INSECURE_NO_AUTH": "true", "REBOUND_EDGE_TIMER_SLACK": "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.APITokens) != 2 || c.APITokens[1] != "b" || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].Bits() != 32 ||
		c.RateLimit != 2.5 || c.PublicURL != "https://s.example" || len(c.RedisClusterAddrs) != 2 || !c.InsecureNoAuth ||
		c.EdgeTimerSlack != 0 {
		t.Fatalf("parsed %+v", c)
	}
}

// TestBadValuesNameTheVariable: every bad value stops start-up with a
// message naming its variable.
func TestBadValuesNameTheVariable(t *testing.T) {
	for name, value := range map[string]string{
		"REBOUND_RATE_LIMIT": "fast", "REBOUND_RATE_BURST": "0", "REBOUND_LOG_LEVEL": "loud",
		"REBOUND_TRUSTED_PROXIES": "10.0.0.0/33", "REBOUND_LOCAL_CACHE_TTL": "soon", "REBOUND_INSECURE_NO_AUTH": "maybe",
		"REBOUND_PUBLIC_URL": "ftp://x", "REBOUND_NEGATIVE_CACHE_TTL": "-1s", "REBOUND_LOCAL_CACHE_SIZE": "-5",
		"REBOUND_EDGE_TIMER_SLACK": "1s", "REBOUND_PERMANENT_MAX_AGE": "-1s", "REBOUND_EDGE_ADDR": "8080",
		"REBOUND_ORIGIN_ADDR": ":http-alt", "REBOUND_SHUTDOWN_TIMEOUT": "0s",
	} {
		_, err := config.FromLookup(lookup(map[string]string{name: value}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v does not name the variable", name, value, err)
		}
	}
}

func TestEnvFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ".env")
	if err := os.WriteFile(file, []byte("REBOUND_EDGE_ADDR=:9999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REBOUND_EDGE_ADDR", "")
	os.Unsetenv("REBOUND_EDGE_ADDR")
	c, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.EdgeAddr != ":9999" {
		t.Fatalf("edge addr %q from .env", c.EdgeAddr)
	}
	if _, err := config.Load(filepath.Join(dir, "missing.env")); err != nil {
		t.Fatalf("a missing .env is fine: %v", err)
	}
}

func TestShortTokens(t *testing.T) {
	for _, tc := range []struct {
		tokens string
		short  int
	}{
		{"", 0},
		{"0123456789abcdef", 0},                       // exactly the minimum
		{"0123456789abcde", 1},                        // one under
		{"secret,0123456789abcdef0123,admin", 2},      // each token counts
		{"  0123456789abcdef  , 0123456789abcdef", 0}, // list items are trimmed
	} {
		c, err := config.FromLookup(lookup(map[string]string{"REBOUND_API_TOKENS": tc.tokens}))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ShortTokens(); got != tc.short {
			t.Errorf("REBOUND_API_TOKENS=%q: %d short tokens, want %d", tc.tokens, got, tc.short)
		}
	}
}
