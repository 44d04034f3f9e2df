package bench

import "testing"

// The Linux pacer must be the timerfd one: falling back to Go's sleep
// silently would put up to a millisecond of the load generator's lateness
// back into every open-loop latency.
func TestLinuxPacerIsTimerfd(t *testing.T) {
	p := newPacer()
	defer p.close()
	if _, ok := p.(*timerPacer); !ok {
		t.Fatalf("newPacer() = %T, want *timerPacer", p)
	}
}
