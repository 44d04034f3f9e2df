package edge

import (
	"time"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// localTier is the in-process tier: a bounded LRU of links with a short TTL,
// and a smaller one of codes known not to exist with a shorter TTL.
// Invalidation messages evict from both.
type localTier struct {
	links  *expirable.LRU[string, *entry]
	absent *expirable.LRU[string, *entry]
}

func newLocalTier(size int, ttl, negativeTTL time.Duration) *localTier {
	negSize := size / 4
	if negSize < 1024 {
		negSize = 1024
	}
	return &localTier{
		links:  expirable.NewLRU[string, *entry](size, nil, ttl),
		absent: expirable.NewLRU[string, *entry](negSize, nil, negativeTTL),
	}
}

// get looks code up without copying it: the LRU only compares the key.
func (t *localTier) get(code []byte) (*entry, bool) {
	k := b2s(code)
	if e, ok := t.links.Get(k); ok {
		return e, true
	}
	return t.absent.Get(k)
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

func (t *localTier) remove(code string) {
	t.links.Remove(code)
	t.absent.Remove(code)
}

func (t *localTier) purge() {
	t.links.Purge()
	t.absent.Purge()
}

func (t *localTier) len() int { return t.links.Len() }

// b2s views b as a string without copying. The string must not outlive b
// and must not be retained: callers only use it for lookups.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
