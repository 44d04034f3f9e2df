package edge

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/reboundhq/rebound/internal/clientaddr"
	"github.com/reboundhq/rebound/targeting"
)

// targetHeaders evaluates the redirect rules of links that have them, and
// holds the headers such a redirect carries, prepared once.
type targetHeaders struct {
	agents        targeting.Agents // the edge's remembered agents
	trusted       clientaddr.Trusted
	countryHeader []byte // "" reads no header
	countries     targeting.Countries
	// vary is the Vary value of each set of headers an answer depended on.
	vary [8][]byte
}

var ruleCacheControl = []byte(targeting.CacheControl)

var strVary = []byte("Vary")

func newTargetHeaders(agents targeting.Agents, trusted []netip.Prefix, countryHeader string, countries targeting.Countries) targetHeaders {
	t := targetHeaders{agents: agents, trusted: trusted, countryHeader: []byte(countryHeader), countries: countries}
	for v := range t.vary {
		if h := targeting.Vary(v).Header(countryHeader); h != "" {
			t.vary[v] = []byte(h)
		}
	}
	return t
}

var strAcceptLanguage = []byte("Accept-Language")

// choose evaluates e's rules against the request and returns the target
// and the index of the rule that chose it (-1: the link's own). It sets the
// response's Cache-Control and Vary. It does not allocate, but for the
// GeoIP lookup of a country condition without a trusted country header.
func (t *targetHeaders) choose(ctx *fasthttp.RequestCtx, e *entry, now time.Time) ([]byte, int) {
	h := &ctx.Request.Header
	addr, trustedPeer := client(ctx, t.trusted)
	r := targeting.Request{
		UserAgent: h.UserAgent(), AcceptLanguage: h.PeekBytes(strAcceptLanguage),
		Query: ctx.URI().QueryString(), Client: addr, Countries: t.countries, Agents: t.agents,
		NowMilli: now.UnixMilli(), LinkID: e.id,
	}
	if trustedPeer && len(t.countryHeader) > 0 {
		r.CountryHeader = h.PeekBytes(t.countryHeader)
	}
	rule, vary := e.rules.Match(&r)
	rh := &ctx.Response.Header
	rh.SetCanonical(strCacheControl, ruleCacheControl)
	if v := t.vary[vary&7]; v != nil {
		rh.SetCanonical(strVary, v)
	}
	if rule < 0 {
		return e.location, -1
	}
	return e.rules.Target(rule), rule
}

// locates reports whether clicks record a country: from a trusted proxy's
// header or the GeoIP database.
func (t *targetHeaders) locates() bool { return len(t.countryHeader) > 0 || t.countries != nil }

// locate notes the client's country on rec: the trusted proxy's header
// when it names one, else the client's address for the collector's GeoIP
// lookup.
func (t *targetHeaders) locate(ctx *fasthttp.RequestCtx, rec *clickRec) {
	addr, trustedPeer := client(ctx, t.trusted)
	if trustedPeer && len(t.countryHeader) > 0 {
		if h := bytes.TrimSpace(ctx.Request.Header.PeekBytes(t.countryHeader)); len(h) == 2 && isLetter(h[0]) && isLetter(h[1]) {
			rec.country = [2]byte{h[0] &^ 0x20, h[1] &^ 0x20}
			return
		}
	}
	if t.countries != nil && addr.IsValid() {
		rec.addr, rec.hasAddr = addr.As16(), true
	}
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
