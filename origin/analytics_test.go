package origin_test

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound/internal/qrtest"
)

const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"

// TestLinkAnalytics: slow-path clicks carry their dimensions into the
// stats (grouped, filtered, per link and over every link), the click
// export and the events; qr=1 counts as trigger qr and is not forwarded.
func TestLinkAnalytics(t *testing.T) {
	e := newEnv(t)
	l := e.createLink(map[string]any{"original_url": "https://example.com/land", "short_code": "stats1", "forward_query": true})
	id := l.num("id")
	r := e.do("GET", "/urls/stats1/redirect?utm_source=news&utm_campaign=launch&qr=1&x=y", nil, "User-Agent", iphone,
		"Referer", "https://mail.example/inbox")
	e.want(r, 302, "")
	if loc := r.header.Get("Location"); loc != "https://example.com/land?utm_source=news&utm_campaign=launch&x=y" {
		t.Fatalf("Location %q: qr=1 must not be forwarded", loc)
	}
	for range 2 {
		e.want(e.do("GET", "/urls/stats1/redirect", nil, "User-Agent", "curl/8.5"), 302, "")
	}
	groups := func(path string) map[string]int64 {
		t.Helper()
		r := e.do("GET", path, nil)
		e.want(r, 200, "")
		out := map[string]int64{"clicks": r.num("clicks")}
		gs, _ := r.json["groups"].([]any)
		for _, g := range gs {
			m := g.(map[string]any)
			out[m["key"].(string)] = int64(m["clicks"].(float64))
		}
		return out
	}
	base := fmt.Sprintf("/urls/%d/stats", id)
	for path, want := range map[string]map[string]int64{
		base + "?group_by=device":                          {"clicks": 3, "mobile": 1, "other": 2},
		base + "?group_by=trigger":                         {"clicks": 3, "qr": 1, "link": 2},
		base + "?group_by=utm_source":                      {"clicks": 3, "news": 1, "none": 2},
		base + "?group_by=referrer":                        {"clicks": 3, "mail.example": 1, "direct": 2},
		base + "?group_by=bot&device=mobile":               {"clicks": 1, "false": 1},
		base + "?group_by=os&trigger=link":                 {"clicks": 2, "other": 2},
		"/stats?group_by=browser":                          {"clicks": 3, "safari": 1, "other": 2},
		fmt.Sprintf("/stats?group_by=link&tag=%s", "nope"): {"clicks": 0},
	} {
		if got := groups(path); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	r = e.do("GET", base+"?from=2020-01-01&to=2020-01-31&interval=day", nil)
	e.want(r, 200, "")
	if series := r.json["series"].([]any); r.num("clicks") != 0 || len(series) != 31 || r.num("total_clicks") != 3 ||
		r.str("from") != "2020-01-01T00:00:00Z" || r.str("to") != "2020-02-01T00:00:00Z" {
		t.Fatalf("an empty January: %s", r.body)
	}
	// The click export.
	r = e.do("GET", fmt.Sprintf("/urls/%d/clicks.csv", id), nil)
	e.want(r, 200, "")
	recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil || len(recs) != 4 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("clicks.csv: %v %q", err, r.body)
	}
	if first := strings.Join(recs[1], ","); !strings.HasSuffix(first, ",-1,false,qr,mail.example,,mobile,safari,ios,news,,launch") {
		t.Fatalf("first click %q", first)
	}
	if _, err := time.Parse(time.RFC3339Nano, recs[1][0]); err != nil {
		t.Fatalf("click time %q: %v", recs[1][0], err)
	}
	// Click events, one per click.
	r = e.do("GET", fmt.Sprintf("/events?url_id=%d&event_type=click", id), nil)
	if r.num("total") != 3 {
		t.Fatalf("click events: %s", r.body)
	}
}

func TestStatsBadQueries(t *testing.T) {
	e := newEnv(t)
	id := e.createLink(map[string]any{"original_url": "https://example.com/", "short_code": "badstats"}).num("id")
	base := fmt.Sprintf("/urls/%d/stats", id)
	for path, want := range map[string]string{
		base + "?group_by=planet":                 "bad_request",
		base + "?group_by=link":                   "bad_request", // only /stats groups by link
		base + "?interval=week":                   "bad_request",
		base + "?from=yesterday":                  "bad_request",
		base + "?from=2026-02-01&to=2026-01-01":   "validation_failed",
		base + "?from=2020-01-01&interval=hour":   "validation_failed",
		base + "?device=%00":                      "bad_request",
		"/stats?group_by=%E2%80":                  "bad_request",
		fmt.Sprintf("/urls/%d/qr?format=gif", id): "validation_failed",
		fmt.Sprintf("/urls/%d/qr?size=4096", id):  "validation_failed",
		"/urls/999999/qr":                         "not_found",
		"/urls/999999/clicks.csv":                 "not_found",
	} {
		r := e.do("GET", path, nil)
		e.want(r, map[string]int{"bad_request": 400, "validation_failed": 400, "not_found": 404}[want], want)
	}
}

func TestLinkQRCode(t *testing.T) {
	e := newEnv(t)
	id := e.createLink(map[string]any{"original_url": "https://example.com/", "short_code": "qr-me"}).num("id")
	r := e.do("GET", fmt.Sprintf("/urls/%d/qr?size=200", id), nil)
	e.want(r, 200, "")
	if got, b := qrtest.DecodePNG(t, r.body); got != "http://sho.rt/qr-me?qr=1" || b.Dx() != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("png decodes to %q (%v)", got, b)
	}
	r = e.do("GET", fmt.Sprintf("/urls/%d/qr?format=svg", id), nil)
	e.want(r, 200, "")
	if got := qrtest.DecodeSVG(t, r.body); got != "http://sho.rt/qr-me?qr=1" || r.header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("svg decodes to %q", got)
	}
}
