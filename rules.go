package rebound

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Bounds of a link's redirect rules (SPEC 9).
const (
	MaxRules      = 20
	MaxConditions = 10
	// MaxQueryValueLen bounds a query condition's name and value.
	MaxQueryValueLen = 256
)

// Rule sends the clients that meet every one of its conditions to To. A
// link's rules are tried in order; the first that holds wins.
type Rule struct {
	If []Condition `json:"if"`
	To string      `json:"to"`
}

// Condition is one test of a rule. Type says which fields it uses:
//
//	device   Is: ios, android, mobile, tablet or desktop (from User-Agent)
//	browser  Is: chrome, firefox, safari, edge, opera or other
//	language Is: a language tag, matched against Accept-Language
//	query    Name, and Value when set: the request's query holds it
//	country  Is: an ISO 3166 alpha-2 code
//	after    At: the request comes at or after it
//	before   At: the request comes before it
//	split    Percent: a stable share of clients, 1 to 99
type Condition struct {
	Type    string     `json:"type"`
	Is      string     `json:"is,omitempty"`
	Name    string     `json:"name,omitempty"`
	Value   *string    `json:"value,omitempty"`
	At      *time.Time `json:"at,omitempty"`
	Percent int        `json:"percent,omitempty"`
}

// The condition types.
const (
	CondDevice   = "device"
	CondBrowser  = "browser"
	CondLanguage = "language"
	CondQuery    = "query"
	CondCountry  = "country"
	CondAfter    = "after"
	CondBefore   = "before"
	CondSplit    = "split"
)

// condFields are the fields each condition type takes besides "type".
var condFields = map[string][]string{
	CondDevice: {"is"}, CondBrowser: {"is"}, CondLanguage: {"is"}, CondCountry: {"is"},
	CondQuery: {"name", "value"}, CondAfter: {"at"}, CondBefore: {"at"}, CondSplit: {"percent"},
}

var (
	devices  = []string{"ios", "android", "mobile", "tablet", "desktop"}
	browsers = []string{"chrome", "firefox", "safari", "edge", "opera", "other"}
)

// ParseRules reads and validates the rules of a link from JSON (null is no
// rules), normalising what has one spelling (device, browser and language
// lower-case, country upper-case). validateTo checks a target as
// original_url is checked. A malformed part is a validation error whose
// field is its path: rules[i], rules[i].if[j] or rules[i].to.
func ParseRules(raw json.RawMessage, validateTo func(string) error) ([]Rule, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return []Rule{}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, FieldErrorf(EValidation, "rules", "rules must be a list of {\"if\":[...],\"to\":URL}")
	}
	if len(items) > MaxRules {
		return nil, FieldErrorf(EValidation, "rules", "a link has at most %d rules", MaxRules)
	}
	rules := make([]Rule, len(items))
	for i, item := range items {
		path := fmt.Sprintf("rules[%d]", i)
		var r struct {
			If []json.RawMessage `json:"if"`
			To *string           `json:"to"`
		}
		if err := strictUnmarshal(item, &r); err != nil {
			return nil, FieldErrorf(EValidation, path, "%s must be an object with \"if\" (a list of conditions) and \"to\"", path)
		}
		if r.To == nil {
			return nil, FieldErrorf(EValidation, path+".to", "%s.to is required", path)
		}
		if err := validateTo(*r.To); err != nil {
			return nil, FieldErrorf(EValidation, path+".to", "%s", strings.ReplaceAll(ErrorMessage(err), "original_url", path+".to"))
		}
		if len(r.If) > MaxConditions {
			return nil, FieldErrorf(EValidation, path+".if", "a rule has at most %d conditions", MaxConditions)
		}
		rules[i] = Rule{To: *r.To, If: make([]Condition, len(r.If))}
		for j, c := range r.If {
			cond, err := parseCondition(c, fmt.Sprintf("%s.if[%d]", path, j))
			if err != nil {
				return nil, err
			}
			rules[i].If[j] = cond
		}
	}
	return rules, nil
}

func parseCondition(raw json.RawMessage, path string) (Condition, error) {
	bad := func(format string, args ...any) (Condition, error) {
		return Condition{}, FieldErrorf(EValidation, path, "%s: %s", path, fmt.Sprintf(format, args...))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return bad("a condition is an object with a \"type\"")
	}
	var typ string
	if err := json.Unmarshal(fields["type"], &typ); err != nil {
		return bad("\"type\" must be one of device, browser, language, query, country, after, before, split")
	}
	allowed, ok := condFields[typ]
	if !ok {
		return bad("unknown type %q: one of device, browser, language, query, country, after, before, split", typ)
	}
	for name := range fields {
		if name != "type" && !slices.Contains(allowed, name) {
			return bad("a %s condition takes %s, not %q", typ, strings.Join(allowed, " and "), name)
		}
	}
	var c Condition
	if err := json.Unmarshal(raw, &c); err != nil {
		return bad("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	switch typ {
	case CondDevice:
		if c.Is = strings.ToLower(c.Is); !slices.Contains(devices, c.Is) {
			return bad("\"is\" must be one of %s", strings.Join(devices, ", "))
		}
	case CondBrowser:
		if c.Is = strings.ToLower(c.Is); !slices.Contains(browsers, c.Is) {
			return bad("\"is\" must be one of %s", strings.Join(browsers, ", "))
		}
	case CondLanguage:
		if c.Is = strings.ToLower(c.Is); !validLanguageTag(c.Is) {
			return bad("\"is\" must be a language tag such as \"fr\" or \"pt-br\"")
		}
	case CondCountry:
		if c.Is = strings.ToUpper(c.Is); len(c.Is) != 2 || !isUpper(c.Is[0]) || !isUpper(c.Is[1]) {
			return bad("\"is\" must be an ISO 3166 alpha-2 country code such as \"FR\"")
		}
	case CondQuery:
		if c.Name == "" || len(c.Name) > MaxQueryValueLen {
			return bad("\"name\" must be 1-%d bytes", MaxQueryValueLen)
		}
		if c.Value != nil && len(*c.Value) > MaxQueryValueLen {
			return bad("\"value\" must be at most %d bytes", MaxQueryValueLen)
		}
	case CondAfter, CondBefore:
		if c.At == nil {
			return bad("\"at\" (an RFC 3339 time) is required")
		}
		at := c.At.UTC()
		c.At = &at
	case CondSplit:
		if c.Percent < 1 || c.Percent > 99 {
			return bad("\"percent\" must be a whole number from 1 to 99")
		}
	}
	c.Type = typ
	return c, nil
}

// strictUnmarshal is json.Unmarshal refusing fields v does not have.
func strictUnmarshal(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// validLanguageTag accepts BCP 47's shape loosely: subtags of 1-8 letters
// or digits joined by '-', the first of letters.
func validLanguageTag(tag string) bool {
	if tag == "" || len(tag) > 35 {
		return false
	}
	for i, sub := range strings.Split(tag, "-") {
		if len(sub) == 0 || len(sub) > 8 {
			return false
		}
		for _, c := range []byte(sub) {
			letter := c >= 'a' && c <= 'z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
