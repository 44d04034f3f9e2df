package edge

import (
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
)

// entry is a link as the in-process tier keeps it: everything the handler
// writes into a redirect, prepared once, so answering allocates nothing.
type entry struct {
	id           int64
	version      int64 // the link's version, written back with a fill of Redis
	status       int
	location     []byte
	cacheControl []byte
	forwardQuery bool
	active       bool
	expiresAt    int64 // Unix milliseconds; 0 never
	maxClicks    int64 // 0 unlimited
	loadedAt     int64 // Unix nanoseconds when this copy was read
	absent       bool  // the code names no link
}

// privateCacheControl is shared by every temporary redirect's entry.
var privateCacheControl = []byte(rebound.RedirectCacheControl(302, 0))

// newEntry prepares e for answering. permanent is the Cache-Control of a 301
// or 308, which the resolver builds once from its max-age and every
// permanent entry shares.
func newEntry(e cache.Entry, permanent []byte, now time.Time) *entry {
	en := &entry{
		id: e.ID, version: e.Version, status: e.RedirectType, location: []byte(e.URL), forwardQuery: e.ForwardQuery,
		active: e.Active, expiresAt: e.ExpiresAt, maxClicks: e.MaxClicks, loadedAt: now.UnixNano(),
		cacheControl: privateCacheControl,
	}
	if rebound.IsPermanentRedirect(en.status) {
		en.cacheControl = permanent
	}
	return en
}

func absentEntry(now time.Time) *entry { return &entry{absent: true, loadedAt: now.UnixNano()} }

// live reports whether the link redirects at now, click limit aside.
func (e *entry) live(nowMilli int64) bool {
	return e.active && (e.expiresAt == 0 || nowMilli < e.expiresAt)
}
