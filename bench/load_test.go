package bench_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/reboundhq/rebound/bench"
)

func startBaseline(t testing.TB, links int) string {
	t.Helper()
	srv := bench.NewBaseline(links)
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func TestCodesAreDistinctAndValid(t *testing.T) {
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 61, 62, 999_999, 1_000_000, 56_800_235_583} {
		c := bench.Code(i)
		if len(c) != bench.CodeLen || seen[c] {
			t.Fatalf("code %d = %q (len %d, seen %v)", i, c, len(c), seen[c])
		}
		seen[c] = true
	}
}

// TestRunCountsWhatTheServerAnswers: known codes count as successes, unknown
// ones as failures of their class, and every count adds up.
func TestRunCountsWhatTheServerAnswers(t *testing.T) {
	addr := startBaseline(t, 10)
	pick := func(rnd *rand.Rand, dst []byte) ([]byte, int) {
		if rnd.IntN(2) == 0 {
			return bench.AppendCode(append(dst, '/'), rnd.IntN(10)), 0
		}
		return append(dst, "/nope"...), 1
	}
	r := bench.Run(context.Background(), bench.Load{Addr: addr, Conns: 4, Duration: 300 * time.Millisecond, Pick: pick})
	if r.Requests == 0 || r.Errors != 0 {
		t.Fatalf("requests %d, errors %d", r.Requests, r.Errors)
	}
	if r.Status[302] != r.Sent[0] || r.Status[404] != r.Sent[1] || r.Failed[1] != r.Sent[1] || r.Failed[0] != 0 {
		t.Fatalf("statuses %v, sent %v, failed %v", r.Status, r.Sent, r.Failed)
	}
	var ok, failed int64
	for _, s := range r.Timeline {
		ok, failed = ok+s.OK, failed+s.Failed
	}
	if ok+failed != r.Requests || failed != r.FailedTotal() {
		t.Fatalf("timeline %d ok + %d failed, want %d requests", ok, failed, r.Requests)
	}
	if !(r.P50 <= r.P95 && r.P95 <= r.P99 && r.P99 <= r.Max && r.P50 > 0) {
		t.Fatalf("percentiles out of order: %+v", r)
	}
}

// TestOpenLoopKeepsToItsRate: an open-loop load never sends more than its
// rate allows, however fast the server answers.
func TestOpenLoopKeepsToItsRate(t *testing.T) {
	addr := startBaseline(t, 1)
	pick := func(_ *rand.Rand, dst []byte) ([]byte, int) { return bench.AppendCode(append(dst, '/'), 0), 0 }
	r := bench.Run(context.Background(), bench.Load{Addr: addr, Conns: 4, Duration: time.Second, Rate: 200, Pick: pick})
	if r.Requests > 200 || r.Requests < 20 {
		t.Fatalf("%d requests at 200/s for 1s", r.Requests)
	}
	// Every request but the first on each connection waited out a pacing
	// sleep, which can only end after the request was due; a closed loop
	// never sleeps.
	if r.WakeLateP99 <= 0 || r.WakeLateP99 > r.Max {
		t.Fatalf("open loop: pacing wake-up p99 %v ms (latency max %v ms)", r.WakeLateP99, r.Max)
	}
	if p := bench.Pool(r, r); p.WakeLateP99 != r.WakeLateP99 {
		t.Fatalf("pooling a run with itself moved its wake-up p99 from %v to %v ms", r.WakeLateP99, p.WakeLateP99)
	}
	closed := bench.Run(context.Background(), bench.Load{Addr: addr, Conns: 2, Duration: 100 * time.Millisecond, Pick: pick})
	if closed.WakeLateP99 != 0 {
		t.Fatalf("closed loop: pacing wake-up p99 %v ms, want none", closed.WakeLateP99)
	}
}

func TestPoolAndCombine(t *testing.T) {
	addr := startBaseline(t, 1)
	pick := func(_ *rand.Rand, dst []byte) ([]byte, int) { return bench.AppendCode(append(dst, '/'), 0), 0 }
	l := bench.Load{Addr: addr, Conns: 2, Duration: 100 * time.Millisecond, Pick: pick}
	a, b := bench.Run(context.Background(), l), bench.Run(context.Background(), l)
	p := bench.Pool(a, b)
	if p.Requests != a.Requests+b.Requests || p.Status[302] != p.Requests {
		t.Fatalf("pooled %d requests from %d + %d", p.Requests, a.Requests, b.Requests)
	}
	if c := bench.Combine(a, b); c.RPS < a.RPS || c.RPS < b.RPS {
		t.Fatalf("side-by-side rate %v below a part's (%v, %v)", c.RPS, a.RPS, b.RPS)
	}
}

// TestReportRendersMeasuredNumbers: the Markdown carries the measured
// figures and ratios; the chart is well-formed SVG with a bar per figure.
func TestReportRendersMeasuredNumbers(t *testing.T) {
	r := bench.Report{Command: "make bench", Date: "today", Machine: "test",
		Comparisons: []bench.Comparison{{Name: "hot <links>", Load: "x",
			Base:        bench.Result{RPS: 1000, P50: 0.1, P99: 1, Status: map[int]int64{302: 5}},
			Edge:        bench.Result{RPS: 950, P50: 0.2, P99: 2, Status: map[int]int64{302: 5, 503: 1}, Failed: [2]int64{1, 0}},
			RoundRatios: []float64{0.97, 0.912, 0.96}}},
		Figures: []bench.Figure{{Name: "hot ratio", Measured: "0.95x", Target: "at least 0.9x", Met: true}},
	}
	var md, svg bytes.Buffer
	if err := r.WriteMarkdown(&md, "chart.svg"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**0.95x** (rounds 0.91x to 0.97x)", "| hot ratio | 0.95x | at least 0.9x | yes |", "302: 5, 503: 1", "![latency chart](chart.svg)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	if err := r.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&svg)
	rects := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	if rects != 1+4 { // the background and four bars
		t.Fatalf("%d rects in the chart, want 5", rects)
	}
}

func TestReplaceBetween(t *testing.T) {
	doc := "intro\n<!-- a -->\nold\n<!-- b -->\nend\n"
	got, ok := bench.ReplaceBetween(doc, "<!-- a -->", "<!-- b -->", "new\n")
	if !ok || got != "intro\n<!-- a -->\nnew\n<!-- b -->\nend\n" {
		t.Fatalf("%v %q", ok, got)
	}
	if _, ok := bench.ReplaceBetween("no markers", "<!-- a -->", "<!-- b -->", "x"); ok {
		t.Fatal("replaced without markers")
	}
}

// TestWindowAndDecorate: the window histogram counts only the requests due
// in it, and Decorate sees every request.
func TestWindowAndDecorate(t *testing.T) {
	addr := startBaseline(t, 1)
	var decorated atomic.Int64
	r := bench.Run(context.Background(), bench.Load{
		Addr: addr, Conns: 2, Duration: 600 * time.Millisecond, Window: [2]time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
		Pick:     func(_ *rand.Rand, dst []byte) ([]byte, int) { return bench.AppendCode(append(dst, '/'), 0), 0 },
		Decorate: func(_ *rand.Rand, h *fasthttp.RequestHeader) { decorated.Add(1); h.Set("X-Forwarded-For", "10.0.0.1") },
	})
	if r.WindowRequests == 0 || r.WindowRequests >= r.Requests || r.WindowP99 <= 0 {
		t.Fatalf("window: %d of %d requests, p99 %v", r.WindowRequests, r.Requests, r.WindowP99)
	}
	if decorated.Load() != r.Requests {
		t.Fatalf("decorated %d of %d requests", decorated.Load(), r.Requests)
	}
}

// TestCombineNestedLoads: a short burst inside a long load adds its
// requests, not its rate: the rate is all requests over the long span.
func TestCombineNestedLoads(t *testing.T) {
	addr := startBaseline(t, 1)
	pick := func(_ *rand.Rand, dst []byte) ([]byte, int) { return bench.AppendCode(append(dst, '/'), 0), 0 }
	long := make(chan bench.Result, 1)
	go func() {
		long <- bench.Run(context.Background(), bench.Load{Addr: addr, Conns: 1, Duration: 600 * time.Millisecond, Pick: pick})
	}()
	burst := bench.Run(context.Background(), bench.Load{Addr: addr, Conns: 1, Duration: 200 * time.Millisecond, Pick: pick})
	l := <-long
	c := bench.Combine(l, burst)
	if c.Requests != l.Requests+burst.Requests || c.Seconds != l.Seconds {
		t.Fatalf("combined %d requests over %v s from %d over %v and %d over %v", c.Requests, c.Seconds,
			l.Requests, l.Seconds, burst.Requests, burst.Seconds)
	}
	if want := float64(c.Requests) / l.Seconds; c.RPS != want || c.RPS >= l.RPS+burst.RPS {
		t.Fatalf("combined rate %v, want %v (below the sum of rates %v)", c.RPS, want, l.RPS+burst.RPS)
	}
}

func TestInformationalFigure(t *testing.T) {
	r := bench.Report{Figures: []bench.Figure{{Name: "whole system", Measured: "0.5x", Target: "none", Informational: true}}}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md, "c.svg"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| whole system | 0.5x | none | n/a |") {
		t.Fatalf("informational figure rendered as:\n%s", md.String())
	}
}
