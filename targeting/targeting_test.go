package targeting_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/targeting"
)

const (
	iphone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	pixel   = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
	ipad    = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	edgeWin = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.56"
)

func mustRules(t testing.TB, js string) *targeting.Set {
	t.Helper()
	rules, err := rebound.ParseRules(json.RawMessage(js), rebound.ShortURLBase{}.ValidateOriginalURL)
	if err != nil {
		t.Fatalf("ParseRules(%s): %v", js, err)
	}
	return targeting.Compile(rules)
}

type countries map[string]string

func (c countries) Country(a netip.Addr) string { return c[a.String()] }

func TestMatch(t *testing.T) {
	launch := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	set := mustRules(t, `[
		{"if":[{"type":"device","is":"ios"}],"to":"https://apps.apple.com/app"},
		{"if":[{"type":"device","is":"android"}],"to":"https://play.google.com/app"},
		{"if":[{"type":"language","is":"fr"}],"to":"https://example.com/fr"},
		{"if":[{"type":"query","name":"src","value":"mail list"}],"to":"https://example.com/mail"},
		{"if":[{"type":"query","name":"ref"}],"to":"https://example.com/ref"},
		{"if":[{"type":"country","is":"de"}],"to":"https://example.com/de"},
		{"if":[{"type":"browser","is":"edge"},{"type":"after","at":"2026-06-01T00:00:00Z"}],"to":"https://example.com/edge-launch"},
		{"if":[{"type":"device","is":"tablet"}],"to":"https://example.com/tablet"},
		{"if":[{"type":"before","at":"2026-06-01T00:00:00Z"}],"to":"https://example.com/teaser"}
	]`)
	for _, c := range []struct {
		name string
		req  targeting.Request
		want int
		vary targeting.Vary
	}{
		{"iPhone", targeting.Request{UserAgent: []byte(iphone)}, 0, targeting.VaryUserAgent},
		{"Android phone", targeting.Request{UserAgent: []byte(pixel)}, 1, targeting.VaryUserAgent},
		{"iPad is iOS", targeting.Request{UserAgent: []byte(ipad)}, 0, targeting.VaryUserAgent},
		{"French, q>0, second range", targeting.Request{UserAgent: []byte(firefox), AcceptLanguage: []byte("en-GB;q=0.9, fr-CA;q=0.5")}, 2,
			targeting.VaryUserAgent | targeting.VaryLanguage},
		{"French at q=0 is refused", targeting.Request{UserAgent: []byte(firefox), AcceptLanguage: []byte("fr;q=0, en"), NowMilli: launch}, -1,
			targeting.VaryUserAgent | targeting.VaryLanguage | targeting.VaryCountry},
		{"query value decoded", targeting.Request{UserAgent: []byte(firefox), Query: []byte("a=1&src=mail+list"), NowMilli: launch}, 3,
			targeting.VaryUserAgent | targeting.VaryLanguage},
		{"query value differs, name present", targeting.Request{UserAgent: []byte(firefox), Query: []byte("src=other&r%65f"), NowMilli: launch}, 4,
			targeting.VaryUserAgent | targeting.VaryLanguage},
		{"country from header", targeting.Request{UserAgent: []byte(firefox), CountryHeader: []byte("DE"), NowMilli: launch}, 5,
			targeting.VaryUserAgent | targeting.VaryLanguage | targeting.VaryCountry},
		{"country from the database", targeting.Request{UserAgent: []byte(firefox), Client: netip.MustParseAddr("192.0.2.9"),
			Countries: countries{"192.0.2.9": "DE"}, NowMilli: launch}, 5, targeting.VaryUserAgent | targeting.VaryLanguage | targeting.VaryCountry},
		{"edge after launch", targeting.Request{UserAgent: []byte(edgeWin), NowMilli: launch}, 6,
			targeting.VaryUserAgent | targeting.VaryLanguage | targeting.VaryCountry},
		{"edge before launch", targeting.Request{UserAgent: []byte(edgeWin), NowMilli: launch - 1}, 8,
			targeting.VaryUserAgent | targeting.VaryLanguage | targeting.VaryCountry},
		{"nothing holds", targeting.Request{UserAgent: []byte(firefox), NowMilli: launch}, -1,
			targeting.VaryUserAgent | targeting.VaryLanguage | targeting.VaryCountry},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, vary := set.Match(&c.req)
			if got != c.want || vary != c.vary {
				t.Fatalf("Match = %d (vary %b), want %d (vary %b)", got, vary, c.want, c.vary)
			}
		})
	}
}

func TestSplitIsStableAndProportional(t *testing.T) {
	set := mustRules(t, `[{"if":[{"type":"split","percent":30}],"to":"https://example.com/b"}]`)
	in := 0
	const clients = 10_000
	for i := range clients {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		r := targeting.Request{Client: addr, LinkID: 42}
		first, _ := set.Match(&r)
		r2 := targeting.Request{Client: addr, LinkID: 42}
		if again, _ := set.Match(&r2); again != first {
			t.Fatalf("client %v: %d then %d", addr, first, again)
		}
		if first == 0 {
			in++
		}
	}
	if share := float64(in) / clients; share < 0.27 || share > 0.33 {
		t.Fatalf("split 30%%: %.3f of clients", share)
	}
}

func TestNoRules(t *testing.T) {
	var set *targeting.Set
	if i, v := set.Match(&targeting.Request{}); i != -1 || v != 0 || set.Len() != 0 {
		t.Fatalf("nil set: %d %b %d", i, v, set.Len())
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	set := mustRules(t, `[
		{"if":[{"type":"device","is":"ios"}],"to":"https://apps.apple.com/app"},
		{"if":[{"type":"language","is":"fr"}],"to":"https://example.com/fr"},
		{"if":[{"type":"query","name":"src","value":"mail"},{"type":"split","percent":50}],"to":"https://example.com/mail"}]`)
	ua, lang, q := []byte(firefox), []byte("de-DE,de;q=0.9,en;q=0.5"), []byte("src=mail&x=1")
	n := testing.AllocsPerRun(1000, func() {
		r := targeting.Request{UserAgent: ua, AcceptLanguage: lang, Query: q, Client: netip.MustParseAddr("192.0.2.1"), LinkID: 9}
		set.Match(&r)
	})
	if n != 0 {
		t.Fatalf("Match allocates %.1f times", n)
	}
}

// FuzzMatch evaluates random valid rules against random requests: never a
// panic, and the answer is always -1 or one of the link's rules.
func FuzzMatch(f *testing.F) {
	f.Add(uint64(1), iphone, "fr", "src=x", "FR", int64(0))
	f.Add(uint64(7), "", "", "", "", int64(1<<40))
	f.Add(uint64(99), pixel, "*;q=0,fr-CA;q=0.1", "%zz=%4&&=", "d", int64(-5))
	f.Fuzz(func(t *testing.T, seed uint64, ua, lang, query, country string, now int64) {
		rnd := rand.New(rand.NewPCG(seed, seed>>7))
		rules := randomRules(rnd)
		raw, _ := json.Marshal(rules)
		parsed, err := rebound.ParseRules(raw, rebound.ShortURLBase{}.ValidateOriginalURL)
		if err != nil {
			t.Fatalf("random rules refused: %v\n%s", err, raw)
		}
		set := targeting.Compile(parsed)
		r := targeting.Request{UserAgent: []byte(ua), AcceptLanguage: []byte(lang), Query: []byte(query),
			CountryHeader: []byte(country), NowMilli: now, Client: netip.AddrFrom4([4]byte{byte(seed), 1, 2, 3}), LinkID: int64(seed)}
		i, _ := set.Match(&r)
		if i < -1 || i >= len(rules) {
			t.Fatalf("Match = %d with %d rules", i, len(rules))
		}
		if i >= 0 && string(set.Target(i)) != rules[i].To {
			t.Fatalf("rule %d's target %q, want %q", i, set.Target(i), rules[i].To)
		}
	})
}

func randomRules(rnd *rand.Rand) []rebound.Rule {
	pick := func(s ...string) string { return s[rnd.IntN(len(s))] }
	rules := make([]rebound.Rule, rnd.IntN(rebound.MaxRules+1))
	for i := range rules {
		rules[i].To = "https://example.com/" + string(rune('a'+i))
		rules[i].If = make([]rebound.Condition, rnd.IntN(4))
		for j := range rules[i].If {
			c := rebound.Condition{Type: pick("device", "browser", "language", "query", "country", "after", "before", "split")}
			switch c.Type {
			case "device":
				c.Is = pick("ios", "android", "mobile", "tablet", "desktop")
			case "browser":
				c.Is = pick("chrome", "firefox", "safari", "edge", "opera", "other")
			case "language":
				c.Is = pick("fr", "en", "pt-br", "de")
			case "query":
				c.Name = pick("src", "x", "utm_source")
				if rnd.IntN(2) == 0 {
					v := pick("", "mail", "a b")
					c.Value = &v
				}
			case "country":
				c.Is = pick("FR", "DE", "US")
			case "after", "before":
				at := time.UnixMilli(rnd.Int64N(1 << 42)).UTC()
				c.At = &at
			case "split":
				c.Percent = 1 + rnd.IntN(99)
			}
			rules[i].If[j] = c
		}
	}
	return rules
}
