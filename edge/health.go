package edge

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// health reports Redis, Postgres, the breakers and the invalidation
// subscription. It answers 200 while the edge can serve (it always can serve
// its in-process tier), and 503 only while draining for shutdown.
func (s *Server) health(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var pg, rd error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pg = s.store.Ping(c) }()
	go func() { defer wg.Done(); rd = s.cache.Ping(c) }()
	wg.Wait()
	body := map[string]any{
		"status": "ok", "postgres": state(pg), "redis": state(rd),
		"breakers": map[string]string{
			"postgres": s.res.dbBreaker.State().String(), "redis": s.res.redisBreaker.State().String(),
		},
		"invalidation":  map[bool]string{true: "live", false: "lost"}[s.res.subscribed.Load()],
		"local_entries": s.res.local.len(),
	}
	status := fasthttp.StatusOK
	if pg != nil || rd != nil {
		body["status"] = "degraded"
	}
	if s.draining.Load() {
		body["status"] = "draining"
		status = fasthttp.StatusServiceUnavailable
	}
	b, _ := json.Marshal(body)
	ctx.SetStatusCode(status)
	ctx.SetContentTypeBytes(strJSON)
	ctx.SetBody(append(b, '\n'))
}

func state(err error) string {
	if err != nil {
		return "down"
	}
	return "ok"
}
