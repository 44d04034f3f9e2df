package edge

import (
	"sync"
	"testing"

	"github.com/reboundhq/rebound"
)

var agents = []string{
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"curl/8.5.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1",
	"",
	"facebookexternalhit/1.1",
}

// TestBotVerdictsAgreeWithIsBot: remembered answers are IsBot's, asked
// again and again, in a table roomy enough to keep them all and in one of a
// single slot, where every agent evicts the one before.
func TestBotVerdictsAgreeWithIsBot(t *testing.T) {
	for _, size := range []int{botVerdictSlots, 1} {
		v := newBotVerdicts(size)
		for round := range 3 {
			for _, ua := range agents {
				if got, want := v.isBot([]byte(ua)), rebound.IsBot([]byte(ua)); got != want {
					t.Errorf("size %d, round %d: isBot(%q) = %v, IsBot says %v", size, round, ua, got, want)
				}
			}
		}
	}
}

// TestBotVerdictsRemember: a verdict stays in its slot, so a second ask
// finds it there instead of scanning again.
func TestBotVerdictsRemember(t *testing.T) {
	v := newBotVerdicts(botVerdictSlots)
	filled := func() (n int) {
		for i := range v.slots {
			if v.slots[i].Load() != 0 {
				n++
			}
		}
		return n
	}
	v.isBot([]byte(agents[1])) // a bot: its slot holds the hash with the low bit set
	if filled() != 1 {
		t.Fatalf("%d slots filled after one agent, want 1", filled())
	}
	for i := range v.slots {
		if s := v.slots[i].Load(); s != 0 && s&1 != 1 {
			t.Fatalf("slot of a bot's agent holds %#x, verdict bit clear", s)
		}
	}
	if !v.isBot([]byte(agents[1])) {
		t.Fatal("remembered verdict lost")
	}
	// The second ask answers from the slot, not from a new scan: with the
	// stored verdict turned round, the table's answer turns with it.
	_, slot := v.bytesSlot([]byte(agents[1]))
	slot.Store(slot.Load() &^ 1)
	if v.isBot([]byte(agents[1])) {
		t.Fatal("verdict scanned again instead of read from its slot")
	}
}

func TestBotVerdictsConcurrent(t *testing.T) {
	v := newBotVerdicts(4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				ua := agents[(g+i)%len(agents)]
				if v.isBot([]byte(ua)) != rebound.IsBot([]byte(ua)) {
					t.Errorf("wrong verdict for %q", ua)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkBotVerdict compares scanning a browser's agent with finding its
// remembered verdict.
func BenchmarkBotVerdict(b *testing.B) {
	ua := []byte(agents[0])
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			_ = rebound.IsBot(ua)
		}
	})
	b.Run("remembered", func(b *testing.B) {
		v := newBotVerdicts(botVerdictSlots)
		for b.Loop() {
			_ = v.isBot(ua)
		}
	})
}
