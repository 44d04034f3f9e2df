package postgres_test

import (
	"context"
	"testing"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/postgres"
)

// TestLinksByKeyAcrossDomains: links are read back by their key, the code
// on the default domain and "host/code" on another; an import takes a
// domain, refusing one that does not exist row by row.
func TestLinksByKeyAcrossDomains(t *testing.T) {
	db, _ := testenv.NewDB(t)
	ctx := context.Background()
	if _, err := db.CreateDomain(ctx, rebound.Domain{Host: "go.acme.test"}); err != nil {
		t.Fatal(err)
	}
	host := "go.acme.test"
	for _, in := range []postgres.NewLink{
		{ShortCode: "same", OriginalURL: "https://a.example/default", IsActive: true, RedirectType: 302},
		{ShortCode: "same", OriginalURL: "https://a.example/acme", IsActive: true, RedirectType: 302, Domain: &host},
	} {
		if _, err := db.CreateLink(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	links, _, err := db.ImportLinks(ctx, []postgres.ImportLink{
		{Line: 2, ShortCode: "imp", OriginalURL: "https://a.example/imp", IsActive: true, Domain: &host},
		{Line: 3, ShortCode: "imp", OriginalURL: "https://a.example/imp-default", IsActive: true},
	})
	if err != nil || len(links) != 2 {
		t.Fatalf("import: %d links, %v", len(links), err)
	}
	nowhere := "nowhere.test"
	if _, errs, err := db.ImportLinks(ctx, []postgres.ImportLink{{Line: 2, ShortCode: "x", OriginalURL: "https://a.example", IsActive: true, Domain: &nowhere}}); err != nil || len(errs) != 1 {
		t.Fatalf("an import row on no domain: %v %v", errs, err)
	}
	byKey, err := db.LinksByKeys(ctx, []string{"same", "go.acme.test/same", "go.acme.test/imp", "imp", "go.acme.test/none"})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"same": "https://a.example/default", "go.acme.test/same": "https://a.example/acme",
		"go.acme.test/imp": "https://a.example/imp", "imp": "https://a.example/imp-default"} {
		if byKey[key].OriginalURL != want {
			t.Errorf("%s: %q, want %q", key, byKey[key].OriginalURL, want)
		}
		one, err := db.LinkByKey(ctx, key)
		if err != nil || one.OriginalURL != want {
			t.Errorf("LinkByKey(%s): %q %v", key, one.OriginalURL, err)
		}
	}
	if len(byKey) != 4 {
		t.Fatalf("%d links for 4 keys", len(byKey))
	}
	if _, err := db.DeleteDomain(ctx, host, false, nil); rebound.ErrorCode(err) != rebound.EConflict {
		t.Fatalf("delete a domain in use: %v", err)
	}
	deleted, err := db.DeleteDomain(ctx, host, true, nil)
	if err != nil || len(deleted) != 2 {
		t.Fatalf("delete with links: %d, %v", len(deleted), err)
	}
	if _, err := db.LinkByKey(ctx, "same"); err != nil {
		t.Fatalf("the default domain's link went with the domain: %v", err)
	}
}
