package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reboundhq/rebound/internal/testenv"
)

func TestUsageAndHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 || !strings.Contains(out.String(), "usage: rebound") {
		t.Fatalf("no args: %d %q", code, out.String())
	}
	if code := run([]string{"bogus"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("unknown: %d %q", code, errb.String())
	}
	for _, cmd := range []string{"origin", "edge", "migrate", "import", "keys", "healthcheck"} {
		errb.Reset()
		if code := run([]string{cmd, "-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "usage: rebound "+cmd) {
			t.Fatalf("%s -h: %d %q", cmd, code, errb.String())
		}
	}
}

func TestOriginRefusesToStartWithoutToken(t *testing.T) {
	t.Setenv("REBOUND_API_TOKENS", "")
	t.Setenv("REBOUND_INSECURE_NO_AUTH", "")
	var out, errb bytes.Buffer
	if code := run([]string{"origin", "-env", ""}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "REBOUND_API_TOKENS") {
		t.Fatalf("origin without token: %d %q", code, errb.String())
	}
	t.Setenv("REBOUND_RATE_LIMIT", "lots")
	errb.Reset()
	if code := run([]string{"edge", "-env", ""}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "REBOUND_RATE_LIMIT") {
		t.Fatalf("edge with a bad variable: %d %q", code, errb.String())
	}
}

func TestMigrateAndImport(t *testing.T) {
	dsn := testenv.NewDatabase(t)
	_, prefix := testenv.NewRedis(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("REDIS_URL", testenv.RedisURL())
	t.Setenv("REBOUND_REDIS_PREFIX", prefix)
	var out, errb bytes.Buffer
	if code := run([]string{"migrate", "-env", ""}, &out, &errb); code != 0 {
		t.Fatalf("migrate: %d %s", code, errb.String())
	}
	if imported, skipped := importCounts(t, "users", filepath.Join(testenv.SeedDir(), "users.csv")); imported != 399 || skipped != 1 {
		t.Fatalf("users.csv: %d imported, %d skipped; want 399 and 1", imported, skipped)
	}
	if imported, skipped := importCounts(t, "urls", filepath.Join(testenv.SeedDir(), "urls.csv")); imported != 1996 || skipped != 4 {
		t.Fatalf("urls.csv: %d imported, %d skipped; want 1996 and 4 (the links of the second vividcanyon32)", imported, skipped)
	}
	// The command refuses links to the service's own short URLs, as the API does.
	t.Setenv("REBOUND_PUBLIC_URL", "https://s.example")
	own := filepath.Join(t.TempDir(), "own.csv")
	if err := os.WriteFile(own, []byte("original_url,short_code\nhttps://s.example/own1,own2\nhttps://example.com/x,own3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if imported, skipped := importCounts(t, "urls", own); imported != 1 || skipped != 1 {
		t.Fatalf("own.csv: %d imported, %d skipped; want 1 and 1", imported, skipped)
	}
	// A file named .gz is decompressed: the seed events, gzipped.
	seed, err := os.ReadFile(filepath.Join(testenv.SeedDir(), "events.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(seed)
	_ = zw.Close()
	events := filepath.Join(t.TempDir(), "events.csv.gz")
	if err := os.WriteFile(events, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if imported, skipped := importCounts(t, "events", events); imported != 3422 || skipped != 0 {
		t.Fatalf("events.csv.gz: %d imported, %d skipped; want 3422 and 0", imported, skipped)
	}
	if code := run([]string{"import", "-env", "", "urls", own + ".gz"}, &out, &errb); code != 1 {
		t.Fatalf("a .gz file that is not there: %d", code)
	}
	if err := os.WriteFile(own+".gz", []byte("original_url\nhttps://example.com/plain\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"import", "-env", "", "urls", own + ".gz"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "gzip") {
		t.Fatalf("a .gz file that is not gzip: %d %s", code, errb.String())
	}
	if code := run([]string{"import", "-env", "", "things", "x.csv"}, &out, &errb); code != 1 {
		t.Fatalf("bad kind: %d", code)
	}
	if code := run([]string{"import", "-env", "", "users", "/no/such/file.csv"}, &out, &errb); code != 1 {
		t.Fatalf("missing file: %d", code)
	}
}

// importCounts runs rebound import and returns the counts it prints.
func importCounts(t *testing.T, kind, path string) (imported, skipped int) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run([]string{"import", "-env", "", kind, path}, &out, &errb); code != 0 {
		t.Fatalf("import %s %s: exit %d: %s", kind, path, code, errb.String())
	}
	var res struct{ Imported, Skipped int }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("import %s %s printed %q: %v", kind, path, out.String(), err)
	}
	return res.Imported, res.Skipped
}

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"healthcheck", "-env", "", "-url", srv.URL}, &out, &errb); code != 0 {
		t.Fatalf("healthy: %d %s", code, errb.String())
	}
	status = http.StatusServiceUnavailable
	if code := run([]string{"healthcheck", "-env", "", "-url", srv.URL}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "503") {
		t.Fatalf("unhealthy: %d %s", code, errb.String())
	}
	srv.Close()
	if code := run([]string{"healthcheck", "-env", "", "-url", srv.URL, "-timeout", "500ms"}, &out, &errb); code != 1 {
		t.Fatalf("unreachable: %d", code)
	}
}

// TestServicesNameTheAddressInUse starts each service on a port another
// listener holds: start-up must stop with the variable's name, not hang or
// log that it listens.
func TestServicesNameTheAddressInUse(t *testing.T) {
	dsn := testenv.NewDatabase(t)
	_, prefix := testenv.NewRedis(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for k, v := range map[string]string{
		"DATABASE_URL": dsn, "REDIS_URL": testenv.RedisURL(), "REBOUND_REDIS_PREFIX": prefix,
		"REBOUND_API_TOKENS": "t", "REBOUND_ORIGIN_ADDR": taken.Addr().String(), "REBOUND_EDGE_ADDR": taken.Addr().String(),
	} {
		t.Setenv(k, v)
	}
	for _, svc := range []string{"origin", "edge"} {
		var out, errb bytes.Buffer
		code := run([]string{svc, "-env", ""}, &out, &errb)
		want := "REBOUND_" + strings.ToUpper(svc) + "_ADDR"
		if code != 1 || !strings.Contains(errb.String(), want) || !strings.Contains(errb.String(), "address already in use") {
			t.Errorf("%s on a taken port: exit %d, %q", svc, code, errb.String())
		}
	}
}

// TestServicesNameAMalformedURL: a DATABASE_URL or REDIS_URL that cannot be
// parsed stops each service at start-up with the variable's name, exit 1,
// and without the password the URL holds.
func TestServicesNameAMalformedURL(t *testing.T) {
	t.Setenv("REBOUND_API_TOKENS", "t")
	t.Setenv("REBOUND_EDGE_TIMER_SLACK", "0") // no re-execution of the test binary
	dsn := testenv.NewDatabase(t)
	for _, c := range []struct{ name, dsn, redisURL string }{
		{"DATABASE_URL", "postgres://rebound:s3cretpw@127.0.0.1:notaport/db", testenv.RedisURL()},
		{"REDIS_URL", dsn, "redis://:s3cretpw@127.0.0.1:notaport/0"},
		{"REDIS_URL", dsn, "rediss//nowhere"},
	} {
		t.Setenv("DATABASE_URL", c.dsn)
		t.Setenv("REDIS_URL", c.redisURL)
		for _, svc := range []string{"origin", "edge"} {
			var out, errb bytes.Buffer
			if code := run([]string{svc, "-env", ""}, &out, &errb); code != 1 || !strings.Contains(errb.String(), c.name) ||
				strings.Contains(errb.String(), "s3cretpw") {
				t.Errorf("%s with a malformed %s: exit %d, %q", svc, c.name, code, errb.String())
			}
		}
	}
}

// TestImportWithRedisNotAnswering: the import command stores every row
// when Redis accepts connections but never answers, and stops trying to
// cache after the first batch Redis refused (each try cost seconds).
func TestImportWithRedisNotAnswering(t *testing.T) {
	dsn := testenv.NewDatabase(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var held []net.Conn // kept open and never read: Redis hung
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("REDIS_URL", "redis://"+silent.Addr().String()+"/0")
	var out, errb bytes.Buffer
	if code := run([]string{"migrate", "-env", ""}, &out, &errb); code != 0 {
		t.Fatalf("migrate: %d %s", code, errb.String())
	}
	var csv strings.Builder
	csv.WriteString("original_url,short_code\n")
	for i := range 12000 { // three batches of the importer's 5,000
		csv.WriteString("https://example.com/x,hung" + strconv.Itoa(i) + "\n")
	}
	file := filepath.Join(t.TempDir(), "urls.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"import", "-env", "", "urls", file}, &out, &errb); code != 0 {
		t.Fatalf("import: %d %s", code, errb.String())
	}
	var res struct{ Imported int }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Imported != 12000 {
		t.Fatalf("import result %q: %v", out.String(), err)
	}
	if n := strings.Count(errb.String(), "imported links not cached"); n != 1 {
		t.Fatalf("%d batches tried Redis; want the first only:\n%s", n, errb.String())
	}
}
