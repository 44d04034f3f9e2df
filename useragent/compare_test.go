package useragent_test

import (
	"testing"

	medama "github.com/medama-io/go-useragent"
	"github.com/mileusna/useragent"

	rua "github.com/reboundhq/rebound/useragent"
)

// The benchmarks that chose this package over two maintained parsers
// (docs/decisions.md has the figures): each parses every labelled agent
// once an iteration. The other two return strings and allocate; their
// answers are not compared here, only their cost.

func BenchmarkParse(b *testing.B) {
	rows := agents(b)
	uas := make([][]byte, len(rows))
	for i, r := range rows {
		uas[i] = []byte(r.ua)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, ua := range uas {
			_ = rua.Parse(ua)
		}
	}
}

func BenchmarkMileusna(b *testing.B) {
	rows := agents(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range rows {
			_ = useragent.Parse(r.ua)
		}
	}
}

func BenchmarkMedama(b *testing.B) {
	rows := agents(b)
	p := medama.NewParser()
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range rows {
			_ = p.Parse(r.ua)
		}
	}
}
