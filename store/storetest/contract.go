package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

var concurrencyTests = []test{
	{"Enqueue", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		const callers, each = 32, 20
		var wg sync.WaitGroup
		errs := make(chan error, callers*each)
		for c := range callers {
			wg.Go(func() {
				for i := range each {
					id := opID(c*each + i)
					key := store.IdempotencyKey{Key: "k-" + id, OperationID: id, ExpiresAt: at(60)}
					errs <- s.Enqueue(ctx, newOp(id, "inst-1"), newJob(id, at(i)), &key, t0)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		ids := claimIDs(t, s, at(each), at(1000), 2*callers*each)
		require.Len(t, ids, callers*each)
		slices.Sort(ids)
		require.Len(t, slices.Compact(ids), callers*each, "every job once")
		require.Len(t, listAll(t, s, "inst-1", callers*each)[0], callers*each)
	}},
	{"SameKey", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		const callers = 16
		var wg sync.WaitGroup
		errs := make([]error, callers)
		for c := range callers {
			wg.Go(func() {
				id := opID(c)
				key := store.IdempotencyKey{Key: "shared", OperationID: id, ExpiresAt: at(60)}
				errs[c] = s.Enqueue(ctx, newOp(id, "inst-1"), newJob(id, t0), &key, t0)
			})
		}
		wg.Wait()
		winners := 0
		for _, err := range errs {
			if err == nil {
				winners++
				continue
			}
			var exists *store.KeyExistsError
			require.ErrorAs(t, err, &exists)
		}
		require.Equal(t, 1, winners, "one reservation wins; the others are refused alone")
		got, err := s.IdempotencyKey(ctx, "shared", t0)
		require.NoError(t, err)
		require.Equal(t, []string{got.OperationID}, claimIDs(t, s, t0, at(60), callers))
	}},
	{"Join", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		const callers, each, maxSize = 8, 25, 50
		var wg sync.WaitGroup
		results := make(chan store.JoinResult, callers*each)
		errs := make(chan error, callers*each)
		for c := range callers {
			wg.Go(func() {
				for i := range each {
					n := c*each + i
					res, err := s.Join(ctx, joinRequest("g", fmt.Sprint(n), fmt.Sprintf("g-%03d", n), maxSize, t0))
					errs <- err
					results <- res
				}
			})
		}
		wg.Wait()
		close(errs)
		close(results)
		for err := range errs {
			require.NoError(t, err)
		}
		sizes := map[string][]int{}
		for res := range results {
			sizes[res.JobID] = append(sizes[res.JobID], res.Size)
			require.Equal(t, res.Size == 1, res.Opened)
			require.Equal(t, res.Size == maxSize, res.Sealed)
		}
		require.Len(t, sizes, callers*each/maxSize)
		var all []string
		for id, got := range sizes {
			slices.Sort(got)
			want := make([]int, maxSize)
			for i := range want {
				want[i] = i + 1
			}
			require.Equal(t, want, got, "group %s", id)
			members, err := s.Members(ctx, id)
			require.NoError(t, err)
			require.Len(t, members, maxSize)
			for _, m := range members {
				all = append(all, string(m))
			}
		}
		slices.Sort(all)
		require.Len(t, slices.Compact(all), callers*each, "every member once")
	}},
}

var contractTests = []test{
	{"NoAliasing", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		inst := newInstallation("inst-1", "crm", "acme")
		op := newOp(opID(1), "inst-1")
		job := newJob(opID(1), t0)
		req := joinRequest("g", "member", "g-1", 10, t0)
		require.NoError(t, s.InsertInstallation(ctx, inst))
		require.NoError(t, s.Enqueue(ctx, op, job, nil, t0))
		_, err := s.Join(ctx, req)
		require.NoError(t, err)
		mutate(inst.Data)
		mutate(op.Data)
		mutate(job.Payload)
		mutate(req.Member)
		mutate(req.NewOperation.Data)
		mutate(req.NewJob.Payload)

		for range 2 {
			gotInst, err := s.Installation(ctx, "inst-1")
			require.NoError(t, err)
			require.Equal(t, "config of inst-1", string(gotInst.Data))
			mutate(gotInst.Data)

			gotOp, err := s.Operation(ctx, opID(1))
			require.NoError(t, err)
			require.Equal(t, "data of "+opID(1), string(gotOp.Data))
			mutate(gotOp.Data)

			page, err := s.Operations(ctx, "inst-1", "", 10)
			require.NoError(t, err)
			require.Len(t, page, 2)
			mutate(page[0].Data)

			members, err := s.Members(ctx, "g-1")
			require.NoError(t, err)
			require.Equal(t, [][]byte{[]byte("member")}, members)
			mutate(members[0])
		}
		jobs, err := s.Claim(ctx, at(60), at(120), 10)
		require.NoError(t, err)
		require.Len(t, jobs, 2)
		require.Equal(t, "payload of "+opID(1), string(jobs[0].Payload))
		require.Equal(t, "common part of g", string(jobs[1].Payload))
		mutate(jobs[0].Payload)
		jobs, err = s.Claim(ctx, at(120), at(180), 10)
		require.NoError(t, err)
		require.Len(t, jobs, 2)
		require.Equal(t, "g-1", jobs[0].ID, "equal RunAt: ID order")
		require.Equal(t, "payload of "+opID(1), string(jobs[1].Payload))
	}},
	{"CanceledContext", func(t *testing.T, s store.Interface) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		inst := newInstallation("inst-1", "crm", "acme")
		op := newOp(opID(1), "inst-1")
		for name, call := range map[string]func() error{
			"InsertInstallation":  func() error { return s.InsertInstallation(ctx, inst) },
			"ReplaceInstallation": func() error { return s.ReplaceInstallation(ctx, inst) },
			"DeleteInstallation":  func() error { return s.DeleteInstallation(ctx, "inst-1") },
			"Installation":        func() error { _, err := s.Installation(ctx, "inst-1"); return err },
			"InstallationByGroup": func() error { _, err := s.InstallationByGroup(ctx, "crm", "acme"); return err },
			"Installations":       func() error { _, err := s.Installations(ctx, ""); return err },
			"CreateOperation":     func() error { return s.CreateOperation(ctx, op, nil, t0) },
			"UpdateOperation":     func() error { return s.UpdateOperation(ctx, op) },
			"Operation":           func() error { _, err := s.Operation(ctx, opID(1)); return err },
			"Operations":          func() error { _, err := s.Operations(ctx, "inst-1", "", 10); return err },
			"IdempotencyKey":      func() error { _, err := s.IdempotencyKey(ctx, "k", t0); return err },
			"Enqueue":             func() error { return s.Enqueue(ctx, op, newJob(opID(1), t0), nil, t0) },
			"Join":                func() error { _, err := s.Join(ctx, joinRequest("g", "m", "g-1", 10, t0)); return err },
			"Claim":               func() error { _, err := s.Claim(ctx, at(100), at(200), 10); return err },
			"Members":             func() error { _, err := s.Members(ctx, "g-1"); return err },
			"Reschedule":          func() error { return s.Reschedule(ctx, op, lease(opID(1), 1), t0) },
			"Complete":            func() error { return s.Complete(ctx, op, lease(opID(1), 1)) },
			"Extend":              func() error { return s.Extend(ctx, lease(opID(1), 1), t0) },
			"NextDue":             func() error { _, _, err := s.NextDue(ctx); return err },
			"Job":                 func() error { _, err := s.Job(ctx, opID(1)); return err },
			"Cancel":              func() error { _, err := s.Cancel(ctx, cancelReq(opID(1), "c", nil, 0, t0)); return err },
			"Requeue": func() error {
				return s.Requeue(ctx, store.RequeueRequest{Op: op, Job: newJob(opID(1), t0)})
			},
			"Stats":             func() error { _, err := s.Stats(ctx, t0); return err },
			"Renew":             func() error { return s.Renew(ctx, op, lease(opID(1), 1), t0) },
			"DeleteOperations":  func() error { _, err := s.DeleteOperations(ctx, []string{opID(1)}); return err },
			"DeleteExpiredKeys": func() error { _, _, err := s.DeleteExpiredKeys(ctx, t0, "", 10); return err },
		} {
			require.ErrorIs(t, call(), context.Canceled, name)
		}
		all, err := s.Installations(t.Context(), "")
		require.NoError(t, err)
		require.Empty(t, all, "nothing was stored")
		requireNextDue(t, s, t0, false)
	}},
	{"EmptyKeys", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		var ve *store.InputError
		require.ErrorAs(t, s.InsertInstallation(ctx, newInstallation("", "crm", "acme")), &ve)
		require.ErrorAs(t, s.CreateOperation(ctx, newOp("", "inst-1"), nil, t0), &ve)
		require.ErrorAs(t, s.Enqueue(ctx, newOp("", "inst-1"), newJob("", t0), nil, t0), &ve)
		require.ErrorAs(t, s.Enqueue(ctx, newOp("a", "inst-1"), newJob("b", t0), nil, t0), &ve, "job ID differs")
		empty := &store.IdempotencyKey{OperationID: "a", ExpiresAt: at(60)}
		require.ErrorAs(t, s.CreateOperation(ctx, newOp("a", "inst-1"), empty, t0), &ve)
		_, err := s.Join(ctx, joinRequest("", "m", "g-1", 10, t0))
		require.ErrorAs(t, err, &ve)
		mismatched := joinRequest("g", "m", "g-1", 10, t0)
		mismatched.NewJob.ID = "g-2"
		_, err = s.Join(ctx, mismatched)
		require.ErrorAs(t, err, &ve)
		_, err = s.Cancel(ctx, cancelReq("", "c", nil, 0, t0))
		require.ErrorAs(t, err, &ve)
		require.ErrorAs(t, s.Requeue(ctx, store.RequeueRequest{Op: newOp("", "inst-1"), Job: newJob("", t0)}), &ve)
		require.ErrorAs(t, s.Requeue(ctx, store.RequeueRequest{Op: newOp("a", "inst-1"), Job: newJob("b", t0)}), &ve, "job ID differs")
		grouped := newJob("a", t0)
		grouped.Group = "g"
		require.ErrorAs(t, s.Requeue(ctx, store.RequeueRequest{Op: newOp("a", "inst-1"), Job: grouped}), &ve, "a group job")

		_, err = s.Operation(ctx, "a")
		require.ErrorIs(t, err, store.ErrNotFound)
		requireNextDue(t, s, t0, false)
	}},
}
