package boltstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// enqueueRequest builds the committer request of an Enqueue of id.
func enqueueRequest(ctx context.Context, id string) *request {
	now := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	op := store.Operation{ID: id, InstallationID: "inst-1"}
	job := store.Job{ID: id, RunAt: now}
	return &request{ctx: ctx, done: make(chan error, 1), fn: func(tx *bolt.Tx) error {
		if err := checkCreate(tx, op.ID, "", now); err != nil {
			return err
		}
		if err := putOperation(tx, newOpWrite(op), nil); err != nil {
			return err
		}
		return putJob(tx, job, nil)
	}}
}

func TestCommitIsolatesFailures(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(filepath.Join(t.TempDir(), "store.db"), nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	require.NoError(t, s.CreateOperation(ctx, store.Operation{ID: "taken"}, nil, time.Time{}))

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tooLong := strings.Repeat("x", bolt.MaxKeySize+1)
	batch := []*request{
		enqueueRequest(ctx, "a"),
		enqueueRequest(ctx, "taken"),
		enqueueRequest(canceled, "c"),
		enqueueRequest(ctx, tooLong), // bbolt refuses a put half-way
		enqueueRequest(ctx, "e"),
	}
	require.NoError(t, s.commit(batch))

	errs := make([]error, len(batch))
	for i, r := range batch {
		errs[i] = <-r.done
	}
	require.NoError(t, errs[0])
	require.ErrorIs(t, errs[1], store.ErrConflict)
	require.ErrorIs(t, errs[2], context.Canceled)
	require.ErrorIs(t, errs[3], berrors.ErrKeyTooLarge)
	require.NoError(t, errs[4])

	for id, want := range map[string]error{"a": nil, "c": store.ErrNotFound, "e": nil} {
		_, err := s.Operation(ctx, id)
		if want == nil {
			require.NoError(t, err, id)
		} else {
			require.ErrorIs(t, err, want, id)
		}
	}
	jobs, err := s.Claim(ctx, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), 10)
	require.NoError(t, err)
	require.Len(t, jobs, 2, "a and e, each once")
}

func TestWriteWaitHonoursContext(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "store.db"), nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()

	// Hold bbolt's write lock so the committer cannot start a transaction.
	blocker, err := s.db.Begin(true)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		op := store.Operation{ID: "op-1", InstallationID: "inst-1"}
		done <- s.CreateOperation(ctx, op, nil, time.Time{})
	}()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled, "the caller stops waiting")

	require.NoError(t, blocker.Rollback())
	require.NoError(t, s.CreateOperation(t.Context(), store.Operation{ID: "op-2"}, nil, time.Time{}))
	_, err = s.Operation(t.Context(), "op-1")
	require.ErrorIs(t, err, store.ErrNotFound, "a call whose ctx ended before its transaction began is not applied")
}
