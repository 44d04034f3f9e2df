package rebound_test

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/reboundhq/rebound"
)

func FuzzValidateOriginalURL(f *testing.F) {
	for _, s := range []string{"https://example.com/a?b#c", "http://[::1]:80/", "javascript:alert(1)", "https://u:p@x.org",
		"http:///x", "https://x.org/\r\n", "HTTPS://X.ORG", "http://%zz", "https://x.org:65536/", "https://x.org:/", "https://x.org/" + strings.Repeat("a", 9000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if (rebound.ShortURLBase{}).ValidateOriginalURL(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			t.Fatalf("accepted %q", raw)
		}
		if port := u.Port(); port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				t.Fatalf("accepted %q with port %q", raw, port)
			}
		}
		if len(raw) > rebound.MaxURLLen || strings.ContainsAny(raw, "\r\n\t \x00\x7f") {
			t.Fatalf("accepted %q", raw)
		}
	})
}

// FuzzShortURLBase checks that the base adds one refusal to the plain
// checks, for its own short links only, and that it finds every one.
func FuzzShortURLBase(f *testing.F) {
	for _, s := range []string{"https://sho.rt/abc", "http://SHO.RT./x/../abc", "https://sho.rt:443/%61", "https://sho.rt/a/b", "http://[::1]/abc"} {
		f.Add(s, "abc")
	}
	base := rebound.NewShortURLBase("https://sho.rt")
	f.Fuzz(func(t *testing.T, raw, code string) {
		err := base.ValidateOriginalURL(raw)
		plain := (rebound.ShortURLBase{}).ValidateOriginalURL(raw)
		if plain != nil && err == nil {
			t.Fatalf("%q: the base accepted what the plain check refuses: %v", raw, plain)
		}
		if plain == nil && err != nil {
			if u, _ := url.Parse(raw); !strings.EqualFold(strings.TrimSuffix(u.Hostname(), "."), "sho.rt") {
				t.Fatalf("%q refused on another host: %v", raw, err)
			}
		}
		if rebound.IsCodeShaped([]byte(code)) && !rebound.IsReservedCode(code) {
			if base.ValidateOriginalURL("https://sho.rt/"+code) == nil {
				t.Fatalf("own short link of %q accepted", code)
			}
		}
	})
}

func FuzzAppendReferrerHost(f *testing.F) {
	for _, s := range []string{"https://News.Example.org/x", "http://a@b.c:8080/", "ftp://x", "https://" + strings.Repeat("a", 100), "http://é.fr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		host := rebound.AppendReferrerHost(nil, []byte(ref))
		if len(host) > rebound.MaxReferrerLen {
			t.Fatalf("%q: host of %d bytes", ref, len(host))
		}
		for _, c := range host {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
				t.Fatalf("%q: host %q holds %q", ref, host, c)
			}
		}
		_ = rebound.IsBot([]byte(ref))
	})
}

func FuzzIsCodeShaped(f *testing.F) {
	for _, s := range []string{"abc", "a-b_C9", "", "a/b", strings.Repeat("x", 65), "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		shaped := rebound.IsCodeShaped([]byte(code))
		valid := rebound.ValidateShortCode(code) == nil
		if valid && !shaped {
			t.Fatalf("%q valid but not code-shaped", code)
		}
		if shaped && url.PathEscape(code) != code {
			t.Fatalf("code %q needs escaping in a path", code)
		}
	})
}

// FuzzAppendForwarded checks that a forwarded query lands after the
// target's own query, joined by exactly one separator, with the target's
// fragment last, and that the result stays a URL the target's checks pass.
func FuzzAppendForwarded(f *testing.F) {
	for _, s := range [][2]string{{"https://x.org/p", "q=1"}, {"https://x.org/p?a=1#f", "q"}, {"https://x.org/p?", "q=1"},
		{"https://x.org/?a&#", "a=%20&b"}, {"http://x.org#f?g", "?x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, target, query string) {
		if (rebound.ShortURLBase{}).ValidateOriginalURL(target) != nil || query == "" ||
			strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r > '~' || r == '#' }) {
			return // the edge forwards only non-empty raw queries, printable and without a fragment
		}
		base, frag, _ := strings.Cut(target, "#")
		if frag != "" || strings.HasSuffix(target, "#") {
			frag = "#" + frag
		}
		got := string(rebound.AppendForwarded(nil, []byte(target), []byte(query)))
		join, ok := strings.CutPrefix(got, base)
		if !ok || !strings.HasSuffix(join, query+frag) {
			t.Fatalf("AppendForwarded(%q, %q) = %q: not the target, the query, then the fragment", target, query, got)
		}
		sep := strings.TrimSuffix(join, query+frag)
		ends := strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&")
		switch {
		case !strings.Contains(base, "?") && sep != "?",
			strings.Contains(base, "?") && ends && sep != "",
			strings.Contains(base, "?") && !ends && sep != "&":
			t.Fatalf("AppendForwarded(%q, %q) = %q: separator %q", target, query, got, sep)
		}
		if len(got) <= rebound.MaxURLLen && (rebound.ShortURLBase{}).ValidateOriginalURL(got) != nil {
			t.Fatalf("AppendForwarded(%q, %q) = %q, which the target's checks refuse", target, query, got)
		}
	})
}

// FuzzParseCampaign: any query string gives campaign values that are valid
// UTF-8, free of control characters and at most MaxUTMLen bytes.
func FuzzParseCampaign(f *testing.F) {
	for _, s := range []string{"", "utm_source=a&qr=1", "utm_campaign=%E2%82%AC%00x", "utm_medium=%zz", "qr=1&qr=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		src, med, camp, _ := rebound.ParseCampaign(q)
		for _, v := range []string{src, med, camp} {
			if len(v) > rebound.MaxUTMLen || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
				t.Fatalf("%q gave %q", q, v)
			}
		}
		if got := rebound.AppendWithoutParam(nil, []byte(q), "qr=1"); bytes.Contains(append(append([]byte("&"), got...), '&'), []byte("&qr=1&")) {
			t.Fatalf("%q kept qr=1: %q", q, got)
		}
	})
}
