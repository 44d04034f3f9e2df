package bench

import (
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
