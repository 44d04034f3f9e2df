package origin_test

import (
	"strings"
	"testing"
)

// TestPasswordThroughTheAPI: a password is write-only, stored as a bcrypt
// hash no answer or event shows; the slow path answers 401 for the link.
func TestPasswordThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	r := e.createLink(map[string]any{"original_url": "https://example.com/vault", "short_code": "vault", "password": "open sesame"})
	id := itoa(r.num("id"))
	for _, body := range []string{string(r.body), string(e.do("GET", "/urls/"+id, nil).body)} {
		if !strings.Contains(body, `"password_protected":true`) || strings.Contains(body, "sesame") || strings.Contains(body, "$2a$") {
			t.Fatalf("link shows: %s", body)
		}
	}
	var hash string
	if err := e.pg().QueryRow(t.Context(), "SELECT password_hash FROM urls WHERE id = $1", r.num("id")).Scan(&hash); err != nil ||
		!strings.HasPrefix(hash, "$2a$10$") {
		t.Fatalf("stored %q (%v), want a bcrypt hash of cost 10", hash, err)
	}
	res := e.do("GET", "/urls/vault/redirect", nil)
	e.want(res, 401, "unauthorized")
	e.want(e.do("PATCH", "/urls/"+id, map[string]any{"password": strings.Repeat("x", 73)}), 400, "validation_failed")
	e.want(e.do("PATCH", "/urls/"+id, `{"password":null}`), 200, "")
	if res := e.do("GET", "/urls/vault/redirect", nil); res.status != 302 {
		t.Fatalf("after clearing the password: %d", res.status)
	}
	events := string(e.do("GET", "/events?url_id="+id, nil).body)
	if strings.Contains(events, "$2a$") || !strings.Contains(events, `"password_protected":{"to":false,"from":true}`) {
		t.Fatalf("events: %s", events)
	}
}
