package rebound_test

import (
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
)

func TestParseCampaign(t *testing.T) {
	for _, c := range []struct {
		q              string
		src, med, camp string
		qr             bool
	}{
		{"", "", "", "", false},
		{"utm_source=news&utm_medium=email&utm_campaign=Launch%202026", "news", "email", "Launch 2026", false},
		{"qr=1&utm_source=a&utm_source=b", "a", "", "", true},
		{"qr=0&xutm_source=a", "", "", "", false},
		{"utm_campaign=%ZZ&utm_medium=caf%C3%A9", "", "café", "", false},
		{"utm_source=%0Ahidden%00", "hidden", "", "", false},
		{"utm_source=" + strings.Repeat("é", 40), strings.Repeat("é", 32), "", "", false},
	} {
		src, med, camp, qr := rebound.ParseCampaign(c.q)
		if src != c.src || med != c.med || camp != c.camp || qr != c.qr {
			t.Errorf("%q: %q %q %q %v", c.q, src, med, camp, qr)
		}
	}
}

func TestAppendWithoutParam(t *testing.T) {
	for q, want := range map[string]string{"qr=1": "", "a=1&qr=1&b=2": "a=1&b=2", "qr=10&qr=1": "qr=10", "a=1": "a=1",
		"qr=1&&a": "a"} {
		if got := string(rebound.AppendWithoutParam(nil, []byte(q), "qr=1")); got != want {
			t.Errorf("%q: %q, want %q", q, got, want)
		}
	}
}

func TestDimensionsAndTracking(t *testing.T) {
	for _, d := range rebound.Dimensions[1:] {
		if got, ok := rebound.ParseDimension(d.String()); !ok || got != d {
			t.Errorf("%s does not parse back", d)
		}
	}
	if _, ok := rebound.ParseDimension(""); ok {
		t.Error("the empty name is a dimension")
	}
	if _, err := rebound.ParseTracking("partial"); err == nil {
		t.Error("tracking partial accepted")
	}
	c := rebound.Click{Rule: 2, Bot: true, Referrer: "a.org", Device: "mobile", Country: "DE", QR: true, UTMSource: "x"}
	m := c
	rebound.TrackingMinimal.Strip(&m)
	if m.Rule != 2 || !m.Bot || m.Referrer != "" || m.Device != "" || m.Country != "" || m.QR || m.UTMSource != "" {
		t.Errorf("minimal kept %+v", m)
	}
	rebound.TrackingOff.Strip(&c)
	if c.Rule != -1 || c.Bot {
		t.Errorf("off kept %+v", c)
	}
}
