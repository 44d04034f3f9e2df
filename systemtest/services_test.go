package systemtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound/internal/testenv"
)

// TestServicesOnPGPort runs scripts/services.sh against a stock Postgres of
// the test's own on PG_PORT: peer authentication on the socket and passwords
// over TCP, as Debian sets one up, with no Rebound role. The script must
// create the role and database on that server (it used to create them on
// the server of port 5432's socket, and print a URL that could not log in),
// start nothing, and print a DATABASE_URL that logs in.
func TestServicesOnPGPort(t *testing.T) {
	bin := postgresBinDir(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	port := startStockPostgres(t, bin)

	out, err := runServices(root, fmt.Sprintf("PG_PORT=%d", port))
	if err != nil {
		t.Fatalf("services.sh: %v\n%s", err, out)
	}
	url := submatch(t, out, `export DATABASE_URL='([^']+)'`)
	if !strings.Contains(url, fmt.Sprintf(":%d/", port)) {
		t.Fatalf("DATABASE_URL %s does not name port %d", url, port)
	}
	if started := submatch(t, out, `export REBOUND_STARTED_SERVICES='([^']*)'`); started != "" {
		t.Fatalf("services.sh started %q; the server on PG_PORT was running", started)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("log in with the printed DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	var user string
	var serverPort int
	if err := conn.QueryRow(ctx, "SELECT current_user, current_setting('port')::int").Scan(&user, &serverPort); err != nil {
		t.Fatal(err)
	}
	if user != "rebound" || serverPort != port {
		t.Fatalf("logged in as %s on port %d, want rebound on %d", user, serverPort, port)
	}
}

// TestServicesRefuseAClusterOfAnotherPort sets PG_PORT to a port nothing
// answers on while Debian's main cluster is set up for another: the script
// must stop at once and name PG_PORT, rather than start that cluster and wait
// for it on a port it never listens on.
func TestServicesRefuseAClusterOfAnotherPort(t *testing.T) {
	bin := postgresBinDir(t)
	ver := filepath.Base(filepath.Dir(bin))
	lines, err := exec.Command("pg_lsclusters", "-h").Output()
	if err != nil {
		t.Skipf("no pg_lsclusters: %v", err)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(ver) + ` main \d+ `).Match(lines) {
		t.Skipf("no main cluster of Postgres %s (services.sh would create one)", ver)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	start := time.Now()
	out, err := runServices(root, fmt.Sprintf("PG_PORT=%d", port))
	if err == nil || !strings.Contains(out, "PG_PORT") {
		t.Fatalf("services.sh with nothing on PG_PORT=%d: %v\n%s", port, err, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("services.sh took %s to give up", d)
	}
}

// postgresBinDir returns the bin folder of the newest Postgres installed from
// Debian's packages, as services.sh picks it, or skips the test when it
// cannot run a server of its own as the postgres OS user.
func postgresBinDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Postgres servers: not in -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run Postgres as the postgres OS user")
	}
	if err := exec.Command("id", "postgres").Run(); err != nil {
		t.Skip("no postgres OS user")
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(bins) == 0 {
		t.Skip("no Postgres under /usr/lib/postgresql")
	}
	sort.Slice(bins, func(i, j int) bool { return versionLess(bins[i], bins[j]) })
	return bins[len(bins)-1]
}

// versionLess orders /usr/lib/postgresql/VERSION/bin folders by VERSION, as
// services.sh's sort -V does.
func versionLess(a, b string) bool {
	va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
	vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
	return va < vb
}

// startStockPostgres starts a Postgres server as the postgres OS user on a
// free port, authenticated as Debian's packages set one up: peer on the
// socket (in the usual folder, so that `psql -p PORT` finds it) and
// scram-sha-256 over TCP. It stops with the test.
func startStockPostgres(t *testing.T, bin string) int {
	t.Helper()
	dir, err := os.MkdirTemp("", "rebound-stock-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	data := filepath.Join(dir, "data")
	asPostgres := func(name string, args ...string) *exec.Cmd {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
	}
	if out, err := asPostgres("initdb", "-D", data, "-A", "peer", "--auth-host=scram-sha-256").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := testenv.FreePort(t)
	opts := fmt.Sprintf("-p %d -k /var/run/postgresql -c listen_addresses=127.0.0.1", port)
	if out, err := asPostgres("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("start Postgres: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() { _ = asPostgres("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Run() })
	return port
}

// runServices runs services.sh for Postgres only, with the test's
// environment less Rebound's and services.sh's settings, plus env.
func runServices(root string, env ...string) (string, error) {
	cmd := exec.Command("bash", "scripts/services.sh", "postgres")
	cmd.Dir = root
	cmd.Env = append(envWithout("DATABASE_URL", "REDIS_URL", "REBOUND_", "PG_PORT", "REDIS_PORT"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
