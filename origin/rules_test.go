package origin_test

import (
	"encoding/json"
	"strings"
	"testing"
)

const ipadUA = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// TestRulesThroughTheAPI: rules are written on create, update and import,
// read back normalised, refused with the path of the bad part, followed by
// the slow-path redirect, and counted per rule in the link's stats.
func TestRulesThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	e.runBackground()
	r := e.createLink(map[string]any{"original_url": "https://example.com/own", "short_code": "ruled",
		"rules": []any{map[string]any{"if": []any{map[string]any{"type": "device", "is": "IOS"}}, "to": "https://apps.apple.com/x"}}})
	id := itoa(r.num("id"))
	var got struct {
		Rules []struct {
			If []map[string]any `json:"if"`
			To string           `json:"to"`
		} `json:"rules"`
	}
	if err := json.Unmarshal(e.do("GET", "/urls/"+id, nil).body, &got); err != nil || len(got.Rules) != 1 ||
		got.Rules[0].If[0]["is"] != "ios" || got.Rules[0].To != "https://apps.apple.com/x" {
		t.Fatalf("rules read back: %+v (%v)", got, err)
	}
	if r := e.createLink(map[string]any{"original_url": "https://example.com/none"}); !strings.Contains(string(r.body), `"rules":[]`) {
		t.Fatalf("a link without rules: %s", r.body)
	}

	for body, field := range map[string]string{
		`{"rules":[{"if":[{"type":"device","is":"ios"}],"to":"https://a.example"},{"if":[{"type":"split","percent":0}],"to":"https://b.example"}]}`: "rules[1].if[0]",
		`{"rules":[{"if":[],"to":"javascript:alert(1)"}]}`: "rules[0].to",
		`{"rules":{"if":[]}}`:                              "rules",
	} {
		e.want(e.do("PATCH", "/urls/"+id, body), 400, "validation_failed")
		if f := e.do("PATCH", "/urls/"+id, body).str("field"); f != field {
			t.Errorf("%s: field %q, want %q", body, f, field)
		}
	}

	// The slow path follows the rules, and the stats count clicks per rule.
	if r := e.do("GET", "/urls/ruled/redirect", nil, "User-Agent", ipadUA); r.status != 302 ||
		r.header.Get("Location") != "https://apps.apple.com/x" || r.header.Get("Cache-Control") != "private, max-age=0" || r.header.Get("Vary") != "User-Agent" {
		t.Fatalf("slow path, iPad: %d %v", r.status, r.header)
	}
	if r := e.do("GET", "/urls/ruled/redirect", nil, "User-Agent", "curl/8"); r.header.Get("Location") != "https://example.com/own" {
		t.Fatalf("slow path, curl: %d %v", r.status, r.header)
	}
	stats := e.do("GET", "/urls/"+id+"/stats", nil)
	if !strings.Contains(string(stats.body), `"rules":[{"rule":-1,"clicks":1},{"rule":0,"clicks":1}]`) {
		t.Fatalf("stats: %s", stats.body)
	}

	// Update replaces the rules and records the change; null clears them.
	e.want(e.do("PATCH", "/urls/"+id, map[string]any{"rules": []any{map[string]any{"if": []any{}, "to": "https://example.com/all"}}}), 200, "")
	if r := e.do("GET", "/urls/ruled/redirect", nil); r.header.Get("Location") != "https://example.com/all" {
		t.Fatalf("after update: %v", r.header)
	}
	events := e.do("GET", "/events?url_id="+id+"&event_type=updated", nil)
	if !strings.Contains(string(events.body), `"rules":{"to":[{"if":[],"to":"https://example.com/all"}],"from":[{"if":[{"is":"ios","type":"device"}],"to":"https://apps.apple.com/x"}]}`) {
		t.Fatalf("updated event: %s", events.body)
	}
	e.want(e.do("PATCH", "/urls/"+id, `{"rules":null}`), 200, "")
	if r := e.do("GET", "/urls/ruled/redirect", nil); r.header.Get("Location") != "https://example.com/own" || r.header.Get("Vary") != "" {
		t.Fatalf("after clearing: %v", r.header)
	}

	// The CSV import takes a rules column of JSON; a bad one is a row error.
	csv := "short_code,original_url,rules\n" +
		`imp1,https://example.com/1,"[{""if"":[{""type"":""language"",""is"":""fr""}],""to"":""https://example.com/fr""}]"` + "\n" +
		`imp2,https://example.com/2,"[{""if"":[{""type"":""weather"",""is"":""rain""}],""to"":""https://example.com/x""}]"` + "\n" +
		"imp3,https://example.com/3,\n"
	res := e.upload("/urls/bulk", csv, false)
	if res.num("imported") != 2 || !strings.Contains(string(res.body), `rules[0].if[0]`) {
		t.Fatalf("import: %s", res.body)
	}
	if r := e.do("GET", "/urls/imp1/redirect", nil, "Accept-Language", "fr-FR"); r.header.Get("Location") != "https://example.com/fr" {
		t.Fatalf("imported rules: %v", r.header)
	}
}
