package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/config"
	"github.com/reboundhq/rebound/internal/depwatch"
	"github.com/reboundhq/rebound/internal/geoip"
	"github.com/reboundhq/rebound/origin"
	"github.com/reboundhq/rebound/postgres"
	"github.com/reboundhq/rebound/targeting"
)

func runOrigin(ctx context.Context, env cmdEnv, args []string) error {
	fs, envFile := newFlags(env, "origin", "origin [-env FILE]\n\nServes the admin API; applies migrations first.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, log, err := loadConfig(env, *envFile)
	if err != nil {
		return err
	}
	if err := cfg.RequireAuth(); err != nil {
		return err
	}
	if n := cfg.ShortTokens(); n > 0 {
		log.Warn("REBOUND_API_TOKENS: a short token can be guessed; use long random tokens",
			"short_tokens", n, "min_length", config.MinTokenLength)
	}
	if err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	// The whole pool is opened (and warmed) at start, in the background, and
	// kept: a burst of creates at 500/s on a fresh origin with an empty pool
	// of 20 waited up to 580 ms while the pool opened its connections (4 at
	// most: 80 ms). The pool is small (see OriginDBMaxConns), so keeping it
	// open costs Postgres little.
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: int32(cfg.OriginDBMaxConns()), MinConns: int32(cfg.OriginDBMaxConns()),
		Tracking: cfg.Tracking})
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
	srv := origin.New(origin.Options{
		Store: db, Cache: c, PublicURL: cfg.PublicURL, Tokens: cfg.APITokens, TrustedProxies: cfg.TrustedProxies,
		Logger: log, Registry: reg,
		PermanentMaxAge: cfg.PermanentMaxAge,
		CountryHeader:   cfg.CountryHeader, Countries: countries,
		ClickRetention: cfg.ClickRetention,
	})
	postgres.RegisterMetrics(reg, db, "origin")
	cache.RegisterMetrics(reg, c, "origin")
	deps := depwatch.New(reg, map[string]depwatch.Check{"postgres": db.Ping, "redis": c.Ping})
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
	}
	// Bind before starting anything in the background, so a port in use
	// stops start-up with a message naming the variable.
	ln, err := net.Listen("tcp", cfg.OriginAddr)
	if err != nil {
		return fmt.Errorf("listen on REBOUND_ORIGIN_ADDR %s: %w", cfg.OriginAddr, err)
	}
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	bgDone := make(chan struct{})
	go func() { defer close(bgDone); srv.Run(bgCtx) }()
	go deps.Run(bgCtx, dependencyCheckInterval)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(origin.JSONEarlyErrors(ln)) }()
	log.Info("origin listening", "addr", cfg.OriginAddr, "auth", len(cfg.APITokens) > 0)
	select {
	case err := <-errc:
		stopBackground()
		<-bgDone
		return fmt.Errorf("serve %s: %w", cfg.OriginAddr, err)
	case <-ctx.Done():
	}
	log.Info("origin stopping: draining requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(shutCtx)
	stopBackground() // the click consumer finishes the batch in hand, then stops
	<-bgDone
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	log.Info("origin stopped")
	return nil
}

func openCache(cfg config.Config) (*cache.Client, error) {
	rdb, err := cache.Dial(cfg.RedisURL, cfg.RedisClusterAddrs)
	if err != nil {
		return nil, err
	}
	return cache.New(rdb, cache.Options{
		Prefix: cfg.RedisPrefix, LinkTTL: cfg.RedisLinkTTL, NegativeTTL: cfg.NegativeCacheTTL,
	}), nil
}

// openCountries opens REBOUND_GEOIP_DB when set. It returns a nil
// interface, not a nil *geoip.DB, when unset: rules test it against nil.
func openCountries(cfg config.Config) (targeting.Countries, func(), error) {
	if cfg.GeoIPDB == "" {
		return nil, func() {}, nil
	}
	db, err := geoip.Open(cfg.GeoIPDB)
	if err != nil {
		return nil, nil, fmt.Errorf("REBOUND_GEOIP_DB: %w", err)
	}
	return db, func() { _ = db.Close() }, nil
}
