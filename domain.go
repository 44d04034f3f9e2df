package rebound

import (
	"strings"
	"time"
)

// Domain is a host links may be served on besides the default one
// (REBOUND_PUBLIC_URL's). Each domain has its own codes: the same code on
// two domains names two links.
type Domain struct {
	Host string `json:"host"`
	// NotFoundURL, when set, is where the edge sends an unknown or gone
	// code of this domain instead of answering 404.
	NotFoundURL *string `json:"not_found_url"`
	// RootURL, when set, is where the edge sends GET / on this domain.
	RootURL   *string   `json:"root_url"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxHostLen bounds a domain's host name.
const MaxHostLen = 253

// NormalizeHost returns host lower-cased, without a trailing dot, or a
// validation error on field unless it is a DNS host name: dot-separated
// labels of 1-63 letters, digits and hyphens, not starting or ending with a
// hyphen, at most 253 bytes in all. Ports, addresses in brackets, paths
// and wildcards are refused.
func NormalizeHost(host, field string) (string, error) {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	bad := func() (string, error) {
		return "", FieldErrorf(EValidation, field, "%s must be a host name such as go.example.com, without scheme, port or path", field)
	}
	if h == "" || len(h) > MaxHostLen {
		return bad()
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad()
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return bad()
			}
		}
	}
	return h, nil
}

// KeySeparator joins a domain's host and a code in a link's key. Neither a
// host nor a code holds it.
const KeySeparator = "/"

// LinkKey names a link across domains: its code on the default domain (so
// keys of links that predate domains are what they were), "host/code" on
// another. Caches, invalidations and the cache outbox carry keys.
func LinkKey(domain *string, code string) string {
	if domain == nil {
		return code
	}
	return *domain + KeySeparator + code
}

// Key is the link's LinkKey.
func (l Link) Key() string { return LinkKey(l.Domain, l.ShortCode) }

// SplitLinkKey is LinkKey's inverse: the domain (nil for the default) and
// the code.
func SplitLinkKey(key string) (*string, string) {
	host, code, ok := strings.Cut(key, KeySeparator)
	if !ok {
		return nil, key
	}
	return &host, code
}
