package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/edge"
	"github.com/reboundhq/rebound/internal/depwatch"
	"github.com/reboundhq/rebound/internal/timerslack"
	"github.com/reboundhq/rebound/postgres"
)

func runEdge(ctx context.Context, env cmdEnv, args []string) error {
	fs, envFile := newFlags(env, "edge", "edge [-env FILE]\n\n"+
		"Serves redirects. Starts even while Postgres or Redis is down and connects when they come up.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, log, err := loadConfig(env, *envFile)
	if err != nil {
		return err
	}
	raiseTimerSlack(env, cfg.EdgeTimerSlack, log)
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: int32(cfg.EdgeDBMaxConns()), Lazy: true, Tracking: cfg.Tracking})
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := openCache(cfg)
	if err != nil {
		return err
	}
	defer c.Redis().Close()
	countries, closeCountries, err := openCountries(cfg)
	if err != nil {
		return err
	}
	defer closeCountries()
	reg := prometheus.NewRegistry()
	postgres.RegisterMetrics(reg, db, "edge")
	cache.RegisterMetrics(reg, c, "edge")
	deps := depwatch.New(reg, map[string]depwatch.Check{"postgres": db.Ping, "redis": c.Ping})
	depCtx, stopDeps := context.WithCancel(ctx)
	defer stopDeps()
	go deps.Run(depCtx, dependencyCheckInterval)
	// Bind before edge.New starts its background work, so a port in use
	// stops start-up with nothing left running.
	ln, err := net.Listen("tcp", cfg.EdgeAddr)
	if err != nil {
		return fmt.Errorf("listen on REBOUND_EDGE_ADDR %s: %w", cfg.EdgeAddr, err)
	}
	srv := edge.New(edge.Options{
		Store: db, Cache: c, Logger: log, Registry: reg,
		LocalCacheSize: cfg.LocalCacheSize, LocalCacheTTL: cfg.LocalCacheTTL, NegativeCacheTTL: cfg.NegativeCacheTTL,
		PermanentMaxAge: cfg.PermanentMaxAge, DBConcurrency: cfg.EdgeDBConcurrency,
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, RateLimitClients: cfg.RateLimitClients,
		TrustedProxies: cfg.TrustedProxies, ClickFlushInterval: cfg.ClickFlushInterval, Subscribe: true,
		CountryHeader: cfg.CountryHeader, Countries: countries, DefaultHost: cfg.DefaultHost(), ShortURLs: rebound.NewShortURLBase(cfg.PublicURL),
		PasswordChecksPerSecond: cfg.PasswordChecksPerSecond,
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("edge listening", "addr", cfg.EdgeAddr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("edge stopping: draining requests and flushing clicks")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	log.Info("edge stopped")
	return nil
}

// raiseTimerSlack runs the edge with the timer slack of
// REBOUND_EDGE_TIMER_SLACK: unless the process already has at least that
// much, it executes itself again with it (see internal/timerslack), before
// anything is opened. Where that cannot be done the edge runs on as started.
func raiseTimerSlack(env cmdEnv, want time.Duration, log *slog.Logger) {
	if env.reexec == nil || want == 0 {
		return
	}
	have, err := timerslack.Current()
	if err != nil {
		log.Info("timer slack left as started", "reason", err.Error())
		return
	}
	if have >= want {
		log.Debug("timer slack", "slack", have.String())
		return
	}
	err = env.reexec(want)
	log.Warn("timer slack left as started", "slack", have.String(), "reason", err.Error())
}
