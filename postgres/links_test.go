package postgres_test

import (
	"context"
	"testing"

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
	_, updated, err := db.UpdateLink(ctx, created.ID, postgres.LinkPatch{OriginalURL: postgres.Some("https://b.org")})
	if err != nil {
		t.Fatal(err)
	}
	next("update", updated.Version)
	read, err := db.LinkByCode(ctx, "ver")
	if err != nil || read.Version != updated.Version {
		t.Fatalf("read back version %d (%v), want %d", read.Version, err, updated.Version)
	}
	deleted, err := db.DeleteLink(ctx, created.ID)
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
