package bench

import (
	"context"
	"testing"
	"time"
)

// A pacer that returned early would send open-loop requests ahead of the
// rate and measure them from a due time that had not come.
func TestPacerNeverWakesEarly(t *testing.T) {
	p := newPacer()
	defer p.close()
	for _, d := range []time.Duration{0, -time.Millisecond, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		for range 20 {
			start := time.Now()
			p.wait(d)
			if got := time.Since(start); got < d {
				t.Fatalf("wait(%v) returned after %v", d, got)
			}
		}
	}
}

// release hands out every due time of the run once, in order, at the rate,
// and never before it has come, even when requests fall due closer together
// than minGap.
func TestReleaseHandsOutEachDueTimeOnceInOrder(t *testing.T) {
	const rate = 20_000 // a gap of 50 µs, under minGap
	start := time.Now()
	deadline := start.Add(50 * time.Millisecond)
	due := make(chan time.Time, 4)
	go release(context.Background(), start, deadline, rate, due)
	var n int
	prev := start.Add(-time.Second)
	for at := range due {
		if now := time.Now(); now.Before(at) {
			t.Fatalf("request %d released %v before it was due", n, at.Sub(now))
		}
		if !at.After(prev) || at.Before(start) || !at.Before(deadline) {
			t.Fatalf("request %d due at %v after %v, run [%v, %v)", n, at, prev, start, deadline)
		}
		prev = at
		n++
	}
	if n != 1000 {
		t.Fatalf("released %d requests, want 1000 (50 ms at %d/s)", n, rate)
	}
}

// release stops and closes its channel when its context ends.
func TestReleaseStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	due := make(chan time.Time) // nobody receives: release blocks handing out the first
	done := make(chan struct{})
	go func() {
		release(ctx, time.Now(), time.Now().Add(time.Hour), 1000, due)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("release still running 5 s after its context ended")
	}
	if _, open := <-due; open {
		t.Fatal("release left its channel open")
	}
}
