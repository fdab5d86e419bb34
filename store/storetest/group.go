package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

var groupTests = []test{
	{"OpenAppendSeal", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		const g = "inst-1/contacts/create"
		first := joinRequest(g, "m1", "g-1", 3, t0)
		res, err := s.Join(ctx, first)
		require.NoError(t, err)
		require.Equal(t, store.JoinResult{JobID: "g-1", Size: 1, Opened: true}, res)
		requireOp(t, s, first.NewOperation)
		requireNextDue(t, s, at(60), true)

		res = join(t, s, g, "m2", "g-2", 3, at(1))
		require.Equal(t, store.JoinResult{JobID: "g-1", Size: 2}, res)
		_, err = s.Operation(ctx, "g-2")
		require.ErrorIs(t, err, store.ErrNotFound, "the new operation of a join into an open group is ignored")
		requireMembers(t, s, "g-1", "m1", "m2")
		require.Empty(t, claimIDs(t, s, at(59), at(120), 10), "not due before the flush time")

		res = join(t, s, g, "m3", "g-3", 3, at(2))
		require.Equal(t, store.JoinResult{JobID: "g-1", Size: 3, Sealed: true}, res)
		requireNextDue(t, s, at(2), true)

		res = join(t, s, g, "m4", "g-4", 3, at(3))
		require.Equal(t, store.JoinResult{JobID: "g-4", Size: 1, Opened: true}, res, "a sealed group takes no more members")
		requireMembers(t, s, "g-1", "m1", "m2", "m3")
		requireMembers(t, s, "g-4", "m4")

		jobs, err := s.Claim(ctx, at(3), at(63), 10)
		require.NoError(t, err)
		want := first.NewJob
		want.RunAt, want.Attempts, want.Leased = at(63), 1, true
		requireJobs(t, []store.Job{want}, jobs)
	}},
	{"OtherGroupsIndependent", func(t *testing.T, s store.Interface) {
		require.True(t, join(t, s, "a", "a1", "g-1", 2, t0).Opened)
		require.True(t, join(t, s, "b", "b1", "g-2", 2, t0).Opened)
		require.Equal(t, store.JoinResult{JobID: "g-1", Size: 2, Sealed: true}, join(t, s, "a", "a2", "g-3", 2, t0))
		require.Equal(t, store.JoinResult{JobID: "g-2", Size: 2, Sealed: true}, join(t, s, "b", "b2", "g-4", 2, t0))
		requireMembers(t, s, "g-1", "a1", "a2")
		requireMembers(t, s, "g-2", "b1", "b2")
	}},
	{"MaxSizeOne", func(t *testing.T, s store.Interface) {
		res := join(t, s, "g", "m1", "g-1", 1, at(7))
		require.Equal(t, store.JoinResult{JobID: "g-1", Size: 1, Opened: true, Sealed: true}, res)
		requireNextDue(t, s, at(7), true)
		require.True(t, join(t, s, "g", "m2", "g-2", 1, at(8)).Opened)
	}},
	{"ClaimSeals", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		join(t, s, "g", "m1", "g-1", 100, t0)
		join(t, s, "g", "m2", "g-2", 100, t0)
		jobs, err := s.Claim(ctx, at(60), at(120), 10)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		require.Equal(t, "g", jobs[0].Group)

		res := join(t, s, "g", "m3", "g-3", 100, at(61))
		require.Equal(t, store.JoinResult{JobID: "g-3", Size: 1, Opened: true}, res, "a claimed group takes no more members")
		requireMembers(t, s, "g-1", "m1", "m2")
		requireMembers(t, s, "g-3", "m3")
	}},
	{"RescheduleKeepsMembers", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		join(t, s, "g", "m1", "g-1", 100, t0)
		require.Len(t, claimIDs(t, s, at(60), at(120), 10), 1)
		require.NoError(t, s.Reschedule(ctx, newOp("g-1", "inst-1"), lease("g-1", 1), at(500)))
		requireMembers(t, s, "g-1", "m1")
		requireNextDue(t, s, at(500), true)
		require.True(t, join(t, s, "g", "m2", "g-2", 100, at(61)).Opened, "a rescheduled group stays sealed")
	}},
	{"CompleteRemovesGroup", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		join(t, s, "g", "m1", "g-1", 100, t0)
		join(t, s, "g", "m2", "g-2", 100, t0)
		done := newOp("g-1", "inst-1")
		done.Data = []byte("flushed")
		require.NoError(t, s.Complete(ctx, done, lease("g-1", 0)), "a group never claimed is completed with the lease of attempt 0")
		requireOp(t, s, done)
		_, err := s.Members(ctx, "g-1")
		require.ErrorIs(t, err, store.ErrNotFound)
		requireNextDue(t, s, time.Time{}, false)

		res := join(t, s, "g", "m3", "g-3", 100, at(1))
		require.Equal(t, store.JoinResult{JobID: "g-3", Size: 1, Opened: true}, res, "a completed group takes no more members")
		requireMembers(t, s, "g-3", "m3")
	}},
	{"JoinRefused", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		require.NoError(t, s.CreateOperation(ctx, newOp("g-1", "inst-1"), nil, t0))
		_, err := s.Join(ctx, joinRequest("g", "m1", "g-1", 10, t0))
		require.ErrorIs(t, err, store.ErrConflict, "the new group's ID exists")
		requireNextDue(t, s, time.Time{}, false)
		require.True(t, join(t, s, "g", "m1", "g-2", 10, t0).Opened, "the refused join opened nothing")
		requireMembers(t, s, "g-2", "m1")

		_, err = s.Join(ctx, joinRequest("g", "m2", "g-3", 0, t0))
		require.Error(t, err, "MaxSize below one")
		requireMembers(t, s, "g-2", "m1")
	}},
}
