package edge_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/qrtest"
	"github.com/reboundhq/rebound/postgres"
)

// fixedCountries answers one country for every address.
type fixedCountries string

func (c fixedCountries) Country(netip.Addr) string { return string(c) }

// TestClicksCarryDimensions: what the stream receives of each click: the
// device, OS and browser of its agent, its country (GeoIP here), campaign
// and trigger; qr=1 is not forwarded.
func TestClicksCarryDimensions(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{ClickFlushInterval: time.Hour, Countries: fixedCountries("nl")}})
	l := h.link(postgres.NewLink{ShortCode: "dims", OriginalURL: "https://example.com/d", IsActive: true, ForwardQuery: true})
	const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	a := h.get("/dims?utm_source=news&utm_medium=e%2Dmail&utm_campaign=Spring%20sale&qr=1&keep=1", "User-Agent", iphone)
	if loc := a.header.Get("Location"); a.status != 302 || loc != "https://example.com/d?utm_source=news&utm_medium=e%2Dmail&utm_campaign=Spring%20sale&keep=1" {
		t.Fatalf("%d %q", a.status, loc)
	}
	if a := h.get("/dims?qr=1"); a.header.Get("Location") != "https://example.com/d" {
		t.Fatalf("qr=1 alone forwarded: %q", a.header.Get("Location"))
	}
	h.get("/dims", "User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36")
	h.shutdown()
	var got []string
	for _, c := range h.streamedClicks() {
		if c.LinkID != l.ID {
			t.Fatalf("click %+v", c)
		}
		got = append(got, fmt.Sprintf("%s/%s/%s/%s/%v/%s/%s/%s", c.Device, c.OS, c.Browser, c.Country, c.QR, c.UTMSource, c.UTMMedium, c.UTMCampaign))
	}
	want := []string{"mobile/ios/safari/NL/true/news/e-mail/Spring sale", "other/other/other/NL/true///",
		"desktop/windows/chrome/NL/false///"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("clicks\n%v\nwant\n%v", got, want)
	}
}

// TestEdgeQRCode: GET /{code}/qr is the link's QR code, public; unknown
// and gone links and bad parameters are JSON errors.
func TestEdgeQRCode(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{ShortURLs: rebound.NewShortURLBase("https://go.example")}})
	h.link(postgres.NewLink{ShortCode: "scan-me", OriginalURL: "https://example.com/q", IsActive: true})
	h.link(postgres.NewLink{ShortCode: "asleep", OriginalURL: "https://example.com/q", IsActive: false})
	a := h.get("/scan-me/qr?size=128")
	if got, b := qrtest.DecodePNG(t, []byte(a.body)); a.status != 200 || got != "https://go.example/scan-me?qr=1" || b.Dx() != 128 {
		t.Fatalf("%d %q %v", a.status, got, b)
	}
	if a.header.Get("Cache-Control") != "public, max-age=86400" {
		t.Fatalf("Cache-Control %q", a.header.Get("Cache-Control"))
	}
	a = h.get("/scan-me/qr?format=svg")
	if got := qrtest.DecodeSVG(t, []byte(a.body)); got != "https://go.example/scan-me?qr=1" || a.header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("svg %q", got)
	}
	wantError(t, h.get("/nobody/qr"), 404, "not_found")
	wantError(t, h.get("/asleep/qr"), 404, "gone")
	wantError(t, h.get("/scan-me/qr?size=10"), 400, "validation_failed")
	wantError(t, h.get("/scan-me/qr?format=bmp"), 400, "validation_failed")
	wantError(t, h.do("POST", "/scan-me/qr"), 405, "method_not_allowed")
}
