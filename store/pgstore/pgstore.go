package pgstore

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/writebackhq/writeback/store"
)

// DefaultSchema is the schema that holds the tables when
// [Options.Schema] is empty.
const DefaultSchema = "writeback"

// DefaultCommitters is the number of group-commit transactions that may be
// in flight at once when [Options.Committers] is zero.
const DefaultCommitters = 2

// Options configures [New] and [Migrate]. A nil *Options means the
// defaults.
type Options struct {
	// Schema names the PostgreSQL schema that holds the store's tables:
	// lower-case letters, digits and underscores, at most 48 bytes. Empty
	// means DefaultSchema. Stores in different schemas of one database are
	// independent.
	Schema string
	// Committers is how many group-commit transactions may be in flight at
	// once; each holds one pool connection while it commits. Zero means
	// DefaultCommitters. Keep it below the pool's MaxConns, so that claims
	// and reads find a connection.
	Committers int

	// noGroupCommit runs every Enqueue, CreateOperation and Join in a
	// transaction of its own on the caller's goroutine; the benchmarks'
	// baseline.
	noGroupCommit bool
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// resolve validates opts and fills in the defaults.
func (opts *Options) resolve() (Options, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if !schemaName.MatchString(o.Schema) {
		return o, &store.InputError{Field: "opts.Schema", Reason: "must be lower-case letters, digits and underscores, at most 48 bytes"}
	}
	if o.Committers == 0 {
		o.Committers = DefaultCommitters
	}
	if o.Committers < 1 {
		return o, &store.InputError{Field: "opts.Committers", Reason: "must not be negative"}
	}
	return o, nil
}

// Store is a [store.Interface] and a [store.Notifier] on PostgreSQL. It is
// safe for concurrent use, and any number of Stores, in any number of
// processes, may share one schema. Close it when done; it never closes the
// pool it was given.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	// schema is the quoted schema name; channel the notification channel.
	schema, channel string

	// ctx ends when the Store is closed; the committers' transactions and
	// the subscriptions run under it.
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards handing requests to the committers against Close, as in
	// boltstore: senders hold it shared, Close exclusively.
	mu     sync.RWMutex
	closed atomic.Bool
	reqs   chan *request
	quit   chan struct{}
	// wg counts the committers and the subscriptions' goroutines.
	wg sync.WaitGroup
}

var (
	_ store.Interface = (*Store)(nil)
	_ store.Notifier  = (*Store)(nil)
)

// New returns a Store on pool, in the schema named by opts, and starts its
// committers. The schema must have been migrated to [SchemaVersion] by
// [Migrate] (New fails with [ErrSchemaVersion] otherwise); New does not
// migrate, so that the application decides when its schema changes.
func New(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Store, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	schema := quote(o.Schema)
	var exists bool
	err = pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", schema+".migrations").Scan(&exists)
	if err != nil {
		return nil, fmt.Errorf("pgstore: new: %w", err)
	}
	v := 0
	if exists {
		if v, err = schemaVersion(ctx, pool, schema); err != nil {
			return nil, err
		}
	}
	if v != SchemaVersion {
		return nil, fmt.Errorf("%w: schema %s is at version %d, this writeback needs %d (run pgstore.Migrate)", ErrSchemaVersion, o.Schema, v, SchemaVersion)
	}
	s := &Store{
		pool:    pool,
		opts:    o,
		schema:  schema,
		channel: o.Schema + "_events",
		reqs:    make(chan *request, maxBatch),
		quit:    make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if !o.noGroupCommit {
		for range o.Committers {
			s.wg.Go(s.commitLoop)
		}
	}
	return s, nil
}

// Close stops the committers (fails the calls still waiting for them with
// [store.ErrClosed]), ends every subscription and waits for them. Calls
// after Close fail with store.ErrClosed; closing again does nothing. The
// pool stays open.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil
	}
	s.closed.Store(true)
	s.mu.Unlock()
	close(s.quit)
	s.cancel()
	s.wg.Wait()
	return nil
}

// begin checks ctx and that the Store is open, before a call starts.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// sql returns query with {schema} replaced by the Store's schema.
func (s *Store) sql(query string) string { return strings.ReplaceAll(query, "{schema}", s.schema) }

// querier is what a pool, a connection and a transaction share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// nonNil returns b, or an empty slice for nil: the columns are NOT NULL,
// and pgx sends a nil slice as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// wrap prefixes err with what failed, unless it is nil.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("pgstore: "+format+": %w", append(args, err)...)
}
