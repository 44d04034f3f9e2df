package origin_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reboundhq/rebound/internal/testenv"
)

// upload posts a CSV file as multipart (field "file") or as a text/csv body.
func (e *env) upload(path, content string, multipartForm bool) response {
	e.t.Helper()
	var body bytes.Buffer
	ct := "text/csv"
	if multipartForm {
		w := multipart.NewWriter(&body)
		_ = w.WriteField("note", "ignored")
		part, _ := w.CreateFormFile("file", "data.csv")
		_, _ = io.WriteString(part, content)
		_ = w.Close()
		ct = w.FormDataContentType()
	} else {
		body.WriteString(content)
	}
	return e.do("POST", path, body.Bytes(), "Content-Type", ct)
}

func csvRows(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("seed data: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestImportHackathonSeed imports the hackathon's three seed files unchanged
// and checks every row is accounted for, ids are kept, and active links
// redirect while inactive ones are gone.
func TestImportHackathonSeed(t *testing.T) {
	e := newEnv(t)
	dir := testenv.SeedDir()
	for _, c := range []struct {
		kind      string
		multipart bool
		skipped   int64
	}{
		{"users", true, 1}, // one duplicate username
		{"urls", false, -1},
		{"events", true, 0},
	} {
		file := filepath.Join(dir, c.kind+".csv")
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("seed file: %v", err)
		}
		rows := int64(len(csvRows(t, file)) - 1)
		r := e.upload("/"+c.kind+"/bulk", string(raw), c.multipart)
		e.want(r, 200, "")
		imported, skipped := r.num("imported"), r.num("skipped")
		if imported+skipped != rows || r.num("count") != imported {
			t.Fatalf("%s: imported %d + skipped %d != %d rows: %s", c.kind, imported, skipped, rows, r.body)
		}
		if c.skipped >= 0 && skipped != c.skipped {
			t.Fatalf("%s: skipped %d, want %d: %s", c.kind, skipped, c.skipped, r.body)
		}
		if errs, _ := r.json["errors"].([]any); int64(len(errs)) != skipped {
			t.Fatalf("%s: %d errors listed for %d skipped", c.kind, len(errs), skipped)
		}
		t.Logf("%s: imported %d, skipped %d", c.kind, imported, skipped)
	}

	// Ids were kept and the sequences moved past them.
	urls := csvRows(t, filepath.Join(dir, "urls.csv"))
	first := urls[1] // id,user_id,short_code,original_url,title,is_active,created_at,updated_at
	r := e.do("GET", "/urls/"+first[0], nil)
	e.want(r, 200, "")
	if r.str("short_code") != first[2] || r.str("original_url") != first[3] || r.str("created_at") != strings.Replace(first[6], " ", "T", 1)+"Z" {
		t.Fatalf("imported url 1: %s, want %v", r.body, first)
	}
	if id := e.createUser("after_import"); id <= 400 {
		t.Fatalf("new user id %d collides with imported ids", id)
	}
	if id := e.createLink(map[string]any{"original_url": "https://x.org"}).num("id"); id <= 2000 {
		t.Fatalf("new url id %d collides with imported ids", id)
	}

	// Every imported active link redirects; inactive ones are gone.
	checked := 0
	for _, row := range urls[1:] {
		if checked == 40 {
			break
		}
		if row[1] != "" && !e.userExists(row[1]) {
			continue // its owner was the duplicate user, so the row was reported
		}
		checked++
		r := e.do("GET", "/urls/"+row[2]+"/redirect", nil, "Authorization", "")
		if row[5] == "True" {
			if r.status != http.StatusFound || r.header.Get("Location") != row[3] {
				t.Fatalf("active %s: %d %q", row[2], r.status, r.header.Get("Location"))
			}
		} else {
			e.want(r, 404, "gone")
		}
	}
}

func (e *env) userExists(id string) bool {
	return e.do("GET", "/users/"+id, nil).status == 200
}

func TestImportReportsBadRows(t *testing.T) {
	e := newEnv(t)
	uid := e.createUser("owner")
	content := strings.Join([]string{
		"original_url,short_code,title,user_id,is_active",
		"https://ok.org/1,ok1,First,,True",
		"ftp://bad.org,bad1,,,True",                            // line 3: bad scheme
		"https://ok.org/2,ok1,,,True",                          // line 4: duplicate code in file
		"https://ok.org/3,,Gen,," + fmt.Sprint(uid) + ",False", // line 5: too many fields
		"https://ok.org/4,health,,,",                           // line 6: reserved code
		"https://ok.org/5,ok5,,999999,",                        // line 7: unknown user
		"https://ok.org/6,ok6,,abc,",                           // line 8: bad user id
		"https://ok.org/7,ok7,,,maybe",                         // line 9: bad bool
		"http://sho.rt/ok1,ok10,,,",                            // line 10: the service's own short link
		`"https://ok.org/8,ok8`,                                // line 11: unterminated quote eats the rest
	}, "\n")
	r := e.upload("/urls/bulk", content, true)
	e.want(r, 200, "")
	if r.num("imported") != 1 {
		t.Fatalf("imported %d, want 1: %s", r.num("imported"), r.body)
	}
	got := rowErrors(t, r)
	for _, l := range []int{3, 4, 5, 6, 7, 8, 9, 10, 11} {
		if _, ok := got[l]; !ok {
			t.Errorf("line %d not reported: %s", l, r.body)
		}
	}
	// A second import of the same row conflicts with the stored one.
	r = e.upload("/urls/bulk", "original_url,short_code\nhttps://ok.org/1,ok1\n", false)
	if r.num("imported") != 0 || r.num("skipped") != 1 {
		t.Fatalf("re-import: %s", r.body)
	}
}

func TestImportRequestErrors(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/users/bulk", "username,email\n", "Content-Type", "application/json"), 415, "unsupported_media_type")
	e.want(e.upload("/users/bulk", "name,mail\na,b@c.de\n", false), 400, "validation_failed")
	e.want(e.upload("/users/bulk", "", true), 400, "validation_failed")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("other", "x")
	_ = w.Close()
	e.want(e.do("POST", "/users/bulk", body.Bytes(), "Content-Type", w.FormDataContentType()), 400, "validation_failed")
	e.want(e.do("POST", "/users/bulk", "--x\r\nbroken", "Content-Type", "multipart/form-data; boundary=x"), 400, "bad_request")
	// A multipart body that ends without its closing boundary: the complete
	// rows before the break are stored and counted, the cut row is not.
	cut := "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n" +
		"original_url,short_code\nhttps://a.org/1,cut1\nhttps://a.org/2,cut2\nhttps://a.org/3,cu"
	r := e.do("POST", "/urls/bulk", cut, "Content-Type", "multipart/form-data; boundary=x")
	e.want(r, 400, "bad_request")
	if r.json["field"] != "file" || !strings.Contains(r.json["error"].(string), "imported 2 rows from before the break") {
		t.Fatalf("cut-off upload: %s", r.body)
	}
	for code, want := range map[string]int64{"cut1": 1, "cut2": 1, "cu": 0} {
		if got := e.do("GET", "/urls?short_code="+code, nil).num("total"); got != want {
			t.Errorf("after the cut-off upload, %d links with code %s, want %d", got, code, want)
		}
	}
	// A header CSV cannot read is the file's fault (a quote where none may
	// be); an upload that breaks off inside the header stored nothing.
	r = e.upload("/users/bulk", "user\"name,email\na,b@c.de\n", false)
	e.want(r, 400, "bad_request")
	if r.json["field"] != "file" || !strings.Contains(r.json["error"].(string), "malformed CSV header") {
		t.Fatalf("malformed header: %s", r.body)
	}
	cutHeader := "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nusername,em"
	r = e.do("POST", "/users/bulk", cutHeader, "Content-Type", "multipart/form-data; boundary=x")
	e.want(r, 400, "bad_request")
	if r.json["field"] != "file" || !strings.Contains(r.json["error"].(string), "imported 0 rows from before the break") {
		t.Fatalf("upload cut inside its header: %s", r.body)
	}
	big := "username,email\n" + strings.Repeat("a,b@c.de\n", (65<<20)/9)
	e.want(e.upload("/users/bulk", big, false), 413, "payload_too_large")
	r = e.upload("/users/bulk", "username,email,created_at\nok,ok@x.org,2025-01-02 03:04:05\nbad,bad@x.org,yesterday\n", false)
	if r.num("imported") != 1 || r.num("skipped") != 1 {
		t.Fatalf("users with a bad time: %s", r.body)
	}
}

// rowErrors maps each reported line of an import's answer to its message;
// a row reported without one fails the test.
func rowErrors(t *testing.T, r response) map[int]string {
	t.Helper()
	out := map[int]string{}
	for _, x := range r.json["errors"].([]any) {
		m := x.(map[string]any)
		line, msg := int(m["line"].(float64)), m["error"].(string)
		if msg == "" {
			t.Fatalf("empty error for line %d", line)
		}
		out[line] = msg
	}
	return out
}

// TestImportReportsBadUserAndEventRows: each bad row of a users or events
// upload is skipped and reported with its line and what is wrong with it,
// rows Postgres could not store (invalid UTF-8, a NUL) included, while the
// good rows are stored.
func TestImportReportsBadUserAndEventRows(t *testing.T) {
	e := newEnv(t)
	users := strings.Join([]string{
		"id,username,email",
		",good,good@example.org",
		"abc,badid,badid@example.org",   // line 3
		",bad name,badname@example.org", // line 4
		",bademail,not-an-address",      // line 5
		",\xffbad,utf8@example.org",     // line 6
		",nul\x00byte,nul@example.org",  // line 7
		`,escnul\u0000,esc@example.org`, // line 8: the JSON escape Postgres refuses in text too
	}, "\n")
	r := e.upload("/users/bulk", users, false)
	e.want(r, 200, "")
	if r.num("imported") != 1 || r.num("skipped") != 6 {
		t.Fatalf("users: %s", r.body)
	}
	got := rowErrors(t, r)
	for line, want := range map[int]string{
		3: "id must be a positive whole number", 4: "username may contain only", 5: "email must be a valid address",
		6: "not valid UTF-8", 7: "NUL character", 8: "NUL character",
	} {
		if !strings.Contains(got[line], want) {
			t.Errorf("users line %d: error %q, want it to say %q", line, got[line], want)
		}
	}
	if n := e.do("GET", "/users", nil).num("total"); n != 1 {
		t.Fatalf("%d users stored, want the one good row", n)
	}

	uid := e.createUser("eventowner")
	link := e.createLink(map[string]any{"original_url": "https://example.org/e", "user_id": uid}).num("id")
	events := strings.Join([]string{
		"url_id,user_id,event_type,timestamp,details",
		fmt.Sprintf(`%d,%d,visited,2025-01-02 03:04:05,"{""k"":1}"`, link, uid),
		"x,,visited,,",                                         // line 3
		fmt.Sprintf("%d,0,visited,,", link),                    // line 4
		fmt.Sprintf("%d,,bad type,,", link),                    // line 5
		fmt.Sprintf("%d,,visited,yesterday,", link),            // line 6
		fmt.Sprintf("%d,,visited,,[1]", link),                  // line 7
		fmt.Sprintf(`%d,,visited,,"{""k"":""\u0000""}"`, link), // line 8: valid JSON that Postgres's jsonb refuses
	}, "\n")
	r = e.upload("/events/bulk", events, true)
	e.want(r, 200, "")
	if r.num("imported") != 1 || r.num("skipped") != 6 {
		t.Fatalf("events: %s", r.body)
	}
	got = rowErrors(t, r)
	for line, want := range map[int]string{
		3: "url_id must be a positive whole number", 4: "user_id must be a positive whole number",
		5: "event_type may contain only", 6: "timestamp must be a time", 7: "details must be a JSON object",
		8: "NUL character",
	} {
		if !strings.Contains(got[line], want) {
			t.Errorf("events line %d: error %q, want it to say %q", line, got[line], want)
		}
	}
	if n := e.do("GET", fmt.Sprintf("/events?url_id=%d&event_type=visited", link), nil).num("total"); n != 1 {
		t.Fatalf("%d visited events stored for the link, want the one good row", n)
	}
}

// TestImportListsErrorsInLineOrder: rows the store refuses (a username
// repeated in the file) are found after the rows that fail to parse, yet the
// answer lists every error in line order, and past csvimport.MaxErrors it
// keeps the first lines, not the first found.
func TestImportListsErrorsInLineOrder(t *testing.T) {
	e := newEnv(t)
	r := e.upload("/users/bulk", strings.Join([]string{
		"username,email",
		"bob,bob@example.org",
		"bob,bob2@example.org", // line 3: refused by the store
		",nobody@example.org",  // line 4: fails to parse
		"carl,not-an-address",  // line 5: fails to parse
		"dan,bob@example.org",  // line 6: refused by the store
	}, "\n"), false)
	e.want(r, 200, "")
	if lines := errorLines(t, r); !slices.Equal(lines, []int{3, 4, 5, 6}) {
		t.Fatalf("error lines %v, want [3 4 5 6]: %s", lines, r.body)
	}

	// 999 refused rows (lines 3 to 1001), then 1,000 that fail to parse
	// (lines 1002 to 2001), all in one batch: the answer lists lines 3 to
	// 1002 and counts all 1,999.
	var b strings.Builder
	b.WriteString("username,email\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "many,many%d@example.org\n", i)
	}
	for i := range 1000 {
		fmt.Fprintf(&b, "bad%d,not-an-address\n", i)
	}
	r = e.upload("/users/bulk", b.String(), false)
	e.want(r, 200, "")
	if r.num("imported") != 1 || r.num("skipped") != 1999 {
		t.Fatalf("imported %d, skipped %d; want 1 and 1999", r.num("imported"), r.num("skipped"))
	}
	lines := errorLines(t, r)
	if len(lines) != 1000 || lines[0] != 3 || lines[999] != 1002 || !slices.IsSorted(lines) {
		t.Fatalf("%d error lines from %v to %v, want 1000 from 3 to 1002 in order", len(lines), lines[:1], lines[len(lines)-1:])
	}
}

// errorLines lists the lines of an import's errors in the order answered.
func errorLines(t *testing.T, r response) []int {
	t.Helper()
	var lines []int
	for _, x := range r.json["errors"].([]any) {
		lines = append(lines, int(x.(map[string]any)["line"].(float64)))
	}
	return lines
}

// TestImportTakesADomainColumn: the same code on the default domain and on
// a domain imports as two links; a row on no domain, or with a host that
// cannot be one, is reported.
func TestImportTakesADomainColumn(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("POST", "/domains", map[string]any{"host": "go.acme.test"}), 201, "")
	r := e.upload("/urls/bulk", strings.Join([]string{
		"original_url,short_code,domain",
		"https://acme.example/a,same,GO.acme.test",
		"https://example.com/a,same,",
		"https://acme.example/b,other,nowhere.test",
		"https://acme.example/c,third,bad host",
	}, "\n"), false)
	e.want(r, 200, "")
	got := rowErrors(t, r)
	if r.num("imported") != 2 || got[4] == "" || got[5] == "" {
		t.Fatalf("import: %s", r.body)
	}
	list := e.do("GET", "/urls?short_code=same", nil)
	if list.num("total") != 2 || !strings.Contains(string(list.body), `"short_url":"http://go.acme.test/same"`) {
		t.Fatalf("imported links: %s", list.body)
	}
}
