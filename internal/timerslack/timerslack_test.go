package timerslack_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound/internal/timerslack"
)

const helperEnv = "TIMERSLACK_TEST_HELPER"

// In the helper, the main goroutine keeps the main thread, so the re-exec
// (from another goroutine) runs on another thread, as it can in the edge:
// the case where the exec would drop the parent-death signal.
func init() {
	if os.Getenv(helperEnv) != "" {
		runtime.LockOSThread()
	}
}

// TestMain lets the test binary act as the program that raises its slack.
func TestMain(m *testing.M) {
	if want := os.Getenv(helperEnv); want != "" {
		os.Exit(helper(want))
	}
	os.Exit(m.Run())
}

// helper prints one line per start, then raises the slack like the edge
// does, and once it runs with it prints the slack of every thread.
func helper(want string) int {
	d, err := time.ParseDuration(want)
	if err != nil {
		fmt.Println("bad duration:", err)
		return 1
	}
	cur, err := timerslack.Current()
	if err != nil {
		fmt.Println("current:", err)
		return 1
	}
	fmt.Printf("start pid=%d slack=%d\n", os.Getpid(), cur.Nanoseconds())
	if cur < d {
		failed := make(chan error)
		go func() { failed <- timerslack.Reexec(d) }()
		fmt.Println("reexec failed:", <-failed)
		return 1
	}
	tasks, _ := filepath.Glob("/proc/self/task/*")
	var slacks []string
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + filepath.Base(t) + "/timerslack_ns")
		if err != nil {
			fmt.Println("read thread slack:", err)
			return 1
		}
		slacks = append(slacks, strings.TrimSpace(string(b)))
	}
	fmt.Printf("threads=%d slacks=%s pdeathsig=%d\n", len(tasks), strings.Join(slacks, ","), timerslack.ParentDeathSignalAtStart())
	return 0
}

// TestReexecRaisesEveryThreadsSlack also starts the helper with a
// parent-death signal, as the benchmark starts the edge, and checks the
// re-executed image still has it.
func TestReexecRaisesEveryThreadsSlack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("timer slack is Linux only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1ms")
	// The test runs on any thread, which must outlive the helper for the
	// signal not to fire: keep this goroutine on its thread until then.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	wantSig, attr := timerslack.ParentDeathSignalAttr()
	cmd.SysProcAttr = attr
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("want two starts and a report, got:\n%s", out)
	}
	var pid1, pid2 int
	var slack1, slack2 int64
	if _, err := fmt.Sscanf(lines[0], "start pid=%d slack=%d", &pid1, &slack1); err != nil {
		t.Fatalf("first line %q: %v", lines[0], err)
	}
	if _, err := fmt.Sscanf(lines[1], "start pid=%d slack=%d", &pid2, &slack2); err != nil {
		t.Fatalf("second line %q: %v", lines[1], err)
	}
	if pid1 != pid2 {
		t.Errorf("the process changed: pid %d, then %d", pid1, pid2)
	}
	if slack1 >= int64(time.Millisecond) || slack2 != int64(time.Millisecond) {
		t.Errorf("slack %d before the exec and %d after, want below 1ms and then 1ms", slack1, slack2)
	}
	var threads, pdeathsig int
	var slacks string
	if _, err := fmt.Sscanf(lines[2], "threads=%d slacks=%s pdeathsig=%d", &threads, &slacks, &pdeathsig); err != nil {
		t.Fatalf("report %q: %v", lines[2], err)
	}
	if pdeathsig != wantSig {
		t.Errorf("parent-death signal %d after the exec, want %d", pdeathsig, wantSig)
	}
	// sysmon and the other runtime threads were started before main: they
	// have the slack only because the process started with it.
	if threads < 2 {
		t.Errorf("only %d threads seen", threads)
	}
	for _, s := range strings.Split(slacks, ",") {
		if s != "1000000" {
			t.Errorf("a thread has slack %s ns, want 1000000: %s", s, slacks)
		}
	}
}

func TestReexecRejectsNonPositive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("timer slack is Linux only")
	}
	if err := timerslack.Reexec(0); err == nil {
		t.Fatal("Reexec(0) returned no error")
	}
}
