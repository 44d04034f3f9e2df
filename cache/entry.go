package cache

import (
	"encoding/json"
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
	// Rules is the link's redirect rules as JSON (rebound.Rule), "" when it
	// has none.
	Rules string
	// Password is the bcrypt hash of the link's password, "" for an open
	// link.
	Password string
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
	if l.PasswordHash != nil {
		e.Password = *l.PasswordHash
	}
	if len(l.Rules) > 0 {
		b, err := json.Marshal(l.Rules)
		if err == nil { // rules hold strings, numbers and times: it cannot fail
			e.Rules = string(b)
		}
	}
	return e
}

// entryFormat leads every encoded entry so the format can change safely.
// Format 2 (expires_at in milliseconds) is still read, as version 0, so an
// edge reads the entries an older origin wrote.
//
// Format 4 is format 3 with the link's rules, and is written only for links
// that have rules: every other entry stays byte for byte what an edge of
// the previous release reads. Such an edge takes a format 4 entry for a
// miss (it knows formats 2 and 3 only), reads the link from Postgres
// without its rules and serves its own target, and its fill (SET NX) never
// overwrites the entry. So during a rolling upgrade a link with rules is
// answered by old edges as if it had none, never wrongly otherwise.
//
// Format 5 is written for links with a password: format 3, then the
// password's hash, then the rules' length (0 for none) and JSON. An edge of
// a release before it reads such a link from Postgres without its password,
// so origins may set passwords only once every edge runs this release
// (docs/operations.md).
const (
	entryFormat         = "3" // 3: the link's version after the format
	entryFormatRules    = "4" // 4: 3, then the rules' length and JSON before the URL
	entryFormatPassword = "5" // 5: 3, then the password hash, the rules' length and JSON
	entryFormatV2       = "2"
)

// absent is the value stored for a code known not to exist: alone when an
// edge found no row, followed by "|version" when a delete or a rename took
// the code away (see storeScript).
const absent = "-"

// Marshal encodes e as "3|version|id|type|fwd|active|expires|max|url", or
// with rules "4|version|id|type|fwd|active|expires|max|len|rules|url" where
// len is the length of the rules' JSON. The URL comes last and may hold '|'
// itself, as the JSON may.
func (e Entry) Marshal() []byte {
	b := make([]byte, 0, 64+len(e.URL)+len(e.Rules)+len(e.Password))
	switch {
	case e.Password != "":
		b = append(b, entryFormatPassword...)
	case e.Rules != "":
		b = append(b, entryFormatRules...)
	default:
		b = append(b, entryFormat...)
	}
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
	if e.Password != "" {
		b = append(b, e.Password...)
		b = append(b, '|')
	}
	if e.Rules != "" || e.Password != "" {
		b = strconv.AppendInt(b, int64(len(e.Rules)), 10)
		b = append(b, '|')
		b = append(b, e.Rules...)
		b = append(b, '|')
	}
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
	case entryFormat, entryFormatRules, entryFormatPassword:
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
	if string(format) == entryFormatPassword {
		j := indexPipe(b)
		if j <= 0 {
			return e, errBadEntry
		}
		e.Password = string(b[:j])
		b = b[j+1:]
	}
	if string(format) == entryFormatRules || string(format) == entryFormatPassword {
		j := indexPipe(b)
		if j < 0 {
			return e, errBadEntry
		}
		n := parse(b[:j])
		b = b[j+1:]
		// Format 4 exists for its rules; format 5 may have none.
		least := int64(1)
		if string(format) == entryFormatPassword {
			least = 0
		}
		if err != nil || n < least || n >= int64(len(b)) || b[n] != '|' {
			return e, errBadEntry
		}
		e.Rules = string(b[:n])
		b = b[n+1:]
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
