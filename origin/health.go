package origin

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// healthTimeout bounds each dependency check, so /health answers quickly even
// when a dependency hangs.
const healthTimeout = time.Second

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	var pg, rd error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pg = s.store.Ping(ctx) }()
	go func() { defer wg.Done(); rd = s.cache.Ping(ctx) }()
	wg.Wait()
	if clientGone(r, pg) || clientGone(r, rd) {
		w.WriteHeader(statusClientClosed)
		return
	}
	body := map[string]string{"status": "ok", "postgres": state(pg), "redis": state(rd)}
	status := http.StatusOK
	if pg != nil || rd != nil {
		body["status"] = "degraded"
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, body)
}

func state(err error) string {
	if err != nil {
		return "down"
	}
	return "ok"
}
