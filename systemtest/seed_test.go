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
// unknown.
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
	for _, row := range rows[1:] { // id,user_id,short_code,original_url,title,is_active,...
		code, target := row[2], row[3]
		st, loc, errCode := s.hitCode(s.edges[0], code)
		switch {
		case !imported[code]:
			reported++
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
}
