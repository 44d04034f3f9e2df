package csvimport_test

import (
	"context"
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/csvimport"
	"github.com/reboundhq/rebound/postgres"
)

// sink is a csvimport.Store that keeps the rows it is given, so the fuzzer
// can check what the parser lets through. Storage itself is tested against
// Postgres in the origin and postgres packages.
type sink struct {
	links  []postgres.ImportLink
	users  []postgres.ImportUser
	events []postgres.ImportEvent
}

func (s *sink) ImportUsers(_ context.Context, rows []postgres.ImportUser) (int, []postgres.RowError, error) {
	s.users = append(s.users, rows...)
	return len(rows), nil, nil
}

func (s *sink) ImportLinks(_ context.Context, rows []postgres.ImportLink) ([]rebound.Link, []postgres.RowError, error) {
	s.links = append(s.links, rows...)
	out := make([]rebound.Link, len(rows))
	return out, nil, nil
}

func (s *sink) ImportEvents(_ context.Context, rows []postgres.ImportEvent) (int, []postgres.RowError, error) {
	s.events = append(s.events, rows...)
	return len(rows), nil, nil
}

// FuzzImport: any input either fails as a whole with a client error, or
// every row is accounted for and every row let through is valid.
func FuzzImport(f *testing.F) {
	f.Add("urls", "original_url,short_code,is_active\nhttps://x.org,abc,True\nftp://y,,False\n")
	f.Add("users", "id,username,email,created_at\n1,a,a@b.co,2025-01-01 00:00:00\n1,a,a@b.co,x\n")
	f.Add("events", "url_id,user_id,event_type,timestamp,details\n1,2,created,2025-01-01 00:00:00,\"{\"\"a\"\":1}\"\n,,x,,[]\n")
	f.Add("urls", "original_url\n\"https://x.org\n")
	f.Add("users", "\ufeffusername,email\r\nb,B@X.ORG\r\n")
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
		for _, l := range s.links {
			if (rebound.ShortURLBase{}).ValidateOriginalURL(l.OriginalURL) != nil || rebound.ValidateShortCode(l.ShortCode) != nil {
				t.Fatalf("invalid link let through: %+v", l)
			}
		}
		for _, u := range s.users {
			if rebound.ValidateUsername(u.Username) != nil || u.Email != strings.ToLower(u.Email) {
				t.Fatalf("invalid user let through: %+v", u)
			}
		}
	})
}
