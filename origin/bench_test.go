package origin_test

import "testing"

// BenchmarkLinkWriteCycle creates, updates and deletes a link through the
// API: what an API write costs on the request's path, its Redis
// write-through and cache outbox included (docs/decisions.md). The
// background work does not run, so the retry tick's one DELETE of the
// written codes, off that path, is not counted.
//
//	go test -run '^$' -bench LinkWriteCycle -benchtime 2000x ./origin/
func BenchmarkLinkWriteCycle(b *testing.B) {
	e := newEnv(b)
	for b.Loop() {
		l := e.createLink(map[string]any{"original_url": "https://example.com/a"})
		id := itoa(l.num("id"))
		e.want(e.do("PATCH", "/urls/"+id, map[string]any{"original_url": "https://example.com/b"}), 200, "")
		e.want(e.do("DELETE", "/urls/"+id, nil), 204, "")
	}
}
