package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// proc is a child process the benchmark started and must stop.
type proc struct {
	name     string
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
	err      error         // its exit status, once done is closed
	stopOnce sync.Once
}

// startProc runs bin with args and extra environment (which wins over the
// inherited one), its output going to logDir/name.log.
func startProc(name, logDir, bin string, args []string, env ...string) (*proc, error) {
	logf, err := os.OpenFile(filepath.Join(logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

// stop sends SIGTERM and waits for a graceful exit, killing after 15 s.
// Calls after the first do nothing.
func (p *proc) stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// peakRSS returns the largest resident set the process has had, in bytes.
func (p *proc) peakRSS() (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read status of %s: %w", p.name, err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// startHealthy starts a service (see startProc) and waits until healthURL
// answers 200.
func startHealthy(ctx context.Context, name, logDir, bin string, args, env []string, healthURL string) (*proc, error) {
	p, err := startProc(name, logDir, bin, args, env...)
	if err != nil {
		return nil, err
	}
	return p, waitHealthy(ctx, p, healthURL)
}

// waitHealthy polls url until it answers 200, the process dies, or 60 s pass.
func waitHealthy(ctx context.Context, p *proc, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was healthy: %v (see its log)", p.name, p.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s not healthy at %s after 60s", p.name, url)
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// freshDatabase drops and recreates the database named db on the server of
// adminURL, and returns adminURL pointing at it.
func freshDatabase(ctx context.Context, adminURL, db string) (string, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{db}.Sanitize()
	for _, q := range []string{"DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)", "CREATE DATABASE " + ident} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	u.Path = "/" + db
	return u.String(), nil
}

// clearPrefix deletes every Redis key under prefix.
func clearPrefix(ctx context.Context, redisURL, prefix string) error {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("parse REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return fmt.Errorf("clear redis: %w", err)
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("clear redis: %w", err)
		}
	}
	return iter.Err()
}

// hostPort returns the host:port of a postgres:// or redis:// URL.
func hostPort(raw string, defaultPort string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse %q: %w", raw, err)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), defaultPort), nil
	}
	return u.Host, nil
}

// withHost returns raw with its host:port replaced.
func withHost(raw, hostport string) string {
	u, _ := url.Parse(raw) // parsed by hostPort already
	u.Host = hostport
	return u.String()
}

// waitPort waits until something listens on addr.
func waitPort(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %v", addr, d)
}

// importResult is the origin's answer to a bulk import.
type importResult struct {
	Imported, Skipped int64
}

// uploadLinks streams n links to the origin's bulk import as one text/csv
// upload, never holding the file: row appends line i (without the header).
// started, when not nil, is closed once the first chunk is on its way.
func uploadLinks(ctx context.Context, originAddr, token string, n int, header string, row func(dst []byte, i int) []byte,
	started chan<- struct{}) (importResult, error) {
	pr, pw := io.Pipe()
	go func() {
		buf := append(append(make([]byte, 0, 64<<10), header...), '\n')
		for i := range n {
			buf = row(buf, i)
			if len(buf) > 60<<10 {
				if _, err := pw.Write(buf); err != nil {
					return
				}
				buf = buf[:0]
				if started != nil {
					close(started)
					started = nil
				}
			}
		}
		_, _ = pw.Write(buf)
		_ = pw.Close()
	}()
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+originAddr+"/urls/bulk", pr)
	if err != nil {
		return importResult{}, err
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return importResult{}, fmt.Errorf("import links: %w", err)
	}
	defer resp.Body.Close()
	var out importResult
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("import links: status %d, %v", resp.StatusCode, err)
	}
	return out, nil
}

// waitClicksStored waits until Postgres holds want clicks, for as long as
// the count keeps growing: it gives up when it has not grown for stall, or
// after limit in all. How long storing takes depends on how many clicks
// the run left in the stream (about 20 million after the edge-alone
// scenarios) and on the machine; the figure it serves is that none is lost.
// It returns the clicks stored and the time it waited.
func waitClicksStored(ctx context.Context, dbURL string, want int64, stall, limit time.Duration) (int64, time.Duration) {
	start := time.Now()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(ctx)
		}
	}()
	stored := int64(-1)
	grew := start
	for time.Since(start) < limit && time.Since(grew) < stall && ctx.Err() == nil {
		if conn == nil {
			conn, _ = pgx.Connect(ctx, dbURL)
		}
		if conn != nil {
			var now int64
			err := conn.QueryRow(ctx, `SELECT COALESCE(sum(clicks), 0) FROM url_click_daily`).Scan(&now)
			if err == nil {
				if now > stored {
					stored, grew = now, time.Now()
				}
				if stored >= want {
					break
				}
			} else {
				conn.Close(ctx)
				conn = nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return stored, time.Since(start)
}
