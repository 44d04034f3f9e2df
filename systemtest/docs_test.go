package systemtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/testenv"
)

// The documents whose shell examples TestDocExamples runs.
var runnableDocs = []string{"README.md", "docs/api.md"}

// What the examples say for the services they talk to, replaced by the
// test's own before they run.
const (
	docOrigin = "http://localhost:8081"
	docEdge   = "http://localhost:8080"
	docToken  = "paste-the-admin-token-make-run-printed"
	docRedis  = "6379"
)

// mdBlock is one fenced code block of a Markdown file.
type mdBlock struct {
	lang string
	text string
	line int // of the opening fence
}

// fencedBlocks returns the fenced code blocks of a Markdown document in order.
func fencedBlocks(doc string) []mdBlock {
	var out []mdBlock
	var cur *mdBlock
	var body []string
	for i, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &mdBlock{lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), line: i + 1}
			body = body[:0]
		case cur != nil && trimmed == "```":
			cur.text = strings.Join(body, "\n")
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body = append(body, line)
		}
	}
	return out
}

// TestReadmeIsShort holds the README to a front door's length: details go
// to docs/.
func TestReadmeIsShort(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(raw, []byte("\n")); n > 250 {
		t.Errorf("README.md has %d lines; keep it at 250 or fewer and move details to docs/", n)
	}
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`^#{1,6}\s+(.*)$`)
)

// TestDocLinks checks that every relative link in the README, the reports
// and docs/ names a file that exists, and an anchor that one of its
// headings makes (as GitHub spells them).
func TestDocLinks(t *testing.T) {
	docs, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, "../README.md", "../BENCHMARKS.md", "../RELIABILITY.md")
	checked := 0
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range docLinks(string(raw)) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := doc
			if file != "" {
				path = filepath.Join(filepath.Dir(doc), file)
			}
			checked++
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s links to %s, which does not exist", doc, target)
				continue
			}
			if anchor == "" || !strings.HasSuffix(path, ".md") {
				continue
			}
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !headingAnchors(string(body))[anchor] {
				t.Errorf("%s links to %s: %s has no heading with anchor #%s", doc, target, path, anchor)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d relative links found: the link parser is broken", checked)
	}
}

// docLinks returns the targets of a document's Markdown links, outside code.
func docLinks(doc string) []string {
	var out []string
	inCode := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		line = regexp.MustCompile("`[^`]*`").ReplaceAllString(line, "")
		for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// headingAnchors returns the anchors GitHub gives a document's headings:
// lower-case, punctuation but '-' and '_' dropped, spaces as '-', and a
// repeated one suffixed -1, -2...
func headingAnchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	inCode := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		m := mdHeading.FindStringSubmatch(line)
		if inCode || m == nil {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(m[1])) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

func TestHeadingAnchors(t *testing.T) {
	got := headingAnchors("# Rebound\n## The API in outline\n```\n# not a heading\n```\n## Departures from SPEC\n### `make run`: Ctrl-C\n## Choices\n## Choices\n")
	for _, want := range []string{"rebound", "the-api-in-outline", "departures-from-spec", "make-run-ctrl-c", "choices", "choices-1"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a comment in a code block made an anchor")
	}
}

// TestDocExamples runs every shell example of the README and docs/api.md, in
// order, against a Rebound of its own (origin, edge and a private Redis the
// README's tour kills and starts again), and compares what each prints with
// the output block under it: a text block line for line, a JSON block as
// the fields it shows. The `make` lines are checked to be Makefile targets:
// TestMakeRun runs `make run`, and CI runs `make test`.
func TestDocExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the services: not in -short")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("no curl to run the examples with (`make test` installs it)")
	}
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range runnableDocs {
		t.Run(doc, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", doc))
			if err != nil {
				t.Fatal(err)
			}
			redisPort := startPrivateRedis(t)
			s := newSystemAt(t, redisTarget{url: fmt.Sprintf("redis://127.0.0.1:%d/0", redisPort)}, 1, edge.Options{}, docEdge)
			replace := strings.NewReplacer(docOrigin, s.originURL, docEdge, s.edges[0].url, docToken, token)
			env := append(os.Environ(), "ORIGIN="+s.originURL, "EDGE="+s.edges[0].url, "TOKEN="+token)
			dir := t.TempDir()
			blocks := fencedBlocks(string(raw))
			ran := 0
			for i, b := range blocks {
				if b.lang != "sh" {
					continue
				}
				if makeTargets(t, doc, b, makefile) {
					continue
				}
				script := replace.Replace(b.text)
				if strings.Contains(script, "redis-") {
					script = strings.ReplaceAll(script, docRedis, strconv.Itoa(redisPort))
				}
				var want *mdBlock
				if i+1 < len(blocks) && (blocks[i+1].lang == "json" || blocks[i+1].lang == "text") {
					want = &blocks[i+1]
				}
				runExample(t, doc, b, script, want, env, dir)
				ran++
			}
			if ran < 5 {
				t.Fatalf("%s: only %d examples ran", doc, ran)
			}
		})
	}
}

// makeTargets reports whether a block is made of `make` commands, and checks
// that each names a target of the Makefile.
func makeTargets(t *testing.T, doc string, b mdBlock, makefile []byte) bool {
	t.Helper()
	var targets []string
	for _, line := range strings.Split(b.text, "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] != "make" || len(f) < 2 {
			return false
		}
		targets = append(targets, f[1])
	}
	for _, target := range targets {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).Match(makefile) {
			t.Errorf("%s:%d shows `make %s`, which the Makefile has no target for", doc, b.line, target)
		}
	}
	return len(targets) > 0
}

// runExample runs one example with bash and compares its output with want.
// An example that only reads (no write to the API, no server started or
// stopped) is retried for up to 5 s, the time clicks take to show.
func runExample(t *testing.T, doc string, b mdBlock, script string, want *mdBlock, env []string, dir string) {
	t.Helper()
	readOnly := !regexp.MustCompile(`-X (POST|PUT|PATCH|DELETE)|--data|-d '|redis-`).MatchString(script)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
		cmd.Env, cmd.Dir = env, dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("%s:%d: the example failed: %v\n%s\n%s%s", doc, b.line, err, script, out, stderr.String())
		}
		mismatch := ""
		if want != nil {
			mismatch = compareOutput(want, out)
		}
		if mismatch == "" {
			return
		}
		if !readOnly || time.Now().After(deadline) {
			t.Fatalf("%s:%d: the example's output does not match the block at line %d: %s\n--- example\n%s\n--- printed\n%s",
				doc, b.line, want.line, mismatch, script, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// compareOutput returns "" when out matches the documented output: a text
// block exactly (trailing space aside); a JSON block as a subset of the
// last JSON value printed, each field shown having the value shown.
func compareOutput(want *mdBlock, out []byte) string {
	if want.lang == "text" {
		if strings.TrimSpace(string(out)) != strings.TrimSpace(want.text) {
			return "the text differs"
		}
		return ""
	}
	var expected any
	if err := json.Unmarshal([]byte(want.text), &expected); err != nil {
		return "the documented JSON does not parse: " + err.Error()
	}
	var last any
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		last = v
	}
	if last == nil {
		return "the example printed no JSON"
	}
	return jsonSubset("", expected, last)
}

// jsonSubset returns "" when every field of want is in got with the same
// value (objects compared field by field, recursively; anything else equal).
func jsonSubset(path string, want, got any) string {
	wo, ok := want.(map[string]any)
	if !ok {
		if !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("%s is %v, documented as %v", path, got, want)
		}
		return ""
	}
	g, ok := got.(map[string]any)
	if !ok {
		return fmt.Sprintf("%s is %v, documented as an object", path, got)
	}
	for k, v := range wo {
		gv, ok := g[k]
		if !ok {
			return fmt.Sprintf("%s.%s is missing", path, k)
		}
		if m := jsonSubset(path+"."+k, v, gv); m != "" {
			return m
		}
	}
	return ""
}

func TestJSONSubset(t *testing.T) {
	var got any
	_ = json.Unmarshal([]byte(`{"id":1,"a":{"b":2,"c":3},"l":[1,2]}`), &got)
	for doc, match := range map[string]bool{
		`{"id":1}`: true, `{"a":{"c":3}}`: true, `{"l":[1,2]}`: true,
		`{"id":2}`: false, `{"x":1}`: false, `{"a":{"b":3}}`: false, `{"l":[1]}`: false,
	} {
		var want any
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatal(err)
		}
		if got := jsonSubset("", want, got) == ""; got != match {
			t.Errorf("%s: match %v, want %v", doc, got, match)
		}
	}
}

// startPrivateRedis starts a redis-server of the test's own, which an
// example may kill and start again on the same port; the test's end stops
// whichever one is running then.
func startPrivateRedis(t *testing.T) int {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not installed (make test installs it): %v", err)
	}
	port := testenv.FreePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	t.Cleanup(func() {
		_ = client.Shutdown(context.Background()).Err()
		_ = client.Close()
	})
	testenv.Eventually(t, 10*time.Second, "the private redis-server answers", func() bool {
		return client.Ping(context.Background()).Err() == nil
	})
	return port
}

// TestReadmeConfigTable checks that the README's configuration table and
// .env.example name the same variables.
func TestReadmeConfigTable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	inTable := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]+)` \\|").FindAllStringSubmatch(string(readme), -1) {
		inTable[m[1]] = true
	}
	inExample := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#? ?([A-Z][A-Z0-9_]+)=`).FindAllStringSubmatch(string(example), -1) {
		inExample[m[1]] = true
	}
	if len(inExample) < 10 {
		t.Fatalf("only %d variables found in .env.example: the parser is broken", len(inExample))
	}
	for v := range inExample {
		if !inTable[v] {
			t.Errorf("%s is in .env.example but not in the README's configuration table", v)
		}
	}
	for v := range inTable {
		if !inExample[v] {
			t.Errorf("%s is in the README's configuration table but not in .env.example", v)
		}
	}
}
