// Package geoiptest builds small MaxMind-format country databases for tests.
package geoiptest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/reboundhq/rebound/internal/geoip"
)

// WriteTestDB writes a small country database into dir, one network per
// entry of countries (CIDR to ISO code), and returns its path. Tests build
// their database with it instead of downloading one.
func WriteTestDB(dir string, countries map[string]string) (string, error) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "Rebound-Test-Country", RecordSize: 24,
		IncludeReservedNetworks: true})
	if err != nil {
		return "", fmt.Errorf("new GeoIP tree: %w", err)
	}
	for cidr, iso := range countries {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			return "", fmt.Errorf("network %q: %w", cidr, err)
		}
		rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(iso)}}
		if err := tree.Insert(network, rec); err != nil {
			return "", fmt.Errorf("insert %s: %w", cidr, err)
		}
	}
	path := filepath.Join(dir, "countries.mmdb")
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("create GeoIP database: %w", err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return "", fmt.Errorf("write GeoIP database: %w", err)
	}
	return path, f.Close()
}

// Open writes a database of countries into the test's temporary folder and
// opens it, closing it when the test ends.
func Open(t testing.TB, countries map[string]string) *geoip.DB {
	t.Helper()
	path, err := WriteTestDB(t.TempDir(), countries)
	if err != nil {
		t.Fatal(err)
	}
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
