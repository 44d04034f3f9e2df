package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/csvimport"
	"github.com/reboundhq/rebound/postgres"
)

func runMigrate(ctx context.Context, env cmdEnv, args []string) error {
	fs, envFile := newFlags(env, "migrate", "migrate [-env FILE]\n\nApplies every pending migration to DATABASE_URL.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, log, err := loadConfig(env, *envFile)
	if err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	log.Info("migrations applied")
	return nil
}

func runImport(ctx context.Context, env cmdEnv, args []string) error {
	fs, envFile := newFlags(env, "import", "import [-env FILE] users|urls|events FILE.csv\n\n"+
		"Streams a CSV file into Postgres (and imported links into Redis) and prints the result as JSON.\n"+
		"A file whose name ends in .gz is decompressed as it is read.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("want a kind (users, urls or events) and a file")
	}
	kind := csvimport.Kind(fs.Arg(0))
	if kind != csvimport.Users && kind != csvimport.Links && kind != csvimport.Events {
		return fmt.Errorf("unknown kind %q: want users, urls or events", fs.Arg(0))
	}
	cfg, log, err := loadConfig(env, *envFile)
	if err != nil {
		return err
	}
	f, err := os.Open(fs.Arg(1))
	if err != nil {
		return fmt.Errorf("open CSV: %w", err)
	}
	defer f.Close()
	var file io.Reader = f
	if strings.HasSuffix(fs.Arg(1), ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("open CSV %s: %w", fs.Arg(1), err)
		}
		file = zr
	}
	if err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := openCache(cfg)
	if err != nil {
		return err
	}
	defer c.Redis().Close()
	opts := csvimport.Options{ShortURLs: rebound.NewShortURLBase(cfg.PublicURL)}
	if kind == csvimport.Links {
		// Redis is a cache: when it is down the edges read Postgres. Once
		// it refuses a batch the rest are not tried, as the origin does:
		// each try against a Redis that stopped answering costs seconds.
		var refused error
		opts.Stored = func(ctx context.Context, links []rebound.Link) error {
			if refused != nil {
				return nil
			}
			if refused = c.StoreLinks(ctx, links...); refused != nil {
				log.Warn("imported links not cached; the rest of the import will not be either", "err", refused)
			}
			return nil
		}
	}
	res, err := csvimport.Import(ctx, db, kind, file, opts)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
