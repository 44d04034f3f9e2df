package rebound_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
)

func TestParseRulesRefusesWithThePath(t *testing.T) {
	validate := rebound.NewShortURLBase("https://sho.rt").ValidateOriginalURL
	many := "[" + strings.Repeat(`{"if":[],"to":"https://a.example"},`, rebound.MaxRules) + `{"if":[],"to":"https://a.example"}]`
	conds := `[{"if":[` + strings.Repeat(`{"type":"split","percent":5},`, rebound.MaxConditions) + `{"type":"split","percent":5}],"to":"https://a.example"}]`
	for _, c := range []struct{ rules, field string }{
		{`{}`, "rules"},
		{`"x"`, "rules"},
		{many, "rules"},
		{`[1]`, "rules[0]"},
		{`[{"if":[],"to":"https://a.example","else":"x"}]`, "rules[0]"},
		{`[{"if":[]}]`, "rules[0].to"},
		{`[{"if":[],"to":"ftp://a.example"}]`, "rules[0].to"},
		{`[{"if":[],"to":"https://sho.rt/abc"}]`, "rules[0].to"},
		{conds, "rules[0].if"},
		{`[{"if":[],"to":"https://a.example"},{"if":[{"type":"planet","is":"mars"}],"to":"https://b.example"}]`, "rules[1].if[0]"},
		{`[{"if":[{"type":"device","is":"fridge"}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[{"type":"device","is":"ios","name":"x"}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[{"type":"browser","is":"lynx"}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[{"type":"language","is":"fr_FR"}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[{"type":"country","is":"FRA"}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[{"type":"query"}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[{"type":"after","at":"tomorrow"}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[{"type":"before"}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[{"type":"split","percent":100}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[{"type":"split","percent":0.5}],"to":"https://a.example"}]`, "rules[0].if[0]"},
		{`[{"if":[null],"to":"https://a.example"}]`, "rules[0].if[0]"},
	} {
		_, err := rebound.ParseRules(json.RawMessage(c.rules), validate)
		if rebound.ErrorCode(err) != rebound.EValidation || rebound.ErrorField(err) != c.field {
			t.Errorf("%s: got %v (field %q), want validation_failed on %q", c.rules, err, rebound.ErrorField(err), c.field)
		}
	}
}

func TestParseRulesNormalises(t *testing.T) {
	rules, err := rebound.ParseRules(json.RawMessage(`[{"if":[{"type":"device","is":"IOS"},{"type":"country","is":"fr"},
		{"type":"language","is":"PT-BR"},{"type":"after","at":"2026-01-01T01:00:00+01:00"}],"to":"https://a.example"}]`),
		rebound.ShortURLBase{}.ValidateOriginalURL)
	if err != nil {
		t.Fatal(err)
	}
	c := rules[0].If
	if c[0].Is != "ios" || c[1].Is != "FR" || c[2].Is != "pt-br" || c[3].At.Format("2006-01-02T15:04:05Z07:00") != "2026-01-01T00:00:00Z" {
		t.Fatalf("not normalised: %+v", c)
	}
	if none, err := rebound.ParseRules(json.RawMessage(`null`), nil); err != nil || len(none) != 0 || none == nil {
		t.Fatalf("null rules: %v %v", none, err)
	}
}

// FuzzParseRules: any body's rules are refused with a field or accepted;
// accepted rules read back unchanged when written and read again.
func FuzzParseRules(f *testing.F) {
	for _, seed := range []string{`null`, `[]`, `[{"if":[],"to":"https://a.example"}]`,
		`[{"if":[{"type":"query","name":"src","value":"x"},{"type":"after","at":"2026-01-01T00:00:00+02:00"}],"to":"https://a.example/p?q=1"}]`,
		`[{"if":[{"type":"split","percent":50},{"type":"language","is":"PT-br"}],"to":"http://b.example:8080"}]`,
		`[{"if":[{"type":"device"}]}]`, `[{"if":{},"to":1}]`, `[[]]`} {
		f.Add(seed)
	}
	validate := rebound.NewShortURLBase("https://sho.rt").ValidateOriginalURL
	f.Fuzz(func(t *testing.T, body string) {
		rules, err := rebound.ParseRules(json.RawMessage(body), validate)
		if err != nil {
			if rebound.ErrorCode(err) != rebound.EValidation || !strings.HasPrefix(rebound.ErrorField(err), "rules") {
				t.Fatalf("%s: %v (field %q)", body, err, rebound.ErrorField(err))
			}
			return
		}
		again, err := json.Marshal(rules)
		if err != nil {
			t.Fatal(err)
		}
		back, err := rebound.ParseRules(again, validate)
		if err != nil {
			t.Fatalf("%s read back as %s: %v", body, again, err)
		}
		if twice, _ := json.Marshal(back); string(twice) != string(again) {
			t.Fatalf("%s: %s then %s", body, again, twice)
		}
	})
}
