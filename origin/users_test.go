package origin_test

import (
	"fmt"
	"testing"
)

func TestUsers(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/users", map[string]any{"username": "ada.l-1", "email": "Ada@Example.COM"})
	e.want(r, 201, "")
	id := r.num("id")
	if r.str("username") != "ada.l-1" || r.str("email") != "ada@example.com" || r.str("created_at") == "" {
		t.Fatalf("created user %s", r.body)
	}

	e.want(e.do("POST", "/users", map[string]any{"username": "ada.l-1", "email": "x@example.com"}), 409, "conflict")
	r = e.do("POST", "/users", map[string]any{"username": "other", "email": "ADA@example.com"})
	e.want(r, 409, "conflict")
	if r.str("field") != "email" {
		t.Fatalf("conflict field %q, want email", r.str("field"))
	}

	r = e.do("GET", fmt.Sprintf("/users/%d", id), nil)
	e.want(r, 200, "")
	if r.num("id") != id {
		t.Fatalf("got %s", r.body)
	}
	e.want(e.do("GET", "/users/999999", nil), 404, "not_found")
	e.want(e.do("GET", "/users/abc", nil), 404, "not_found")

	r = e.do("PATCH", fmt.Sprintf("/users/%d", id), map[string]any{"email": "new@example.com"})
	e.want(r, 200, "")
	if r.str("email") != "new@example.com" || r.str("username") != "ada.l-1" {
		t.Fatalf("patched %s", r.body)
	}
	r = e.do("PUT", fmt.Sprintf("/users/%d", id), map[string]any{"username": "ada2"})
	e.want(r, 200, "")
	if r.str("username") != "ada2" || r.str("email") != "new@example.com" {
		t.Fatalf("put %s", r.body)
	}
	other := e.createUser("bob")
	e.want(e.do("PATCH", fmt.Sprintf("/users/%d", other), map[string]any{"username": "ada2"}), 409, "conflict")
	e.want(e.do("PATCH", "/users/424242", map[string]any{"username": "zed"}), 404, "not_found")
	e.want(e.do("PATCH", fmt.Sprintf("/users/%d", id), map[string]any{"email": "nope"}), 400, "validation_failed")

	e.want(e.do("DELETE", fmt.Sprintf("/users/%d", other), nil), 204, "")
	e.want(e.do("DELETE", fmt.Sprintf("/users/%d", other), nil), 404, "not_found")
}

func TestUserValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		body  any
		code  string
		field string
	}{
		{"missing username", map[string]any{"email": "a@b.co"}, "validation_failed", "username"},
		{"missing email", map[string]any{"username": "a"}, "validation_failed", "email"},
		{"bad username", map[string]any{"username": "a b", "email": "a@b.co"}, "validation_failed", "username"},
		{"long username", map[string]any{"username": string(make([]byte, 65)), "email": "a@b.co"}, "validation_failed", "username"},
		{"bad email", map[string]any{"username": "a", "email": "not-an-email"}, "validation_failed", "email"},
		{"email with name", map[string]any{"username": "a", "email": "A <a@b.co>"}, "validation_failed", "email"},
		{"number username", map[string]any{"username": 5, "email": "a@b.co"}, "bad_request", "username"},
		{"null email", map[string]any{"username": "a", "email": nil}, "bad_request", "email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/users", c.body)
			e.want(r, 400, c.code)
			if r.str("field") != c.field {
				t.Fatalf("field %q, want %q", r.str("field"), c.field)
			}
		})
	}
}

func TestUserPagination(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.createUser(fmt.Sprintf("user%d", i))
	}
	r := e.do("GET", "/users?page=2&per_page=2", nil)
	e.want(r, 200, "")
	data, _ := r.json["data"].([]any)
	if len(data) != 2 || r.num("total") != 5 || r.num("page") != 2 || r.num("per_page") != 2 {
		t.Fatalf("page 2: %s", r.body)
	}
	if first, _ := data[0].(map[string]any); first["username"] != "user2" {
		t.Fatalf("page 2 starts with %v", first)
	}
	r = e.do("GET", "/users?page=9", nil)
	e.want(r, 200, "")
	if data, _ := r.json["data"].([]any); len(data) != 0 || r.num("total") != 5 || r.num("per_page") != 20 {
		t.Fatalf("past the end: %s", r.body)
	}
}
