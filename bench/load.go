package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Picker chooses a load's next request: it appends the request path (with
// any query) to dst and returns it, with the class the request is counted
// under (0 or 1, say "cached link" and "uncached link").
type Picker func(rnd *rand.Rand, dst []byte) (path []byte, class int)

// Classes is how many request classes a Result counts apart.
const Classes = 2

// Load is one run of requests against one target.
type Load struct {
	Addr     string        // host:port of the target
	Conns    int           // keep-alive connections, one request in flight on each
	Duration time.Duration // how long requests are sent
	// Rate is the requests per second over all connections; 0 sends each
	// request as soon as the previous one on its connection is answered.
	Rate   float64
	Method string // default GET
	Pick   Picker
	// Body, when set, returns the body of each request (Content-Type JSON).
	Body   func(rnd *rand.Rand, dst []byte) []byte
	Header map[string]string
	// Host, when set, is sent as the Host header instead of Addr (a
	// domain the server answers on).
	Host string
	// OK says which statuses count as success; default: redirect statuses.
	OK func(status int) bool
	// Decorate, when set, adjusts each request's headers (a client address
	// in X-Forwarded-For, say) after Header is applied.
	Decorate func(rnd *rand.Rand, h *fasthttp.RequestHeader)
	// Window, when its end is after its start, also measures the latency
	// of the requests due in [Window[0], Window[1]) from the run's start:
	// the time a fault is applied, say. See Result.WindowP99.
	Window [2]time.Duration
	// Seed makes the request sequence repeatable.
	Seed uint64
}

// Result is what a Load measured. Latencies are in milliseconds.
type Result struct {
	Requests int64          `json:"requests"`
	Seconds  float64        `json:"seconds"`
	RPS      float64        `json:"rps"`
	P50      float64        `json:"p50_ms"`
	P95      float64        `json:"p95_ms"`
	P99      float64        `json:"p99_ms"`
	Max      float64        `json:"max_ms"`
	Status   map[int]int64  `json:"status"`
	Errors   int64          `json:"transport_errors"`
	Sent     [Classes]int64 `json:"sent_by_class"`
	Failed   [Classes]int64 `json:"failed_by_class"`
	Timeline []SecondCounts `json:"timeline"`
	// WindowRequests and WindowP99 describe the requests due in Load.Window.
	WindowRequests int64   `json:"window_requests,omitempty"`
	WindowP99      float64 `json:"window_p99_ms,omitempty"`
	// WakeLateP99 is, in open loop, the 99th percentile of how long after a
	// request fell due a connection that was waiting for it got it: the
	// load generator's own pacing and scheduling delay, which every latency
	// above includes (see release).
	WakeLateP99 float64 `json:"wake_late_p99_ms,omitempty"`
	hist        *hdrhistogram.Histogram
	windowHist  *hdrhistogram.Histogram
	wakeHist    *hdrhistogram.Histogram
}

// SecondCounts is how many requests due in one second of a run succeeded
// and failed.
type SecondCounts struct {
	OK     int64 `json:"ok"`
	Failed int64 `json:"failed"`
}

// FailedTotal is the number of requests that did not succeed.
func (r Result) FailedTotal() int64 { return r.Failed[0] + r.Failed[1] }

// IsRedirect is the default Load.OK: the four redirect statuses Rebound sends.
func IsRedirect(status int) bool {
	return status == 301 || status == 302 || status == 307 || status == 308
}

// Latency bounds of the histogram, in microseconds: 1 µs to 60 s at three
// significant digits.
const (
	histMin = 1
	histMax = 60_000_000
)

// Run sends l's requests until its duration is over or ctx ends, and
// returns what it measured.
func Run(ctx context.Context, l Load) Result {
	if l.Method == "" {
		l.Method = fasthttp.MethodGet
	}
	if l.OK == nil {
		l.OK = IsRedirect
	}
	hc := &fasthttp.HostClient{
		Addr: l.Addr, MaxConns: l.Conns, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		MaxConnWaitTimeout: 5 * time.Second, MaxIdemponentCallAttempts: 1, NoDefaultUserAgentHeader: true,
	}
	defer hc.CloseIdleConnections()
	start := time.Now()
	seconds := int(l.Duration/time.Second) + 1
	var due chan time.Time // open loop: when each request falls due, for the first free worker
	if l.Rate > 0 {
		due = make(chan time.Time, l.Conns)
		go release(ctx, start, start.Add(l.Duration), l.Rate, due)
	}
	parts := make([]Result, l.Conns)
	var wg sync.WaitGroup
	for w := range l.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[w] = l.worker(ctx, hc, w, start, due, seconds)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	total := newResult(seconds)
	for _, p := range parts {
		total.merge(p)
	}
	total.WindowRequests = total.windowHist.TotalCount()
	total.WindowP99 = quantileMS(total.windowHist, 99)
	total.Seconds = elapsed
	total.RPS = float64(total.Requests) / elapsed
	total.summarize()
	return total
}

// summarize sets the latency figures from the merged histograms.
func (r *Result) summarize() {
	r.P50 = quantileMS(r.hist, 50)
	r.P95 = quantileMS(r.hist, 95)
	r.P99 = quantileMS(r.hist, 99)
	r.Max = float64(r.hist.Max()) / 1000
	if r.wakeHist.TotalCount() > 0 {
		r.WakeLateP99 = quantileMS(r.wakeHist, 99)
	}
}

func quantileMS(h *hdrhistogram.Histogram, q float64) float64 {
	return float64(h.ValueAtQuantile(q)) / 1000
}

func (r *Result) merge(p Result) {
	r.Requests += p.Requests
	r.Errors += p.Errors
	for s, n := range p.Status {
		r.Status[s] += n
	}
	for c := range Classes {
		r.Sent[c] += p.Sent[c]
		r.Failed[c] += p.Failed[c]
	}
	for i, s := range p.Timeline {
		r.Timeline[i].OK += s.OK
		r.Timeline[i].Failed += s.Failed
	}
	r.hist.Merge(p.hist)
	if p.windowHist != nil {
		r.windowHist.Merge(p.windowHist)
	}
	if p.wakeHist != nil {
		r.wakeHist.Merge(p.wakeHist)
	}
}

func newResult(seconds int) Result {
	return Result{Status: map[int]int64{}, Timeline: make([]SecondCounts, seconds),
		hist: hdrhistogram.New(histMin, histMax, 3), windowHist: hdrhistogram.New(histMin, histMax, 3),
		wakeHist: hdrhistogram.New(histMin, histMax, 3)}
}

// worker drives one connection. In closed loop it sends a request as soon as
// the last one is answered; in open loop it takes the next due time from
// due, and measures each request from the moment it was due.
func (l Load) worker(ctx context.Context, hc *fasthttp.HostClient, w int, start time.Time, due <-chan time.Time, seconds int) Result {
	res := newResult(seconds)
	rnd := rand.New(rand.NewPCG(l.Seed, uint64(w)))
	windowed := l.Window[1] > l.Window[0]
	deadline := start.Add(l.Duration)
	var req fasthttp.Request
	var resp fasthttp.Response
	var uri, path, body []byte
	for k, v := range l.Header {
		req.Header.Set(k, v)
	}
	if l.Host != "" {
		req.UseHostHeader = true
		req.Header.SetHost(l.Host)
	}
	req.Header.SetMethod(l.Method)
	for ctx.Err() == nil {
		var at time.Time // when this request was due
		if due != nil {
			free := time.Now()
			var ok bool
			if at, ok = <-due; !ok {
				break
			}
			// The worker waited for the request to fall due: how late it
			// got it is the load generator's own delay.
			if free.Before(at) {
				late := time.Since(at).Microseconds()
				_ = res.wakeHist.RecordValue(max(histMin, min(histMax, late)))
			}
		} else {
			if at = time.Now(); !at.Before(deadline) {
				break
			}
		}
		var class int
		path, class = l.Pick(rnd, path[:0])
		uri = append(append(append(uri[:0], "http://"...), l.Addr...), path...)
		req.SetRequestURIBytes(uri)
		if l.Decorate != nil {
			l.Decorate(rnd, &req.Header)
		}
		if l.Body != nil {
			body = l.Body(rnd, body[:0])
			req.SetBodyRaw(body)
			req.Header.SetContentType("application/json")
		}
		err := hc.Do(&req, &resp)
		lat := time.Since(at)
		us := max(histMin, min(histMax, lat.Microseconds()))
		_ = res.hist.RecordValue(us)
		if since := at.Sub(start); windowed && since >= l.Window[0] && since < l.Window[1] {
			_ = res.windowHist.RecordValue(us)
		}
		res.Requests++
		res.Sent[class]++
		sec := min(seconds-1, int(at.Sub(start)/time.Second))
		ok := false
		if err != nil {
			res.Errors++
		} else {
			res.Status[resp.StatusCode()]++
			ok = l.OK(resp.StatusCode())
		}
		if ok {
			res.Timeline[sec].OK++
		} else {
			res.Failed[class]++
			res.Timeline[sec].Failed++
		}
	}
	return res
}
