package main

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestParseABTargets(t *testing.T) {
	ts, err := parseABTargets("now=; noslack=REBOUND_EDGE_TIMER_SLACK=0,GOGC=400")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].name != "now" || len(ts[0].env) != 0 || ts[1].name != "noslack" ||
		!slices.Equal(ts[1].env, []string{"REBOUND_EDGE_TIMER_SLACK=0", "GOGC=400"}) {
		t.Fatalf("parsed %+v", ts)
	}
	ts, err = parseABTargets("old=@/tmp/rebound.old,GOGC=200")
	if err != nil || len(ts) != 1 || ts[0].bin != "/tmp/rebound.old" || !slices.Equal(ts[0].env, []string{"GOGC=200"}) {
		t.Fatalf("parsed %+v, %v", ts, err)
	}
	for _, bad := range []string{"", "now", "=X=1", "bare=", "a=;a=", "a=X", "a=X=1,=2", "a=@", "a=@x,@y"} {
		if _, err := parseABTargets(bad); err == nil {
			t.Errorf("parseABTargets(%q) accepted it", bad)
		}
	}
}

// TestCPUTime: the CPU time read from /proc grows while this process
// works, and never by more than the wall time on every core.
func TestCPUTime(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	used := time.Duration(0)
	for x := 0; used < 50*time.Millisecond; x++ {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("CPU time grew by %v in 20 s of spinning", used)
		}
		if x%1_000_000 == 0 {
			now, err := cpuTime(os.Getpid())
			if err != nil {
				t.Fatal(err)
			}
			used = now - before
		}
	}
	if limit := time.Since(start)*time.Duration(runtime.NumCPU()) + 2*time.Second/userHZ; used > limit {
		t.Fatalf("%v of CPU time counted in %v of wall time", used, time.Since(start))
	}
	if _, err := cpuTime(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{1}, 1}, {[]float64{1, 2, 9}, 2}, {[]float64{1, 2, 3, 9}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
