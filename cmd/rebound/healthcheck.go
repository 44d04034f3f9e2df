package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// runHealthcheck probes a /health URL and fails unless it answers 200. It
// exists for container health checks: the image has no shell, curl or wget.
func runHealthcheck(ctx context.Context, env cmdEnv, args []string) error {
	fs, _ := newFlags(env, "healthcheck", "healthcheck [-url URL] [-timeout D]\n\n"+
		"Exits 0 when URL answers 200, 1 otherwise. For container health checks.")
	url := fs.String("url", "http://127.0.0.1:8080/health", "the /health endpoint to probe")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("health url: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", *url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: status %d", *url, resp.StatusCode)
	}
	return nil
}
