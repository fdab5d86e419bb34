package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

// enqueue stores a plain job due at runAt with its operation.
func enqueue(t *testing.T, s store.Interface, id string, runAt time.Time) store.Job {
	t.Helper()
	job := newJob(id, runAt)
	require.NoError(t, s.Enqueue(t.Context(), newOp(id, "inst-1"), job, nil, t0))
	return job
}

var queueTests = []test{
	{"ClaimOrder", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		c := enqueue(t, s, "c", at(3))
		b := enqueue(t, s, "b", at(1))
		a := enqueue(t, s, "a", at(1))
		later := enqueue(t, s, "d", at(10))
		requireNextDue(t, s, at(1), true)

		lease := at(65)
		jobs, err := s.Claim(ctx, at(5), lease, 10)
		require.NoError(t, err)
		for _, j := range []*store.Job{&a, &b, &c} {
			j.RunAt, j.Attempts, j.Leased = lease, 1, true
		}
		requireJobs(t, []store.Job{a, b, c}, jobs)
		requireNextDue(t, s, at(10), true)

		require.Empty(t, claimIDs(t, s, at(5), at(100), 10), "leased jobs are not due")
		require.Empty(t, claimIDs(t, s, at(9), at(100), 10), "not yet due")

		jobs, err = s.Claim(ctx, lease, at(200), 10)
		require.NoError(t, err)
		later.RunAt, later.Attempts, later.Leased = at(200), 1, true
		a.RunAt, a.Attempts, a.Leased = at(200), 2, true
		b.RunAt, b.Attempts, b.Leased = at(200), 2, true
		c.RunAt, c.Attempts, c.Leased = at(200), 2, true
		requireJobs(t, []store.Job{later, a, b, c}, jobs)
	}},
	{"ClaimBoundaryAndLimit", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		for i := range 5 {
			enqueue(t, s, opID(i), at(10))
		}
		require.Empty(t, claimIDs(t, s, at(10).Add(-time.Nanosecond), at(60), 10))
		require.Equal(t, []string{opID(0), opID(1)}, claimIDs(t, s, at(10), at(60), 2), "RunAt == now is due")
		require.Equal(t, []string{opID(2), opID(3), opID(4)}, claimIDs(t, s, at(10), at(60), 10))
		jobs, err := s.Claim(ctx, at(1000), at(2000), 0)
		require.NoError(t, err)
		require.Empty(t, jobs)
	}},
	{"EnqueueStoresOperation", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		op := newOp(opID(1), "inst-1")
		key := store.IdempotencyKey{Key: "k", RequestHash: "h", OperationID: opID(1), ExpiresAt: at(60)}
		require.NoError(t, s.Enqueue(ctx, op, newJob(opID(1), t0), &key, t0))
		requireOp(t, s, op)
		got, err := s.IdempotencyKey(ctx, "k", t0)
		require.NoError(t, err)
		requireKey(t, key, got)
		require.Equal(t, [][]string{{opID(1)}}, listAll(t, s, "inst-1", 10))
		requireMembers(t, s, opID(1))
	}},
	{"EnqueueRefused", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		key := store.IdempotencyKey{Key: "k", RequestHash: "h", OperationID: opID(1), ExpiresAt: at(60)}
		require.NoError(t, s.Enqueue(ctx, newOp(opID(1), "inst-1"), newJob(opID(1), t0), &key, t0))

		second := key
		second.OperationID = opID(2)
		err := s.Enqueue(ctx, newOp(opID(2), "inst-1"), newJob(opID(2), t0), &second, at(30))
		var exists *store.KeyExistsError
		require.ErrorAs(t, err, &exists)
		require.Equal(t, opID(1), exists.Existing.OperationID)
		require.ErrorIs(t, err, store.ErrConflict)

		err = s.Enqueue(ctx, newOp(opID(1), "inst-1"), newJob(opID(1), at(-5)), nil, t0)
		require.ErrorIs(t, err, store.ErrConflict, "the ID exists")

		_, err = s.Operation(ctx, opID(2))
		require.ErrorIs(t, err, store.ErrNotFound)
		require.Equal(t, []string{opID(1)}, claimIDs(t, s, at(1000), at(2000), 10), "refused enqueues queued nothing")

		require.NoError(t, s.Enqueue(ctx, newOp(opID(3), "inst-1"), newJob(opID(3), t0), &second, at(60)), "expired key")
	}},
	{"Reschedule", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		job := enqueue(t, s, opID(1), t0)
		enqueue(t, s, opID(2), at(50))
		require.Equal(t, []string{opID(1)}, claimIDs(t, s, t0, at(30), 10))

		op := newOp(opID(1), "inst-1")
		op.Data = []byte("attempt 1 failed")
		require.NoError(t, s.Reschedule(ctx, op, lease(opID(1), 1), at(100)))
		requireOp(t, s, op)
		requireNextDue(t, s, at(50), true)
		require.Equal(t, []string{opID(2)}, claimIDs(t, s, at(99), at(1000), 10), "moved past its lease")

		jobs, err := s.Claim(ctx, at(100), at(130), 10)
		require.NoError(t, err)
		job.RunAt, job.Attempts, job.Leased = at(130), 2, true
		requireJobs(t, []store.Job{job}, jobs)

		require.ErrorIs(t, s.Reschedule(ctx, newOp(opID(9), "inst-1"), lease(opID(9), 1), t0), store.ErrNotFound)
		require.NoError(t, s.CreateOperation(ctx, newOp(opID(8), "inst-1"), nil, t0))
		stale := newOp(opID(8), "inst-1")
		stale.Data = []byte("not stored")
		require.ErrorIs(t, s.Reschedule(ctx, stale, lease(opID(8), 0), t0), store.ErrLeaseLost, "no job")
		requireOp(t, s, newOp(opID(8), "inst-1"))
	}},
	{"Complete", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		enqueue(t, s, opID(1), t0)
		enqueue(t, s, opID(2), at(5))
		require.Equal(t, []string{opID(1)}, claimIDs(t, s, t0, at(30), 10))

		op := newOp(opID(1), "inst-1")
		op.Data = []byte("success")
		require.NoError(t, s.Complete(ctx, op, lease(opID(1), 1)))
		requireOp(t, s, op)
		requireNextDue(t, s, at(5), true)
		_, err := s.Members(ctx, opID(1))
		require.ErrorIs(t, err, store.ErrNotFound)
		require.Equal(t, []string{opID(2)}, claimIDs(t, s, at(1000), at(2000), 10), "the lease of a completed job never expires")

		again := op
		again.Data = []byte("success again")
		require.ErrorIs(t, s.Complete(ctx, again, lease(opID(1), 1)), store.ErrLeaseLost, "a completed job has no lease")
		requireOp(t, s, op)

		require.ErrorIs(t, s.Complete(ctx, newOp(opID(9), "inst-1"), lease(opID(2), 1)), store.ErrNotFound)
		require.Equal(t, []string{opID(2)}, claimIDs(t, s, at(2000), at(3000), 10), "a refused completion keeps the job")

		require.NoError(t, s.Complete(ctx, newOp(opID(2), "inst-1"), lease(opID(2), 2)))
		requireNextDue(t, s, time.Time{}, false)
	}},
	{"LeaseFencing", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		enqueue(t, s, opID(1), t0)
		first, err := s.Claim(ctx, t0, at(30), 10)
		require.NoError(t, err)
		require.Len(t, first, 1)
		require.Equal(t, lease(opID(1), 1), first[0].Lease())

		// The lease runs out and another holder claims the job.
		second, err := s.Claim(ctx, at(31), at(60), 10)
		require.NoError(t, err)
		require.Len(t, second, 1)
		require.Equal(t, lease(opID(1), 2), second[0].Lease())

		stale := newOp(opID(1), "inst-1")
		stale.Data = []byte("from the holder that lost its lease")
		require.ErrorIs(t, s.Complete(ctx, stale, first[0].Lease()), store.ErrLeaseLost)
		require.ErrorIs(t, s.Reschedule(ctx, stale, first[0].Lease(), at(500)), store.ErrLeaseLost)
		require.ErrorIs(t, s.Extend(ctx, first[0].Lease(), at(500)), store.ErrLeaseLost)
		requireOp(t, s, newOp(opID(1), "inst-1"))
		requireNextDue(t, s, at(60), true)

		// The current holder's heartbeat moves the lease.
		require.NoError(t, s.Extend(ctx, second[0].Lease(), at(90)))
		requireNextDue(t, s, at(90), true)
		require.Empty(t, claimIDs(t, s, at(89), at(200), 10), "an extended lease is not claimed")

		done := newOp(opID(1), "inst-1")
		done.Data = []byte("done")
		require.NoError(t, s.Complete(ctx, done, second[0].Lease()))
		requireOp(t, s, done)
		require.ErrorIs(t, s.Extend(ctx, second[0].Lease(), at(500)), store.ErrLeaseLost, "the job is gone")
		requireNextDue(t, s, time.Time{}, false)
	}},
	{"NextDue", func(t *testing.T, s store.Interface) {
		requireNextDue(t, s, time.Time{}, false)
		enqueue(t, s, opID(1), at(30))
		requireNextDue(t, s, at(30), true)
		enqueue(t, s, opID(2), at(-30))
		requireNextDue(t, s, at(-30), true)
		require.Len(t, claimIDs(t, s, t0, at(60), 10), 1)
		requireNextDue(t, s, at(30), true)
	}},
	{"ZeroRunAt", func(t *testing.T, s store.Interface) {
		enqueue(t, s, opID(2), t0)
		enqueue(t, s, opID(1), time.Time{})
		requireNextDue(t, s, time.Time{}, true)
		require.Equal(t, []string{opID(1), opID(2)}, claimIDs(t, s, t0, at(60), 10))
	}},
}
