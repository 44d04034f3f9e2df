// Package geoip reads the country of an address from a MaxMind-format
// database (GeoLite2-Country, GeoIP2-Country, DB-IP's country lite, or
// any .mmdb with country.iso_code), for the country condition of redirect
// rules when no trusted proxy names the country.
package geoip

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// DB is an open database. It is safe for concurrent use.
type DB struct{ r *maxminddb.Reader }

// Open maps the database at path.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open GeoIP database %s: %w", path, err)
	}
	return &DB{r: r}, nil
}

// Country returns the ISO 3166 alpha-2 code of addr's country, "" when the
// database does not know it.
func (db *DB) Country(addr netip.Addr) string {
	var code string
	if err := db.r.Lookup(addr).DecodePath(&code, "country", "iso_code"); err != nil {
		return ""
	}
	return code
}

// Close unmaps the database.
func (db *DB) Close() error {
	if err := db.r.Close(); err != nil {
		return fmt.Errorf("close GeoIP database: %w", err)
	}
	return nil
}
