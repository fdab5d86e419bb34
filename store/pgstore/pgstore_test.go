package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/pgstore"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
	"github.com/writebackhq/writeback/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}

var schemaSeq atomic.Int64

// newSchema returns a schema name not used before in this test binary.
func newSchema() string { return fmt.Sprintf("s%d", schemaSeq.Add(1)) }

// openStore migrates schema on a new pool to url and returns a Store on
// it, closed (with its pool) when t ends.
func openStore(t testing.TB, url, schema string) *pgstore.Store {
	t.Helper()
	pool := pgtest.NewPool(t, url)
	opts := &pgstore.Options{Schema: schema}
	require.NoError(t, pgstore.Migrate(context.Background(), pool, opts))
	s, err := pgstore.New(context.Background(), pool, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) store.Interface { return openStore(t, url, newSchema()) })

	// Reopening is a new Store, with a pool of its own, on the same schema:
	// what a restarted process does.
	var mu sync.Mutex
	schemas := map[string]string{}
	storetest.RunReopen(t, func(t *testing.T, path string) (store.Interface, func() error) {
		mu.Lock()
		schema, ok := schemas[path]
		if !ok {
			schema = newSchema()
			schemas[path] = schema
		}
		mu.Unlock()
		pool, err := pgxpool.New(context.Background(), url)
		require.NoError(t, err)
		opts := &pgstore.Options{Schema: schema}
		require.NoError(t, pgstore.Migrate(context.Background(), pool, opts))
		s, err := pgstore.New(context.Background(), pool, opts)
		require.NoError(t, err)
		return s, func() error {
			defer pool.Close()
			return s.Close()
		}
	})
}

func TestShared(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	storetest.RunShared(t, func(t *testing.T) (a, b store.Interface) {
		schema := newSchema()
		return openStore(t, url, schema), openStore(t, url, schema)
	})
}
