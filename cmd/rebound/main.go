// Command rebound runs Rebound's services and tools:
//
//	rebound origin                      the admin API
//	rebound edge                        the redirect server
//	rebound migrate                     apply database migrations
//	rebound import users|urls|events F  bulk-import a CSV file
//	rebound keys create|list|revoke     manage API keys
//	rebound healthcheck -url URL        probe a /health endpoint (containers)
//
// Configuration comes from the environment and an optional .env file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/reboundhq/rebound/config"
	"github.com/reboundhq/rebound/internal/timerslack"
)

const usage = `usage: rebound <command> [flags]

commands:
  origin     serve the admin API (REBOUND_ORIGIN_ADDR, default :8081)
  edge       serve redirects (REBOUND_EDGE_ADDR, default :8080)
  migrate    apply database migrations to DATABASE_URL
  import     bulk-import a CSV file: rebound import users|urls|events FILE.csv
  keys       manage API keys: rebound keys create|list|revoke
  healthcheck  exit 0 if a /health URL answers 200 (for container health checks)

Run "rebound <command> -h" for a command's flags. Configuration is read from
the environment and from a .env file; see .env.example.
`

func main() {
	os.Exit(runEnv(os.Args[1:], cmdEnv{stdout: os.Stdout, stderr: os.Stderr, reexec: timerslack.Reexec}))
}

// dependencyCheckInterval is how often each service pings Postgres and Redis
// for the rebound_dependency_up gauge.
const dependencyCheckInterval = 5 * time.Second

// command is one subcommand: it parses its flags and runs.
type command func(ctx context.Context, env cmdEnv, args []string) error

// cmdEnv is what every subcommand gets.
type cmdEnv struct {
	stdout, stderr io.Writer
	// reexec replaces the process with a new run of it whose threads have
	// the given timer slack (timerslack.Reexec); nil where the process must
	// not be replaced, as in tests.
	reexec func(slack time.Duration) error
}

var commands = map[string]command{
	"origin":  runOrigin,
	"edge":    runEdge,
	"migrate": runMigrate,
	"import":  runImport,
	"keys":    runKeys,
	// healthcheck is not in SPEC section 5: container health checks need it.
	"healthcheck": runHealthcheck,
}

// run runs a command in this process without ever replacing it, as tests do.
func run(args []string, stdout, stderr io.Writer) int {
	return runEnv(args, cmdEnv{stdout: stdout, stderr: stderr})
}

func runEnv(args []string, env cmdEnv) int {
	stdout, stderr := env.stdout, env.stderr
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "rebound: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd(ctx, env, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "rebound %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// newFlags returns a flag set with the -env flag every command shares.
func newFlags(env cmdEnv, name, synopsis string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("rebound "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	envFile := fs.String("env", ".env", "file of KEY=value lines read for variables the environment lacks")
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: rebound %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs, envFile
}

// loadConfig reads the configuration and builds the JSON logger.
func loadConfig(env cmdEnv, envFile string) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(envFile)
	if err != nil {
		return cfg, nil, fmt.Errorf("configuration: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(env.stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return cfg, log, nil
}
