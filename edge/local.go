package edge

import (
	"time"
	"unsafe"

	lru "github.com/hashicorp/golang-lru/v2"
)

// localTier is the in-process tier: a bounded LRU of links with a short TTL,
// and a smaller one of codes known not to exist with a shorter TTL.
// Invalidation messages evict from both.
//
// The TTL is checked against each entry's loadedAt when it is read, rather
// than kept by an expiring LRU, whose per-insert bookkeeping (a time bucket
// map per entry, rebuilt as buckets expire) cost about 7% of the edge's CPU
// under uniform traffic. An expired entry is a miss; it stays until it is
// overwritten or evicted, so memory is bounded by size either way.
//
// A link read from Redis is offered rather than put: it is kept only if its
// code was offered lately already (see recentCodes). Under traffic spread
// over many more links than the tier holds, keeping every Redis hit would
// replace another entry on nearly every request, for a hit rate of
// size/links.
type localTier struct {
	links          *lru.Cache[string, *entry]
	absent         *lru.Cache[string, *entry]
	recent         recentCodes
	ttl, absentTTL int64 // nanoseconds
}

// recentCodeSlots is how many codes the tier's admission remembers (512 KiB
// of slots). A code is kept on its second Redis hit within about this many
// Redis hits of the edge: at 30,000 Redis hits a second, within about two
// seconds.
const recentCodeSlots = 1 << 16

// recentCodes remembers, approximately, the codes offered to the tier lately
// (a doorkeeper, as TinyLFU calls it): a link asked for once is not worth an
// entry, which costs an LRU insert and the eviction of another link.
type recentCodes struct{ hashSlots }

// again reports whether code was offered since its slot last changed hands,
// and remembers it.
func (r *recentCodes) again(code string) bool {
	h, slot := r.stringSlot(code)
	h |= 1 // a used slot is never zero
	if slot.Load() == h {
		return true
	}
	slot.Store(h)
	return false
}

// newLocalTier holds up to size links (at least one). lru.New fails only for
// a size below one, which the clamp rules out.
func newLocalTier(size int, ttl, negativeTTL time.Duration) *localTier {
	size = max(size, 1)
	links, _ := lru.New[string, *entry](size)
	absent, _ := lru.New[string, *entry](max(size/4, 1024))
	return &localTier{links: links, absent: absent, recent: recentCodes{newHashSlots(recentCodeSlots, 1)},
		ttl: int64(ttl), absentTTL: int64(negativeTTL)}
}

// get looks code up without copying it (the LRU only compares the key) and
// returns its entry if it was loaded less than a TTL before now.
func (t *localTier) get(code []byte, now int64) (*entry, bool) {
	k := b2s(code)
	if e, ok := t.links.Get(k); ok {
		return e, now-e.loadedAt < t.ttl
	}
	if e, ok := t.absent.Get(k); ok {
		return e, now-e.loadedAt < t.absentTTL
	}
	return nil, false
}

func (t *localTier) put(code string, e *entry) {
	if e.absent {
		t.links.Remove(code)
		t.absent.Add(code, e)
		return
	}
	t.absent.Remove(code)
	t.links.Add(code, e)
}

// offer keeps a link read from Redis if its code was offered lately, and
// reports whether it did.
func (t *localTier) offer(code string, e *entry) bool {
	if !t.recent.again(code) {
		return false
	}
	t.put(code, e)
	return true
}

func (t *localTier) remove(code string) {
	t.links.Remove(code)
	t.absent.Remove(code)
}

func (t *localTier) purge() {
	t.links.Purge()
	t.absent.Purge()
}

// len counts the links held, expired ones included until they are evicted.
func (t *localTier) len() int { return t.links.Len() }

// b2s views b as a string without copying. The string must not outlive b
// and must not be retained: callers only use it for lookups.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
