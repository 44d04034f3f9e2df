package cache

import (
	"errors"
	"strconv"

	"github.com/reboundhq/rebound"
)

// Entry is what the edge needs to answer a code: the link's redirect and the
// conditions under which it stops redirecting.
type Entry struct {
	Version      int64 // the link's version (rebound.Link.Version); 0 in entries written before versions
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
	e := Entry{Version: l.Version, ID: l.ID, RedirectType: l.RedirectType, ForwardQuery: l.ForwardQuery, Active: l.IsActive, URL: l.OriginalURL}
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

// entryFormat leads every encoded entry so the format can change safely.
// Format 2 (expires_at in milliseconds) is still read, as version 0, so an
// edge reads the entries an older origin wrote.
const (
	entryFormat   = "3" // 3: the link's version after the format
	entryFormatV2 = "2"
)

// absent is the value stored for a code known not to exist: alone when an
// edge found no row, followed by "|version" when a delete or a rename took
// the code away (see storeScript).
const absent = "-"

// Marshal encodes e as "3|version|id|type|fwd|active|expires|max|url". The
// URL comes last and may hold '|' itself.
func (e Entry) Marshal() []byte {
	b := make([]byte, 0, 64+len(e.URL))
	b = append(b, entryFormat...)
	b = append(b, '|')
	b = strconv.AppendInt(b, e.Version, 10)
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
	j := indexPipe(b)
	if j < 0 {
		return e, errBadEntry
	}
	format := b[:j]
	b = b[j+1:]
	var err error
	parse := func(f T) int64 {
		n, perr := strconv.ParseInt(string(f), 10, 64)
		if perr != nil {
			err = errBadEntry
		}
		return n
	}
	switch string(format) {
	case entryFormat:
		if j = indexPipe(b); j < 0 {
			return e, errBadEntry
		}
		e.Version = parse(b[:j])
		b = b[j+1:]
	case entryFormatV2:
	default:
		return e, errBadEntry
	}
	var fields [6]T // id, type, fwd, active, expires, max; the URL is the rest
	for i := range fields {
		j := indexPipe(b)
		if j < 0 {
			return e, errBadEntry
		}
		fields[i], b = b[:j], b[j+1:]
	}
	if len(b) == 0 {
		return e, errBadEntry
	}
	e.ID = parse(fields[0])
	e.RedirectType = int(parse(fields[1]))
	e.ForwardQuery = string(fields[2]) == "1"
	e.Active = string(fields[3]) == "1"
	e.ExpiresAt = parse(fields[4])
	e.MaxClicks = parse(fields[5])
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
