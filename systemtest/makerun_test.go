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
	"github.com/redis/go-redis/v9"

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

	mr := startMakeRun(t, root,
		"DATABASE_URL="+dsn,
		"REDIS_URL="+testenv.RedisURL(),
		"REBOUND_REDIS_PREFIX="+prefix,
		fmt.Sprintf("REBOUND_EDGE_ADDR=:%d", edgePort),
		fmt.Sprintf("REBOUND_ORIGIN_ADDR=:%d", originPort),
	)
	out, exited, pgid := &mr.out, mr.exited, mr.pgid

	// The first run of a clean checkout compiles the binary.
	waitFor(t, out, exited, "Rebound is running.", 5*time.Minute)
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
	waitFor(t, out, exited, "run: origin exited with status 137; restarting in 1s", 10*time.Second)
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
	waitFor(t, out, exited, "run: edge stopped", 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // longer than the supervisor's wait before a restart
	if strings.Contains(out.String(), "run: edge exited") || portAnswers(edgePort) {
		t.Fatalf("the edge came back after a clean stop:\n%s", out.String())
	}

	// Ctrl-C.
	log := mr.interrupt(t)
	for _, want := range []string{"run: stopping", "origin stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("no %q after Ctrl-C:\n%s", want, log)
		}
	}
	if strings.Contains(log, "restarting") {
		t.Errorf("a service was restarted after Ctrl-C:\n%s", log)
	}
	for _, port := range []int{edgePort, originPort} {
		if portAnswers(port) {
			t.Errorf("port %d still answers after Ctrl-C", port)
		}
	}
}

// TestMakeRunStartsOnlyWhatIsMissing runs `make run` with a database named
// on another port than services.sh's, and a Redis either not named or named
// on services.sh's port (as .env.example names the local one). It must use
// the database as given and leave Postgres alone (no Postgres listens on
// services.sh's port, so asking it for one would start or wait for a
// server), start a Redis of its own on services.sh's port, and on Ctrl-C stop
// that Redis and no other.
func TestMakeRunStartsOnlyWhatIsMissing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the services: not in -short")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("no redis-server binary for make run to start")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no REDIS_URL", func(t *testing.T) {
		makeRunOwnRedis(t, root, func(int) []string { return nil })
	})
	t.Run("REDIS_URL on services.sh's port", func(t *testing.T) {
		makeRunOwnRedis(t, root, func(port int) []string {
			return []string{fmt.Sprintf("REDIS_URL=redis://localhost:%d/0", port)}
		})
	})
}

// makeRunOwnRedis is one case of TestMakeRunStartsOnlyWhatIsMissing; env
// gives the case's settings for services.sh's Redis port.
func makeRunOwnRedis(t *testing.T, root string, env func(redisPort int) []string) {
	dsn := testenv.NewDatabase(t)
	redisPort, pgPort := testenv.FreePort(t), testenv.FreePort(t)
	edgePort, originPort := testenv.FreePort(t), testenv.FreePort(t)
	own := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", redisPort)})
	t.Cleanup(func() {
		if portAnswers(redisPort) { // left running: the test failed
			_ = own.Shutdown(context.Background()).Err()
		}
		own.Close()
	})

	mr := startMakeRun(t, root, append(env(redisPort),
		"DATABASE_URL="+dsn,
		fmt.Sprintf("PG_PORT=%d", pgPort),
		fmt.Sprintf("REDIS_PORT=%d", redisPort),
		fmt.Sprintf("REBOUND_EDGE_ADDR=:%d", edgePort),
		fmt.Sprintf("REBOUND_ORIGIN_ADDR=:%d", originPort),
	)...)
	waitFor(t, &mr.out, mr.exited, "Rebound is running.", 5*time.Minute)
	for _, line := range strings.Split(mr.out.String(), "\n") {
		if strings.HasPrefix(line, "services: ") && line != "services: starting Redis" {
			t.Errorf("services.sh did more than start Redis: %q\n%s", line, mr.out.String())
		}
	}

	// The services use that Redis: a redirect through the edge caches the
	// link there.
	token := submatch(t, mr.out.String(), `admin token: (\S+)`)
	body := strings.NewReader(`{"original_url":"https://example.com/own-redis","short_code":"ownredis"}`)
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/urls", originPort), body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create a link: %d", res.StatusCode)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noFollow.Get(fmt.Sprintf("http://127.0.0.1:%d/ownredis", edgePort))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("redirect: %d", res.StatusCode)
	}
	ctx := context.Background()
	testenv.Eventually(t, 5*time.Second, "a key in the Redis make run started", func() bool {
		n, err := own.DBSize(ctx).Result()
		return err == nil && n > 0
	})

	mr.interrupt(t)
	testenv.Eventually(t, 5*time.Second, "the Redis make run started is stopped", func() bool {
		return !portAnswers(redisPort)
	})
	opts, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	shared := redis.NewClient(opts)
	defer shared.Close()
	if err := shared.Ping(ctx).Err(); err != nil {
		t.Fatalf("the Redis make run did not start no longer answers: %v", err)
	}
}

// makeRun is a `make run` started by a test in a process group of its own.
type makeRun struct {
	out    testenv.SyncBuffer
	exited chan error
	pgid   int
}

// startMakeRun starts `make run` in root with the test's environment less
// every setting of Rebound's and of services.sh's, plus env.
func startMakeRun(t *testing.T, root string, env ...string) *makeRun {
	t.Helper()
	// A process started with SIGINT ignored (a test binary run in the
	// background by a script, say) passes that on, and the script's Ctrl-C
	// trap would never fire. Handling SIGINT here makes the child start with
	// the default action instead.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	t.Cleanup(func() { signal.Stop(sigs) })

	cmd := exec.Command("make", "--no-print-directory", "run")
	cmd.Dir = root
	cmd.Env = append(envWithout("DATABASE_URL", "REDIS_URL", "REDIS_CLUSTER_ADDRS", "REBOUND_", "PG_PORT", "REDIS_PORT"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	mr := &makeRun{exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = &mr.out, &mr.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start make run: %v", err)
	}
	mr.pgid = cmd.Process.Pid
	go func() { mr.exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-mr.pgid, syscall.SIGKILL) })
	return mr
}

// interrupt presses Ctrl-C (SIGINT to the whole process group, as a terminal
// does), waits for make run to exit and for every process of its group to
// be gone, and returns what make run printed after the key press.
func (mr *makeRun) interrupt(t *testing.T) string {
	t.Helper()
	before := len(mr.out.String())
	if err := syscall.Kill(-mr.pgid, syscall.SIGINT); err != nil {
		t.Fatalf("send SIGINT: %v", err)
	}
	select {
	case <-mr.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("make run still running 30 s after Ctrl-C:\n%s", mr.out.String())
	}
	testenv.Eventually(t, 5*time.Second, "every process of make run gone", func() bool {
		return errors.Is(syscall.Kill(-mr.pgid, 0), syscall.ESRCH)
	})
	return mr.out.String()[before:]
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
