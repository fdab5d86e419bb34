package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

// TestCommitSharesTransaction hands one batch of calls to a committer:
// they land in one transaction, and the calls refused for a taken key or an
// existing ID fail alone, exactly as they would one by one.
func TestCommitSharesTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	opts := &Options{Schema: "batch"}
	require.NoError(t, Migrate(ctx, pool, opts))
	s, err := New(ctx, pool, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })

	now := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	taken := store.IdempotencyKey{Key: "taken", OperationID: "old", ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, s.CreateOperation(ctx, store.Operation{ID: "old"}, &taken, now))

	key := func(k, op string) *store.IdempotencyKey {
		return &store.IdempotencyKey{Key: k, OperationID: op, ExpiresAt: now.Add(time.Hour)}
	}
	enqueue := func(id string, k *store.IdempotencyKey) *request {
		return &request{ctx: ctx, create: newCreateCall(store.Operation{ID: id}, &store.Job{ID: id, RunAt: now}, k, now)}
	}
	join := func(member, newID string) *request {
		return &request{ctx: ctx, join: &joinCall{req: store.JoinRequest{
			Group: "g", Member: []byte(member), MaxSize: 2, Now: now,
			NewOperation: store.Operation{ID: newID}, NewJob: store.Job{ID: newID, Group: "g", RunAt: now.Add(time.Minute)},
		}}}
	}
	batch := []*request{
		enqueue("op-1", key("k1", "op-1")),
		enqueue("op-2", key("taken", "op-2")),
		enqueue("old", key("k3", "old")),
		enqueue("op-4", key("k1", "op-4")),
		join("m1", "g-1"),
		join("m2", "g-2"),
		join("m3", "g-3"),
		{ctx: ctx, create: newCreateCall(store.Operation{ID: "op-7"}, nil, nil, now)},
	}
	for _, r := range batch {
		r.done = make(chan error, 1)
	}
	s.commit(batch)
	errs := make([]error, len(batch))
	for i, r := range batch {
		errs[i] = <-r.done
	}

	var exists *store.KeyExistsError
	require.NoError(t, errs[0])
	require.ErrorAs(t, errs[1], &exists)
	require.Equal(t, "old", exists.Existing.OperationID)
	require.ErrorIs(t, errs[2], store.ErrConflict, "the ID exists")
	require.False(t, errors.As(errs[2], &exists), "its key was free")
	require.ErrorAs(t, errs[3], &exists, "the key the first call reserved in this batch")
	require.Equal(t, "op-1", exists.Existing.OperationID)
	for _, i := range []int{4, 5, 6, 7} {
		require.NoError(t, errs[i])
	}
	require.Equal(t, store.JoinResult{JobID: "g-1", Size: 1, Opened: true}, batch[4].join.res)
	require.Equal(t, store.JoinResult{JobID: "g-1", Size: 2, Sealed: true}, batch[5].join.res)
	require.Equal(t, store.JoinResult{JobID: "g-3", Size: 1, Opened: true}, batch[6].join.res)

	_, err = s.IdempotencyKey(ctx, "k3", now)
	require.ErrorIs(t, err, store.ErrNotFound, "a refused call reserved nothing")
	for _, id := range []string{"op-2", "op-4"} {
		_, err = s.Operation(ctx, id)
		require.ErrorIs(t, err, store.ErrNotFound, "a refused call stored nothing")
	}

	var txs int
	require.NoError(t, pool.QueryRow(ctx, `
SELECT count(DISTINCT xmin::text) FROM (
	SELECT xmin FROM batch.operations WHERE id IN ('op-1', 'g-1', 'g-3', 'op-7')
	UNION ALL SELECT xmin FROM batch.jobs
	UNION ALL SELECT xmin FROM batch.members
	UNION ALL SELECT xmin FROM batch.idempotency_keys WHERE key = 'k1'
) rows`).Scan(&txs))
	require.Equal(t, 1, txs, "one transaction for the whole batch")
}
