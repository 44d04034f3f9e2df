package rebound_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
)

func TestIssueKey(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		key, hash, prefix := rebound.IssueKey()
		if !regexp.MustCompile(`^rb_[A-Za-z0-9]{32}$`).MatchString(key) || !rebound.KeyShaped(key) {
			t.Fatalf("key %q", key)
		}
		if string(hash) != string(rebound.HashKey(key)) || len(hash) != 32 || !strings.HasPrefix(key, prefix) || len(prefix) != rebound.KeyShownLen {
			t.Fatalf("key %q: hash %x, prefix %q", key, hash, prefix)
		}
		if seen[key] {
			t.Fatalf("key %q issued twice", key)
		}
		seen[key] = true
	}
	for _, s := range []string{"", "rb_", "rb_" + strings.Repeat("a", 31), "rb_" + strings.Repeat("a", 33), "RB_" + strings.Repeat("a", 32),
		"rb_" + strings.Repeat("-", 32), "xx_" + strings.Repeat("a", 32)} {
		if rebound.KeyShaped(s) {
			t.Errorf("KeyShaped(%q)", s)
		}
	}
}

func TestValidateNewKey(t *testing.T) {
	now := time.Now()
	one, past := int64(1), now.Add(-time.Second)
	for _, c := range []struct {
		role    rebound.Role
		user    *int64
		expires *time.Time
		field   string
	}{
		{rebound.RoleAuthor, nil, nil, "user_id"},
		{rebound.RoleAuthor, &one, nil, ""},
		{rebound.RoleAdmin, nil, &past, "expires_at"},
		{rebound.RoleReader, nil, nil, ""},
	} {
		err := rebound.ValidateNewKey(c.role, c.user, c.expires, now)
		if rebound.ErrorField(err) != c.field {
			t.Errorf("%v: %v, want field %q", c, err, c.field)
		}
	}
}

// FuzzNormalizeTags checks that accepted tags are valid, lower-case, unique
// and at most 20, whatever comes in.
func FuzzNormalizeTags(f *testing.F) {
	for _, s := range []string{"promo|Spring|promo", "a b", "", "x|" + strings.Repeat("y", 65), strings.Repeat("t|", 21), "ünï|ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		tags, err := rebound.NormalizeTags(strings.Split(joined, "|"), "tags")
		if err != nil {
			if rebound.ErrorCode(err) != rebound.EValidation || rebound.ErrorField(err) != "tags" {
				t.Fatalf("error %v", err)
			}
			return
		}
		if len(tags) > rebound.MaxTags {
			t.Fatalf("%d tags accepted", len(tags))
		}
		seen := map[string]bool{}
		for _, tag := range tags {
			if !rebound.ValidTag(tag) || tag != strings.ToLower(tag) || seen[tag] {
				t.Fatalf("accepted %q from %q", tag, joined)
			}
			seen[tag] = true
		}
	})
}
