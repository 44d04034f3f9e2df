package rebound

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"
)

// Role is what an API key may do. An admin does everything; a reader every
// GET an admin may; an author creates links owned by its user and reads,
// changes and deletes those only: another user's link is, to it, absent.
type Role string

// The roles of SPEC section 8.
const (
	RoleAdmin  Role = "admin"
	RoleAuthor Role = "author"
	RoleReader Role = "reader"
)

// ParseRole returns the role named s, or a validation error on field.
func ParseRole(s, field string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleAuthor, RoleReader:
		return r, nil
	}
	return "", FieldErrorf(EValidation, field, "%s must be admin, author or reader", field)
}

// APIKey is a key as stored and listed: never the key itself, which is
// shown once when it is created, nor its hash. Prefix is the key's first
// characters, enough for a person to tell keys apart.
type APIKey struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	UserID     *int64     `json:"user_id"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Usable reports whether the key authenticates at now: not revoked, not
// expired.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Key format: "rb_" and 32 base62 characters from crypto/rand (about 190
// bits), so a key is recognisable in a leaked log or repository.
const (
	KeyPrefix    = "rb_"
	KeyRandomLen = 32
	KeyLen       = len(KeyPrefix) + KeyRandomLen
	// KeyShownLen is how much of a key its listing shows.
	KeyShownLen = len(KeyPrefix) + 6
	// MaxKeyNameLen bounds a key's name.
	MaxKeyNameLen = 128
)

// IssueKey returns a new random API key, the hash to store of it, and the
// prefix its listing shows.
func IssueKey() (key string, hash []byte, prefix string) {
	key = KeyPrefix + randomBase62(KeyRandomLen)
	return key, HashKey(key), key[:KeyShownLen]
}

// KeyShaped reports whether s has the form of an API key, so that a
// malformed one is refused without a database lookup.
func KeyShaped(s string) bool {
	if len(s) != KeyLen || !strings.HasPrefix(s, KeyPrefix) {
		return false
	}
	for i := len(KeyPrefix); i < len(s); i++ {
		if strings.IndexByte(base62, s[i]) < 0 {
			return false
		}
	}
	return true
}

// HashKey is what is stored of a key: its SHA-256. A key carries 190 random
// bits, so a fast hash is enough; a slow one would only cost every request.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// ValidateKeyName returns a validation error for an empty, over-long or
// control-character name.
func ValidateKeyName(name string) error {
	if strings.TrimSpace(name) == "" || len(name) > MaxKeyNameLen {
		return FieldErrorf(EValidation, "name", "name must be 1 to %d bytes", MaxKeyNameLen)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return FieldErrorf(EValidation, "name", "name must not contain control characters")
		}
	}
	return nil
}

// Principal is who a request acts as: an API key, or one of the tokens of
// REBOUND_API_TOKENS (KeyID 0), which act as admin.
type Principal struct {
	KeyID  int64
	Role   Role
	UserID *int64 // the author's user; nil for other roles
	// Anonymous is set when the origin runs without authentication
	// (REBOUND_INSECURE_NO_AUTH) and the request named no key.
	Anonymous bool
}

// Actor is what events record as details.actor: the key's id, "token" for
// an environment token, "anonymous" without authentication.
func (p Principal) Actor() json.RawMessage {
	switch {
	case p.Anonymous:
		return json.RawMessage(`"anonymous"`)
	case p.KeyID == 0:
		return json.RawMessage(`"token"`)
	}
	b, _ := json.Marshal(p.KeyID)
	return b
}

// Owns reports whether the principal may see a resource owned by userID:
// every role but author sees everything; an author only its own user's.
func (p Principal) Owns(userID *int64) bool {
	if p.Role != RoleAuthor {
		return true
	}
	return userID != nil && p.UserID != nil && *userID == *p.UserID
}

// Tag limits (SPEC section 8).
const (
	MaxTags      = 20
	MaxTagLen    = 64
	TagSeparator = "|" // between tags in a CSV column
)

// NormalizeTags lower-cases tags, drops repeats (keeping the first
// occurrence's place) and validates them: at most 20, each 1-64 of
// [a-z0-9_-]. field names the input at fault.
func NormalizeTags(tags []string, field string) ([]string, error) {
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		t = strings.ToLower(t)
		if !ValidTag(t) {
			return nil, FieldErrorf(EValidation, field, "tag %d must be 1 to %d of a-z, 0-9, '_' and '-'", i+1, MaxTagLen)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, FieldErrorf(EValidation, field, "a link has at most %d tags", MaxTags)
	}
	return out, nil
}

// ValidTag reports whether t (already lower-case) is a tag.
func ValidTag(t string) bool {
	if len(t) == 0 || len(t) > MaxTagLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateNewKey checks the parts of a new key beside its name: an author
// key needs the user whose links it manages, and an expiry must be ahead.
func ValidateNewKey(role Role, userID *int64, expiresAt *time.Time, now time.Time) error {
	if role == RoleAuthor && userID == nil {
		return FieldErrorf(EValidation, "user_id", "an author key needs the user_id whose links it manages")
	}
	if userID != nil && *userID < 1 {
		return FieldErrorf(ENotFound, "user_id", "user_id %d names no user", *userID)
	}
	if expiresAt != nil && !expiresAt.After(now) {
		return FieldErrorf(EValidation, "expires_at", "expires_at must be in the future")
	}
	return nil
}
