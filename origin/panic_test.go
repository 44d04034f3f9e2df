package origin_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/origin"
)

// panickyStore is the real store, except that reading one user panics: a
// bug on a request's path, as the origin would meet it.
type panickyStore struct {
	origin.Store
	id int64
}

func (s panickyStore) GetUser(ctx context.Context, id int64) (rebound.User, error) {
	if id == s.id {
		panic(fmt.Sprintf("store bug for user %d", id))
	}
	return s.Store.GetUser(ctx, id)
}

// A panic while answering a request costs that request a 500 JSON error,
// logged with its stack, and nothing else.
func TestPanicAnswersInternalError(t *testing.T) {
	db, _ := testenv.NewDB(t)
	var logs testenv.SyncBuffer
	e := serveEnv(t, db, testenv.NewCache(t), func(o *origin.Options) {
		o.Store = panickyStore{Store: db, id: 4242}
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	uid := e.createUser("steady")

	r := e.do("GET", "/users/4242", nil)
	e.want(r, 500, "internal")
	if strings.Contains(string(r.body), "store bug") || strings.Contains(string(r.body), "goroutine") {
		t.Fatalf("the 500 leaks the panic: %s", r.body)
	}
	if id := r.header.Get("X-Request-ID"); id == "" || r.str("request_id") != id {
		t.Fatalf("request id %q in the header, %q in the body", id, r.str("request_id"))
	}
	e.want(e.do("GET", fmt.Sprintf("/users/%d", uid), nil), 200, "")
	if l := logs.String(); !strings.Contains(l, "store bug for user 4242") || !strings.Contains(l, "goroutine") ||
		!strings.Contains(l, r.str("request_id")) {
		t.Errorf("the panic is not logged with its stack and request id:\n%s", l)
	}
}
