package origin_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// roleRow is one row of docs/api.md's table of routes and roles.
type roleRow struct {
	method, path string
	cells        map[string]string // role → yes, no, own or public
}

// roleTable reads the table of routes and roles from docs/api.md.
func roleTable(t *testing.T) []roleRow {
	t.Helper()
	raw, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z]+) (/[^`]*)` \\| (yes|no|own|public) \\| (yes|no|own|public) \\| (yes|no|own|public) \\|$")
	var out []roleRow
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		out = append(out, roleRow{method: m[1], path: m[2], cells: map[string]string{"admin": m[3], "reader": m[4], "author": m[5]}})
	}
	return out
}

// TestRoleTable walks docs/api.md's table of routes and roles against a
// running origin: every cell, for every role, with a key of that role. The
// table must also name every route the origin serves.
func TestRoleTable(t *testing.T) {
	e := newEnv(t)
	rows := roleTable(t)
	documented := map[string]bool{}
	for _, r := range rows {
		documented[r.method+" "+r.path] = true
	}
	for _, r := range e.srv.Routes() {
		if !documented[r[0]+" "+r[1]] {
			t.Errorf("%s %s is served but not in docs/api.md's table of roles", r[0], r[1])
		}
	}
	if len(rows) < 20 {
		t.Fatalf("only %d rows read from the table of roles: the parser is broken", len(rows))
	}

	alice, bob := e.createUser("alice"), e.createUser("bob")
	keys := map[string]string{}
	keys["admin"], _ = e.newKey("admin", 0)
	keys["reader"], _ = e.newKey("reader", 0)
	keys["author"], _ = e.newKey("author", alice)

	n := 0
	fresh := func(prefix string) string { n++; return fmt.Sprintf("%s%d", prefix, n) }
	// target returns the path of a row with its placeholders filled: a
	// resource of its own for every request (deletes must not collide),
	// the author's user's when mine, another user's otherwise.
	target := func(row roleRow, mine bool) string {
		owner := bob
		if mine {
			owner = alice
		}
		p := row.path
		switch {
		case strings.HasPrefix(p, "/users/{id}"):
			id := owner
			if row.method == "DELETE" {
				id = e.createUser(fresh("gone"))
			}
			p = strings.Replace(p, "{id}", fmt.Sprint(id), 1)
		case strings.HasPrefix(p, "/urls/{id}"):
			l := e.createLink(map[string]any{"original_url": "https://roles.example/" + fresh("l"), "user_id": owner})
			p = strings.Replace(p, "{id}", fmt.Sprint(l.num("id")), 1)
		case strings.Contains(p, "{short_code}"):
			l := e.createLink(map[string]any{"original_url": "https://roles.example/" + fresh("r")})
			p = strings.Replace(p, "{short_code}", l.str("short_code"), 1)
		case strings.HasPrefix(p, "/keys/{id}"):
			_, id := e.newKey("reader", 0)
			p = strings.Replace(p, "{id}", fmt.Sprint(id), 1)
		case strings.Contains(p, "{host}"):
			host := fresh("d") + ".roles.example"
			e.want(e.do("POST", "/domains", map[string]any{"host": host}), 201, "")
			p = strings.Replace(p, "{host}", host, 1)
		}
		return p
	}
	body := func(row roleRow) (any, []string) {
		switch row.method + " " + row.path {
		case "POST /users", "PUT /users/{id}", "PATCH /users/{id}":
			u := fresh("user")
			return map[string]any{"username": u, "email": u + "@example.com"}, nil
		case "POST /urls":
			return map[string]any{"original_url": "https://roles.example/" + fresh("new")}, nil
		case "PUT /urls/{id}", "PATCH /urls/{id}":
			return map[string]any{"title": "renamed"}, nil
		case "POST /events":
			return map[string]any{"event_type": "checked"}, nil
		case "POST /keys":
			return map[string]any{"name": "made", "role": "reader"}, nil
		case "POST /domains":
			return map[string]any{"host": fresh("d") + ".new.example"}, nil
		case "PATCH /domains/{host}":
			return map[string]any{"root_url": "https://roles.example/home"}, nil
		case "POST /users/bulk":
			return "username,email\n", []string{"Content-Type", "text/csv"}
		case "POST /urls/bulk":
			return "original_url\nhttps://roles.example/bulk\n", []string{"Content-Type", "text/csv"}
		case "POST /events/bulk":
			return "event_type\nchecked\n", []string{"Content-Type", "text/csv"}
		}
		return nil, nil
	}
	for _, row := range rows {
		for _, role := range []string{"admin", "reader", "author"} {
			cell := row.cells[role]
			name := fmt.Sprintf("%s %s as %s (%s)", row.method, row.path, role, cell)
			b, headers := body(row)
			headers = append(headers, bearer(keys[role])...)
			if cell == "public" {
				headers = append(headers, "Authorization", "")
			}
			r := e.do(row.method, target(row, role == "author"), b, headers...)
			switch cell {
			case "yes", "public", "own":
				if r.status < 200 || r.status > 399 {
					t.Errorf("%s: %d %s", name, r.status, r.body)
				}
			case "no":
				if r.status != 403 || r.str("code") != "forbidden" {
					t.Errorf("%s: %d %s, want 403 forbidden", name, r.status, r.body)
				}
			}
			if cell != "own" || !strings.Contains(row.path, "{id}") {
				continue
			}
			// Another user's resource: 404 for a link, 403 for a user.
			b, headers = body(row)
			r = e.do(row.method, target(row, false), b, append(headers, bearer(keys[role])...)...)
			want, code := 404, "not_found"
			if strings.HasPrefix(row.path, "/users/") {
				want, code = 403, "forbidden"
			}
			if r.status != want || r.str("code") != code {
				t.Errorf("%s on another user's: %d %s, want %d %s", name, r.status, r.body, want, code)
			}
		}
	}
	// Unauthenticated, every row but the public ones is 401.
	for _, row := range rows {
		if row.cells["admin"] == "public" {
			continue
		}
		r := e.do(row.method, target(row, false), nil, "Authorization", "")
		if r.status != 401 {
			t.Errorf("%s %s without a key: %d", row.method, row.path, r.status)
		}
	}
}
