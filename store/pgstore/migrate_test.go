package pgstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/pgstore"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	const replicas = 8
	opts := &pgstore.Options{Schema: "replicas"}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		pool := pgtest.NewPool(t, url)
		wg.Go(func() { errs[i] = pgstore.Migrate(t.Context(), pool, opts) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	pool := pgtest.NewPool(t, url)
	var applied int
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM replicas.migrations").Scan(&applied))
	require.Equal(t, pgstore.SchemaVersion, applied, "each migration applied once")
	s, err := pgstore.New(t.Context(), pool, opts)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, pgstore.Migrate(t.Context(), pool, opts), "migrating again does nothing")
}

func TestNewNeedsMigratedSchema(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	ctx := t.Context()
	_, err := pgstore.New(ctx, pool, nil)
	require.ErrorIs(t, err, pgstore.ErrSchemaVersion, "not migrated")

	require.NoError(t, pgstore.Migrate(ctx, pool, nil))
	s, err := pgstore.New(ctx, pool, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	var tables int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", pgstore.DefaultSchema).Scan(&tables))
	require.Equal(t, 6, tables, "the default schema holds the tables")

	_, err = pool.Exec(ctx, "INSERT INTO writeback.migrations (version, name) VALUES (99, 'from the future')")
	require.NoError(t, err)
	require.ErrorIs(t, pgstore.Migrate(ctx, pool, nil), pgstore.ErrSchemaVersion, "a newer schema is not touched")
	_, err = pgstore.New(ctx, pool, nil)
	require.ErrorIs(t, err, pgstore.ErrSchemaVersion)
}

func TestOptions(t *testing.T) {
	t.Parallel()
	var ie *store.InputError
	for _, opts := range []*pgstore.Options{
		{Schema: "Upper"},
		{Schema: `x"; DROP TABLE y; --`},
		{Schema: "a_name_that_is_far_too_long_for_a_schema_of_writeback"},
		{Committers: -1},
	} {
		require.ErrorAs(t, pgstore.Migrate(context.Background(), nil, opts), &ie, "%+v", opts)
		_, err := pgstore.New(context.Background(), nil, opts)
		require.ErrorAs(t, err, &ie, "%+v", opts)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	s := openStore(t, pgtest.URL(t), newSchema())
	ctx := t.Context()
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing again does nothing")
	op := store.Operation{ID: "op-1", InstallationID: "inst-1"}
	require.ErrorIs(t, s.Enqueue(ctx, op, store.Job{ID: "op-1"}, nil, t0), store.ErrClosed)
	_, err := s.Claim(ctx, t0, t0, 10)
	require.ErrorIs(t, err, store.ErrClosed)
	_, err = s.Subscribe(ctx)
	require.ErrorIs(t, err, store.ErrClosed)
}
