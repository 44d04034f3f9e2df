package cache

import (
	"strings"
	"testing"
)

// FuzzEntry feeds the entry decoder what Redis could hold: entries of both
// formats, tombstones, and anything else. Decoding must never panic, the
// string and byte forms must agree, and an entry that decodes must encode
// back to the same bytes (format 3) or to its format-3 form (format 2).
func FuzzEntry(f *testing.F) {
	for _, seed := range []string{
		"3|7|42|302|0|1|0|0|https://a.org/p|q", "2|42|301|1|0|1900000000123|9|https://a.org",
		"-", "-|12", "", "3|", "3|x|1|302|0|1|0|0|https://x", "2|1|302|0|1|0|0|", "9|1|2",
		"4|7|42|302|0|1|0|0|5|[1|2]|https://a.org", "4|7|42|302|0|1|0|0|9|[1]|https://a.org", "4|1|2|302|0|1|0|0|0||https://a",
		"5|7|42|302|0|1|0|0|$2a$10$abc|0||https://a.org", "5|7|42|302|0|1|0|0|$2a$10$abc|3|[1]|https://a.org", "5|7|42|302|0|1|0|0||0||https://a",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		fromString, errString := unmarshalEntry(v)
		fromBytes, errBytes := unmarshalEntry([]byte(v))
		if fromString != fromBytes || (errString == nil) != (errBytes == nil) {
			t.Fatalf("%q: string form %+v (%v), byte form %+v (%v)", v, fromString, errString, fromBytes, errBytes)
		}
		lk := lookupOf(v)
		switch {
		case strings.HasPrefix(v, absent):
			if lk.State != Absent {
				t.Fatalf("%q: state %d, want absent", v, lk.State)
			}
			return
		case errString != nil:
			if lk.State != Miss {
				t.Fatalf("%q: undecodable entry gave state %d, want a miss", v, lk.State)
			}
			return
		case lk.State != Found || lk.Entry != fromString:
			t.Fatalf("%q: lookup %+v, want found %+v", v, lk, fromString)
		}
		// Only canonical encodings round-trip byte for byte ("+1", "01" and
		// booleans other than 0 and 1 decode too); re-decoding the encoding
		// must give the same entry.
		again, err := unmarshalEntry(fromString.Marshal())
		if err != nil || again != fromString {
			t.Fatalf("%q: re-encoded %q decodes to %+v (%v), want %+v", v, fromString.Marshal(), again, err, fromString)
		}
	})
}

// FuzzDecodeClicks: any stream message decodes without panicking, and what
// it decodes encodes and decodes back the same.
func FuzzDecodeClicks(f *testing.F) {
	f.Add([]byte("1,2,3,4,1,a.org\n1,3,3,4,0,,5\n"), []byte("mobile,ios,safari,DE,1,x%2Cy,,\n"))
	f.Add([]byte("x"), []byte(""))
	f.Fuzz(func(t *testing.T, c, d []byte) {
		out := DecodeClicks(c, d)
		again := DecodeClicks(AppendClicks(nil, out), AppendDimensions(nil, out))
		if len(again) != len(out) {
			t.Fatalf("%d clicks, %d after a round trip", len(out), len(again))
		}
		for i := range out {
			if again[i] != out[i] {
				t.Fatalf("click %d: %+v, then %+v", i, out[i], again[i])
			}
		}
	})
}
