package systemtest

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/hostile"
	"github.com/reboundhq/rebound/internal/testenv"
)

// TestHostileInput sends a corpus of malformed and hostile requests to
// every route of the edge and the origin over raw TCP, and checks each
// answer with hostile.Judge: no 5xx, no hang, no connection closed without
// an answer, and every error in the documented JSON shape, except for
// requests that are not HTTP at all, which the origin's net/http server
// answers itself before any handler runs (in plain text; a 505 for an HTTP
// version it does not speak).
func TestHostileInput(t *testing.T) {
	s := newSystem(t, redisTarget{url: testenv.RedisURL()}, 1, edge.Options{})
	s.api("POST", "/urls", map[string]any{"original_url": "https://example.com/h", "short_code": "x"})
	edgeAddr := hostPort(t, s.edges[0].url)
	originAddr := hostPort(t, s.originURL)
	for _, target := range []struct {
		name, addr string
		corpus     []hostile.Request
		jsonAlways bool
	}{
		{"edge", edgeAddr, hostile.EdgeCorpus(), true},
		{"origin", originAddr, hostile.OriginCorpus(s.origin.Routes(), token), false},
	} {
		statuses := map[int]int{}
		for _, req := range target.corpus {
			ans, err := hostile.Send(target.addr, req.Raw, req.MayClose, 10*time.Second)
			switch v := hostile.Judge(req, ans, err, target.jsonAlways); v {
			case hostile.Fine, hostile.NetHTTPVersion:
			default:
				t.Errorf("%s %s: %v: %d %q %.200s %v", target.name, req.Name, v, ans.Status, ans.ContentType, ans.Body, err)
			}
			if ans.Closed {
				statuses[0]++
			} else if err == nil {
				statuses[ans.Status]++
			}
		}
		codes := make([]int, 0, len(statuses))
		for c := range statuses {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		var summary []string
		for _, c := range codes {
			name := strconv.Itoa(c)
			if c == 0 {
				name = "closed"
			}
			summary = append(summary, name+": "+strconv.Itoa(statuses[c]))
		}
		t.Logf("%s: %d hostile requests; statuses %s", target.name, len(target.corpus), strings.Join(summary, ", "))
	}
	// The services still serve normally afterwards.
	if st, loc := s.hit(s.edges[0], "x"); st != 302 || loc != "https://example.com/h" {
		t.Fatalf("after the corpus: %d %q", st, loc)
	}
}

func hostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
