package rebound_test

import (
	"testing"
	"time"

	"github.com/reboundhq/rebound"
)

func TestRedirectCacheControl(t *testing.T) {
	for _, c := range []struct {
		status int
		maxAge time.Duration
		want   string
	}{
		{301, 24 * time.Hour, "public, max-age=86400"},
		{308, 90*time.Second + 500*time.Millisecond, "public, max-age=90"}, // whole seconds
		{301, 0, "public, max-age=0"},
		{308, -time.Hour, "public, max-age=0"}, // never a negative max-age
		{302, 24 * time.Hour, "private, max-age=90"},
		{307, 0, "private, max-age=90"},
	} {
		if got := rebound.RedirectCacheControl(c.status, c.maxAge); got != c.want {
			t.Errorf("RedirectCacheControl(%d, %v) = %q, want %q", c.status, c.maxAge, got, c.want)
		}
	}
}
