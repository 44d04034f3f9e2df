package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/postgres"
)

const keysSynopsis = `keys [-env FILE] create -name NAME -role admin|author|reader [-user ID] [-expires RFC3339]
       rebound keys [-env FILE] list
       rebound keys [-env FILE] revoke ID

Manages API keys in DATABASE_URL. create prints the new key once: only its
hash is stored. A revoked key is refused by every origin within a second.`

func runKeys(ctx context.Context, env cmdEnv, args []string) error {
	fs, envFile := newFlags(env, "keys", keysSynopsis)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("want create, list or revoke")
	}
	verb, rest := fs.Arg(0), fs.Args()[1:]
	cfg, _, err := loadConfig(env, *envFile)
	if err != nil {
		return err
	}
	open := func() (*postgres.DB, error) {
		if err := postgres.Migrate(ctx, cfg.DatabaseURL); err != nil {
			return nil, err
		}
		return postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 2})
	}
	switch verb {
	case "create":
		return createKey(ctx, env, rest, open)
	case "list":
		if len(rest) != 0 {
			return fmt.Errorf("list takes no arguments")
		}
		db, err := open()
		if err != nil {
			return err
		}
		defer db.Close()
		return listKeys(ctx, env, db)
	case "revoke":
		if len(rest) != 1 {
			return fmt.Errorf("want the id of the key to revoke")
		}
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || id < 1 {
			return fmt.Errorf("key id %q is not a positive whole number", rest[0])
		}
		db, err := open()
		if err != nil {
			return err
		}
		defer db.Close()
		k, err := db.RevokeKey(ctx, id)
		if err != nil {
			return fmt.Errorf("revoke key %d: %w", id, err)
		}
		fmt.Fprintf(env.stdout, "revoked key %d (%s, %s...)\n", k.ID, k.Name, k.Prefix)
		return nil
	}
	return fmt.Errorf("unknown keys command %q: want create, list or revoke", verb)
}

func createKey(ctx context.Context, env cmdEnv, args []string, open func() (*postgres.DB, error)) error {
	fs, _ := newFlags(env, "keys create", keysSynopsis)
	name := fs.String("name", "", "what the key is for (required)")
	role := fs.String("role", "", "admin, author or reader (required)")
	user := fs.Int64("user", 0, "the user whose links an author key manages")
	expires := fs.String("expires", "", "when the key stops working, RFC 3339 (default never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	in := postgres.NewKey{Name: *name}
	var err error
	if err = rebound.ValidateKeyName(*name); err != nil {
		return fmt.Errorf("-name: %s", rebound.ErrorMessage(err))
	}
	if in.Role, err = rebound.ParseRole(*role, "-role"); err != nil {
		return fmt.Errorf("%s", rebound.ErrorMessage(err))
	}
	if *user != 0 {
		in.UserID = user
	}
	if *expires != "" {
		t, err := time.Parse(time.RFC3339, *expires)
		if err != nil {
			return fmt.Errorf("-expires %q is not an RFC 3339 time such as 2027-01-31T00:00:00Z", *expires)
		}
		in.ExpiresAt = &t
	}
	if err := rebound.ValidateNewKey(in.Role, in.UserID, in.ExpiresAt, time.Now()); err != nil {
		return fmt.Errorf("%s", rebound.ErrorMessage(err))
	}
	db, err := open()
	if err != nil {
		return err
	}
	defer db.Close()
	var key string
	key, in.Hash, in.Prefix = rebound.IssueKey()
	k, err := db.CreateKey(ctx, in)
	if err != nil {
		return fmt.Errorf("create key: %s", rebound.ErrorMessage(err))
	}
	out, _ := json.Marshal(struct {
		rebound.APIKey
		Key string `json:"key"`
	}{k, key})
	fmt.Fprintf(env.stdout, "%s\n", out)
	return nil
}

func listKeys(ctx context.Context, env cmdEnv, db *postgres.DB) error {
	tw := tabwriter.NewWriter(env.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tUSER\tPREFIX\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
	for page := 1; ; page++ {
		keys, total, err := db.ListKeys(ctx, rebound.Page{Page: page, PerPage: rebound.MaxPerPage})
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		for _, k := range keys {
			user := "-"
			if k.UserID != nil {
				user = strconv.FormatInt(*k.UserID, 10)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s...\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Role, user, k.Prefix,
				k.CreatedAt.Format(time.RFC3339), when(k.LastUsedAt), when(k.ExpiresAt), when(k.RevokedAt))
		}
		if int64(page*rebound.MaxPerPage) >= total {
			break
		}
	}
	return tw.Flush()
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
