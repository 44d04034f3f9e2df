package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// TestSearchIsExactWhateverTheIndexerLag: a search answers what is
// committed, before the indexer has moved a write into url_search and
// after: new links, renamed and retitled ones (found by the new text, not
// the old), deleted ones, imported ones.
func TestSearchIsExactWhateverTheIndexerLag(t *testing.T) {
	db, _ := testenv.NewDB(t)
	ctx := context.Background()
	search := func(q string) string {
		t.Helper()
		links, total, err := db.ListLinks(ctx, postgres.LinkFilter{Query: &q}, postgres.SortOldest, rebound.Page{Page: 1, PerPage: 50})
		if err != nil {
			t.Fatal(err)
		}
		codes := make([]string, len(links))
		for i, l := range links {
			codes[i] = l.ShortCode
		}
		if int(total) != len(links) {
			t.Fatalf("search %q: total %d for %d links", q, total, len(links))
		}
		return strings.Join(codes, ",")
	}
	index := func() {
		t.Helper()
		for {
			n, err := db.IndexSearch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
		}
	}
	title := "Spring sale"
	a, err := db.CreateLink(ctx, postgres.NewLink{ShortCode: "alpha", OriginalURL: "https://shop.example/spring", Title: &title, IsActive: true, RedirectType: 302})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateLink(ctx, postgres.NewLink{ShortCode: "beta", OriginalURL: "https://blog.example/post", IsActive: true, RedirectType: 302})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.ImportLinks(ctx, []postgres.ImportLink{{Line: 2, ShortCode: "gamma", OriginalURL: "https://shop.example/sale-gamma", IsActive: true}}); err != nil {
		t.Fatal(err)
	}
	for round, step := range []func(){func() {}, index} {
		step()
		if got := search("SALE"); got != "alpha,gamma" {
			t.Fatalf("round %d: SALE finds %q", round, got)
		}
		if got := search("example/post"); got != "beta" {
			t.Fatalf("round %d: example/post finds %q", round, got)
		}
	}
	// Retitle alpha and rename beta: before and after indexing, only the
	// new text is found.
	newTitle := "Autumn deals"
	if _, _, err := db.UpdateLink(ctx, a.ID, postgres.LinkPatch{Title: postgres.Some(&newTitle)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpdateLink(ctx, b.ID, postgres.LinkPatch{ShortCode: postgres.Some("delta")}, nil); err != nil {
		t.Fatal(err)
	}
	for round, step := range []func(){func() {}, index} {
		step()
		if got := search("sale"); got != "gamma" {
			t.Fatalf("round %d after retitling: sale finds %q", round, got)
		}
		if got := search("autumn"); got != "alpha" {
			t.Fatalf("round %d: autumn finds %q", round, got)
		}
		if got := search("delta") + "|" + search("beta"); got != "delta|" {
			t.Fatalf("round %d after renaming: delta|beta finds %q", round, got)
		}
	}
	if _, err := db.DeleteLink(ctx, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := search("autumn"); got != "" {
		t.Fatalf("a deleted link is found: %q", got)
	}
	index()
	if n, err := db.SearchBacklog(ctx); err != nil || n != 0 {
		t.Fatalf("backlog %d after indexing (%v)", n, err)
	}
}
