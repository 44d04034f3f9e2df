package rebound

import (
	"encoding/json"
	"strconv"
	"time"
)

// User is an account that owns links. Username and email are unique; email is
// stored lower-case.
type User struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

// Link is a short code and the URL it redirects to. A link redirects only
// while it is active, not expired and under its click limit; otherwise it is
// "gone". Codes are unique and case-sensitive.
type Link struct {
	ID     int64  `json:"id"`
	UserID *int64 `json:"user_id"`
	// Domain is the host the link is served on; nil for the default
	// (REBOUND_PUBLIC_URL's). Codes are unique per domain.
	Domain       *string    `json:"domain"`
	ShortCode    string     `json:"short_code"`
	OriginalURL  string     `json:"original_url"`
	Title        *string    `json:"title"`
	IsActive     bool       `json:"is_active"`
	RedirectType int        `json:"redirect_type"`
	ForwardQuery bool       `json:"forward_query"`
	ExpiresAt    *time.Time `json:"expires_at"`
	MaxClicks    *int64     `json:"max_clicks"`
	// Tags are lower-case labels to find links by; never nil once read.
	Tags []string `json:"tags"`
	// Rules send some clients elsewhere (SPEC 9); never nil once read.
	Rules []Rule `json:"rules"`
	// PasswordHash is the bcrypt hash of the link's password, nil for an
	// open link. Never shown: the API shows PasswordProtected.
	PasswordHash      *string   `json:"-"`
	PasswordProtected bool      `json:"password_protected"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	// Version orders the writes of links: every create, update and delete
	// draws a higher one. Caches keep the highest they were given. Not
	// shown by the API.
	Version int64 `json:"-"`
}

// Event is an audit record: link changes, clicks, or anything a client posts.
// UrlID and UserID are plain references, not foreign keys, so that the history
// of a deleted link or user survives it.
type Event struct {
	ID        int64           `json:"id"`
	URLID     *int64          `json:"url_id"`
	UserID    *int64          `json:"user_id"`
	EventType string          `json:"event_type"`
	Timestamp time.Time       `json:"timestamp"`
	Details   json.RawMessage `json:"details"`
}

// Event types written by Rebound itself.
const (
	EventCreated     = "created"
	EventUpdated     = "updated"
	EventDeactivated = "deactivated"
	EventDeleted     = "deleted"
	EventClick       = "click"
)

// Click is one redirect answered by an edge. (EdgeID, Seq) identifies it
// uniquely, which lets the store drop a click delivered twice.
type Click struct {
	EdgeID   int64
	Seq      int64
	LinkID   int64
	At       time.Time
	Referrer string // host of the Referer header, "" when absent
	Bot      bool
	Rule     int // index of the redirect rule that chose the target; -1 the link's own

	// What the edge derived of the request (SPEC 11); "" untracked or unknown.
	Device, OS, Browser string // as useragent names them
	Country             string // ISO 3166 alpha-2, upper-case
	QR                  bool   // the request carried qr=1: it came from the link's QR code
	UTMSource           string
	UTMMedium           string
	UTMCampaign         string
}

// LinkStats is the click summary of one link.
type LinkStats struct {
	Clicks      int64           `json:"clicks"`
	LastClickAt *time.Time      `json:"last_click_at"`
	Daily       []DailyClicks   `json:"daily"`
	Referrers   []ReferrerCount `json:"referrers"`
	Bots        int64           `json:"bots"`
	// Rules counts the clicks each redirect rule sent on (rule -1: the
	// link's own target), for links that have or had rules.
	Rules []RuleClicks `json:"rules"`
}

// RuleClicks is the number of clicks one redirect rule chose the target of.
type RuleClicks struct {
	Rule   int   `json:"rule"`
	Clicks int64 `json:"clicks"`
}

// DailyClicks is the number of clicks of one UTC day.
type DailyClicks struct {
	Date   string `json:"date"`
	Clicks int64  `json:"clicks"`
}

// ReferrerCount is the number of clicks that came from one referrer host.
type ReferrerCount struct {
	Referrer string `json:"referrer"`
	Clicks   int64  `json:"clicks"`
}

// Page asks for one page of a list; Page counts from 1.
type Page struct {
	Page    int
	PerPage int
}

// Offset is the number of rows before the page.
func (p Page) Offset() int { return (p.Page - 1) * p.PerPage }

// Default and bounds of list pagination.
const (
	DefaultPerPage = 20
	MaxPerPage     = 100
)

// Live reports whether the link redirects at now, leaving its click limit
// aside: it must be active and not expired.
func (l Link) Live(now time.Time) bool {
	return l.IsActive && (l.ExpiresAt == nil || now.Before(*l.ExpiresAt))
}

// RedirectCacheControl is the Cache-Control of a redirect with status
// redirectType: a permanent one (301, 308) may be cached by anyone for
// permanentMaxAge, a temporary one only by the browser, for 90 seconds, so
// that a changed or deleted link is followed soon. A negative
// permanentMaxAge counts as zero.
func RedirectCacheControl(redirectType int, permanentMaxAge time.Duration) string {
	if IsPermanentRedirect(redirectType) {
		return "public, max-age=" + strconv.FormatInt(int64(max(permanentMaxAge, 0)/time.Second), 10)
	}
	return "private, max-age=90"
}

// IsPermanentRedirect reports whether a redirect status is a permanent one
// (301, 308), which clients and proxies may cache.
func IsPermanentRedirect(status int) bool { return status == 301 || status == 308 }
