package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

// RunShared checks what must hold when several processes share one store:
// open returns two Store values on one fresh, empty state (for a database
// store, two Stores with pools of their own on the same schema), and
// registers their cleanup with t.Cleanup. A store only one process can
// open passes with the same value twice. Subtests run in parallel.
//
// The cases: every job is claimed by exactly one claimer when goroutines
// of both Stores claim at once; a lease lost to the other Store is fenced;
// concurrent joins from both Stores fill groups exactly as one process
// would (at most MaxSize members, one open group per key, every member in
// one group); an idempotency key is reserved once across both; and each
// Store sees what the other wrote.
func RunShared(t *testing.T, open func(t *testing.T) (a, b store.Interface)) {
	t.Helper()
	t.Run("Shared", func(t *testing.T) {
		t.Parallel()
		for _, tc := range sharedTests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				a, b := open(t)
				tc.run(t, a, b)
			})
		}
	})
}

// sharedTest is one case of [RunShared].
type sharedTest struct {
	name string
	run  func(t *testing.T, a, b store.Interface)
}

var sharedTests = []sharedTest{
	{"ClaimOnce", func(t *testing.T, a, b store.Interface) {
		const jobs, perStore, limit = 400, 4, 7
		for i := range jobs {
			enqueue(t, []store.Interface{a, b}[i%2], opID(i), at(i%10))
		}
		var (
			mu      sync.Mutex
			claimed []store.Job
			wg      sync.WaitGroup
		)
		errs := make(chan error, 2*perStore)
		for _, s := range []store.Interface{a, b} {
			for range perStore {
				wg.Go(func() {
					for {
						got, err := s.Claim(t.Context(), at(10), at(1000), limit)
						if err != nil {
							errs <- err
							return
						}
						if len(got) == 0 {
							return
						}
						mu.Lock()
						claimed = append(claimed, got...)
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		ids := make([]string, len(claimed))
		for i, j := range claimed {
			require.Equal(t, 1, j.Attempts, "job %s claimed once", j.ID)
			ids[i] = j.ID
		}
		slices.Sort(ids)
		want := make([]string, jobs)
		for i := range want {
			want[i] = opID(i)
		}
		require.Equal(t, want, ids, "every job claimed exactly once")
		require.Empty(t, claimIDs(t, a, at(999), at(2000), jobs))
		requireNextDue(t, b, at(1000), true)
	}},
	{"LeaseFencedAcrossStores", func(t *testing.T, a, b store.Interface) {
		ctx := t.Context()
		enqueue(t, a, opID(1), t0)
		first, err := a.Claim(ctx, t0, at(30), 10)
		require.NoError(t, err)
		require.Len(t, first, 1)
		require.Empty(t, claimIDs(t, b, at(29), at(60), 10), "a live lease is not claimed by the other store")

		second, err := b.Claim(ctx, at(30), at(60), 10)
		require.NoError(t, err, "the lease ran out: the other store takes the job")
		require.Len(t, second, 1)
		require.Equal(t, lease(opID(1), 2), second[0].Lease())

		stale := newOp(opID(1), "inst-1")
		stale.Data = []byte("from the store that lost the lease")
		require.ErrorIs(t, a.Extend(ctx, first[0].Lease(), at(500)), store.ErrLeaseLost)
		require.ErrorIs(t, a.Reschedule(ctx, stale, first[0].Lease(), at(500)), store.ErrLeaseLost)
		require.ErrorIs(t, a.Complete(ctx, stale, first[0].Lease()), store.ErrLeaseLost)
		requireNextDue(t, a, at(60), true)

		require.NoError(t, b.Extend(ctx, second[0].Lease(), at(90)))
		done := newOp(opID(1), "inst-1")
		done.Data = []byte("done by the store that holds the lease")
		require.NoError(t, b.Complete(ctx, done, second[0].Lease()))
		requireOp(t, a, done)
		requireNextDue(t, a, t0, false)
	}},
	{"JoinAcrossStores", func(t *testing.T, a, b store.Interface) {
		const perStore, each, maxSize = 4, 25, 7
		const total = 2 * perStore * each
		type joined struct {
			member string
			res    store.JoinResult
		}
		var (
			mu  sync.Mutex
			all []joined
			wg  sync.WaitGroup
		)
		errs := make(chan error, total)
		for si, s := range []store.Interface{a, b} {
			for g := range perStore {
				wg.Go(func() {
					for i := range each {
						n := (si*perStore+g)*each + i
						member := fmt.Sprintf("m-%03d", n)
						res, err := s.Join(t.Context(), joinRequest("g", member, fmt.Sprintf("g-%03d", n), maxSize, t0))
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						all = append(all, joined{member, res})
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, all, total)

		sizes := map[string][]int{}
		for _, j := range all {
			require.LessOrEqual(t, j.res.Size, maxSize)
			require.Equal(t, j.res.Size == 1, j.res.Opened)
			require.Equal(t, j.res.Size == maxSize, j.res.Sealed)
			sizes[j.res.JobID] = append(sizes[j.res.JobID], j.res.Size)
		}
		require.Len(t, sizes, (total+maxSize-1)/maxSize, "as many groups as one process would fill")
		partial := 0
		var members []string
		for id, got := range sizes {
			slices.Sort(got)
			want := make([]int, len(got))
			for i := range want {
				want[i] = i + 1
			}
			require.Equal(t, want, got, "group %s: each size once", id)
			if len(got) < maxSize {
				partial++
				require.Equal(t, total%maxSize, len(got))
			}
			stored, err := b.Members(t.Context(), id)
			require.NoError(t, err)
			require.Len(t, stored, len(got))
			for _, m := range stored {
				members = append(members, string(m))
			}
		}
		require.Equal(t, 1, partial, "one group left open")
		slices.Sort(members)
		require.Len(t, slices.Compact(members), total, "every member in exactly one group")
	}},
	{"KeyAcrossStores", func(t *testing.T, a, b store.Interface) {
		const perStore = 8
		var wg sync.WaitGroup
		errs := make([]error, 2*perStore)
		for si, s := range []store.Interface{a, b} {
			for c := range perStore {
				wg.Go(func() {
					n := si*perStore + c
					id := opID(n)
					key := store.IdempotencyKey{Key: "shared", OperationID: id, ExpiresAt: at(60)}
					errs[n] = s.Enqueue(t.Context(), newOp(id, "inst-1"), newJob(id, t0), &key, t0)
				})
			}
		}
		wg.Wait()
		got, err := a.IdempotencyKey(t.Context(), "shared", t0)
		require.NoError(t, err)
		winners := 0
		for _, err := range errs {
			if err == nil {
				winners++
				continue
			}
			var exists *store.KeyExistsError
			require.ErrorAs(t, err, &exists)
			require.Equal(t, got.OperationID, exists.Existing.OperationID)
		}
		require.Equal(t, 1, winners, "one reservation across both stores")
		require.Equal(t, []string{got.OperationID}, claimIDs(t, b, t0, at(60), 2*perStore))
	}},
	{"SeesOtherStore", func(t *testing.T, a, b store.Interface) {
		ctx := t.Context()
		inst := newInstallation("inst-1", "crm", "acme")
		require.NoError(t, a.InsertInstallation(ctx, inst))
		got, err := b.InstallationByGroup(ctx, "crm", "acme")
		require.NoError(t, err)
		requireInstallation(t, inst, got)
		inst.Revision, inst.Data = 2, []byte("changed by b")
		require.NoError(t, b.ReplaceInstallation(ctx, inst))
		inst.Data = []byte("stale write from a")
		require.ErrorIs(t, a.ReplaceInstallation(ctx, inst), store.ErrConflict)

		require.NoError(t, a.CreateOperation(ctx, newOp(opID(1), "inst-1"), nil, t0))
		rec := newOp(opID(1), "inst-1")
		rec.Data = []byte("updated by b")
		require.NoError(t, b.UpdateOperation(ctx, rec))
		requireOp(t, a, rec)
	}},
}
