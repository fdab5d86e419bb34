package writeback_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

// TestQueueEntry follows async operations through the queue: queued, an
// open group with its records, in flight, waiting for a retry after a rate
// limit, interrupted, and gone once finished.
func TestQueueEntry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := memstore.New()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		calls := &callLog{errs: []error{rateLimited(time.Minute)}}
		fake.FailCalls(calls.rule)
		e := setup(t, asyncContacts(fake), withStore(st))
		start := time.Now()

		id := fake.Seed("contacts", map[string]any{"email": "ada@example.com"})
		res, err := e.w.Update(ctx, contacts, writeback.Record{ID: id, Fields: map[string]any{"email": "ada@example.org"}}, async)
		require.NoError(t, err)
		q, err := e.w.QueueEntry(ctx, res.OperationID)
		require.NoError(t, err)
		require.True(t, start.Equal(q.At), "due at once")
		q.At = time.Time{}
		require.Equal(t, &writeback.QueueEntry{OperationID: res.OperationID, Provider: "hubspot", State: writeback.QueueQueued}, q)

		grouped := &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Hour}}
		var group string
		for _, email := range []string{"g1@example.com", "g2@example.com"} {
			res, err := e.w.Create(ctx, contacts, contact(email), grouped)
			require.NoError(t, err)
			group = res.OperationID
		}
		q, err = e.w.QueueEntry(ctx, group)
		require.NoError(t, err)
		require.Equal(t, writeback.QueueOpen, q.State)
		require.Equal(t, 2, q.Records)
		require.True(t, start.Add(time.Hour).Equal(q.At), "written at its flush time")

		// A claim by a Writer still running it.
		jobs, err := st.Claim(ctx, start, start.Add(time.Minute), 1)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		q, err = e.w.QueueEntry(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.QueueInFlight, q.State)
		require.Equal(t, 1, q.Claims)
		require.True(t, start.Add(time.Minute).Equal(q.At), "its lease's end")

		time.Sleep(2 * time.Minute)
		q, err = e.w.QueueEntry(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.QueueInterrupted, q.State, "the lease ended without an outcome")

		// A started Writer runs it again (an update is resent): rate
		// limited once, then retried.
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		synctest.Wait()
		require.Len(t, calls.calls(), 1)
		q, err = e.w.QueueEntry(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.QueueRetrying, q.State)
		require.Equal(t, 2, q.Claims)
		require.False(t, q.At.Before(time.Now().Add(time.Minute)), "not before the provider's Retry-After")

		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		_, err = e.w.QueueEntry(ctx, res.OperationID)
		require.ErrorIs(t, err, writeback.ErrNotFound, "a finished operation is not queued")
		_, err = e.w.QueueEntry(ctx, "missing")
		require.ErrorIs(t, err, writeback.ErrNotFound)
	})
}
