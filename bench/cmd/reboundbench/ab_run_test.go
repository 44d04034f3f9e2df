package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/reboundhq/rebound/internal/testenv"
)

// TestMain lets the test binary stand in for reboundbench as the bare
// server: the A/B run starts its own executable with -serve-baseline.
func TestMain(m *testing.M) {
	if len(os.Args) == 5 && os.Args[1] == "-serve-baseline" && os.Args[3] == "-links" {
		links, err := strconv.Atoi(os.Args[4])
		if err == nil {
			err = runBaseline(os.Args[2], links)
		}
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// TestABRunMeasuresEveryTarget runs make ab's code end to end at a small
// scale: real edge processes built from ./cmd/rebound (the second one named
// by its binary, as an earlier build would be), the bare server, the shared
// Redis under the test's own prefix. Every target is measured every round
// with no failed request and a CPU time per request of its own; the summary
// compares the second edge with the first; the seeded links are gone
// afterwards.
func TestABRunMeasuresEveryTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rebound binary and runs real servers")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "rebound")
	build := exec.Command("go", "build", "-o", bin, "github.com/reboundhq/rebound/cmd/rebound")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build rebound: %v\n%s", err, out)
	}
	// The second edge runs through another path, which leaves a mark, so
	// the test sees that a variant's own binary is the one started.
	other, mark := filepath.Join(dir, "rebound-other"), filepath.Join(dir, "other-started")
	script := "#!/bin/sh\ntouch '" + mark + "'\nexec '" + bin + "' \"$@\"\n"
	if err := os.WriteFile(other, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", testenv.NewDatabase(t))
	t.Setenv("REDIS_URL", testenv.RedisURL())
	rdb, prefix := testenv.NewRedis(t)

	var out bytes.Buffer
	a := &abRun{rebound: bin, logDir: dir, links: 500, conns: 4, rounds: 2,
		warmup: 100 * time.Millisecond, duration: 400 * time.Millisecond, prefix: prefix, out: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := a.run(ctx, "first=;second=@"+other+",GOGC=200"); err != nil {
		t.Fatalf("ab run: %v\n%s", err, out.String())
	}
	t.Logf("output:\n%s", out.String())

	round := regexp.MustCompile(`(?m)^round (\d) (\w+)\s+(\d+) req/s ([\d.]+)x p99\s+[\d.]+ ms failed (\d+) \| CPU µs a request: server\s+([\d.]+)`)
	seen := map[string]int{}
	for _, m := range round.FindAllStringSubmatch(out.String(), -1) {
		name, rps, failed, serverCPU := m[2], m[3], m[5], m[6]
		seen[name]++
		if rps == "0" || failed != "0" {
			t.Errorf("round %s of %s: %s req/s, %s failed", m[1], name, rps, failed)
		}
		if cpu, _ := strconv.ParseFloat(serverCPU, 64); cpu <= 0 {
			t.Errorf("round %s of %s: server CPU per request %s", m[1], name, serverCPU)
		}
	}
	for _, name := range []string{"bare", "first", "second"} {
		if seen[name] != 2 {
			t.Errorf("%s measured in %d rounds, want 2", name, seen[name])
		}
	}
	if !regexp.MustCompile(`(?m)^second\s+ratio to bare: median [\d.]+x, .*; faster than first in \d rounds of 2$`).MatchString(out.String()) {
		t.Errorf("no summary comparing second with first in:\n%s", out.String())
	}
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("the second edge was not started from its own binary: %v", err)
	}
	// The links were served from Redis under the test's prefix, then
	// dropped with the click stream: a full scan finds none of its keys.
	var left []string
	iter := rdb.Scan(context.Background(), 0, prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		left = append(left, iter.Val())
	}
	if err := iter.Err(); err != nil || len(left) != 0 {
		t.Errorf("keys left under the run's prefix: %d (%v), e.g. %q", len(left), err, left[:min(3, len(left))])
	}
}
