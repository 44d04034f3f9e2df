package cache

import (
	"errors"
	"strconv"

	"github.com/reboundhq/rebound"
)

// Entry is what the edge needs to answer a code: the link's redirect and the
// conditions under which it stops redirecting.
type Entry struct {
	ID           int64
	RedirectType int
	ForwardQuery bool
	Active       bool
	ExpiresAt    int64 // Unix milliseconds; 0 when the link never expires
	MaxClicks    int64 // 0 when unlimited
	URL          string
}

// EntryOf returns the cache entry of a link.
func EntryOf(l rebound.Link) Entry {
	e := Entry{ID: l.ID, RedirectType: l.RedirectType, ForwardQuery: l.ForwardQuery, Active: l.IsActive, URL: l.OriginalURL}
	if l.ExpiresAt != nil {
		e.ExpiresAt = l.ExpiresAt.UnixMilli()
		if e.ExpiresAt == 0 { // the epoch itself: keep it "expired", not "never"
			e.ExpiresAt = -1
		}
	}
	if l.MaxClicks != nil {
		e.MaxClicks = *l.MaxClicks
	}
	return e
}

// entryVersion leads every encoded entry so the format can change safely.
const entryVersion = "2" // 2: expires_at in milliseconds

// absent is the value stored for a code known not to exist.
const absent = "-"

// Marshal encodes e as "2|id|type|fwd|active|expires|max|url". The URL comes
// last and may hold '|' itself.
func (e Entry) Marshal() []byte {
	b := make([]byte, 0, 48+len(e.URL))
	b = append(b, entryVersion...)
	b = append(b, '|')
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(e.RedirectType), 10)
	b = append(b, '|')
	b = appendBool(b, e.ForwardQuery)
	b = append(b, '|')
	b = appendBool(b, e.Active)
	b = append(b, '|')
	b = strconv.AppendInt(b, e.ExpiresAt, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, e.MaxClicks, 10)
	b = append(b, '|')
	return append(b, e.URL...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, '1')
	}
	return append(b, '0')
}

var errBadEntry = errors.New("malformed cache entry")

// UnmarshalEntry decodes what Marshal encoded.
func UnmarshalEntry(b []byte) (Entry, error) { return unmarshalEntry(b) }

// unmarshalEntry decodes from bytes or from a string (as MGET returns them):
// from a string, the URL is the tail of it, not a copy.
func unmarshalEntry[T string | []byte](b T) (Entry, error) {
	var e Entry
	var fields [7]T
	for i := range fields {
		j := indexPipe(b)
		if j < 0 {
			return e, errBadEntry
		}
		fields[i], b = b[:j], b[j+1:]
	}
	if string(fields[0]) != entryVersion || len(b) == 0 {
		return e, errBadEntry
	}
	var err error
	parse := func(f T) int64 {
		n, perr := strconv.ParseInt(string(f), 10, 64)
		if perr != nil {
			err = errBadEntry
		}
		return n
	}
	e.ID = parse(fields[1])
	e.RedirectType = int(parse(fields[2]))
	e.ForwardQuery = string(fields[3]) == "1"
	e.Active = string(fields[4]) == "1"
	e.ExpiresAt = parse(fields[5])
	e.MaxClicks = parse(fields[6])
	e.URL = string(b)
	return e, err
}

func indexPipe[T string | []byte](b T) int {
	for i := 0; i < len(b); i++ {
		if b[i] == '|' {
			return i
		}
	}
	return -1
}
