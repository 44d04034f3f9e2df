package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"

	"github.com/reboundhq/rebound/bench"
	"github.com/reboundhq/rebound/internal/faultproxy"
	"github.com/reboundhq/rebound/internal/hostile"
)

// Timeline of every drill: steady load for drillLength; the fault from
// faultStart to faultEnd.
const (
	drillLength = 12 * time.Second
	faultStart  = 4 * time.Second
	faultEnd    = 8 * time.Second
	drillLinks  = 100_000
	drillToken  = "drill-token"
	// steadyClients is how many client addresses the steady load comes
	// from, through the trusted proxy: each stays far below the rate limit.
	steadyClients = 2000
)

// drillRun is a Rebound of the drills' own: a private Postgres and Redis
// they can kill, an origin, and an edge under a supervisor that restarts it
// (as make run does), behind a proxy to Postgres that can add latency.
type drillRun struct {
	logDir, rebound, tmp  string
	pg                    *privatePostgres
	redis                 *privateRedis
	pgProxy               *faultproxy.Proxy
	origin                *proc
	edgeMu                sync.Mutex
	edge                  *proc
	stopSupervisor        chan struct{}
	supervisorDone        chan struct{}
	edgeAddr, originAddr  string
	originArgs, originEnv []string
	edgeEnv               []string
	results               []drillResult
	badInput              []badInputResult
	machine, date         string
}

// drillResult is what one drill measured.
type drillResult struct {
	Name, Fault                    string
	Requests, FailedCached, Cached int64
	FailedUncached, Uncached       int64
	FiveXX                         int64
	WindowP99                      float64
	Recovered                      string
	WritesAccepted, WritesLost     int64
	ClicksAccepted, ClicksLost     int64
	ClicksTwice                    int64  // stored more than once
	Rollups                        string // whether the rollups sum to the raw clicks
	Notes                          []string
}

type badInputResult struct {
	Service  string
	Requests int
	Statuses map[int]int
	FiveXX   int
	NetHTTP  int // 5xx that Go's net/http sent itself, for a request line it does not speak
	NotJSON  int
}

func runDrills(ctx context.Context, logDir, rebound, reportPath string) error {
	d := &drillRun{logDir: logDir, rebound: rebound, machine: machine(), date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	tmp, err := os.MkdirTemp("", "rebound-drills-")
	if err != nil {
		return err
	}
	d.tmp = tmp
	defer os.RemoveAll(tmp)
	// The postgres OS user must reach its data folder inside.
	if err := os.Chmod(tmp, 0o711); err != nil {
		return err
	}
	defer d.stopAll()
	if err := d.start(ctx); err != nil {
		return err
	}
	for _, dr := range d.drills() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res := d.run(ctx, dr)
		fmt.Fprintf(os.Stderr, "drill: %-34s failed cached %d/%d, uncached %d/%d, 5xx %d, p99 %.1f ms, recovered %s, writes lost %d/%d, clicks lost %d/%d, twice %d, rollups agree %s\n",
			res.Name, res.FailedCached, res.Cached, res.FailedUncached, res.Uncached, res.FiveXX, res.WindowP99, res.Recovered,
			res.WritesLost, res.WritesAccepted, res.ClicksLost, res.ClicksAccepted, res.ClicksTwice, res.Rollups)
		d.results = append(d.results, res)
	}
	d.badInputDrill(ctx)
	return d.write(reportPath)
}

func (d *drillRun) start(ctx context.Context) error {
	pgDir, redisDir := filepath.Join(d.tmp, "pg"), filepath.Join(d.tmp, "redis")
	for _, dir := range []string{pgDir, redisDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	pgAddr, err := freeAddr()
	if err != nil {
		return err
	}
	_, pgPort, _ := strings.Cut(pgAddr, ":")
	if d.pg, err = startPrivatePostgres(ctx, d.logDir, pgDir, pgPort); err != nil {
		return err
	}
	redisAddr, err := freeAddr()
	if err != nil {
		return err
	}
	if d.redis, err = startPrivateRedis(d.logDir, redisDir, redisAddr); err != nil {
		return err
	}
	if d.pgProxy, err = faultproxy.New("127.0.0.1:" + pgPort); err != nil {
		return err
	}
	if d.originAddr, err = freeAddr(); err != nil {
		return err
	}
	if d.edgeAddr, err = freeAddr(); err != nil {
		return err
	}
	// Both services reach Postgres through the proxy, so a drill can slow it.
	dbURL := "postgres://postgres@" + d.pgProxy.Addr() + "/postgres?sslmode=disable"
	common := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=redis://" + redisAddr + "/0", "REBOUND_LOG_LEVEL=warn",
		"REBOUND_API_TOKENS=" + drillToken, "REBOUND_PUBLIC_URL=http://" + d.edgeAddr, "REBOUND_DB_MAX_CONNS=10"}
	d.originArgs = []string{"origin", "-env", ""}
	d.originEnv = append(common, "REBOUND_ORIGIN_ADDR="+d.originAddr)
	if err := d.startOrigin(ctx); err != nil {
		return err
	}
	// The edge believes X-Forwarded-For from the load generator's address
	// (the "proxy") and limits each client to the default 100 requests/s.
	d.edgeEnv = append(common, "REBOUND_EDGE_ADDR="+d.edgeAddr, "REBOUND_TRUSTED_PROXIES=127.0.0.1/32")
	d.superviseEdge()
	if err := waitHealthy(ctx, d.currentEdge(), "http://"+d.edgeAddr+"/health"); err != nil {
		return err
	}
	return d.seed(ctx)
}

func (d *drillRun) startOrigin(ctx context.Context) (err error) {
	d.origin, err = startHealthy(ctx, "drill-origin", d.logDir, d.rebound, d.originArgs, d.originEnv, "http://"+d.originAddr+"/health")
	return err
}

// superviseEdge runs the edge and restarts it one second after it dies, as
// `make run` does, until stopAll.
func (d *drillRun) superviseEdge() {
	d.stopSupervisor, d.supervisorDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(d.supervisorDone)
		for {
			p, err := startProc("drill-edge", d.logDir, d.rebound, []string{"edge", "-env", ""}, d.edgeEnv...)
			if err != nil {
				return
			}
			d.edgeMu.Lock()
			d.edge = p
			d.edgeMu.Unlock()
			select {
			case <-d.stopSupervisor:
				p.stop()
				return
			case <-p.done:
			}
			select {
			case <-d.stopSupervisor:
				return
			case <-time.After(time.Second):
			}
		}
	}()
	for d.currentEdge() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

func (d *drillRun) currentEdge() *proc {
	d.edgeMu.Lock()
	defer d.edgeMu.Unlock()
	return d.edge
}

func (d *drillRun) stopAll() {
	if d.stopSupervisor != nil {
		close(d.stopSupervisor)
		<-d.supervisorDone
	}
	if d.origin != nil {
		d.origin.stop()
	}
	if d.pgProxy != nil {
		d.pgProxy.Close()
	}
	if d.redis != nil {
		d.redis.stop()
	}
	if d.pg != nil {
		d.pg.stop()
	}
}

// seed imports the links through the origin (into Postgres and Redis).
func (d *drillRun) seed(ctx context.Context) error {
	n, err := d.importLinks(ctx, "d", drillLinks, nil)
	if err != nil || n != drillLinks {
		return fmt.Errorf("seed %d links: imported %d: %v", drillLinks, n, err)
	}
	return nil
}

// importLinks imports n links with codes prefix+i; started, when not nil,
// is closed once the upload is streaming.
func (d *drillRun) importLinks(ctx context.Context, prefix string, n int, started chan<- struct{}) (int64, error) {
	out, err := uploadLinks(ctx, d.originAddr, drillToken, n, "short_code,original_url", func(dst []byte, i int) []byte {
		return fmt.Appendf(dst, "%s%d,https://example.com/drill/%d\n", prefix, i, i)
	}, started)
	return out.Imported, err
}

// A drill is a name, its fault, and what to do when the fault starts; the
// returned function ends the fault.
type drill struct {
	name, fault string
	apply       func(ctx context.Context, res *drillResult) (end func())
}

func (d *drillRun) drills() []drill {
	return []drill{
		{name: "Postgres killed", fault: "kill -9 of the postmaster; restarted 4 s later (crash recovery)",
			apply: func(ctx context.Context, res *drillResult) func() {
				if err := d.pg.kill9(); err != nil {
					res.Notes = append(res.Notes, err.Error())
				}
				return func() {
					if err := d.pg.start(ctx); err != nil {
						res.Notes = append(res.Notes, err.Error())
					}
				}
			}},
		{name: "Redis killed", fault: "kill -9 of redis-server (append-only, fsync always); restarted 4 s later",
			apply: func(ctx context.Context, res *drillResult) func() {
				d.redis.kill9()
				return func() {
					if err := d.redis.start(); err != nil {
						res.Notes = append(res.Notes, err.Error())
					}
				}
			}},
		{name: "Postgres slow", fault: "200 ms added to every Postgres packet, for both services, for 4 s",
			apply: func(context.Context, *drillResult) func() {
				d.pgProxy.SetLatency(200 * time.Millisecond)
				return func() { d.pgProxy.SetLatency(0) }
			}},
		{name: "Postgres connections full", fault: "every free Postgres connection taken by an outsider for 4 s",
			apply: func(ctx context.Context, res *drillResult) func() {
				conns := d.fillConnections(ctx)
				res.Notes = append(res.Notes, fmt.Sprintf("%d connections taken", len(conns)))
				return func() {
					for _, c := range conns {
						c.Close(ctx)
					}
				}
			}},
		{name: "Edge killed", fault: "kill -9 of the edge; its supervisor restarts it after 1 s, as make run does",
			apply: func(ctx context.Context, res *drillResult) func() {
				e := d.currentEdge()
				_ = e.cmd.Process.Kill()
				<-e.done
				res.Notes = append(res.Notes, "clicks still in the killed edge's memory (up to one 100 ms flush) are lost by design")
				return func() {}
			}},
		{name: "Origin killed", fault: "kill -9 of the origin while it stores clicks; restarted at the fault's end",
			apply: func(ctx context.Context, res *drillResult) func() {
				_ = d.origin.cmd.Process.Kill()
				<-d.origin.done
				res.Notes = append(res.Notes, "the killed origin's unacknowledged click batches are taken over 30 s after their delivery")
				return func() {
					if err := d.startOrigin(ctx); err != nil {
						res.Notes = append(res.Notes, err.Error())
					}
				}
			}},
		{name: "Origin stopped during an import", fault: "SIGTERM to the origin 1 s into a 50,000-link CSV import; restarted at the fault's end",
			apply: func(ctx context.Context, res *drillResult) func() {
				started := make(chan struct{})
				imported := make(chan struct{})
				var n int64
				var err error
				go func() {
					defer close(imported)
					n, err = d.importLinks(ctx, "imp", 50_000, started)
				}()
				<-started
				time.Sleep(time.Second)
				d.origin.stop()
				<-imported
				return func() {
					if serr := d.startOrigin(ctx); serr != nil {
						res.Notes = append(res.Notes, serr.Error())
					}
					present := d.count(ctx, `SELECT count(*) FROM urls WHERE short_code LIKE 'imp%'`)
					switch {
					case err != nil:
						res.Notes = append(res.Notes, fmt.Sprintf("the import got no answer (%v); %d rows were committed before the stop", shortErr(err), present))
					default:
						res.WritesAccepted += n
						res.WritesLost += max(0, n-present)
						res.Notes = append(res.Notes, fmt.Sprintf("the import finished during the graceful stop: %d rows reported, %d present", n, present))
					}
				}
			}},
		{name: "Random-code flood", fault: "4 s of unknown random codes from 16 more connections and 10,000 addresses",
			apply: func(ctx context.Context, res *drillResult) func() {
				before := d.edgeMetric("rebound_edge_cache_lookups_total", "tier", "postgres")
				flood := d.flood(ctx, func(rnd *rand.Rand, dst []byte) ([]byte, int) {
					return strconv.AppendUint(append(dst, "/zz"...), rnd.Uint64(), 36), 0
				}, func(rnd *rand.Rand, h *fasthttp.RequestHeader) {
					h.Set("X-Forwarded-For", clientAddr(300_000+rnd.IntN(10_000)))
				})
				return func() {
					r := <-flood
					after := d.edgeMetric("rebound_edge_cache_lookups_total", "tier", "postgres")
					res.FiveXX += fiveXX(r)
					res.ClicksAccepted += redirects(r) // none expected: every code is unknown
					res.Notes = append(res.Notes, fmt.Sprintf("flood: %d requests (%s), %0.f Postgres lookups", r.Requests, bench.StatusSummary(r), after-before))
				}
			}},
		{name: "100,000 distinct clients", fault: "4 s from 16 more connections, each request from one of 100,000 addresses via the trusted proxy",
			apply: func(ctx context.Context, res *drillResult) func() {
				rssBefore, _ := d.currentEdge().peakRSS()
				flood := d.flood(ctx, pickDrill, func(rnd *rand.Rand, h *fasthttp.RequestHeader) {
					h.Set("X-Forwarded-For", clientAddr(rnd.IntN(100_000)))
				})
				return func() {
					r := <-flood
					rss, _ := d.currentEdge().peakRSS()
					res.FiveXX += fiveXX(r)
					res.ClicksAccepted += redirects(r) // stored like the steady load's
					res.Notes = append(res.Notes, fmt.Sprintf("flood: %d requests (%s); edge peak RSS %.0f MB before, %.0f MB after",
						r.Requests, bench.StatusSummary(r), float64(rssBefore)/1e6, float64(rss)/1e6))
				}
			}},
	}
}

// pickDrill: nine requests in ten for a hot link (cached in the edge's
// process, class 0), one for any seeded link (mostly not, class 1).
func pickDrill(rnd *rand.Rand, dst []byte) ([]byte, int) {
	if rnd.IntN(10) > 0 {
		return strconv.AppendInt(append(dst, "/d"...), int64(rnd.IntN(100)), 10), 0
	}
	return strconv.AppendInt(append(dst, "/d"...), int64(100+rnd.IntN(drillLinks-100)), 10), 1
}

// clientAddr is the i-th client address of the drills: 10.x.y.z.
func clientAddr(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
}

// run applies one drill under steady load and measures it.
func (d *drillRun) run(ctx context.Context, dr drill) drillResult {
	res := drillResult{Name: dr.name, Fault: dr.fault}
	storedBefore := d.count(ctx, `SELECT COALESCE(sum(clicks), 0) FROM url_click_daily`)
	writesBefore := d.count(ctx, `SELECT count(*) FROM urls WHERE title = 'drill-write'`)
	steady := bench.Load{Addr: d.edgeAddr, Conns: 32, Duration: drillLength, Pick: pickDrill, Seed: uint64(len(d.results) + 1),
		Header: browserHeaders, Window: [2]time.Duration{faultStart, faultEnd},
		Decorate: func(rnd *rand.Rand, h *fasthttp.RequestHeader) {
			h.Set("X-Forwarded-For", clientAddr(200_000+rnd.IntN(steadyClients)))
		}}
	writes := bench.Load{Addr: d.originAddr, Conns: 4, Duration: drillLength, Rate: 20, Method: "POST", Seed: 9,
		Header: map[string]string{"Authorization": "Bearer " + drillToken},
		Pick:   func(*rand.Rand, []byte) ([]byte, int) { return []byte("/urls"), 0 },
		Body: func(rnd *rand.Rand, dst []byte) []byte {
			return fmt.Appendf(dst, `{"original_url":"https://example.com/w/%d","title":"drill-write"}`, rnd.Uint64())
		},
		OK: func(s int) bool { return s == http.StatusCreated }}
	loadDone, writesDone := make(chan bench.Result, 1), make(chan bench.Result, 1)
	loadStart := time.Now()
	go func() { loadDone <- bench.Run(ctx, steady) }()
	go func() { writesDone <- bench.Run(ctx, writes) }()
	time.Sleep(faultStart)
	end := dr.apply(ctx, &res)
	time.Sleep(time.Until(loadStart.Add(faultEnd)))
	end()
	load, w := <-loadDone, <-writesDone

	res.Requests = load.Requests
	res.Cached, res.FailedCached = load.Sent[0], load.Failed[0]
	res.Uncached, res.FailedUncached = load.Sent[1], load.Failed[1]
	res.FiveXX += fiveXX(load)
	res.WindowP99 = load.WindowP99
	res.Recovered = formatRecovery(recoveryTime(load, faultEnd))
	// Accepted writes: each 201 is a link that must be in Postgres.
	res.WritesAccepted += w.Status[http.StatusCreated]
	present := d.count(ctx, `SELECT count(*) FROM urls WHERE title = 'drill-write'`) - writesBefore
	res.WritesLost += max(0, w.Status[http.StatusCreated]-present)
	// Accepted clicks: each redirect answered (the floods' were added by
	// their drills); wait for them to be stored.
	res.ClicksAccepted += redirects(load)
	stored, _ := waitClicksStored(ctx, d.pg.url(), storedBefore+res.ClicksAccepted, 30*time.Second, 45*time.Second)
	res.ClicksLost = max(0, res.ClicksAccepted-(stored-storedBefore))
	res.ClicksTwice = max(0, stored-storedBefore-res.ClicksAccepted)
	res.Rollups = d.rollupsAgree(ctx)
	return res
}

// rollupsAgree checks that every count of the clicks stored says the same:
// the raw clicks, every link's hourly and daily rollups, and the per-link
// daily counters.
func (d *drillRun) rollupsAgree(ctx context.Context) string {
	raw := d.count(ctx, `SELECT count(*) FROM clicks`)
	hourly := d.count(ctx, `SELECT COALESCE(sum(clicks), 0) FROM click_rollups WHERE url_id = 0 AND dim = 0`)
	daily := d.count(ctx, `SELECT COALESCE(sum(clicks), 0) FROM click_rollups_daily WHERE url_id = 0 AND dim = 0`)
	counters := d.count(ctx, `SELECT COALESCE(sum(clicks), 0) FROM url_click_daily`)
	if raw == hourly && hourly == daily && daily == counters && raw >= 0 {
		return fmt.Sprintf("yes (%d)", raw)
	}
	return fmt.Sprintf("**no**: raw %d, hourly %d, daily %d, counters %d", raw, hourly, daily, counters)
}

// flood runs 16 more connections of pick for the fault's duration.
func (d *drillRun) flood(ctx context.Context, pick bench.Picker, decorate func(*rand.Rand, *fasthttp.RequestHeader)) <-chan bench.Result {
	out := make(chan bench.Result, 1)
	go func() {
		out <- bench.Run(ctx, bench.Load{Addr: d.edgeAddr, Conns: 16, Duration: faultEnd - faultStart, Pick: pick,
			Decorate: decorate, Seed: 77, OK: func(int) bool { return true }})
	}()
	return out
}

// fillConnections opens connections to the private Postgres (directly)
// until it refuses more.
func (d *drillRun) fillConnections(ctx context.Context) []*pgx.Conn {
	var conns []*pgx.Conn
	for range 200 {
		c, err := pgx.Connect(ctx, d.pg.url())
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	return conns
}

// count runs a count query on the private Postgres directly; -1 on error.
func (d *drillRun) count(ctx context.Context, q string) int64 {
	for range 20 {
		conn, err := pgx.Connect(ctx, d.pg.url())
		if err == nil {
			var n int64
			err = conn.QueryRow(ctx, q).Scan(&n)
			conn.Close(ctx)
			if err == nil {
				return n
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return -1
}

// edgeMetric sums the samples of the edge's metric name whose label named
// label has value.
func (d *drillRun) edgeMetric(name, label, value string) float64 {
	resp, err := http.Get("http://" + d.edgeAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0
	}
	sum := 0.0
	for _, m := range fams[name].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label && lp.GetValue() == value {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// redirects counts a result's redirect answers: each is a click accepted.
func redirects(r bench.Result) int64 {
	var n int64
	for s, c := range r.Status {
		if bench.IsRedirect(s) {
			n += c
		}
	}
	return n
}

func fiveXX(r bench.Result) int64 {
	var n int64
	for s, c := range r.Status {
		if s >= 500 {
			n += c
		}
	}
	return n
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// badInputDrill sends the hostile corpus to every route of both services.
func (d *drillRun) badInputDrill(ctx context.Context) {
	routes, err := d.documentedRoutes()
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill: bad input: routes:", err)
	}
	for _, t := range []struct {
		service, addr string
		corpus        []hostile.Request
		jsonAlways    bool
	}{
		{"edge", d.edgeAddr, hostile.EdgeCorpus(), true},
		{"origin", d.originAddr, hostile.OriginCorpus(routes, drillToken), false},
	} {
		r := badInputResult{Service: t.service, Requests: len(t.corpus), Statuses: map[int]int{}}
		for _, req := range t.corpus {
			if ctx.Err() != nil {
				return
			}
			ans, err := hostile.Send(t.addr, req.Raw, req.MayClose, 10*time.Second)
			switch {
			case err != nil:
				r.Statuses[-1]++ // no answer in time: a hang
			case ans.Closed:
				r.Statuses[0]++
			default:
				r.Statuses[ans.Status]++
			}
			switch hostile.Judge(req, ans, err, t.jsonAlways) {
			case hostile.ServerError:
				r.FiveXX++
			case hostile.NetHTTPVersion:
				r.NetHTTP++
			case hostile.NotJSON:
				r.NotJSON++
			}
		}
		fmt.Fprintf(os.Stderr, "drill: bad input to the %s: %d requests, %d 5xx (and %d from net/http), %d errors not JSON\n",
			t.service, r.Requests, r.FiveXX, r.NetHTTP, r.NotJSON)
		d.badInput = append(d.badInput, r)
	}
}

// documentedRoutes reads the origin's OpenAPI document: the corpus goes to
// every route it documents.
func (d *drillRun) documentedRoutes() ([][2]string, error) {
	resp, err := http.Get("http://" + d.originAddr + "/openapi.json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, err
	}
	var routes [][2]string
	for path, ops := range doc.Paths {
		for key := range ops {
			switch m := strings.ToUpper(key); m { // a path item also holds "parameters", "summary"...
			case "GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS":
				routes = append(routes, [2]string{m, path})
			}
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i][1]+routes[i][0] < routes[j][1]+routes[j][0] })
	return routes, nil
}
