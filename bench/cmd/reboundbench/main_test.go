package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The results' folder may be one an operator chose (-json /tmp/x.json):
// clearing the bench's earlier process logs must not touch their files.
func TestFreshProcLogDirEmptiesOnlyItsOwnFolder(t *testing.T) {
	results := t.TempDir()
	theirs := filepath.Join(results, "app.log")
	if err := os.WriteFile(theirs, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := freshProcLogDir(results)
	if err != nil {
		t.Fatalf("first freshProcLogDir: %v", err)
	}
	if want := filepath.Join(results, procLogsDir); dir != want {
		t.Fatalf("process-log folder = %q, want %q", dir, want)
	}
	earlier := filepath.Join(dir, "edge.log")
	if err := os.WriteFile(earlier, []byte("earlier run"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := freshProcLogDir(results); err != nil {
		t.Fatalf("second freshProcLogDir: %v", err)
	}
	if _, err := os.Stat(earlier); !os.IsNotExist(err) {
		t.Errorf("the earlier run's edge.log is still there (stat: %v)", err)
	}
	if b, err := os.ReadFile(theirs); err != nil || string(b) != "keep me" {
		t.Errorf("a log beside the results was touched: %q, %v", b, err)
	}
}
