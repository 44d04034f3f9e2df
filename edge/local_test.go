package edge

import (
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
	link := newEntry(cache.Entry{ID: 1, RedirectType: 302, Active: true, URL: "https://example.com/"}, time.Hour, t0)
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
	tier.put("abc", newEntry(cache.Entry{ID: 1, RedirectType: 302, Active: true, URL: "https://example.com/v2"}, time.Hour, t0.Add(ttl)))
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
		tier.put(code, newEntry(cache.Entry{ID: 1, RedirectType: 302, Active: true, URL: "https://example.com/" + code}, time.Hour, now))
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
