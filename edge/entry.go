package edge

import (
	"encoding/json"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/targeting"
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
	// rules are the link's redirect rules, compiled; nil for none, and then
	// the redirect is location as it stands. rulesJSON is their cache form,
	// written back with a fill of Redis.
	rules     *targeting.Set
	rulesJSON string
	// password is the bcrypt hash of the link's password; nil for an
	// open link.
	password []byte
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
	if e.Password != "" {
		en.password = []byte(e.Password)
	}
	if e.Rules != "" {
		// The origin validated the rules; JSON that does not decode (a
		// corrupt entry) leaves the link its own target.
		var rules []rebound.Rule
		if err := json.Unmarshal([]byte(e.Rules), &rules); err == nil {
			en.rules, en.rulesJSON = targeting.Compile(rules), e.Rules
		}
	}
	return en
}

func absentEntry(now time.Time) *entry { return &entry{absent: true, loadedAt: now.UnixNano()} }

// live reports whether the link redirects at now, click limit aside.
func (e *entry) live(nowMilli int64) bool {
	return e.active && (e.expiresAt == 0 || nowMilli < e.expiresAt)
}
