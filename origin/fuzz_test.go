package origin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzJSONBodies posts arbitrary bodies to every JSON endpoint of a real
// origin on a real database: never a 5xx, and every error is the
// documented JSON.
func FuzzJSONBodies(f *testing.F) {
	e := newEnv(f)
	uid := e.createUser("fuzzowner")
	_ = uid
	for _, s := range []string{`{"username":"a","email":"a@b.co"}`, `{"original_url":"https://x.org","user_id":1}`,
		`{"event_type":"x","details":{"a":[1,{"b":null}]}}`, `[]`, `"x"`, `{"original_url":"\u0000"}`,
		`{"expires_at":"2099-01-01T00:00:00Z","original_url":"http://a.b"}`, `{"max_clicks":1e99}`, `{`,
		`{"user_id":9223372036854775808}`, `{"title":"\ud800"}`} {
		for _, path := range []string{"/users", "/urls", "/events", "/users/1", "/urls/1"} {
			f.Add(path, s)
		}
	}
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, path, body string) {
		switch path {
		case "/users", "/urls", "/events", "/users/1", "/urls/1":
		default:
			return
		}
		method := "POST"
		if strings.HasSuffix(path, "/1") {
			method = "PATCH"
		}
		req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, res.StatusCode, b)
		}
		if res.StatusCode >= 400 {
			var out map[string]any
			if err := json.Unmarshal(b, &out); err != nil || out["code"] == nil || out["error"] == nil {
				t.Fatalf("error body %q", b)
			}
		}
	})
}
