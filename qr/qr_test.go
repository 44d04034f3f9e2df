package qr_test

import (
	"bytes"
	"testing"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/qrtest"
	"github.com/reboundhq/rebound/qr"
)

func TestDrawDecodes(t *testing.T) {
	for _, short := range []string{"http://localhost:8080/abc", "https://go.example.com/Launch-2026"} {
		want := short + "?qr=1"
		b, err := qr.Draw(qr.Content(short), qr.PNG, 300)
		if err != nil {
			t.Fatal(err)
		}
		got, bounds := qrtest.DecodePNG(t, b)
		if got != want || bounds.Dx() != 300 {
			t.Fatalf("png: %q, %v; want %q at 300 pixels", got, bounds, want)
		}
		b, err = qr.Draw(qr.Content(short), qr.SVG, 512)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`width="512"`)) {
			t.Fatalf("svg not 512 wide: %.120s", b)
		}
		if got := qrtest.DecodeSVG(t, b); got != want {
			t.Fatalf("svg: %q, want %q", got, want)
		}
	}
}

func TestParseParams(t *testing.T) {
	for _, c := range []struct {
		format, size string
		field        string
	}{{"", "", ""}, {"svg", "64", ""}, {"png", "2048", ""}, {"gif", "", "format"}, {"", "63", "size"},
		{"", "2049", "size"}, {"", "1e3", "size"}, {"PNG", "", "format"}} {
		_, _, err := qr.ParseParams(c.format, c.size)
		if got := rebound.ErrorField(err); got != c.field || err != nil && rebound.ErrorCode(err) != rebound.EValidation {
			t.Errorf("format %q size %q: %v, want field %q", c.format, c.size, err, c.field)
		}
	}
	f, n, _ := qr.ParseParams("", "")
	if f != qr.PNG || n != qr.DefaultSize {
		t.Fatalf("defaults %v %d", f, n)
	}
}
