package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// privateRedis is a redis-server of the drills' own, so they can kill -9 it.
// It keeps an append-only file fsynced on every write, as the compose file
// does, so what it acknowledged survives the kill.
type privateRedis struct {
	dir, addr, logDir string
	p                 *proc
}

func startPrivateRedis(logDir, dir, addr string) (*privateRedis, error) {
	r := &privateRedis{dir: dir, addr: addr, logDir: logDir}
	return r, r.start()
}

func (r *privateRedis) start() error {
	_, port, _ := strings.Cut(r.addr, ":")
	p, err := startProc("private-redis", r.logDir, "redis-server", []string{"--bind", "127.0.0.1", "--port", port,
		"--dir", r.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"})
	if err != nil {
		return err
	}
	r.p = p
	return waitPort(r.addr, 10*time.Second)
}

// kill9 kills the server without warning.
func (r *privateRedis) kill9() { _ = r.p.cmd.Process.Kill(); <-r.p.done }

func (r *privateRedis) stop() { r.p.stop() }

// privatePostgres is a Postgres cluster of the drills' own, in a temporary
// folder, run as the postgres OS user when the drills run as root.
type privatePostgres struct {
	dir, port, logDir, bin string
	asUser                 []string // runuser prefix, or nothing
	p                      *proc
}

func startPrivatePostgres(ctx context.Context, logDir, dir, port string) (*privatePostgres, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		return nil, fmt.Errorf("no postgres binary under /usr/lib/postgresql (install the postgresql package)")
	}
	sort.Strings(bins)
	pg := &privatePostgres{dir: dir, port: port, logDir: logDir, bin: filepath.Dir(bins[len(bins)-1])}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres OS user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("chown %s: %w", dir, err)
		}
		pg.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	initdb := append(append([]string{}, pg.asUser...), filepath.Join(pg.bin, "initdb"), "-D", dir, "-U", "postgres",
		"--auth=trust", "--no-sync")
	if out, err := exec.CommandContext(ctx, initdb[0], initdb[1:]...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	return pg, pg.start(ctx)
}

func (pg *privatePostgres) url() string {
	return "postgres://postgres@127.0.0.1:" + pg.port + "/postgres?sslmode=disable"
}

// start runs the postmaster and waits until it takes connections; after a
// kill -9 it first finishes crash recovery, and may need a retry while the
// old backends exit.
func (pg *privatePostgres) start(ctx context.Context) error {
	args := append(append([]string{}, pg.asUser...), filepath.Join(pg.bin, "postgres"), "-D", pg.dir, "-p", pg.port,
		"-k", pg.dir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=60")
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := startProc("private-postgres", pg.logDir, args[0], args[1:])
		if err != nil {
			return err
		}
		pg.p = p
		for time.Now().Before(deadline) {
			if conn, err := pgx.Connect(ctx, pg.url()); err == nil {
				conn.Close(ctx)
				return nil
			}
			select {
			case <-p.done: // exited: try again, old backends may still hold its memory
				goto retry
			case <-time.After(200 * time.Millisecond):
			}
		}
		return fmt.Errorf("private postgres did not start in 60s (see private-postgres.log)")
	retry:
		if time.Now().After(deadline) {
			return fmt.Errorf("private postgres kept exiting (see private-postgres.log)")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// kill9 kills the postmaster without warning; its backends notice and exit.
func (pg *privatePostgres) kill9() error {
	raw, err := os.ReadFile(filepath.Join(pg.dir, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("postmaster.pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(raw), "\n", 2)[0]))
	if err != nil {
		return fmt.Errorf("postmaster.pid: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 postmaster %d: %w", pid, err)
	}
	<-pg.p.done
	return nil
}

func (pg *privatePostgres) stop() { pg.p.stop() }
