package pgstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

// TestIdempotencyKeysOnPostgreSQL: a keyed write is stored under a key
// PostgreSQL can hold, and a repeat returns it without writing again, in
// sync and async mode.
func TestIdempotencyKeysOnPostgreSQL(t *testing.T) {
	t.Parallel()
	st := openStore(t, pgtest.URL(t), newSchema())
	fake := fakeHubSpot()
	w := replica(t, st, fake, nil)
	ctx := t.Context()
	for _, mode := range []writeback.Mode{writeback.ModeSync, writeback.ModeAsync} {
		opts := &writeback.WriteOpts{Mode: mode, IdempotencyKey: "order-1 " + mode.String()}
		rec := writeback.Record{Fields: map[string]any{"email": "a@x.com"}}
		first, err := w.Create(ctx, replicaTarget, rec, opts)
		require.NoError(t, err)
		again, err := w.Create(ctx, replicaTarget, rec, opts)
		require.NoError(t, err)
		require.Equal(t, first.OperationID, again.OperationID)
	}
	require.Len(t, fake.Writes(), 1, "the sync write, once; the async one is queued")
}
