package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
	"github.com/writebackhq/writeback/store/pgstore"
)

// openError reports a store that cannot be opened: exit code 5.
type openError struct{ err error }

func (e *openError) Error() string { return e.err.Error() }

func (e *openError) Unwrap() error { return e.err }

// lockWait is how long open waits for a locked bbolt file.
const lockWait = 500 * time.Millisecond

// session is an open store and an operations-only Writer on it.
type session struct {
	w     *writeback.Writer
	st    store.Interface
	close func()
}

// open opens the store the flags (or the environment) name.
func (c *cli) open() (*session, error) {
	db, pg := c.db, c.pg
	if db == "" && pg == "" {
		db, pg = c.getenv("WRITEBACK_DB"), c.getenv("WRITEBACK_PG_URL")
	}
	var (
		st    store.Interface
		close func()
	)
	switch {
	case db != "" && pg != "":
		return nil, usagef("give one store: --db or --pg, not both")
	case db != "":
		s, err := openBolt(db)
		if err != nil {
			return nil, &openError{err}
		}
		st, close = s, func() { _ = s.Close() }
	case pg != "":
		s, pool, err := c.openPG(pg)
		if err != nil {
			return nil, &openError{err}
		}
		st, close = s, func() { _ = s.Close(); pool.Close() }
	default:
		return nil, usagef("no store: give --db FILE (a bbolt file) or --pg URL (a PostgreSQL store)")
	}
	w, err := writeback.NewWriter(&writeback.Config{Store: st})
	if err != nil {
		close()
		return nil, err
	}
	return &session{w: w, st: st, close: close}, nil
}

// openBolt opens an existing bbolt store file.
func openBolt(path string) (*boltstore.Store, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no store file at %s", path)
		}
		return nil, err
	}
	s, err := boltstore.Open(path, &boltstore.Options{LockTimeout: lockWait})
	if errors.Is(err, boltstore.ErrLocked) {
		return nil, fmt.Errorf(`%s is locked: a running app has it open, and bbolt lets one process open a file at a time.
Stop the app and run this again, or look at the running app through its own
ops page if it mounts one, or move the app to the PostgreSQL store
(store/pgstore), which the app's replicas and this command share
(writeback --pg URL)`, path)
	}
	return s, err
}

// openPG opens a PostgreSQL store, which must have been migrated by the
// app (pgstore.Migrate): this command never changes the schema.
func (c *cli) openPG(url string) (*pgstore.Store, *pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("--pg: %w", err)
	}
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(c.ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	s, err := pgstore.New(c.ctx, pool, &pgstore.Options{Schema: c.schema, Committers: 1})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("open the PostgreSQL store: %w", err)
	}
	return s, pool, nil
}
