package origin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/postgres"
)

// Body size limits.
const (
	maxJSONBody = 1 << 20  // 1 MiB
	maxCSVBody  = 64 << 20 // 64 MiB
)

// object is a decoded JSON object body whose fields are read one by one, so
// that "absent", "null" and "wrong type" can each get the right answer.
type object map[string]json.RawMessage

// decodeObject reads a JSON object body of at most 1 MiB.
func decodeObject(w http.ResponseWriter, r *http.Request) (object, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, rebound.Errorf(rebound.EUnsupportedMedia, "the request body must be application/json")
		}
	}
	if r.ContentLength > maxJSONBody {
		return nil, rebound.Errorf(rebound.EPayloadTooLarge, "the request body is larger than %d bytes", maxJSONBody)
	}
	if err := limitBody(w, r, maxJSONBody); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, err
		case errors.Is(err, errBadGzip):
			return nil, rebound.Errorf(rebound.EBadRequest, "the request body is not valid gzip")
		}
		return nil, rebound.Errorf(rebound.EBadRequest, "the request body could not be read")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, rebound.Errorf(rebound.EBadRequest, "the request body must be a JSON object")
	}
	if body[0] != '{' {
		if json.Valid(body) {
			return nil, rebound.Errorf(rebound.EBadRequest, "the request body must be a JSON object")
		}
		return nil, rebound.Errorf(rebound.EBadRequest, "the request body is not valid JSON")
	}
	var o object
	if err := json.Unmarshal(body, &o); err != nil {
		return nil, rebound.Errorf(rebound.EBadRequest, "the request body is not valid JSON")
	}
	return o, nil
}

// typeName says in words what JSON a Go type takes, for error messages.
func typeName(v any) string {
	switch v.(type) {
	case *string, **string:
		return "a string"
	case *int, *int64, **int64:
		return "an integer"
	case *bool:
		return "true or false"
	case *[]string:
		return "a list of strings"
	}
	return "a valid value"
}

// get decodes field name into dst. It returns postgres.Opt semantics: absent
// is not set; null is set with the zero value, which only nullable (pointer)
// destinations accept.
func get[T any](o object, name string) (postgres.Opt[T], error) {
	var out postgres.Opt[T]
	raw, ok := o[name]
	if !ok {
		return out, nil
	}
	out.Set = true
	if string(raw) == "null" {
		if isPointer[T]() {
			return out, nil
		}
		return out, rebound.FieldErrorf(rebound.EBadRequest, name, "%s must be %s, not null", name, typeName(&out.Value))
	}
	if err := json.Unmarshal(raw, &out.Value); err != nil {
		return out, rebound.FieldErrorf(rebound.EBadRequest, name, "%s must be %s", name, typeName(&out.Value))
	}
	return out, nil
}

func isPointer[T any]() bool {
	var zero T
	switch any(zero).(type) {
	case *string, *int64, *bool, *time.Time:
		return true
	}
	return false
}

// getTime decodes a nullable RFC 3339 timestamp field.
func getTime(o object, name string) (postgres.Opt[*time.Time], error) {
	s, err := get[*string](o, name)
	if err != nil || !s.Set || s.Value == nil {
		return postgres.Opt[*time.Time]{Set: s.Set}, err
	}
	t, perr := time.Parse(time.RFC3339Nano, *s.Value)
	if perr != nil {
		return postgres.Opt[*time.Time]{}, rebound.FieldErrorf(rebound.EValidation, name,
			"%s must be an RFC 3339 time such as 2026-12-31T23:59:59Z", name)
	}
	t = t.UTC()
	return postgres.Some(&t), nil
}

// query reads list parameters, answering bad values with 400 bad_request.
type query struct {
	r   *http.Request
	err error
}

func (q *query) fail(name, msg string) {
	if q.err == nil {
		q.err = rebound.FieldErrorf(rebound.EBadRequest, name, "%s %s", name, msg)
	}
}

func (q *query) int(name string, min, max, def int) int {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		q.fail(name, "must be a whole number from "+strconv.Itoa(min)+" to "+strconv.Itoa(max))
		return def
	}
	return n
}

func (q *query) id(name string) *int64 {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		q.fail(name, "must be a positive whole number")
		return nil
	}
	return &n
}

func (q *query) boolean(name string) *bool {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.fail(name, "must be true or false")
		return nil
	}
	return &b
}

// str returns a text filter; an empty value is no filter, as for the other
// kinds (no short code or event type is empty). Invalid UTF-8 and NUL bytes
// are refused here: Postgres cannot hold them in text, and would fail the
// query instead.
func (q *query) str(name string) *string {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return nil
	}
	if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
		q.fail(name, "must be valid UTF-8 text without NUL bytes")
		return nil
	}
	return &v
}

// tags reads a repeatable tag filter (?tag=a&tag=b), lower-cased; empty
// values are no filter.
func (q *query) tags(name string) []string {
	var out []string
	for _, v := range q.r.URL.Query()[name] {
		if v == "" {
			continue
		}
		t := strings.ToLower(v)
		if !rebound.ValidTag(t) {
			q.fail(name, "must be 1 to 64 of a-z, 0-9, '_' and '-'")
			return nil
		}
		out = append(out, t)
	}
	if len(out) > rebound.MaxTags {
		q.fail(name, "may be given at most 20 times")
		return nil
	}
	return out
}

// maxSearchLen bounds a search text: longer ones match no link that fits
// the URL limit, and would only cost the trigram index work.
const maxSearchLen = 256

// search reads a search text: valid UTF-8 of at most 256 bytes, without
// control characters (none can be in a code, URL or title).
func (q *query) search(name string) *string {
	v := q.str(name)
	if v == nil {
		return nil
	}
	if len(*v) > maxSearchLen {
		q.fail(name, "must be at most 256 bytes")
		return nil
	}
	for _, r := range *v {
		if r < ' ' || r == 0x7f {
			q.fail(name, "must not contain control characters")
			return nil
		}
	}
	return v
}

// sort reads a link order: created_at, -created_at (the default), clicks
// or -clicks.
func (q *query) sort(name string) postgres.LinkSort {
	switch v := postgres.LinkSort(q.r.URL.Query().Get(name)); v {
	case "":
		return postgres.SortNewest
	case postgres.SortNewest, postgres.SortOldest, postgres.SortMostClicks, postgres.SortFewest:
		return v
	}
	q.fail(name, "must be created_at, -created_at, clicks or -clicks")
	return postgres.SortNewest
}

func (q *query) page() rebound.Page {
	return rebound.Page{
		Page:    q.int("page", 1, 1_000_000, 1),
		PerPage: q.int("per_page", 1, rebound.MaxPerPage, rebound.DefaultPerPage),
	}
}

// pathID reads the {id} path value; anything but a positive integer names no row.
func pathID(r *http.Request, what string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n < 1 {
		return 0, rebound.Errorf(rebound.ENotFound, "%s not found", what)
	}
	return n, nil
}
