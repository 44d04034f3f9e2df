package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// Caches keep the highest version of a code they are given, so every write
// of a link, in the order of the commits, must get a higher one than the
// writes before it: an update than the create, a delete than the update, a
// link created later under the same code than the delete.
func TestLinkVersionsGrowWithEveryWrite(t *testing.T) {
	db, _ := testenv.NewDB(t)
	ctx := context.Background()
	var last int64
	next := func(step string, version int64) {
		t.Helper()
		if version <= last {
			t.Fatalf("%s: version %d after %d", step, version, last)
		}
		last = version
	}

	created, err := db.CreateLink(ctx, postgres.NewLink{ShortCode: "ver", OriginalURL: "https://a.org", IsActive: true, RedirectType: 302})
	if err != nil {
		t.Fatal(err)
	}
	next("create", created.Version)
	_, updated, err := db.UpdateLink(ctx, created.ID, postgres.LinkPatch{OriginalURL: postgres.Some("https://b.org")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	next("update", updated.Version)
	read, err := db.LinkByKey(ctx, "ver")
	if err != nil || read.Version != updated.Version {
		t.Fatalf("read back version %d (%v), want %d", read.Version, err, updated.Version)
	}
	deleted, err := db.DeleteLink(ctx, created.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	next("delete", deleted.Version)
	again, err := db.CreateLink(ctx, postgres.NewLink{ShortCode: "ver", OriginalURL: "https://c.org", IsActive: true, RedirectType: 302})
	if err != nil {
		t.Fatal(err)
	}
	next("the code created again", again.Version)
	imported, rowErrs, err := db.ImportLinks(ctx, []postgres.ImportLink{{Line: 2, ShortCode: "ver2", OriginalURL: "https://d.org", IsActive: true}})
	if err != nil || len(rowErrs) != 0 || len(imported) != 1 {
		t.Fatalf("import: %v %v %v", imported, rowErrs, err)
	}
	next("import", imported[0].Version)
}

// An update or delete queues its codes on the cache outbox in its own
// transaction (a rename both codes); CacheWritten takes a code off only for
// a write at least as new as the newest change queued for it.
func TestLinkChangesQueueTheirCodesOnTheCacheOutbox(t *testing.T) {
	db, _ := testenv.NewDB(t)
	ctx := context.Background()
	owed := func() map[string]int64 {
		t.Helper()
		m, err := db.OwedCacheWrites(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	l, err := db.CreateLink(ctx, postgres.NewLink{ShortCode: "box", OriginalURL: "https://a.org", IsActive: true, RedirectType: 302})
	if err != nil {
		t.Fatal(err)
	}
	if m := owed(); len(m) != 0 {
		t.Fatalf("a create queued %v", m)
	}
	_, first, err := db.UpdateLink(ctx, l.ID, postgres.LinkPatch{OriginalURL: postgres.Some("https://b.org")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, renamed, err := db.UpdateLink(ctx, l.ID, postgres.LinkPatch{ShortCode: postgres.Some("box2")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := owed(); len(m) != 2 || m["box"] != renamed.Version || m["box2"] != renamed.Version {
		t.Fatalf("after an update and a rename (version %d): %v", renamed.Version, m)
	}
	// A write of the first update's version is older than what is owed.
	if err := db.CacheWritten(ctx, map[string]int64{"box": first.Version}); err != nil {
		t.Fatal(err)
	}
	if m := owed(); m["box"] != renamed.Version {
		t.Fatalf("an older write took box off: %v", m)
	}
	if err := db.CacheWritten(ctx, map[string]int64{"box": renamed.Version, "box2": renamed.Version}); err != nil {
		t.Fatal(err)
	}
	if m := owed(); len(m) != 0 {
		t.Fatalf("written codes still owed: %v", m)
	}
	deleted, err := db.DeleteLink(ctx, l.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := owed(); len(m) != 1 || m["box2"] != deleted.Version {
		t.Fatalf("after the delete (version %d): %v", deleted.Version, m)
	}
	// Only entries older than the age asked for are owed.
	if m, err := db.OwedCacheWrites(ctx, time.Hour, 100); err != nil || len(m) != 0 {
		t.Fatalf("entries queued an hour ago: %v %v", m, err)
	}
}

// LinksByKeys reads many codes in one query; codes no link holds are left
// out, and codes are matched case-sensitively.
func TestLinksByKeys(t *testing.T) {
	db, _ := testenv.NewDB(t)
	ctx := context.Background()
	for _, code := range []string{"one", "two"} {
		if _, err := db.CreateLink(ctx, postgres.NewLink{ShortCode: code, OriginalURL: "https://a.org/" + code, IsActive: true, RedirectType: 302}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.LinksByKeys(ctx, []string{"one", "ONE", "missing", "two"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["one"].OriginalURL != "https://a.org/one" || got["two"].OriginalURL != "https://a.org/two" || got["two"].Version == 0 {
		t.Fatalf("links by codes: %+v; want one and two, with their versions", got)
	}
}

// TestUnfilteredTotalIsExact: the total of an unfiltered list comes from
// counters that triggers keep; it must equal the rows after creates,
// imports (several rows a statement), deletes, and from several
// connections at once.
func TestUnfilteredTotalIsExact(t *testing.T) {
	db, dsn := testenv.NewDB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	check := func(step string) {
		t.Helper()
		for _, f := range []postgres.LinkFilter{{}, {Tags: []string{"even"}}, {Tags: []string{"imp"}}} {
			_, total, err := db.ListLinks(ctx, f, postgres.SortNewest, rebound.Page{Page: 1, PerPage: 1})
			if err != nil {
				t.Fatal(err)
			}
			var rows int64
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM urls WHERE tags @> $1", tagsOf(f)).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if total != rows {
				t.Fatalf("%s, tags %v: total %d, rows %d", step, f.Tags, total, rows)
			}
		}
	}
	check("empty")
	var wg sync.WaitGroup
	var ids sync.Map
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				var tags []string
				if i%2 == 0 {
					tags = []string{"even"}
				}
				l, err := db.CreateLink(ctx, postgres.NewLink{ShortCode: fmt.Sprintf("c%d-%d", w, i), OriginalURL: "https://a.org",
					IsActive: true, RedirectType: 302, Tags: tags})
				if err != nil {
					t.Error(err)
					return
				}
				ids.Store(l.ID, true)
			}
		}()
	}
	wg.Wait()
	check("after 80 concurrent creates")
	rows := make([]postgres.ImportLink, 500)
	for i := range rows {
		rows[i] = postgres.ImportLink{Line: i + 2, ShortCode: fmt.Sprintf("imp%d", i), OriginalURL: "https://b.org", IsActive: true,
			Tags: []string{"imp"}}
	}
	rows[10].ShortCode = "c0-0" // taken: skipped, not counted
	if _, _, err := db.ImportLinks(ctx, rows); err != nil {
		t.Fatal(err)
	}
	check("after an import")
	n := 0
	ids.Range(func(k, _ any) bool {
		if n++; n <= 30 {
			if _, err := db.DeleteLink(ctx, k.(int64), nil); err != nil {
				t.Fatal(err)
			}
		}
		return true
	})
	check("after deletes")
	if _, err := conn.Exec(ctx, "UPDATE urls SET tags = '{even,imp}' WHERE short_code LIKE 'imp1%'"); err != nil {
		t.Fatal(err)
	}
	check("after a retag")
	if _, _, err := db.ListLinks(ctx, postgres.LinkFilter{Tags: []string{"x"}}, postgres.SortMostClicks, rebound.Page{Page: 1, PerPage: 5}); err != nil {
		t.Fatal(err)
	}
}

// tagsOf is the tags a filter asks for, as the array that matches every row
// when there are none.
func tagsOf(f postgres.LinkFilter) []string {
	if f.Tags == nil {
		return []string{}
	}
	return f.Tags
}
