package rebound

import (
	"net/url"
	"strings"
)

// ShortURLBase is the base of this service's short URLs (REBOUND_PUBLIC_URL),
// parsed once so that every link target can be checked against it. A link
// whose target is one of these short URLs redirects to itself or to another
// short link: a loop, or a chain that hides where the visitor ends up.
// YOURLS, Kutt and bit.ly refuse such links; so does Rebound.
//
// The zero value names no short URL, so it refuses nothing.
type ShortURLBase struct {
	base string // the URL as configured, without a trailing slash
	host string // lower-case host name, without a trailing dot; "" for the zero value
	port string // the port, the scheme's default when the URL names none
	path string // the base's path as sent, without its trailing slash; "" at the root
}

// NewShortURLBase parses publicURL. A URL without a host refuses no link:
// config refuses such a REBOUND_PUBLIC_URL before anything runs, and a test
// server without a public URL has no short URLs to protect.
func NewShortURLBase(publicURL string) ShortURLBase {
	b := ShortURLBase{base: strings.TrimRight(publicURL, "/")}
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return b
	}
	b.host, b.port, b.path = canonicalHost(u), effectivePort(u), strings.TrimRight(u.EscapedPath(), "/")
	return b
}

// ShortURL is the short URL of code on the default domain.
func (b ShortURLBase) ShortURL(code string) string { return b.base + "/" + code }

// ShortURLOn is the short URL of code on domain (nil: the default): the
// base's scheme, the domain's host, the code at its root.
func (b ShortURLBase) ShortURLOn(domain *string, code string) string {
	if domain == nil {
		return b.ShortURL(code)
	}
	scheme := "https"
	if strings.HasPrefix(b.base, "http://") {
		scheme = "http"
	}
	return scheme + "://" + *domain + "/" + code
}

// Host is the default domain's host, lower-case; "" for the zero value.
func (b ShortURLBase) Host() string { return b.host }

// ValidateOriginalURL returns a validation error unless raw is a link target
// Rebound stores: an absolute http or https URL with a host, at most 8192
// bytes, without control characters, white space, credentials or a port out
// of range, and not one of b's short links. It is the one check of
// original_url; the zero ShortURLBase makes only the first ones.
func (b ShortURLBase) ValidateOriginalURL(raw string) error {
	u, err := parseOriginalURL(raw)
	if err != nil {
		return err
	}
	if b.names(u) {
		return FieldErrorf(EValidation, "original_url",
			"original_url must not be a short link of this service: it would redirect to itself or to another short link")
	}
	return nil
}

// names reports whether u is one of b's short URLs: the same host, a port
// that reaches the same server, and a path that the edge answers as a code.
// The host is compared as written; another name of the same server (its IP
// address, a second DNS name) is not known here.
func (b ShortURLBase) names(u *url.URL) bool {
	if b.host == "" || canonicalHost(u) != b.host {
		return false
	}
	// http://host/ and https://host/ on their default ports are one
	// service behind the usual TLS terminator, which upgrades the first to
	// the second.
	port := effectivePort(u)
	if port != b.port && !(isWebPort(port) && isWebPort(b.port)) {
		return false
	}
	// The edge matches the path as sent, undecoded; a browser sends it
	// with its dot segments removed, as ResolveReference does.
	sent := u.ResolveReference(&url.URL{}).EscapedPath()
	rest, ok := strings.CutPrefix(sent, b.path+"/")
	return ok && IsCodeShaped([]byte(rest)) && !IsReservedCode(rest)
}

func canonicalHost(u *url.URL) string {
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

func isWebPort(p string) bool { return p == "80" || p == "443" }
