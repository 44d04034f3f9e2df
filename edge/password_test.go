package edge_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/postgres"
)

func (h *harness) post(path string, form url.Values) answer {
	h.t.Helper()
	res, err := h.client.Post(h.url+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	return answerOf(h.t, res)
}

// TestPasswordLinks: a protected link answers its form, takes the right
// password with a 303 to the target, re-shows the form on a wrong one,
// and refuses a client's eleventh wrong one in a minute. An open link
// refuses POST.
func TestPasswordLinks(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{PasswordChecksPerSecond: 100}})
	hash := cheapHash(t, "open sesame")
	h.link(postgres.NewLink{ShortCode: "secret", OriginalURL: "https://example.com/vault", IsActive: true, ForwardQuery: true, PasswordHash: &hash})
	h.link(postgres.NewLink{ShortCode: "open", OriginalURL: "https://example.com/open", IsActive: true})

	form := h.get("/secret?x=1")
	if form.status != 200 || form.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(form.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(form.header.Get("Content-Security-Policy"), "default-src 'none'") ||
		!strings.Contains(form.body, `<form method="post">`) || !strings.Contains(form.body, `name="password"`) {
		t.Fatalf("form: %d %v\n%s", form.status, form.header, form.body)
	}
	if a := h.post("/secret?x=1", url.Values{"password": {"nope"}}); a.status != 401 || !strings.Contains(a.body, `role="alert"`) {
		t.Fatalf("wrong password: %d %s", a.status, a.body)
	}
	a := h.post("/secret?x=1", url.Values{"password": {"open sesame"}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "https://example.com/vault?x=1" || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("right password: %d %v", a.status, a.header)
	}
	if a := h.post("/open", url.Values{"password": {"x"}}); a.status != 405 {
		t.Fatalf("POST to an open link: %d", a.status)
	}
	// One wrong password went already; nine more are allowed, then 429.
	for i := range 9 {
		if a := h.post("/secret", url.Values{"password": {"guess"}}); a.status != 401 {
			t.Fatalf("wrong password %d: %d", i+2, a.status)
		}
	}
	a = h.post("/secret", url.Values{"password": {"open sesame"}})
	if a.status != 429 || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, `"code":"rate_limited"`) {
		t.Fatalf("after ten wrong passwords: %d %v %s", a.status, a.header, a.body)
	}
}

// cheapHash is a bcrypt hash of password at the least cost: the edge checks
// any cost alike, and at cost 10 under the race detector a check takes
// long enough for the wrong-password allowance to refill mid-test.
func cheapHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}
