package rebound

import (
	"bytes"
	"crypto/rand"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// Limits on user-supplied values.
const (
	MaxCodeLen       = 64
	MaxUsernameLen   = 64
	MaxEmailLen      = 254
	MaxURLLen        = 8192
	MaxTitleLen      = 1024
	GeneratedCodeLen = 7
)

// reservedCodes are paths the services answer themselves; no link may take them.
var reservedCodes = [...]string{"health", "metrics", "favicon.ico", "robots.txt", "api", "admin"}

// IsCodeShaped reports whether b has the shape of a short code: 1-64 bytes of
// A-Za-z0-9_-. It does not allocate, so the edge can call it on every request
// before any lookup.
func IsCodeShaped(b []byte) bool {
	if len(b) == 0 || len(b) > MaxCodeLen {
		return false
	}
	for _, c := range b {
		if !isCodeByte(c) {
			return false
		}
	}
	return true
}

func isCodeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// IsReservedCode reports whether code is a path the services keep for themselves.
func IsReservedCode(code string) bool {
	for _, r := range reservedCodes {
		if code == r {
			return true
		}
	}
	return false
}

// ValidateShortCode returns a validation error unless code may name a link.
func ValidateShortCode(code string) error {
	if !IsCodeShaped([]byte(code)) {
		return FieldErrorf(EValidation, "short_code", "short_code must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
	}
	if IsReservedCode(code) {
		return FieldErrorf(EValidation, "short_code", "short_code %q is reserved", code)
	}
	return nil
}

// parseOriginalURL returns raw parsed, or a validation error unless it is an
// absolute http or https URL with a host, at most 8192 bytes, without
// control characters, white space, credentials or a port out of range.
// Callers validate through ShortURLBase.ValidateOriginalURL, which adds the
// service's own short links to what is refused.
func parseOriginalURL(raw string) (*url.URL, error) {
	bad := func(msg string) error { return FieldErrorf(EValidation, "original_url", "%s", msg) }
	if raw == "" {
		return nil, bad("original_url is required")
	}
	if len(raw) > MaxURLLen {
		return nil, bad("original_url must be at most 8192 bytes")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return nil, bad("original_url must not contain control characters or spaces")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, bad("original_url is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, bad("original_url must be an http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return nil, bad("original_url must have a host")
	}
	if u.User != nil {
		return nil, bad("original_url must not contain credentials")
	}
	// url.Parse checks only that a port is digits; a browser refuses to
	// follow a Location whose port is out of range, so refuse it here.
	if port := u.Port(); port != "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return nil, bad("original_url must have a port from 1 to 65535")
		}
	}
	return u, nil
}

// ValidateUsername returns a validation error unless name is 1-64 characters
// of A-Za-z0-9_.-.
func ValidateUsername(name string) error {
	if name == "" || len(name) > MaxUsernameLen {
		return FieldErrorf(EValidation, "username", "username must be 1-64 characters")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isCodeByte(c) && c != '.' {
			return FieldErrorf(EValidation, "username", "username may contain only A-Z, a-z, 0-9, _, . and -")
		}
	}
	return nil
}

// NormalizeEmail validates an email address and returns it lower-cased.
func NormalizeEmail(email string) (string, error) {
	bad := FieldErrorf(EValidation, "email", "email must be a valid address like name@example.com")
	if email == "" || len(email) > MaxEmailLen {
		return "", bad
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return "", bad
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>\"") {
		return "", bad
	}
	// A domain without a dot (user@localhost, user@nodomain) delivers
	// nowhere on the public internet, which SPEC 8 asks addresses to reach.
	if domain := email[at+1:]; !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", bad
	}
	return strings.ToLower(email), nil
}

// ValidateRedirectType returns a validation error unless t is 301, 302, 307 or 308.
func ValidateRedirectType(t int) error {
	switch t {
	case 301, 302, 307, 308:
		return nil
	}
	return FieldErrorf(EValidation, "redirect_type", "redirect_type must be 301, 302, 307 or 308")
}

// ValidateTitle returns a validation error for an over-long title or one with
// control characters.
func ValidateTitle(title string) error {
	if len(title) > MaxTitleLen {
		return FieldErrorf(EValidation, "title", "title must be at most 1024 bytes")
	}
	for _, r := range title {
		if r < ' ' || r == 0x7f {
			return FieldErrorf(EValidation, "title", "title must not contain control characters")
		}
	}
	return nil
}

const base62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// GenerateCode returns a random 7-character base62 code drawn from crypto/rand.
// Rejection sampling keeps every character uniformly likely.
func GenerateCode() string { return randomBase62(GeneratedCodeLen) }

// randomBase62 returns n base62 characters drawn from crypto/rand.
func randomBase62(length int) string {
	out := make([]byte, length)
	var buf [32]byte
	n := 0
	for n < len(out) {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms
		for _, b := range buf {
			if b >= 248 { // 248 = 4*62: above it the modulo would be biased
				continue
			}
			out[n] = base62[b%62]
			n++
			if n == len(out) {
				break
			}
		}
	}
	return string(out)
}

// ValidateEventType returns a validation error unless t is 1-64 characters of
// A-Za-z0-9_.-.
func ValidateEventType(t string) error {
	if t == "" || len(t) > 64 {
		return FieldErrorf(EValidation, "event_type", "event_type must be 1-64 characters")
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !isCodeByte(c) && c != '.' {
			return FieldErrorf(EValidation, "event_type", "event_type may contain only A-Z, a-z, 0-9, _, . and -")
		}
	}
	return nil
}

// AppendForwarded appends to dst the URL u with the raw query q forwarded
// onto it, joined with '?' or '&' as u requires (nothing when u already ends
// in one, as "https://example.com/?" does), keeping any fragment of u last.
// It does not allocate when dst has room.
func AppendForwarded(dst, u, q []byte) []byte {
	var frag []byte
	if i := bytes.IndexByte(u, '#'); i >= 0 {
		u, frag = u[:i], u[i:]
	}
	dst = append(dst, u...)
	switch {
	case bytes.IndexByte(u, '?') < 0:
		dst = append(dst, '?')
	case u[len(u)-1] != '?' && u[len(u)-1] != '&':
		dst = append(dst, '&')
	}
	dst = append(dst, q...)
	return append(dst, frag...)
}

// AppendWithoutParam appends the query string q to dst without its
// parameters that are exactly pair ("name=value"), keeping the others in
// order.
func AppendWithoutParam(dst, q []byte, pair string) []byte {
	start := len(dst)
	for len(q) > 0 {
		p := q
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			p, q = q[:i], q[i+1:]
		} else {
			q = nil
		}
		if string(p) == pair || len(p) == 0 {
			continue
		}
		if len(dst) > start {
			dst = append(dst, '&')
		}
		dst = append(dst, p...)
	}
	return dst
}
