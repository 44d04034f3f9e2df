package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runMainEnv makes the test binary run main with its arguments instead of
// the tests, so that a test can start it as the rebound command.
const runMainEnv = "REBOUND_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) != "" {
		main()
	}
	os.Exit(m.Run())
}

// startSelf runs the test binary as the rebound command with args, in a
// process of its own, with the test's environment plus env; the test's end
// stops it (SIGTERM, then SIGKILL after 15 s). It returns the process and
// the path of the file its output goes to.
func startSelf(t *testing.T, args []string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), runMainEnv+"=1"), env...)
	logs, err := os.Create(filepath.Join(t.TempDir(), args[0]+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		logs.Close()
	})
	return cmd, logs.Name()
}

// TestEdgeRunsWithItsTimerSlack starts `rebound edge` as its own process and
// checks that every one of its threads has REBOUND_EDGE_TIMER_SLACK, which
// only a re-execution can give the runtime's threads, and that it serves.
func TestEdgeRunsWithItsTimerSlack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("timer slack is Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// Unreachable dependencies: the edge starts without them.
	cmd, logs := startSelf(t, []string{"edge", "-env", ""}, "REBOUND_EDGE_ADDR="+addr, "REBOUND_EDGE_TIMER_SLACK=2ms",
		"DATABASE_URL=postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", "REDIS_URL=redis://127.0.0.1:1/0")
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logs)
			t.Fatalf("edge never answered: %v\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid := strconv.Itoa(cmd.Process.Pid) // exec keeps the process ID
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/" + task.Name() + "/timerslack_ns")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != "2000000" {
			t.Errorf("thread %s has a timer slack of %s ns, want 2000000", task.Name(), got)
		}
	}
	if len(tasks) < 2 {
		t.Errorf("%d threads: the runtime's were not seen", len(tasks))
	}
}
