package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

// requireJob checks the job of operation id, times by instant.
func requireJob(t *testing.T, s store.Interface, want store.Job) {
	t.Helper()
	got, err := s.Job(t.Context(), want.ID)
	require.NoError(t, err)
	requireJobs(t, []store.Job{want}, []store.Job{got})
}

// requireNoJob checks that operation id has no job.
func requireNoJob(t *testing.T, s store.Interface, id string) {
	t.Helper()
	_, err := s.Job(t.Context(), id)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// cancelReq builds a cancel of operation id whose final record says data,
// from the record the caller read (prev).
func cancelReq(id, data string, prev []byte, members int, now time.Time) store.CancelRequest {
	op := newOp(id, "inst-1")
	op.Data = []byte(data)
	return store.CancelRequest{Op: op, Prev: prev, Members: members, Now: now}
}

// prevData is the Data newOp gives operation id.
func prevData(id string) []byte { return newOp(id, "inst-1").Data }

var opsTests = []test{
	{"ListEveryInstallation", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		for i := range 12 {
			require.NoError(t, s.CreateOperation(ctx, newOp(opID(12-i), []string{"inst-a", "inst-b", "inst-c"}[i%3]), nil, t0))
		}
		var want []string
		for i := 1; i <= 12; i++ {
			want = append(want, opID(i))
		}
		var got []string
		after := ""
		for {
			page, err := s.Operations(ctx, "", after, 5)
			require.NoError(t, err)
			for _, r := range page {
				got = append(got, r.ID)
				requireOps(t, []store.Operation{newOp(r.ID, r.InstallationID)}, []store.Operation{r})
			}
			if len(page) < 5 {
				break
			}
			after = page[len(page)-1].ID
		}
		require.Equal(t, want, got, "every installation's operations, in ID order")
		page, err := s.Operations(ctx, "", opID(10), 100)
		require.NoError(t, err)
		require.Len(t, page, 2)
		require.Len(t, listAll(t, s, "inst-a", 100)[0], 4, "one installation's still")
	}},
	{"JobAndLease", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		requireNoJob(t, s, opID(1))
		job := enqueue(t, s, opID(1), t0)
		requireJob(t, s, job)

		require.Len(t, claimIDs(t, s, t0, at(30), 10), 1)
		job.RunAt, job.Attempts, job.Leased = at(30), 1, true
		requireJob(t, s, job)

		require.NoError(t, s.Extend(ctx, job.Lease(), at(45)))
		job.RunAt = at(45)
		requireJob(t, s, job)

		require.NoError(t, s.Reschedule(ctx, newOp(opID(1), "inst-1"), job.Lease(), at(100)))
		job.RunAt, job.Leased = at(100), false
		requireJob(t, s, job)
		require.ErrorIs(t, s.Extend(ctx, job.Lease(), at(200)), store.ErrLeaseLost, "the lease ended with the reschedule")
		requireJob(t, s, job)

		require.NoError(t, s.Complete(ctx, newOp(opID(1), "inst-1"), job.Lease()))
		requireNoJob(t, s, opID(1))

		req := joinRequest("g", "m1", "g-1", 10, t0)
		_, err := s.Join(ctx, req)
		require.NoError(t, err)
		requireJob(t, s, req.NewJob)
	}},
	{"Renew", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		job := enqueue(t, s, opID(1), t0)
		require.Len(t, claimIDs(t, s, t0, at(30), 10), 1)
		job.RunAt, job.Attempts, job.Leased = at(30), 1, true
		sending := newOp(opID(1), "inst-1")
		sending.Data = []byte("about to send")
		require.NoError(t, s.Renew(ctx, sending, job.Lease(), at(90)))
		requireOp(t, s, sending)
		job.RunAt = at(90)
		requireJob(t, s, job)
		require.Empty(t, claimIDs(t, s, at(89), at(200), 10), "still leased")
		require.NoError(t, s.Extend(ctx, job.Lease(), at(100)), "the lease goes on")

		stale := newOp(opID(1), "inst-1")
		stale.Data = []byte("not stored")
		require.ErrorIs(t, s.Renew(ctx, stale, lease(opID(1), 0), at(500)), store.ErrLeaseLost)
		require.ErrorIs(t, s.Renew(ctx, newOp(opID(9), "inst-1"), lease(opID(9), 1), at(500)), store.ErrNotFound)

		removed, err := s.Cancel(ctx, cancelReq(opID(1), "canceled", sending.Data, 0, at(50)))
		require.NoError(t, err)
		require.False(t, removed)
		require.ErrorIs(t, s.Renew(ctx, stale, job.Lease(), at(500)), store.ErrCancelRequested)
		requireOp(t, s, sending)

		enqueue(t, s, opID(2), t0)
		require.Len(t, claimIDs(t, s, t0, at(30), 10), 1)
		require.NoError(t, s.Reschedule(ctx, newOp(opID(2), "inst-1"), lease(opID(2), 1), at(60)))
		require.ErrorIs(t, s.Renew(ctx, stale, lease(opID(2), 1), at(500)), store.ErrLeaseLost, "the lease ended with the reschedule")
	}},
	{"NewJobsAreNotLeased", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		job := newJob(opID(1), t0)
		job.Leased, job.CancelRequested = true, true
		require.NoError(t, s.Enqueue(ctx, newOp(opID(1), "inst-1"), job, nil, t0))
		job.Leased, job.CancelRequested = false, false
		requireJob(t, s, job)

		req := joinRequest("g", "m1", "g-1", 10, t0)
		req.NewJob.Leased, req.NewJob.CancelRequested = true, true
		_, err := s.Join(ctx, req)
		require.NoError(t, err)
		req.NewJob.Leased, req.NewJob.CancelRequested = false, false
		requireJob(t, s, req.NewJob)
	}},
	{"CancelQueued", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		enqueue(t, s, opID(1), at(10))
		enqueue(t, s, opID(2), at(20))
		removed, err := s.Cancel(ctx, cancelReq(opID(1), "canceled", prevData(opID(1)), 0, t0))
		require.NoError(t, err)
		require.True(t, removed)
		requireOp(t, s, store.Operation{ID: opID(1), InstallationID: "inst-1", Data: []byte("canceled")})
		requireNoJob(t, s, opID(1))
		requireNextDue(t, s, at(20), true)
		require.Equal(t, []string{opID(2)}, claimIDs(t, s, at(100), at(200), 10))

		_, err = s.Cancel(ctx, cancelReq(opID(1), "again", []byte("canceled"), 0, t0))
		require.ErrorIs(t, err, store.ErrNotFound, "a finished operation has no job")
		_, err = s.Cancel(ctx, cancelReq(opID(9), "none", nil, 0, t0))
		require.ErrorIs(t, err, store.ErrNotFound)
	}},
	{"CancelConflict", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		enqueue(t, s, opID(1), t0)
		_, err := s.Cancel(ctx, cancelReq(opID(1), "canceled", []byte("stale"), 0, t0))
		require.ErrorIs(t, err, store.ErrConflict)
		requireOp(t, s, newOp(opID(1), "inst-1"))
		requireJob(t, s, newJob(opID(1), t0))

		join(t, s, "g", "m1", "g-1", 10, t0)
		join(t, s, "g", "m2", "g-2", 10, at(1))
		_, err = s.Cancel(ctx, cancelReq("g-1", "canceled", prevData("g-1"), 1, t0))
		require.ErrorIs(t, err, store.ErrConflict, "a record joined since the members were read")
		requireMembers(t, s, "g-1", "m1", "m2")
		requireOp(t, s, newOp("g-1", "inst-1"))
	}},
	{"CancelGroup", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		join(t, s, "g", "m1", "g-1", 10, t0)
		join(t, s, "g", "m2", "g-2", 10, at(1))
		removed, err := s.Cancel(ctx, cancelReq("g-1", "canceled", prevData("g-1"), 2, at(2)))
		require.NoError(t, err)
		require.True(t, removed)
		requireNoJob(t, s, "g-1")
		_, err = s.Members(ctx, "g-1")
		require.ErrorIs(t, err, store.ErrNotFound)
		requireNextDue(t, s, time.Time{}, false)
		require.True(t, join(t, s, "g", "m3", "g-3", 10, at(3)).Opened, "a canceled group takes no more members")
	}},
	{"CancelWaitingForRetry", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		enqueue(t, s, opID(1), t0)
		require.Len(t, claimIDs(t, s, t0, at(30), 10), 1)
		waiting := newOp(opID(1), "inst-1")
		waiting.Data = []byte("attempt 1 failed")
		require.NoError(t, s.Reschedule(ctx, waiting, lease(opID(1), 1), at(100)))
		removed, err := s.Cancel(ctx, cancelReq(opID(1), "canceled", waiting.Data, 0, at(5)))
		require.NoError(t, err)
		require.True(t, removed)
		requireNoJob(t, s, opID(1))
		require.ErrorIs(t, s.Complete(ctx, waiting, lease(opID(1), 1)), store.ErrLeaseLost)
	}},
	{"CancelLeased", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		job := enqueue(t, s, opID(1), t0)
		require.Len(t, claimIDs(t, s, t0, at(30), 10), 1)
		removed, err := s.Cancel(ctx, cancelReq(opID(1), "canceled", prevData(opID(1)), 0, at(10)))
		require.NoError(t, err)
		require.False(t, removed, "an attempt is in flight")
		requireOp(t, s, newOp(opID(1), "inst-1"))
		job.RunAt, job.Attempts, job.Leased, job.CancelRequested = at(30), 1, true, true
		requireJob(t, s, job)

		retry := newOp(opID(1), "inst-1")
		retry.Data = []byte("attempt 1 failed, retry")
		require.ErrorIs(t, s.Reschedule(ctx, retry, lease(opID(1), 1), at(100)), store.ErrCancelRequested)
		requireOp(t, s, newOp(opID(1), "inst-1"))
		requireJob(t, s, job)

		// The holder crashed: the next claim sees the request.
		jobs, err := s.Claim(ctx, at(30), at(60), 10)
		require.NoError(t, err)
		job.RunAt, job.Attempts = at(60), 2
		requireJobs(t, []store.Job{job}, jobs)
		canceled := newOp(opID(1), "inst-1")
		canceled.Data = []byte("canceled")
		require.NoError(t, s.Complete(ctx, canceled, jobs[0].Lease()))
		requireOp(t, s, canceled)
		requireNoJob(t, s, opID(1))
	}},
	{"CancelExpiredLease", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		enqueue(t, s, opID(1), t0)
		require.Len(t, claimIDs(t, s, t0, at(30), 10), 1)
		removed, err := s.Cancel(ctx, cancelReq(opID(1), "canceled", prevData(opID(1)), 0, at(30)))
		require.NoError(t, err)
		require.True(t, removed, "the lease expired at its RunAt")
		requireNoJob(t, s, opID(1))
		require.ErrorIs(t, s.Reschedule(ctx, newOp(opID(1), "inst-1"), lease(opID(1), 1), at(100)), store.ErrLeaseLost)
	}},
	{"Requeue", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		failed := newOp(opID(1), "inst-1")
		failed.Data = []byte("failed")
		require.NoError(t, s.CreateOperation(ctx, failed, nil, t0))
		again := newOp(opID(1), "inst-1")
		again.Data = []byte("retry requested")
		job := newJob(opID(1), at(5))
		job.Attempts = 3
		req := store.RequeueRequest{Op: again, Prev: []byte("stale"), Job: job}
		require.ErrorIs(t, s.Requeue(ctx, req), store.ErrConflict, "the record changed")
		requireOp(t, s, failed)
		requireNoJob(t, s, opID(1))

		req.Prev = failed.Data
		require.NoError(t, s.Requeue(ctx, req))
		requireOp(t, s, again)
		requireJob(t, s, job)
		require.ErrorIs(t, s.Requeue(ctx, store.RequeueRequest{Op: again, Prev: again.Data, Job: job}), store.ErrConflict, "already queued")

		jobs, err := s.Claim(ctx, at(5), at(60), 10)
		require.NoError(t, err)
		job.RunAt, job.Attempts, job.Leased = at(60), 4, true
		requireJobs(t, []store.Job{job}, jobs)

		missing := store.RequeueRequest{Op: newOp(opID(2), "inst-1"), Job: newJob(opID(2), t0)}
		require.ErrorIs(t, s.Requeue(ctx, missing), store.ErrNotFound)
		requireNoJob(t, s, opID(2))
	}},
	{"Stats", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		st, err := s.Stats(ctx, t0)
		require.NoError(t, err)
		require.Empty(t, st.Providers)

		// hubspot: two queued (one due), one retrying (due), one in
		// flight, one whose lease expired, an open group and a sealed one.
		enqueue(t, s, "q-due", at(-20))
		enqueue(t, s, "q-later", at(50))
		for _, id := range []string{"r", "f", "x"} {
			enqueue(t, s, id, at(-100))
		}
		require.Equal(t, []string{"f", "r", "x"}, claimIDs(t, s, at(-100), at(-50), 10))
		require.Equal(t, []string{"f", "r", "x"}, claimIDs(t, s, at(-50), at(-40), 10), "claimed twice")
		require.NoError(t, s.Reschedule(ctx, newOp("r", "inst-1"), lease("r", 2), at(-10)))
		require.NoError(t, s.Extend(ctx, lease("f", 2), at(40)))
		open := joinRequest("open", "o1", "g-open", 10, at(-30))
		_, err = s.Join(ctx, open)
		require.NoError(t, err)
		join(t, s, "open", "o2", "g-2", 10, at(-29))
		join(t, s, "sealed", "s1", "g-sealed", 1, at(-5))
		// salesforce: one queued, not due.
		sf := newJob("sf", at(70))
		sf.Provider = "salesforce"
		require.NoError(t, s.Enqueue(ctx, newOp("sf", "inst-2"), sf, nil, t0))

		st, err = s.Stats(ctx, t0)
		require.NoError(t, err)
		require.Len(t, st.Providers, 2)
		hs, sfs := st.Providers[0], st.Providers[1]
		require.True(t, hs.OldestDue.Equal(at(-40)), "the expired lease is the oldest due: %v", hs.OldestDue)
		hs.OldestDue = time.Time{}
		require.Equal(t, store.ProviderStats{Provider: "hubspot", Queued: 3, Open: 1, Retrying: 1, InFlight: 1, Expired: 1, Due: 4}, hs,
			"queued: q-due, q-later, the sealed group; due: q-due, r, x, the sealed group")
		require.Equal(t, store.ProviderStats{Provider: "salesforce", Queued: 1}, sfs)

		require.Len(t, st.OpenGroups, 1)
		require.Equal(t, 2, st.OpenGroups[0].Size)
		requireJobs(t, []store.Job{open.NewJob}, []store.Job{st.OpenGroups[0].Job})

		flight := newJob("f", at(40))
		flight.Attempts, flight.Leased, flight.Payload = 2, true, nil
		requireJobs(t, []store.Job{flight}, st.InFlight)

		st, err = s.Stats(ctx, at(40))
		require.NoError(t, err)
		require.Zero(t, st.Providers[0].InFlight, "the lease expires at its RunAt")
		require.Equal(t, 2, st.Providers[0].Expired)
		require.Empty(t, st.InFlight)
		require.Equal(t, 1, st.Providers[0].Open, "an open group past its flush time is open until claimed")
		require.Equal(t, 6, st.Providers[0].Due, "and now the in-flight job and the open group")
	}},
	{"DeleteOperations", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		for i := 1; i <= 4; i++ {
			require.NoError(t, s.CreateOperation(ctx, newOp(opID(i), []string{"inst-a", "inst-b"}[i%2]), nil, t0))
		}
		enqueue(t, s, opID(5), t0)
		join(t, s, "g", "m1", opID(6), 10, t0)

		n, err := s.DeleteOperations(ctx, []string{opID(1), opID(2), opID(2), opID(5), opID(6), opID(9)})
		require.NoError(t, err)
		require.Equal(t, 2, n, "not the queued ones, nor a missing one, nor one twice")
		_, err = s.Operation(ctx, opID(1))
		require.ErrorIs(t, err, store.ErrNotFound)
		require.Equal(t, [][]string{{opID(3)}}, listAll(t, s, "inst-b", 10))
		require.Equal(t, [][]string{{opID(4)}}, listAll(t, s, "inst-a", 10))
		require.Equal(t, [][]string{{opID(3), opID(4), opID(5), opID(6)}}, listAll(t, s, "", 10))
		requireMembers(t, s, opID(6), "m1")

		n, err = s.DeleteOperations(ctx, nil)
		require.NoError(t, err)
		require.Zero(t, n)
		require.NoError(t, s.CreateOperation(ctx, newOp(opID(1), "inst-a"), nil, t0), "a deleted ID is free")
	}},
	{"DeleteExpiredKeys", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		for i, exp := range []int{10, 100, 20, 200, 30} {
			key := store.IdempotencyKey{Key: "k" + string(rune('a'+i)), RequestHash: "h", OperationID: opID(i), ExpiresAt: at(exp)}
			require.NoError(t, s.CreateOperation(ctx, newOp(opID(i), "inst-1"), &key, t0))
		}
		var total int
		after := ""
		var pages []string
		for {
			next, n, err := s.DeleteExpiredKeys(ctx, at(30), after, 2)
			require.NoError(t, err)
			total += n
			pages = append(pages, next)
			if next == "" {
				break
			}
			after = next
		}
		require.Equal(t, []string{"kb", "kd", ""}, pages)
		require.Equal(t, 3, total, "ka, kc and ke expired at 30")
		for _, k := range []string{"kb", "kd"} {
			_, err := s.IdempotencyKey(ctx, k, at(30))
			require.NoError(t, err, k)
		}
		key := store.IdempotencyKey{Key: "ka", RequestHash: "h2", OperationID: opID(9), ExpiresAt: at(90)}
		require.NoError(t, s.CreateOperation(ctx, newOp(opID(9), "inst-1"), &key, at(30)))
		_, n, err := s.DeleteExpiredKeys(ctx, at(40), "", 10)
		require.NoError(t, err)
		require.Zero(t, n, "a key reserved again is not expired")
		_, err = s.IdempotencyKey(ctx, "ka", at(40))
		require.NoError(t, err)
		_, n, err = s.DeleteExpiredKeys(ctx, at(1000), "", 10)
		require.NoError(t, err)
		require.Equal(t, 3, n)
		_, n, err = s.DeleteExpiredKeys(ctx, at(1000), "", 10)
		require.NoError(t, err)
		require.Zero(t, n)
	}},
	{"JobNoAliasing", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		enqueue(t, s, opID(1), t0)
		join(t, s, "g", "m1", "g-1", 10, t0)
		for range 2 {
			job, err := s.Job(ctx, opID(1))
			require.NoError(t, err)
			require.Equal(t, "payload of "+opID(1), string(job.Payload))
			mutate(job.Payload)
			st, err := s.Stats(ctx, t0)
			require.NoError(t, err)
			require.Len(t, st.OpenGroups, 1)
			require.Equal(t, "common part of g", string(st.OpenGroups[0].Job.Payload))
			mutate(st.OpenGroups[0].Job.Payload)
		}
	}},
}
