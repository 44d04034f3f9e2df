package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/sony/gobreaker/v2"
)

// TestBreakerIgnoresCanceledWrites: writes cut short by their request's
// cancellation (a client that hung up) do not open the Redis-write breaker;
// failures of Redis itself do, after breakerTrip in a row.
func TestBreakerIgnoresCanceledWrites(t *testing.T) {
	c := newCacheSync(nil, nil, slog.New(slog.DiscardHandler))
	canceled := func() error { return fmt.Errorf("store link: %w", context.Canceled) }
	for range 2 * breakerTrip {
		if err := c.toRedis(canceled); !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled write: %v", err)
		}
	}
	if st := c.breaker.State(); st != gobreaker.StateClosed {
		t.Fatalf("breaker %v after %d canceled writes, want closed", st, 2*breakerTrip)
	}
	for range breakerTrip {
		_ = c.toRedis(func() error { return errors.New("i/o timeout") })
	}
	if st := c.breaker.State(); st != gobreaker.StateOpen {
		t.Fatalf("breaker %v after %d failed writes, want open", st, breakerTrip)
	}
}
