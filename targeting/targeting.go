// Package targeting evaluates a link's redirect rules (SPEC 9) against a
// request. The edge compiles a link's rules once, when it loads the link,
// and evaluates them on every redirect of it without allocating and
// without a call to Redis or Postgres; the origin's slow path evaluates
// the same compiled form, so both answer a request alike.
package targeting

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/useragent"
)

// Vary is the set of request headers an answer depended on, for the Vary
// header of a redirect a rule chose.
type Vary uint8

// The headers rules read.
const (
	VaryUserAgent Vary = 1 << iota
	VaryLanguage
	VaryCountry // the country header of a trusted proxy
)

// Countries tells the country of a client address: a GeoIP database.
type Countries interface {
	// Country returns the ISO 3166 alpha-2 code of addr, "" when unknown.
	Country(addr netip.Addr) string
}

// Agents tells what a User-Agent says: the edge remembers the answers for
// the agents it sees often.
type Agents interface {
	Agent(ua []byte) useragent.Agent
}

// Request is what rules read of one request. The edge fills it from the
// request's headers without copying them.
type Request struct {
	UserAgent      []byte
	AcceptLanguage []byte
	Query          []byte // the raw query string, without '?'
	// Client is the client's address (as the rate limit reads it), for
	// split and the GeoIP lookup.
	Client netip.Addr
	// CountryHeader is the value of the country header when a trusted
	// proxy sent it, nil otherwise; Countries answers without it.
	CountryHeader []byte
	Countries     Countries
	// Agents reads UserAgent; nil parses it with useragent.Parse.
	Agents   Agents
	NowMilli int64 // Unix milliseconds
	LinkID   int64 // with Client, places the client in a split

	agent       useragent.Agent
	agentKnown  bool
	country     [2]byte
	countryDone bool
}

func (r *Request) userAgent() useragent.Agent {
	if !r.agentKnown {
		if r.Agents != nil {
			r.agent = r.Agents.Agent(r.UserAgent)
		} else {
			r.agent = useragent.Parse(r.UserAgent)
		}
		r.agentKnown = true
	}
	return r.agent
}

// Agent is what the request's User-Agent tells, read once.
func (r *Request) Agent() useragent.Agent { return r.userAgent() }

// Country is the client's country, upper-case, "" when unknown.
func (r *Request) Country() string { return string(r.countryCode()) }

// countryCode returns the client's country, upper-case, nil when unknown:
// from the trusted proxy's header, else from Countries.
func (r *Request) countryCode() []byte {
	if !r.countryDone {
		r.countryDone = true
		if h := bytes.TrimSpace(r.CountryHeader); len(h) == 2 {
			r.country = [2]byte{upper(h[0]), upper(h[1])}
		} else if r.Countries != nil && r.Client.IsValid() {
			if c := r.Countries.Country(r.Client); len(c) == 2 {
				r.country = [2]byte{upper(c[0]), upper(c[1])}
			}
		}
	}
	if r.country[0] == 0 {
		return nil
	}
	return r.country[:]
}

type kind uint8

const (
	kindDevice kind = iota
	kindOS          // device "ios" and "android" are OS families
	kindBrowser
	kindLanguage
	kindQuery
	kindCountry
	kindAfter
	kindBefore
	kindSplit
)

type cond struct {
	kind     kind
	device   useragent.Device
	os       useragent.OS
	browser  useragent.Browser
	text     []byte // language tag, query name or country code
	value    []byte // query value
	hasValue bool
	at       int64 // Unix milliseconds
	percent  uint64
}

type rule struct {
	conds []cond
	to    []byte
}

// Set is a link's rules, compiled. The nil Set has none.
type Set struct{ rules []rule }

// Compile prepares rules (validated by rebound.ParseRules) for evaluation.
// It returns nil for no rules.
func Compile(rules []rebound.Rule) *Set {
	if len(rules) == 0 {
		return nil
	}
	s := &Set{rules: make([]rule, len(rules))}
	for i, r := range rules {
		s.rules[i] = rule{to: []byte(r.To), conds: make([]cond, len(r.If))}
		for j, c := range r.If {
			s.rules[i].conds[j] = compileCond(c)
		}
	}
	return s
}

var (
	deviceOf  = map[string]useragent.Device{"mobile": useragent.DeviceMobile, "tablet": useragent.DeviceTablet, "desktop": useragent.DeviceDesktop}
	osOf      = map[string]useragent.OS{"ios": useragent.OSIOS, "android": useragent.OSAndroid}
	browserOf = map[string]useragent.Browser{"chrome": useragent.BrowserChrome, "firefox": useragent.BrowserFirefox,
		"safari": useragent.BrowserSafari, "edge": useragent.BrowserEdge, "opera": useragent.BrowserOpera, "other": useragent.BrowserOther}
)

func compileCond(c rebound.Condition) cond {
	switch c.Type {
	case rebound.CondDevice:
		if os, ok := osOf[c.Is]; ok {
			return cond{kind: kindOS, os: os}
		}
		return cond{kind: kindDevice, device: deviceOf[c.Is]}
	case rebound.CondBrowser:
		return cond{kind: kindBrowser, browser: browserOf[c.Is]}
	case rebound.CondLanguage:
		return cond{kind: kindLanguage, text: []byte(c.Is)}
	case rebound.CondCountry:
		return cond{kind: kindCountry, text: []byte(c.Is)}
	case rebound.CondQuery:
		q := cond{kind: kindQuery, text: []byte(c.Name)}
		if c.Value != nil {
			q.value, q.hasValue = []byte(*c.Value), true
		}
		return q
	case rebound.CondAfter, rebound.CondBefore:
		k := kindAfter
		if c.Type == rebound.CondBefore {
			k = kindBefore
		}
		var at int64
		if c.At != nil {
			at = c.At.UnixMilli()
		}
		return cond{kind: k, at: at}
	case rebound.CondSplit:
		return cond{kind: kindSplit, percent: uint64(c.Percent)}
	}
	// A type this build does not know (a newer origin wrote it): the rule
	// never holds, so the link falls back to what this build understands.
	return cond{kind: kindSplit, percent: 0}
}

// Len is the number of rules.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.rules)
}

// Target is the target of rule i.
func (s *Set) Target(i int) []byte { return s.rules[i].to }

// Match returns the index of the first rule whose conditions all hold for
// r, or -1, and the headers the answer depended on: those of every
// condition evaluated, matched or not.
func (s *Set) Match(r *Request) (int, Vary) {
	var vary Vary
	if s == nil {
		return -1, 0
	}
rules:
	for i := range s.rules {
		for j := range s.rules[i].conds {
			ok, v := s.rules[i].conds[j].holds(r)
			vary |= v
			if !ok {
				continue rules
			}
		}
		return i, vary
	}
	return -1, vary
}

func (c *cond) holds(r *Request) (bool, Vary) {
	switch c.kind {
	case kindDevice:
		return r.userAgent().Device == c.device, VaryUserAgent
	case kindOS:
		return r.userAgent().OS == c.os, VaryUserAgent
	case kindBrowser:
		return r.userAgent().Browser == c.browser, VaryUserAgent
	case kindLanguage:
		return acceptsLanguage(r.AcceptLanguage, c.text), VaryLanguage
	case kindQuery:
		return queryHas(r.Query, c.text, c.value, c.hasValue), 0
	case kindCountry:
		// The header counts in Vary even when absent: its absence decided.
		return bytes.Equal(r.countryCode(), c.text), VaryCountry
	case kindAfter:
		return r.NowMilli >= c.at, 0
	case kindBefore:
		return r.NowMilli < c.at, 0
	case kindSplit:
		return Bucket(r.Client, r.LinkID) < c.percent, 0
	}
	return false, 0
}

// Bucket places a client, for a link, in one of 100 buckets: the same
// address and link always land in the same one, so a split rule of P
// percent takes the clients of buckets below P.
func Bucket(client netip.Addr, linkID int64) uint64 {
	// FNV-1a, inline: hash/fnv's hasher escapes to the heap.
	const offset, prime = 14695981039346656037, 1099511628211
	var buf [24]byte
	a := client.As16()
	copy(buf[:16], a[:])
	binary.BigEndian.PutUint64(buf[16:], uint64(linkID))
	h := uint64(offset)
	for _, c := range buf {
		h ^= uint64(c)
		h *= prime
	}
	return h % 100
}

// acceptsLanguage reports whether header (an Accept-Language value) names,
// with q above zero, a range whose whole tag or primary subtag is tag
// (lower-case).
func acceptsLanguage(header, tag []byte) bool {
	for len(header) > 0 {
		var part []byte
		part, header, _ = bytes.Cut(header, []byte{','})
		rng, params, _ := bytes.Cut(part, []byte{';'})
		rng = bytes.TrimSpace(rng)
		if len(rng) == 0 || zeroQuality(params) {
			continue
		}
		primary, _, _ := bytes.Cut(rng, []byte{'-'})
		if bytes.EqualFold(rng, tag) || bytes.EqualFold(primary, tag) {
			return true
		}
	}
	return false
}

// zeroQuality reports whether the parameters of a language range set q to
// zero ("q=0", "q=0.0", "q=0.000").
func zeroQuality(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte{';'})
		p = bytes.TrimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		v := bytes.TrimSpace(p[2:])
		if len(v) == 0 || v[0] != '0' {
			return false
		}
		for _, c := range v[1:] {
			if c != '.' && c != '0' {
				return false
			}
		}
		return true
	}
	return false
}

// queryHas reports whether the raw query holds the parameter name (with
// value, when hasValue), comparing both percent-decoded.
func queryHas(query, name, value []byte, hasValue bool) bool {
	for len(query) > 0 {
		var pair []byte
		pair, query, _ = bytes.Cut(query, []byte{'&'})
		k, v, _ := bytes.Cut(pair, []byte{'='})
		if decodedEqual(k, name) && (!hasValue || decodedEqual(v, value)) {
			return true
		}
	}
	return false
}

// decodedEqual reports whether raw, form-decoded ('+' a space, %XX a
// byte), equals want; malformed escapes compare as themselves.
func decodedEqual(raw, want []byte) bool {
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		}
		if j >= len(want) || want[j] != c {
			return false
		}
		j++
	}
	return j == len(want)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// Header is the Vary header value naming v's headers, "" for none; the
// country header counts only when countryHeader names one.
func (v Vary) Header(countryHeader string) string {
	var names []string
	if v&VaryUserAgent != 0 {
		names = append(names, "User-Agent")
	}
	if v&VaryLanguage != 0 {
		names = append(names, "Accept-Language")
	}
	if v&VaryCountry != 0 && countryHeader != "" {
		names = append(names, countryHeader)
	}
	return strings.Join(names, ", ")
}

// CacheControl is the Cache-Control of every redirect of a link with
// rules, whichever target they chose: the choice depends on the client, so
// no shared cache may keep it, and the browser asks again each time.
const CacheControl = "private, max-age=0"
