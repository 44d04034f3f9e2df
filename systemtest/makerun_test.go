package systemtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound/internal/testenv"
)

// TestMakeRun runs `make run` as a developer would, on a database and Redis
// key prefix of its own: it waits for the banner, runs the curl example the
// banner prints, then presses Ctrl-C (SIGINT to the whole process group, as a
// terminal does) and checks that origin and edge stopped for good.
func TestMakeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the services: not in -short")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dsn := testenv.NewDatabase(t)
	_, prefix := testenv.NewRedis(t)
	edgePort, originPort := testenv.FreePort(t), testenv.FreePort(t)

	// A process started with SIGINT ignored (a test binary run in the
	// background by a script, say) passes that on, and the script's Ctrl-C
	// trap would never fire. Handling SIGINT here makes the child start with
	// the default action instead.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)

	cmd := exec.Command("make", "--no-print-directory", "run")
	cmd.Dir = root
	cmd.Env = append(envWithout("DATABASE_URL", "REDIS_URL", "REDIS_CLUSTER_ADDRS", "REBOUND_"),
		"DATABASE_URL="+dsn,
		"REDIS_URL="+testenv.RedisURL(),
		"REBOUND_REDIS_PREFIX="+prefix,
		fmt.Sprintf("REBOUND_EDGE_ADDR=:%d", edgePort),
		fmt.Sprintf("REBOUND_ORIGIN_ADDR=:%d", originPort),
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start make run: %v", err)
	}
	pgid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })

	// The first run of a clean checkout compiles the binary.
	waitFor(t, &out, exited, "Rebound is running.", 5*time.Minute)
	banner := out.String()
	token := submatch(t, banner, `admin token: (\S+)`)

	example := submatch(t, banner, `(?s)Try it:\n(.*?)\n\n`)
	if !strings.Contains(example, fmt.Sprintf("localhost:%d/urls", originPort)) ||
		!strings.Contains(example, fmt.Sprintf("localhost:%d/hello", edgePort)) ||
		!strings.Contains(example, "Bearer "+token) {
		t.Fatalf("the example does not use the ports and token it runs with:\n%s", example)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("no curl to run the printed example with (`make test` installs it)")
	}
	res, err := exec.Command("bash", "-c", example).CombinedOutput()
	if err != nil {
		t.Fatalf("the printed example failed: %v\n%s", err, res)
	}
	if !bytes.Contains(res, []byte(`"short_code":"hello"`)) ||
		!bytes.Contains(res, []byte("HTTP/1.1 302 Found")) ||
		!bytes.Contains(res, []byte("Location: https://example.com")) {
		t.Fatalf("the printed example did not create and redirect hello:\n%s", res)
	}

	// The link is in the database the environment named, not in the one
	// services.sh reports.
	db, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM urls WHERE short_code = 'hello'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("hello in the test's database: %d rows, %v", n, err)
	}

	// A crash is restarted.
	origin := groupProcess(t, pgid, "origin")
	if err := syscall.Kill(origin, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, exited, "run: origin exited with status 137; restarting in 1s", 10*time.Second)
	testenv.Eventually(t, 10*time.Second, "the origin restarted", func() bool {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", originPort))
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})

	// A clean stop is not: SIGTERM to the edge alone stops it for good.
	if err := syscall.Kill(groupProcess(t, pgid, "edge"), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, exited, "run: edge stopped", 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // longer than the supervisor's wait before a restart
	if strings.Contains(out.String(), "run: edge exited") || portAnswers(edgePort) {
		t.Fatalf("the edge came back after a clean stop:\n%s", out.String())
	}

	// Ctrl-C.
	before := len(out.String())
	if err := syscall.Kill(-pgid, syscall.SIGINT); err != nil {
		t.Fatalf("send SIGINT: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("make run still running 30 s after Ctrl-C:\n%s", out.String())
	}
	log := out.String()[before:]
	for _, want := range []string{"run: stopping", "origin stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("no %q after Ctrl-C:\n%s", want, log)
		}
	}
	if strings.Contains(log, "restarting") {
		t.Errorf("a service was restarted after Ctrl-C:\n%s", log)
	}
	// Nothing of the group is left, and nothing answers on its ports.
	testenv.Eventually(t, 5*time.Second, "every process of make run gone", func() bool {
		return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
	})
	for _, port := range []int{edgePort, originPort} {
		if portAnswers(port) {
			t.Errorf("port %d still answers after Ctrl-C", port)
		}
	}
}

func portAnswers(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// groupProcess returns the pid of "rebound NAME" in process group pgid.
func groupProcess(t *testing.T, pgid int, name string) int {
	t.Helper()
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range cmdlines {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) != 2 || !strings.HasSuffix(args[0], "bin/rebound") || args[1] != name {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		if err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err == nil && g == pgid {
			return pid
		}
	}
	t.Fatalf("no rebound %s in process group %d", name, pgid)
	return 0
}

// waitFor waits until out holds want, failing if the process exits first.
func waitFor(t *testing.T, out *testenv.SyncBuffer, exited <-chan error, want string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-exited:
			t.Fatalf("make run exited (%v) before %q:\n%s", err, want, out.String())
		case <-deadline:
			t.Fatalf("no %q within %s:\n%s", want, d, out.String())
		case <-tick.C:
		}
	}
}

func submatch(t *testing.T, s, expr string) string {
	t.Helper()
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", expr, s)
	}
	return m[1]
}

// envWithout is the test's environment less the variables named, or
// starting with a name ending in '_'.
func envWithout(names ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		for _, n := range names {
			if k == n || (strings.HasSuffix(n, "_") && strings.HasPrefix(k, n)) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}
