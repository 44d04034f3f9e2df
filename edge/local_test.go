package edge

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/reboundhq/rebound/cache"
)

// TestLocalTierExpiresByLoadTime: an entry is served for its TTL after it
// was loaded and is a miss after that; absent codes have their own TTL.
func TestLocalTierExpiresByLoadTime(t *testing.T) {
	const ttl, absentTTL = 30 * time.Second, 5 * time.Second
	tier := newLocalTier(10, ttl, absentTTL)
	t0 := time.Unix(1_700_000_000, 0)
	link := newEntry(cache.Entry{ID: 1, RedirectType: 302, Active: true, URL: "https://example.com/"}, nil, t0)
	tier.put("abc", link)
	tier.put("nope", absentEntry(t0))

	for _, c := range []struct {
		code  string
		after time.Duration
		want  bool
	}{
		{"abc", 0, true},
		{"abc", ttl - time.Nanosecond, true},
		{"abc", ttl, false},
		{"nope", absentTTL - time.Nanosecond, true},
		{"nope", absentTTL, false},
		{"other", 0, false},
	} {
		e, ok := tier.get([]byte(c.code), t0.Add(c.after).UnixNano())
		if ok != c.want {
			t.Errorf("get(%q) %v after loading: ok %v, want %v", c.code, c.after, ok, c.want)
		}
		if ok && c.code == "abc" && e != link {
			t.Errorf("get(%q) returned another entry", c.code)
		}
	}

	// A fresh load replaces the expired copy.
	tier.put("abc", newEntry(cache.Entry{ID: 1, RedirectType: 302, Active: true, URL: "https://example.com/v2"}, nil, t0.Add(ttl)))
	if e, ok := tier.get([]byte("abc"), t0.Add(ttl).UnixNano()); !ok || string(e.location) != "https://example.com/v2" {
		t.Errorf("reloaded entry not served: %v %v", e, ok)
	}
}

// TestLocalTierBoundsAndEvicts: the tier keeps at most its size, a code
// turning absent leaves the links tier, and remove and purge drop entries.
func TestLocalTierBoundsAndEvicts(t *testing.T) {
	tier := newLocalTier(3, time.Minute, time.Minute)
	now := time.Now()
	for _, code := range []string{"a", "b", "c", "d"} {
		tier.put(code, newEntry(cache.Entry{ID: 1, RedirectType: 302, Active: true, URL: "https://example.com/" + code}, nil, now))
	}
	if n := tier.len(); n != 3 {
		t.Fatalf("len %d, want 3", n)
	}
	if _, ok := tier.get([]byte("a"), now.UnixNano()); ok {
		t.Error("least recently used link not evicted")
	}
	tier.put("b", absentEntry(now))
	if e, ok := tier.get([]byte("b"), now.UnixNano()); !ok || !e.absent {
		t.Errorf("code turned absent: got %+v %v", e, ok)
	}
	if n := tier.len(); n != 2 {
		t.Errorf("absent code still counted among links: len %d", n)
	}
	tier.remove("c")
	if _, ok := tier.get([]byte("c"), now.UnixNano()); ok {
		t.Error("removed code still served")
	}
	tier.purge()
	if _, ok := tier.get([]byte("d"), now.UnixNano()); ok || tier.len() != 0 {
		t.Error("purge left entries")
	}
}

// TestLocalTierKeepsRepeatedRedisHits: a link offered once is not kept, the
// same link offered again is; a code whose slot another code took since is
// a first offer again.
func TestLocalTierKeepsRepeatedRedisHits(t *testing.T) {
	now := time.Now()
	link := func(code string) *entry {
		return newEntry(cache.Entry{ID: 1, RedirectType: 302, Active: true, URL: "https://example.com/" + code}, nil, now)
	}
	tier := newLocalTier(10, time.Minute, time.Minute)
	if tier.offer("a", link("a")) {
		t.Fatal("first offer kept")
	}
	if _, ok := tier.get([]byte("a"), now.UnixNano()); ok || tier.len() != 0 {
		t.Fatal("first offer stored")
	}
	if tier.offer("b", link("b")) || !tier.offer("b", link("b")) {
		t.Fatal("b: kept on its first offer, or not on its second")
	}
	if !tier.offer("a", link("a")) {
		t.Fatal("second offer of a not kept")
	}
	for _, code := range []string{"a", "b"} {
		if e, ok := tier.get([]byte(code), now.UnixNano()); !ok || string(e.location) != "https://example.com/"+code {
			t.Errorf("%s not served after its second offer: %v %v", code, e, ok)
		}
	}

	// One slot: every other code takes it.
	tier = newLocalTier(10, time.Minute, time.Minute)
	tier.recent = recentCodes{newHashSlots(1, 1)}
	for i, c := range []struct {
		code string
		kept bool
	}{{"x", false}, {"x", true}, {"y", false}, {"x", false}, {"x", true}} {
		if got := tier.offer(c.code, link(c.code)); got != c.kept {
			t.Errorf("offer %d (%s): kept %v, want %v", i, c.code, got, c.kept)
		}
	}
}

// BenchmarkLocalTierUniform is the tier's work for a Redis hit under uniform
// traffic over 1,000,000 links with the default 100,000 entries: a lookup
// that misses, then the entry offered (kept on a repeat) or, for
// comparison, put (kept always, evicting another).
func BenchmarkLocalTierUniform(b *testing.B) {
	codes := make([]string, 1_000_000)
	for i := range codes {
		codes[i] = "c" + strconv.Itoa(i)
	}
	e := newEntry(cache.Entry{ID: 1, RedirectType: 302, Active: true, URL: "https://example.com/"}, nil, time.Now())
	for _, policy := range []string{"offer", "put"} {
		b.Run(policy, func(b *testing.B) {
			tier := newLocalTier(100_000, time.Minute, time.Minute)
			now := time.Now().UnixNano()
			b.RunParallel(func(pb *testing.PB) {
				rnd := rand.New(rand.NewPCG(rand.Uint64(), 0))
				for pb.Next() {
					code := codes[rnd.IntN(len(codes))]
					if _, ok := tier.get([]byte(code), now); ok {
						continue
					}
					if policy == "offer" {
						tier.offer(code, e)
					} else {
						tier.put(code, e)
					}
				}
			})
		})
	}
}
