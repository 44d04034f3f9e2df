package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/reboundhq/rebound/bench"
	"github.com/reboundhq/rebound/internal/faultproxy"
)

// hotLinks is the size of the hot set: few enough to live in the edge's
// in-process tier.
const hotLinks = 100

// pickHot picks one of the hot links.
func pickHot(rnd *rand.Rand, dst []byte) ([]byte, int) {
	return bench.AppendCode(append(dst, '/'), rnd.IntN(hotLinks)), 0
}

// pickUniform picks any of n links with equal chance.
func pickUniform(n int) bench.Picker {
	return func(rnd *rand.Rand, dst []byte) ([]byte, int) {
		return bench.AppendCode(append(dst, '/'), rnd.IntN(n)), 0
	}
}

// pickClassed picks any of n links with equal chance, counting the hot ones
// as class 0 and the others as class 1.
func pickClassed(n int) bench.Picker {
	return func(rnd *rand.Rand, dst []byte) ([]byte, int) {
		i := rnd.IntN(n)
		return bench.AppendCode(append(dst, '/'), i), min(1, i/hotLinks)
	}
}

// pickMix sends nine requests in ten to a hot link (class 0, cached in
// process) and one to any link (class 1, most not in the process tier).
func pickMix(n int) bench.Picker {
	return func(rnd *rand.Rand, dst []byte) ([]byte, int) {
		if rnd.IntN(10) > 0 {
			return pickHot(rnd, dst)
		}
		return bench.AppendCode(append(dst, '/'), hotLinks+rnd.IntN(n-hotLinks)), 1
	}
}

// compare runs the same load against the baseline and the edge, alternating
// b.rounds times (the machine's speed drifts, and alternating spreads the
// drift over both), each run after an uncounted warm-up, and pools each
// server's runs. Each round's ratio is kept too, to show the spread.
func (b *benchRun) compare(ctx context.Context, name, desc string, l bench.Load) bench.Comparison {
	c := bench.Comparison{Name: name, Load: desc}
	var base, edge []bench.Result
	seed := l.Seed
	for round := range uint64(b.rounds) {
		// Every run of a server draws its own request sequence (the two
		// servers get the same ones). A measured run that replayed its
		// warm-up's sequence found the links the warm-up had just put in the
		// edge's in-process tier: 28% of the "uniform-random" requests were
		// in-process hits (9% for a fresh sequence), not Redis lookups.
		warm := l
		warm.Duration, warm.Rate, warm.Seed = b.warmup, 0, seed<<8|(2*round+1)
		l.Seed = seed<<8 | (2*round + 2)
		warm.Addr, l.Addr = b.baseAddr, b.baseAddr
		bench.Run(ctx, warm)
		base = append(base, bench.Run(ctx, l))
		b.runEdge(ctx, warm)
		edge = append(edge, b.runEdge(ctx, l))
		last := bench.Comparison{Base: base[len(base)-1], Edge: edge[len(edge)-1]}
		c.RoundRatios = append(c.RoundRatios, last.Ratio())
	}
	c.Base, c.Edge = bench.Pool(base...), bench.Pool(edge...)
	b.logf("%-30s baseline %8.0f req/s p99 %6.2f ms | edge %8.0f req/s p99 %6.2f ms | ratio %.2fx, rounds %.2f",
		name, c.Base.RPS, c.Base.P99, c.Edge.RPS, c.Edge.P99, c.Ratio(), c.RoundRatios)
	b.report.Comparisons = append(b.report.Comparisons, c)
	return c
}

// spike runs a steady load of conns connections and, through its middle
// third, a burst of spikeConns more, against one target.
func (b *benchRun) spike(ctx context.Context, addr string, l bench.Load, spikeConns int) bench.Result {
	l.Addr = addr
	burst := l
	burst.Conns, burst.Duration, burst.Seed = spikeConns, l.Duration/3, l.Seed+1
	steady := make(chan bench.Result, 1)
	go func() { steady <- bench.Run(ctx, l) }()
	time.Sleep(l.Duration / 3)
	spiked := bench.Run(ctx, burst)
	return bench.Combine(<-steady, spiked)
}

// drill runs l against the edge and applies fault through the middle of it
// (from a third of the duration, for faultFor), then reports the failures
// per class and how long after the fault ended the edge was back to normal.
func (b *benchRun) drill(ctx context.Context, name, desc, component string, l bench.Load, p *faultproxy.Proxy, faultFor time.Duration) (bench.Single, time.Duration) {
	l.Addr = b.edgeAddr
	faultAt := l.Duration / 3
	done := make(chan bench.Result, 1)
	go func() { done <- bench.Run(ctx, l) }()
	time.Sleep(faultAt)
	p.Cut()
	time.Sleep(faultFor)
	p.Restore()
	reconnected := b.waitComponentOK(ctx, component)
	res := <-done
	b.count(res)
	s := bench.Single{Name: name, Load: desc, Result: res}
	s.Extra = append(s.Extra,
		[2]string{"failed cached", fmt.Sprintf("%d of %d", res.Failed[0], res.Sent[0])},
		[2]string{"failed uncached", fmt.Sprintf("%d of %d", res.Failed[1], res.Sent[1])},
		[2]string{"failed %", fmt.Sprintf("%.3f%%", 100*float64(res.FailedTotal())/float64(max(1, res.Requests)))},
		[2]string{"edge reports " + component + " ok again after", formatDuration(reconnected)},
		[2]string{"throughput back within", formatRecovery(recoveryTime(res, faultAt+faultFor))})
	b.logf("%-30s %d requests, failed cached %d, uncached %d, %s ok after %s, throughput back within %s", name, res.Requests,
		res.Failed[0], res.Failed[1], component, formatDuration(reconnected), formatRecovery(recoveryTime(res, faultAt+faultFor)))
	b.report.Singles = append(b.report.Singles, s)
	return s, reconnected
}

// waitComponentOK polls the edge's /health until it reports component
// ("redis" or "postgres") ok, and returns how long that took; -1 if it did
// not within 30 s.
func (b *benchRun) waitComponentOK(ctx context.Context, component string) time.Duration {
	start := time.Now()
	for time.Since(start) < 30*time.Second && ctx.Err() == nil {
		var h map[string]any
		if resp, err := http.Get("http://" + b.edgeAddr + "/health"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if h[component] == "ok" {
				return time.Since(start)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return -1
}

func formatDuration(d time.Duration) string {
	if d < 0 {
		return "not within 30 s"
	}
	return d.Round(time.Millisecond).String()
}

// recoveryTime finds the first whole second after the fault ended in which
// nothing failed and throughput was back to 90% of what it was before the
// fault. Its resolution is one second; -1 means not within the run.
func recoveryTime(r bench.Result, faultEnd time.Duration) time.Duration {
	endSec := int(faultEnd / time.Second)
	before := int64(0)
	n := 0
	for i := 0; i < int(faultEnd/time.Second)/2 && i < len(r.Timeline); i++ {
		before += r.Timeline[i].OK
		n++
	}
	if n == 0 {
		return -1
	}
	avg := before / int64(n)
	for i := endSec; i < len(r.Timeline)-1; i++ { // the last second is partial
		if s := r.Timeline[i]; s.Failed == 0 && s.OK*10 >= avg*9 {
			return time.Duration(i-endSec+1) * time.Second
		}
	}
	return -1
}

func formatRecovery(d time.Duration) string {
	if d < 0 {
		return "not within the run"
	}
	return "≤" + strconv.Itoa(int(d/time.Second)) + "s"
}
