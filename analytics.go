package rebound

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Dimension is one way of grouping clicks (SPEC 11). Its number is stored
// in click rollups: never renumber one.
type Dimension int16

// The dimensions. DimTotal is no grouping at all.
const (
	DimTotal Dimension = iota
	DimReferrer
	DimCountry
	DimDevice
	DimBrowser
	DimOS
	DimRule
	DimUTMSource
	DimUTMMedium
	DimUTMCampaign
	DimBot
	DimTrigger
	// DimLink groups by link; only GET /stats offers it, and no rollup
	// stores it (rows are per link already).
	DimLink
)

var dimensionNames = [...]string{"", "referrer", "country", "device", "browser", "os", "rule",
	"utm_source", "utm_medium", "utm_campaign", "bot", "trigger", "link"}

// Dimensions are the dimensions clicks are rolled up by, DimTotal first.
var Dimensions = [...]Dimension{DimTotal, DimReferrer, DimCountry, DimDevice, DimBrowser, DimOS, DimRule,
	DimUTMSource, DimUTMMedium, DimUTMCampaign, DimBot, DimTrigger}

func (d Dimension) String() string { return dimensionNames[d] }

// ParseDimension reads a dimension's name; "" and unknown names are not one.
func ParseDimension(s string) (Dimension, bool) {
	for i, n := range dimensionNames {
		if i > 0 && n == s {
			return Dimension(i), true
		}
	}
	return 0, false
}

// Keys that stand for "none" in groups and filters.
const (
	KeyDirect  = "direct"  // referrer: no Referer header
	KeyUnknown = "unknown" // country: not known
	KeyNone    = "none"    // utm_*: absent
	KeyDefault = "default" // rule: the link's own target
)

// Tracking is how much of each click is stored (REBOUND_TRACKING).
type Tracking int

// The tracking levels. The zero value is TrackingFull.
const (
	TrackingFull    Tracking = iota // every dimension
	TrackingMinimal                 // time, link, rule and bot flag
	TrackingOff                     // counts only
)

// ParseTracking reads a REBOUND_TRACKING value.
func ParseTracking(s string) (Tracking, error) {
	switch s {
	case "", "full":
		return TrackingFull, nil
	case "minimal":
		return TrackingMinimal, nil
	case "off":
		return TrackingOff, nil
	}
	return 0, fmt.Errorf("tracking %q: want full, minimal or off", s)
}

func (t Tracking) String() string { return [...]string{"full", "minimal", "off"}[t] }

// Strip blanks what t does not keep of c.
func (t Tracking) Strip(c *Click) {
	if t == TrackingFull {
		return
	}
	c.Referrer, c.Device, c.OS, c.Browser, c.Country = "", "", "", "", ""
	c.QR, c.UTMSource, c.UTMMedium, c.UTMCampaign = false, "", "", ""
	if t == TrackingOff {
		c.Bot, c.Rule = false, -1
	}
}

// Rolled reports whether t keeps dimension d.
func (t Tracking) Rolled(d Dimension) bool {
	switch t {
	case TrackingMinimal:
		return d == DimTotal || d == DimRule || d == DimBot
	case TrackingOff:
		return d == DimTotal
	}
	return true
}

// MaxUTMLen bounds each utm_* value kept with a click.
const MaxUTMLen = 64

// ParseCampaign reads the query string of a redirect request: its
// utm_source, utm_medium and utm_campaign values (decoded, cut at MaxUTMLen
// bytes at a character boundary) and whether it carries qr=1.
func ParseCampaign(rawQuery string) (source, medium, campaign string, qr bool) {
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(kv, "=")
		var dst *string
		switch k {
		case "utm_source":
			dst = &source
		case "utm_medium":
			dst = &medium
		case "utm_campaign":
			dst = &campaign
		case "qr":
			qr = qr || v == "1"
			continue
		default:
			continue
		}
		if *dst != "" {
			continue // the first one counts
		}
		if d, err := url.QueryUnescape(v); err == nil {
			*dst = cutUTF8(strings.TrimSpace(d), MaxUTMLen)
		}
	}
	return source, medium, campaign, qr
}

// cutUTF8 cuts s to at most n bytes without splitting a character, and
// drops control characters.
func cutUTF8(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			continue
		}
		if b.Len()+len(string(r)) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// StatsQuery asks for the clicks of a link, or of every link a key may see,
// over [From, To).
type StatsQuery struct {
	From, To time.Time
	Interval string // "hour", "day" or "month"
	GroupBy  Dimension
	Grouped  bool
	// Filters keep clicks whose key in each dimension is the one given.
	Filters map[Dimension]string
	Tag     string // GET /stats only: links with this tag
}

// Stats is the answer of a StatsQuery (SPEC 11).
type Stats struct {
	Clicks int64        `json:"clicks"`
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	Series []StatsPoint `json:"series"`
	Groups []StatsGroup `json:"groups"`
}

// StatsPoint is the clicks of one interval, starting at T.
type StatsPoint struct {
	T      time.Time `json:"t"`
	Clicks int64     `json:"clicks"`
}

// StatsGroup is the clicks of one key of the grouped dimension.
type StatsGroup struct {
	Key    string `json:"key"`
	Clicks int64  `json:"clicks"`
}
