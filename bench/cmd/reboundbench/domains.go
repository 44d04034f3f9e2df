package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reboundhq/rebound/bench"
)

// secondDomain is the domain the bench serves its hot links on a second
// time: the same codes and targets as on the default domain (so the bare
// server, which ignores Host, answers them alike), other links.
const secondDomain = "second.bench.test"

// passwordCode is the link the password flood guesses at.
const passwordCode = "pw-bench"

// addDomainLinks creates the second domain, the hot links on it, and the
// password link, through the API.
func (b *benchRun) addDomainLinks(ctx context.Context) error {
	if err := b.api(ctx, "POST", "/domains", map[string]any{"host": secondDomain}, http.StatusCreated, nil); err != nil {
		return fmt.Errorf("create the second domain: %w", err)
	}
	for i := range hotLinks {
		link := map[string]any{"original_url": bench.TargetURL(i), "short_code": bench.Code(i), "domain": secondDomain}
		if err := b.api(ctx, "POST", "/urls", link, http.StatusCreated, nil); err != nil {
			return fmt.Errorf("create a link on the second domain: %w", err)
		}
	}
	link := map[string]any{"original_url": "https://example.com/vault", "short_code": passwordCode, "password": "the right one"}
	if err := b.api(ctx, "POST", "/urls", link, http.StatusCreated, nil); err != nil {
		return fmt.Errorf("create the password link: %w", err)
	}
	return nil
}

// floodRate is the wrong passwords posted a second: about 70 times what
// the edge checks (3/s), kept this low so that the load generator's own CPU
// does not weigh on the figure.
const floodRate = 200

// flood posts wrong passwords to the password link until ctx ends, from
// many client addresses at once (127.0.0.2 on; each gets its own allowance
// of wrong passwords), and counts the answers by status.
func (b *benchRun) flood(ctx context.Context, senders int) map[int]int64 {
	tick := time.NewTicker(time.Second / floodRate)
	defer tick.Stop()
	var mu sync.Mutex
	counts := map[int]int64{}
	var wg sync.WaitGroup
	var next atomic.Uint32
	for range senders {
		wg.Go(func() {
			local := map[int]int64{}
			for ctx.Err() == nil {
				n := next.Add(1)
				src := net.IPv4(127, byte(n>>16)%250+1, byte(n>>8), byte(n)%250+2)
				client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
					DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext,
				}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				for range 12 { // past the 10 wrong passwords a client may post a minute
					select {
					case <-ctx.Done():
					case <-tick.C:
					}
					req, err := http.NewRequestWithContext(ctx, "POST", "http://"+b.edgeAddr+"/"+passwordCode,
						strings.NewReader(url.Values{"password": {"a wrong guess"}}.Encode()))
					if err != nil {
						break
					}
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					res, err := client.Do(req)
					if err != nil {
						local[0]++
						break
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					local[res.StatusCode]++
				}
				client.CloseIdleConnections()
			}
			mu.Lock()
			for k, v := range local {
				counts[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return counts
}

// domainsAndPasswords measures hot links on the second domain against
// the bare server, and hot links while a flood of wrong passwords hits
// the edge, against the same links without it.
func (b *benchRun) domainsAndPasswords(ctx context.Context, withoutFlood bench.Comparison) {
	second := b.redirectLoad(pickHot)
	second.Host = secondDomain
	sc := b.compare(ctx, "hot links on a second domain", fmt.Sprintf("%d links of %s (Host header), %d connections, closed loop; click storage deferred", hotLinks, secondDomain, b.conns), second)
	b.headline("Hot-link redirects on a second domain vs bare fasthttp (edge alone)", fmt.Sprintf("%.2fx", sc.Ratio()), "at least 0.9x", sc.Ratio() >= 0.9)

	floodCtx, stop := context.WithCancel(ctx)
	counts := make(chan map[int]int64, 1)
	go func() { counts <- b.flood(floodCtx, 8) }()
	fc := b.compare(ctx, "hot links during a password flood", fmt.Sprintf("as hot links, while wrong passwords are posted to one link at %d/s from ever new client addresses; %d connections", floodRate, b.conns), b.redirectLoad(pickHot))
	stop()
	answers := <-counts
	keep := fc.Edge.RPS / withoutFlood.Edge.RPS
	b.logf("password flood answers: %v; hot links keep %.2fx of their rate without it", answers, keep)
	b.headline("Hot-link redirects during a flood of wrong passwords, against the same without it (edge)",
		fmt.Sprintf("%.2fx (%.0f against %.0f req/s; flood answers %s)", keep, fc.Edge.RPS, withoutFlood.Edge.RPS, formatCounts(answers)),
		"at least 0.8x", keep >= 0.8)
}

func formatCounts(c map[int]int64) string {
	var parts []string
	for _, status := range []int{401, 429, 503, 0} {
		if c[status] > 0 {
			name := fmt.Sprint(status)
			if status == 0 {
				name = "no answer"
			}
			parts = append(parts, fmt.Sprintf("%s: %d", name, c[status]))
		}
	}
	return strings.Join(parts, ", ")
}
