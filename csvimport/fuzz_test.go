package csvimport_test

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/csvimport"
	"github.com/reboundhq/rebound/postgres"
)

// sink is a csvimport.Store that keeps the rows it is given, so the fuzzer
// can check what the parser lets through. Like a store refusing duplicates,
// it refuses every row on a line divisible by three, so the import has
// refusals to merge with its own parse errors. Storage itself is tested
// against Postgres in the origin and postgres packages.
type sink struct {
	links  []postgres.ImportLink
	users  []postgres.ImportUser
	events []postgres.ImportEvent
}

// keep splits rows into those the sink stores and the errors of the rest.
func keep[R any](rows []R, line func(R) int) (kept []R, errs []postgres.RowError) {
	for _, r := range rows {
		if l := line(r); l%3 == 0 {
			errs = append(errs, postgres.RowError{Line: l, Error: "refused by the sink"})
			continue
		}
		kept = append(kept, r)
	}
	return kept, errs
}

func (s *sink) ImportUsers(_ context.Context, rows []postgres.ImportUser) (int, []postgres.RowError, error) {
	kept, errs := keep(rows, func(r postgres.ImportUser) int { return r.Line })
	s.users = append(s.users, kept...)
	return len(kept), errs, nil
}

func (s *sink) ImportLinks(_ context.Context, rows []postgres.ImportLink) ([]rebound.Link, []postgres.RowError, error) {
	kept, errs := keep(rows, func(r postgres.ImportLink) int { return r.Line })
	s.links = append(s.links, kept...)
	return make([]rebound.Link, len(kept)), errs, nil
}

func (s *sink) ImportEvents(_ context.Context, rows []postgres.ImportEvent) (int, []postgres.RowError, error) {
	kept, errs := keep(rows, func(r postgres.ImportEvent) int { return r.Line })
	s.events = append(s.events, kept...)
	return len(kept), errs, nil
}

// FuzzImport: any input either fails as a whole with a client error, or
// every row is accounted for, every row let through is valid, and the
// errors are listed in line order.
func FuzzImport(f *testing.F) {
	f.Add("urls", "original_url,short_code,is_active\nhttps://x.org,abc,True\nftp://y,,False\n")
	f.Add("users", "id,username,email,created_at\n1,a,a@b.co,2025-01-01 00:00:00\n1,a,a@b.co,x\n")
	f.Add("events", "url_id,user_id,event_type,timestamp,details\n1,2,created,2025-01-01 00:00:00,\"{\"\"a\"\":1}\"\n,,x,,[]\n")
	f.Add("urls", "original_url\n\"https://x.org\n")
	f.Add("users", "\ufeffusername,email\r\nb,B@X.ORG\r\n")
	f.Add("urls", "original_url,tags\nhttps://x.org,Promo|spring|promo\nhttps://y.org,bad tag|\nhttps://z.org,"+strings.Repeat("t|", 21)+"\n")
	f.Add("users", "username,email\na,a@b.co\nb,b@b.co\n,bad\nc,c@b.co\n")
	f.Fuzz(func(t *testing.T, kind, data string) {
		k := csvimport.Kind(kind)
		if k != csvimport.Users && k != csvimport.Links && k != csvimport.Events {
			return
		}
		s := &sink{}
		res, err := csvimport.Import(context.Background(), s, k, strings.NewReader(data), csvimport.Options{BatchSize: 3})
		if err != nil {
			if c := rebound.ErrorCode(err); c != rebound.EValidation && c != rebound.EBadRequest {
				t.Fatalf("error %v (code %s)", err, c)
			}
			return
		}
		if res.Imported != len(s.users)+len(s.links)+len(s.events) || res.Count != res.Imported || res.Skipped < len(res.Errors) {
			t.Fatalf("result %+v for %d rows stored", res, len(s.users)+len(s.links)+len(s.events))
		}
		if len(res.Errors) > csvimport.MaxErrors || !slices.IsSortedFunc(res.Errors, func(a, b postgres.RowError) int { return cmp.Compare(a.Line, b.Line) }) {
			t.Fatalf("errors not the first %d in line order: %+v", csvimport.MaxErrors, res.Errors)
		}
		for _, l := range s.links {
			if (rebound.ShortURLBase{}).ValidateOriginalURL(l.OriginalURL) != nil || rebound.ValidateShortCode(l.ShortCode) != nil ||
				len(l.Tags) > rebound.MaxTags {
				t.Fatalf("invalid link let through: %+v", l)
			}
			for _, tag := range l.Tags {
				if !rebound.ValidTag(tag) || strings.Contains(tag, rebound.TagSeparator) {
					t.Fatalf("invalid tag %q let through: %+v", tag, l)
				}
			}
		}
		for _, u := range s.users {
			if rebound.ValidateUsername(u.Username) != nil || u.Email != strings.ToLower(u.Email) {
				t.Fatalf("invalid user let through: %+v", u)
			}
		}
	})
}
