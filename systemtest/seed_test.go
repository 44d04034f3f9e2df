package systemtest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/testenv"
)

// upload posts a CSV file to a bulk endpoint as a text/csv body.
func (s *system) upload(path, file string) map[string]any {
	s.t.Helper()
	f, err := os.Open(file)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	req, _ := http.NewRequest("POST", s.originURL+path, f)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	res, err := s.client.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		s.t.Fatalf("upload %s: %v %v", file, err, res)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// TestHackathonSeedRedirectsAtTheEdge imports the hackathon's three seed
// files through the origin, unchanged, and asks the edge for every link in
// them: each imported active link redirects to its URL, each inactive one is
// gone, and each row the import reported (owner was the duplicate user) is
// unknown until that user is imported under another username and the same
// file is uploaded again.
func TestHackathonSeedRedirectsAtTheEdge(t *testing.T) {
	s := newSystem(t, redisTarget{url: testenv.RedisURL()}, 1, edge.Options{})
	dir := testenv.SeedDir()
	for _, kind := range []string{"users", "urls", "events"} {
		res := s.upload("/"+kind+"/bulk", filepath.Join(dir, kind+".csv"))
		t.Logf("%s: imported %v, skipped %v", kind, res["imported"], res["skipped"])
	}
	imported := map[string]bool{}
	for page := 1; ; page++ {
		st, body := s.api("GET", fmt.Sprintf("/urls?per_page=100&page=%d", page), nil)
		data, _ := body["data"].([]any)
		if st != http.StatusOK || len(data) == 0 {
			break
		}
		for _, d := range data {
			imported[d.(map[string]any)["short_code"].(string)] = true
		}
	}
	f, err := os.Open(filepath.Join(dir, "urls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var active, inactive, reported int
	var missing [][]string         // the rows reported
	for _, row := range rows[1:] { // id,user_id,short_code,original_url,title,is_active,...
		code, target := row[2], row[3]
		st, loc, errCode := s.hitCode(s.edges[0], code)
		switch {
		case !imported[code]:
			reported++
			missing = append(missing, row)
			if st != http.StatusNotFound || errCode != "not_found" {
				t.Errorf("%s was not imported but answers %d %q", code, st, errCode)
			}
		case row[5] == "True":
			active++
			if st != http.StatusFound || loc != target {
				t.Errorf("active %s: %d %q, want 302 %q", code, st, loc, target)
			}
		default:
			inactive++
			if st != http.StatusNotFound || errCode != "gone" {
				t.Errorf("inactive %s: %d %q, want 404 gone", code, st, errCode)
			}
		}
	}
	t.Logf("edge checked %d active, %d inactive, %d reported rows", active, inactive, reported)
	if active == 0 || inactive == 0 || active+inactive+reported != len(rows)-1 {
		t.Fatalf("checked %d active + %d inactive + %d reported of %d rows", active, inactive, reported, len(rows)-1)
	}

	// The reported links are those of the duplicate user; once that user
	// exists under a username of its own, the same file imports them and
	// skips every row already in.
	if len(missing) == 0 {
		t.Fatal("no row reported: the duplicate user's links were imported without their owner")
	}
	for _, row := range missing {
		if row[1] != "273" {
			t.Fatalf("reported row %v is not one of the duplicate user 273's", row)
		}
	}
	users := filepath.Join(t.TempDir(), "user273.csv")
	if err := os.WriteFile(users, []byte("id,username,email\n273,vividcanyon32b,vividcanyon32@hackstack.io\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := s.upload("/users/bulk", users); res["imported"] != 1.0 {
		t.Fatalf("user 273 under another username: %v", res)
	}
	res := s.upload("/urls/bulk", filepath.Join(dir, "urls.csv"))
	if res["imported"] != float64(reported) || res["skipped"] != float64(len(rows)-1-reported) {
		t.Fatalf("urls.csv again: %v, want %d imported", res, reported)
	}
	for _, row := range missing {
		st, loc, errCode := s.hitCode(s.edges[0], row[2])
		if row[5] == "True" && (st != http.StatusFound || loc != row[3]) || row[5] != "True" && errCode != "gone" {
			t.Errorf("%s after its owner's import: %d %q %q", row[2], st, loc, errCode)
		}
	}
}
