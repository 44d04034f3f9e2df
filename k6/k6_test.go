// Package k6_test checks the k6 scripts: valid JavaScript (node parses them
// as modules), configured from the documented environment variables, and
// each with thresholds that fail a bad run.
package k6_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func scripts(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

func TestScriptsAreValidJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the scripts' syntax is not checked")
	}
	for f := range scripts(t) {
		if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
}

func TestScenariosAndThresholds(t *testing.T) {
	all := scripts(t)
	for _, want := range []string{"smoke.js", "redirects.js", "spike.js", "soak.js", "writes.js"} {
		src, ok := all[want]
		if !ok {
			t.Errorf("missing scenario %s", want)
			continue
		}
		if !strings.Contains(src, "thresholds") {
			t.Errorf("%s has no thresholds", want)
		}
		if !regexp.MustCompile(`from '\./lib\.js'`).MatchString(src) {
			t.Errorf("%s does not take its URLs and token from lib.js", want)
		}
	}
	for _, env := range []string{"__ENV.EDGE_URL", "__ENV.ORIGIN_URL", "__ENV.REBOUND_TOKEN"} {
		if !strings.Contains(all["lib.js"], env) {
			t.Errorf("lib.js does not read %s", env)
		}
	}
	if !strings.Contains(all["smoke.js"], "duration: '10s'") {
		t.Error("smoke.js is not a 10-second run")
	}
	if r := all["redirects.js"]; !strings.Contains(r, "__ENV.VUS") || !strings.Contains(r, "VUS=50, 200 or 500") {
		t.Error("redirects.js does not take and document VUS=50, 200 or 500")
	}
}
