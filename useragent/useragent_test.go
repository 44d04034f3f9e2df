package useragent_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/useragent"
)

// labelled is one row of a labelled User-Agent file.
type labelled struct {
	device, os, browser string
	bot                 bool
	ua                  string
}

func readLabelled(t testing.TB, path string) []labelled {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open labelled agents: %v", err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first {
			continue
		}
		cols := strings.SplitN(sc.Text(), "\t", 5)
		if len(cols) < 4 {
			t.Fatalf("%s: short row %q", path, sc.Text())
		}
		row := labelled{device: cols[0], os: cols[1], browser: cols[2], bot: cols[3] == "true"}
		if len(cols) == 5 {
			row.ua = cols[4]
		}
		out = append(out, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// agents are the shared corpus's labelled agents (real strings of iOS
// Safari, Android Chrome, desktop browsers, tablets and bots) and this
// package's own additions.
func agents(t testing.TB) []labelled {
	shared := filepath.Join(filepath.Dir(testenv.SeedDir()), "useragents", "useragents.tsv")
	rows := readLabelled(t, shared)
	return append(rows, readLabelled(t, filepath.Join("testdata", "more.tsv"))...)
}

func TestParseLabelledAgents(t *testing.T) {
	rows := agents(t)
	if len(rows) < 30 {
		t.Fatalf("only %d labelled agents", len(rows))
	}
	for _, r := range rows {
		a := useragent.Parse([]byte(r.ua))
		if a.Device.String() != r.device || a.OS.String() != r.os || a.Browser.String() != r.browser {
			t.Errorf("%q: got device %s, os %s, browser %s; want %s, %s, %s",
				r.ua, a.Device, a.OS, a.Browser, r.device, r.os, r.browser)
		}
		if got := rebound.IsBot([]byte(r.ua)); got != r.bot {
			t.Errorf("%q: bot %v, want %v", r.ua, got, r.bot)
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	rows := agents(t)
	uas := make([][]byte, len(rows))
	for i, r := range rows {
		uas[i] = []byte(r.ua)
	}
	n := testing.AllocsPerRun(100, func() {
		for _, ua := range uas {
			_ = useragent.Parse(ua)
		}
	})
	if n != 0 {
		t.Fatalf("Parse allocates %.1f times a run", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, r := range agents(f) {
		f.Add(r.ua)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		a := useragent.Parse([]byte(ua))
		for _, name := range []string{a.Device.String(), a.OS.String(), a.Browser.String()} {
			if name == "" {
				t.Fatalf("%q: an unnamed family", ua)
			}
		}
	})
}
