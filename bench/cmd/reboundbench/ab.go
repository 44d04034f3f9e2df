package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reboundhq/rebound/bench"
	"github.com/reboundhq/rebound/cache"
)

// The A/B mode (-ab) compares edge variants with each other and with the
// bare server, round by round in the same run, and reports where the CPU
// goes: each process's CPU time per request (the server measured, Redis,
// and the load generator, which is this process). One `make bench` run is
// one draw from this machine's spread; a change to the edge worth a few
// percent shows up only as a consistent order over many alternating rounds.
//
//	reboundbench -ab 'now=;noslack=REBOUND_EDGE_TIMER_SLACK=0' [-rounds 6] [-ab-pick hot] [-ab-rate 40000]
//	reboundbench -ab 'now=;before=@bin/rebound.before'   # against another build

// abPrefix is the Redis key prefix make ab seeds its links under.
const abPrefix = "rbab:"

// abTarget is one server of an A/B run.
type abTarget struct {
	name string
	env  []string // for an edge, added to its environment
	bin  string   // for an edge, its rebound binary when not the run's
	addr string
	proc *proc
}

// parseABTargets reads "name=VAR=value,VAR=value;name2=@path" into edge
// variants: each has a name and what sets it apart: environment variables
// (none for the edge as configured by default) and, after an @, another
// rebound binary (an earlier commit's, say).
func parseABTargets(spec string) ([]abTarget, error) {
	var ts []abTarget
	for _, part := range strings.Split(spec, ";") {
		name, env, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" || name == "bare" {
			return nil, fmt.Errorf("-ab: %q is not name=VAR=value,... (a name other than bare)", part)
		}
		t := abTarget{name: name}
		if env != "" {
			for _, kv := range strings.Split(env, ",") {
				if bin, ok := strings.CutPrefix(kv, "@"); ok && bin != "" && t.bin == "" {
					t.bin = bin
					continue
				}
				if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
					return nil, fmt.Errorf("-ab: %q in %q is not VAR=value", kv, name)
				}
				t.env = append(t.env, kv)
			}
		}
		if slices.ContainsFunc(ts, func(o abTarget) bool { return o.name == name }) {
			return nil, fmt.Errorf("-ab: %q named twice", name)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// userHZ is the unit of the CPU times in /proc/PID/stat: USER_HZ, 100 on
// every architecture Linux runs Go on.
const userHZ = 100

// cpuTime returns the user plus system CPU time a process has used.
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis (utime and stime are the 14th
	// and 15th fields of the line, the 12th and 13th after it).
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc stat: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// redisPID returns the process id Redis reports, if that process is on
// this machine; 0 otherwise (its CPU is then not counted).
func redisPID(ctx context.Context, rdb *redis.Client) int {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			pid, _ := strconv.Atoi(strings.TrimSpace(v))
			if comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil && strings.HasPrefix(string(comm), "redis") {
				return pid
			}
		}
	}
	return 0
}

// abRun is one A/B run: its settings, then what it started and measured.
type abRun struct {
	rebound, logDir      string
	links, conns, rounds int
	warmup, duration     time.Duration
	hot                  bool    // ask for the first 100 links only
	rate                 float64 // open loop at this rate; 0 for a closed loop
	prefix               string  // Redis key prefix of the seeded links and the edges
	out                  io.Writer

	dbURL, redisURL         string
	targets                 []abTarget // the bare server first
	rdb                     *redis.Client
	redisPID                int
	ratios                  map[string][]float64 // each edge's ratio to the bare server, per round
	firstEdgeWins, compared map[string]int       // rounds in which an edge beat the first one, of those compared
}

// run seeds the links, starts the bare server and the edge variants of
// spec, runs the rounds and prints the summary, then stops everything and
// drops the seeded links.
func (a *abRun) run(ctx context.Context, spec string) error {
	edges, err := parseABTargets(spec)
	if err != nil {
		return err
	}
	a.rounds = max(1, a.rounds)
	a.dbURL, a.redisURL = os.Getenv("DATABASE_URL"), os.Getenv("REDIS_URL")
	a.ratios, a.firstEdgeWins, a.compared = map[string][]float64{}, map[string]int{}, map[string]int{}
	if a.dbURL == "" || a.redisURL == "" {
		return errors.New("DATABASE_URL and REDIS_URL must be set (make bench sets them)")
	}
	opt, err := redis.ParseURL(a.redisURL)
	if err != nil {
		return fmt.Errorf("parse REDIS_URL: %w", err)
	}
	a.rdb = redis.NewClient(opt)
	defer a.rdb.Close()
	a.redisPID = redisPID(ctx, a.rdb)
	defer func() {
		if err := clearPrefix(context.Background(), a.redisURL, a.prefix); err != nil {
			fmt.Fprintln(os.Stderr, "ab: clear the seeded links:", err)
		}
	}()
	if err := a.seed(ctx); err != nil {
		return err
	}
	if err := a.start(ctx, edges); err != nil {
		return err
	}
	defer func() {
		for _, t := range a.targets {
			t.proc.stop()
		}
	}()
	for round := range a.rounds {
		a.round(ctx, round)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	a.summary()
	return nil
}

// seed writes the benchmark links straight into Redis: the edges find every
// one there, so Postgres is never read for them.
func (a *abRun) seed(ctx context.Context) error {
	return bench.SeedCache(ctx, cache.New(a.rdb, cache.Options{Prefix: a.prefix, LinkTTL: 6 * time.Hour}), a.links)
}

// start runs the bare server and one edge per variant.
func (a *abRun) start(ctx context.Context, edges []abTarget) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	bare := abTarget{name: "bare"}
	if bare.addr, err = freeAddr(); err != nil {
		return err
	}
	if bare.proc, err = startProc("ab-bare", a.logDir, self, []string{"-serve-baseline", bare.addr, "-links", strconv.Itoa(a.links)}); err != nil {
		return err
	}
	a.targets = append(a.targets, bare)
	if err := waitPort(bare.addr, 30*time.Second); err != nil {
		return err
	}
	for _, t := range edges {
		if t.addr, err = freeAddr(); err != nil {
			return err
		}
		env := append([]string{"DATABASE_URL=" + a.dbURL, "REDIS_URL=" + a.redisURL, "REBOUND_REDIS_PREFIX=" + a.prefix,
			"REBOUND_EDGE_ADDR=" + t.addr, "REBOUND_LOG_LEVEL=warn",
			"REBOUND_RATE_LIMIT=1000000000", "REBOUND_RATE_BURST=1000000000"}, t.env...)
		bin := a.rebound
		if t.bin != "" {
			bin = t.bin
		}
		if t.proc, err = startHealthy(ctx, "ab-"+t.name, a.logDir, bin, []string{"edge", "-env", ""}, env, "http://"+t.addr+"/health"); err != nil {
			return err
		}
		a.targets = append(a.targets, t)
	}
	return nil
}

func (a *abRun) load(addr string) bench.Load {
	n := a.links
	if a.hot {
		n = hotLinks
	}
	return bench.Load{Addr: addr, Conns: a.conns, Rate: a.rate, Pick: pickUniform(n), Header: browserHeaders}
}

// round runs every target once, in order, each after a warm-up, with a
// fresh request sequence per run.
func (a *abRun) round(ctx context.Context, round int) {
	var bareRPS, firstEdgeRPS float64
	self := os.Getpid()
	for i, t := range a.targets {
		l := a.load(t.addr)
		l.Duration, l.Rate, l.Seed = a.warmup, 0, rand.Uint64()
		bench.Run(ctx, l)
		l = a.load(t.addr)
		l.Duration, l.Seed = a.duration, rand.Uint64()
		pids := []int{t.proc.cmd.Process.Pid, a.redisPID, self}
		before := cpuTimes(pids)
		res := bench.Run(ctx, l)
		after := cpuTimes(pids)
		perReq := make([]float64, len(pids))
		for k := range pids {
			perReq[k] = float64(after[k]-before[k]) / float64(time.Microsecond) / float64(max(1, res.Requests))
		}
		// The edges ship every click to the stream, which no origin reads
		// here: drop it so Redis does not grow round after round.
		_ = a.rdb.Del(ctx, a.prefix+"clicks").Err()
		ratio := 1.0
		if i == 0 {
			bareRPS = res.RPS
		} else {
			ratio = res.RPS / bareRPS
			a.ratios[t.name] = append(a.ratios[t.name], ratio)
			if i == 1 {
				firstEdgeRPS = res.RPS
			} else {
				a.compared[t.name]++
				if res.RPS > firstEdgeRPS {
					a.firstEdgeWins[t.name]++
				}
			}
		}
		fmt.Fprintf(a.out, "round %d %-10s %8.0f req/s %.3fx p99 %6.2f ms failed %d | CPU µs a request: server %5.1f redis %4.1f load generator %5.1f\n",
			round, t.name, res.RPS, ratio, res.P99, res.FailedTotal(), perReq[0], perReq[1], perReq[2])
	}
}

// cpuTimes reads each process's CPU time; 0 for one it cannot read (or pid 0).
func cpuTimes(pids []int) []time.Duration {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		if pid > 0 {
			out[i], _ = cpuTime(pid)
		}
	}
	return out
}

func (a *abRun) summary() {
	first := a.targets[1].name
	for _, t := range a.targets[1:] {
		rs := slices.Sorted(slices.Values(a.ratios[t.name]))
		line := fmt.Sprintf("%-10s ratio to bare: median %.3fx, rounds %.3f", t.name, median(rs), rs)
		if t.name != first {
			line += fmt.Sprintf("; faster than %s in %d rounds of %d", first, a.firstEdgeWins[t.name], a.compared[t.name])
		}
		fmt.Fprintln(a.out, line)
	}
}

// median of sorted values.
func median(sorted []float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	m := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[m]
	}
	return (sorted[m-1] + sorted[m]) / 2
}
