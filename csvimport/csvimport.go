// Package csvimport streams CSV files of users, links and events into the
// store in batches. Columns are matched by header name, so the hackathon's
// seed files import unchanged. A bad row is reported with its line number and
// never stops the rows after it; only an unreadable stream or a failing store
// ends an import early.
package csvimport

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/postgres"
)

// Kind names what a CSV file holds.
type Kind string

// The kinds of CSV file Rebound imports.
const (
	Users  Kind = "users"
	Links  Kind = "urls"
	Events Kind = "events"
)

// Store is what an import writes to; *postgres.DB implements it.
type Store interface {
	ImportUsers(ctx context.Context, rows []postgres.ImportUser) (int, []postgres.RowError, error)
	ImportLinks(ctx context.Context, rows []postgres.ImportLink) ([]rebound.Link, []postgres.RowError, error)
	ImportEvents(ctx context.Context, rows []postgres.ImportEvent) (int, []postgres.RowError, error)
}

// Result is the answer of an import. Count equals Imported; it is kept
// because the hackathon's clients read it. Errors holds the first MaxErrors
// rows reported, in line order; Skipped counts them all.
type Result struct {
	Imported int                 `json:"imported"`
	Count    int                 `json:"count"`
	Skipped  int                 `json:"skipped"`
	Errors   []postgres.RowError `json:"errors"`
}

// MaxErrors bounds the per-line errors an answer lists, so that a file of a
// million bad rows cannot make the answer huge.
const MaxErrors = 1000

// Options tunes an import. The zero value works.
type Options struct {
	BatchSize int // rows per transaction; default 5000
	// Stored, when set, is called with each batch of links as stored, so the
	// caller can write them through to the cache.
	Stored func(ctx context.Context, links []rebound.Link) error
	// ShortURLs refuses links whose target is one of this service's own
	// short links; the zero value refuses none.
	ShortURLs rebound.ShortURLBase
	// Owner, when set, owns every imported link (an author key's import): a
	// row without user_id gets it, and a row naming another user is
	// reported, not imported.
	Owner *int64
	// Actor, when set, is recorded as details.actor of imported events that
	// do not name one already: the key that imported them.
	Actor json.RawMessage
}

var requiredColumns = map[Kind][]string{
	Users:  {"username", "email"},
	Links:  {"original_url"},
	Events: {"event_type"},
}

// Import reads CSV of the given kind from r and stores it. It returns a
// validation error (field "file") when the header lacks a required column.
func Import(ctx context.Context, store Store, kind Kind, r io.Reader, opts Options) (Result, error) {
	res := Result{Errors: []postgres.RowError{}}
	required, ok := requiredColumns[kind]
	if !ok {
		return res, fmt.Errorf("unknown import kind %q", kind)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 5000
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return res, rebound.FieldErrorf(rebound.EValidation, "file", "the CSV file is empty; it needs a header line")
	}
	if err != nil {
		return res, readError(err)
	}
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		cols[h] = i
	}
	for _, c := range required {
		if _, ok := cols[c]; !ok {
			return res, rebound.FieldErrorf(rebound.EValidation, "file", "the CSV header needs a %q column", c)
		}
	}
	b := batcher{kind: kind, store: store, opts: opts, res: &res}
	width := len(header)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) && !errors.Is(err, csv.ErrFieldCount) {
			b.fail(perr.StartLine, "malformed CSV: "+perr.Err.Error())
			continue
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			// The stream broke off (cut short, over a size limit): store
			// the complete rows read before the break, so the caller can
			// say exactly what is in. The partial row is dropped.
			if ferr := b.flush(ctx); ferr != nil {
				return res, ferr
			}
			b.finish()
			return res, &StreamError{Imported: res.Imported, Err: err}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != width {
			b.fail(line, fmt.Sprintf("expected %d fields, got %d", width, len(rec)))
			continue
		}
		if msg := unstorable(rec); msg != "" {
			b.fail(line, msg)
			continue
		}
		row := record{cols: cols, rec: rec}
		if err := b.add(ctx, line, row); err != nil {
			return res, err
		}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("import %s: %w", kind, err)
		}
	}
	if err := b.flush(ctx); err != nil {
		return res, err
	}
	b.finish()
	return res, nil
}

// readError answers a header that cannot be read: a malformed one is a bad
// request; a stream that broke off before it ends is a StreamError.
func readError(err error) error {
	var perr *csv.ParseError
	if errors.As(err, &perr) {
		return rebound.FieldErrorf(rebound.EBadRequest, "file", "malformed CSV header: %v", perr.Err)
	}
	return &StreamError{Err: err}
}

// StreamError is an import's stream breaking off, as opposed to a bad row:
// the body ended early or went over a size limit. Every complete row read
// before the break is stored; Imported counts the rows stored. Err is the
// reader's error, for the caller to tell the cases apart.
type StreamError struct {
	Imported int
	Err      error
}

func (e *StreamError) Error() string {
	return fmt.Sprintf("read CSV (%d rows imported before the break): %v", e.Imported, e.Err)
}

func (e *StreamError) Unwrap() error { return e.Err }

type batcher struct {
	kind   Kind
	store  Store
	opts   Options
	res    *Result
	users  []postgres.ImportUser
	links  []postgres.ImportLink
	events []postgres.ImportEvent
}

// fail reports a row. Rows a batch's store refuses are reported after the
// batch's parse errors, which may come from later lines; so the list is kept
// in line order and cut to the first MaxErrors lines by compact, not by
// arrival.
func (b *batcher) fail(line int, msg string) {
	b.res.Skipped++
	b.res.Errors = append(b.res.Errors, postgres.RowError{Line: line, Error: msg})
	if len(b.res.Errors) >= 2*MaxErrors {
		b.compact()
	}
}

// compact sorts the reported rows by line and keeps the first MaxErrors. A
// row it drops has MaxErrors rows of earlier lines before it that stay, so
// it could not be among the first MaxErrors of the whole file either.
func (b *batcher) compact() {
	slices.SortStableFunc(b.res.Errors, func(x, y postgres.RowError) int { return cmp.Compare(x.Line, y.Line) })
	b.res.Errors = slices.Clip(b.res.Errors[:min(len(b.res.Errors), MaxErrors)])
}

// finish readies the result of an import that read to its end or to a break.
func (b *batcher) finish() {
	b.compact()
	b.res.Count = b.res.Imported
}

func (b *batcher) failAll(errs []postgres.RowError) {
	for _, e := range errs {
		b.fail(e.Line, e.Error)
	}
}

func (b *batcher) add(ctx context.Context, line int, r record) error {
	var err error
	switch b.kind {
	case Users:
		var u postgres.ImportUser
		if u, err = parseUser(line, r); err == nil {
			b.users = append(b.users, u)
		}
	case Links:
		var l postgres.ImportLink
		if l, err = parseLink(line, r, b.opts.ShortURLs); err == nil {
			err = b.own(&l)
		}
		if err == nil {
			b.links = append(b.links, l)
		}
	case Events:
		var e postgres.ImportEvent
		if e, err = parseEvent(line, r, b.opts.Actor); err == nil {
			b.events = append(b.events, e)
		}
	}
	if err != nil {
		b.fail(line, rebound.ErrorMessage(err))
		return nil
	}
	if len(b.users)+len(b.links)+len(b.events) >= b.opts.BatchSize {
		return b.flush(ctx)
	}
	return nil
}

// own gives a link row to the import's owner, if it has one.
func (b *batcher) own(l *postgres.ImportLink) error {
	switch o := b.opts.Owner; {
	case o == nil:
	case l.UserID == nil:
		l.UserID = o
	case *l.UserID != *o:
		return rebound.FieldErrorf(rebound.EForbidden, "user_id", "user_id %d is not this key's user", *l.UserID)
	}
	return nil
}

func (b *batcher) flush(ctx context.Context) error {
	switch {
	case len(b.users) > 0:
		n, errs, err := b.store.ImportUsers(ctx, b.users)
		if err != nil {
			return fmt.Errorf("import users batch: %w", err)
		}
		b.res.Imported += n
		b.failAll(errs)
		b.users = b.users[:0]
	case len(b.links) > 0:
		links, errs, err := b.store.ImportLinks(ctx, b.links)
		if err != nil {
			return fmt.Errorf("import urls batch: %w", err)
		}
		b.res.Imported += len(links)
		b.failAll(errs)
		b.links = b.links[:0]
		if b.opts.Stored != nil && len(links) > 0 {
			if err := b.opts.Stored(ctx, links); err != nil {
				return fmt.Errorf("cache imported urls: %w", err)
			}
		}
	case len(b.events) > 0:
		n, errs, err := b.store.ImportEvents(ctx, b.events)
		if err != nil {
			return fmt.Errorf("import events batch: %w", err)
		}
		b.res.Imported += n
		b.failAll(errs)
		b.events = b.events[:0]
	}
	return nil
}

// unstorable says why Postgres could not store a row's text (invalid UTF-8
// or a NUL byte), so that one such row fails alone instead of its batch.
func unstorable(rec []string) string {
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return "the line is not valid UTF-8"
		}
		if strings.IndexByte(f, 0) >= 0 || strings.Contains(f, `\u0000`) {
			return "the line contains a NUL character"
		}
	}
	return ""
}

// record is one CSV row with its header's column positions.
type record struct {
	cols map[string]int
	rec  []string
}

// get returns the trimmed value of column name, or "" when there is none.
func (r record) get(name string) string {
	i, ok := r.cols[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(r.rec[i])
}

func (r record) id(name string) (*int64, error) {
	v := r.get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return nil, rebound.FieldErrorf(rebound.EValidation, name, "%s must be a positive whole number, got %q", name, v)
	}
	return &n, nil
}

var timeLayouts = []string{"2006-01-02 15:04:05", time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999", "2006-01-02"}

func (r record) time(name string) (*time.Time, error) {
	v := r.get(name)
	if v == "" {
		return nil, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, rebound.FieldErrorf(rebound.EValidation, name, "%s must be a time like 2025-11-30 03:43:59, got %q", name, v)
}

func (r record) boolean(name string, def bool) (bool, error) {
	switch strings.ToLower(r.get(name)) {
	case "":
		return def, nil
	case "true", "t", "1", "yes":
		return true, nil
	case "false", "f", "0", "no":
		return false, nil
	}
	return false, rebound.FieldErrorf(rebound.EValidation, name, "%s must be True or False", name)
}

func parseUser(line int, r record) (postgres.ImportUser, error) {
	u := postgres.ImportUser{Line: line, Username: r.get("username")}
	var err error
	if u.ID, err = r.id("id"); err != nil {
		return u, err
	}
	if err := rebound.ValidateUsername(u.Username); err != nil {
		return u, err
	}
	if u.Email, err = rebound.NormalizeEmail(r.get("email")); err != nil {
		return u, err
	}
	u.CreatedAt, err = r.time("created_at")
	return u, err
}

func parseLink(line int, r record, shortURLs rebound.ShortURLBase) (postgres.ImportLink, error) {
	l := postgres.ImportLink{Line: line, OriginalURL: r.get("original_url"), ShortCode: r.get("short_code")}
	var err error
	if l.ID, err = r.id("id"); err != nil {
		return l, err
	}
	if l.UserID, err = r.id("user_id"); err != nil {
		return l, err
	}
	if err := shortURLs.ValidateOriginalURL(l.OriginalURL); err != nil {
		return l, err
	}
	if l.ShortCode == "" {
		l.ShortCode = rebound.GenerateCode()
	} else if err := rebound.ValidateShortCode(l.ShortCode); err != nil {
		return l, err
	}
	if t := r.get("title"); t != "" {
		if err := rebound.ValidateTitle(t); err != nil {
			return l, err
		}
		l.Title = &t
	}
	if l.IsActive, err = r.boolean("is_active", true); err != nil {
		return l, err
	}
	if t := r.get("tags"); t != "" {
		if l.Tags, err = rebound.NormalizeTags(strings.Split(t, rebound.TagSeparator), "tags"); err != nil {
			return l, err
		}
	}
	if d := r.get("domain"); d != "" {
		host, err := rebound.NormalizeHost(d, "domain")
		if err != nil {
			return l, err
		}
		l.Domain = &host
	}
	if rules := r.get("rules"); rules != "" {
		if l.Rules, err = rebound.ParseRules(json.RawMessage(rules), shortURLs.ValidateOriginalURL); err != nil {
			return l, err
		}
	}
	if l.CreatedAt, err = r.time("created_at"); err != nil {
		return l, err
	}
	l.UpdatedAt, err = r.time("updated_at")
	return l, err
}

// parseEvent reads an event row. actor, when set, becomes details.actor
// unless the row's details name one already (history imported from
// elsewhere keeps its own).
func parseEvent(line int, r record, actor json.RawMessage) (postgres.ImportEvent, error) {
	e := postgres.ImportEvent{Line: line, EventType: r.get("event_type")}
	var err error
	if e.ID, err = r.id("id"); err != nil {
		return e, err
	}
	if e.URLID, err = r.id("url_id"); err != nil {
		return e, err
	}
	if e.UserID, err = r.id("user_id"); err != nil {
		return e, err
	}
	if err := rebound.ValidateEventType(e.EventType); err != nil {
		return e, err
	}
	if e.Timestamp, err = r.time("timestamp"); err != nil {
		return e, err
	}
	details := r.get("details")
	if details == "" {
		details = "{}"
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(details), &obj); err != nil || obj == nil {
		return e, rebound.FieldErrorf(rebound.EValidation, "details", "details must be a JSON object")
	}
	e.Details = []byte(details)
	if _, named := obj["actor"]; len(actor) > 0 && !named {
		obj["actor"] = actor
		b, err := json.Marshal(obj)
		if err != nil {
			return e, fmt.Errorf("encode event details: %w", err)
		}
		e.Details = b
	}
	return e, nil
}
