// Package storetest checks that a [store.Interface] keeps the contract the
// engine relies on. Run it from an implementation's tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Interface { return memstore.New() })
//	}
//
// [Run] covers installations, operation records, idempotency keys and the
// queue (claim order, leases, groups, concurrency, copying, contexts), and
// what operating writeback needs (listing every installation's operations,
// jobs and their leases, cancel, requeue, stats, pruning) on a fresh store
// per subtest. [RunReopen] closes a populated store and opens it again to
// check that everything acknowledged survives. [RunShared] runs two Stores
// on one shared state (what several processes on one database do) and
// checks claims, leases, groups and keys across them.
//
// Beyond store.go, the suite pins down these choices, which the in-memory
// and bbolt stores share:
//   - Empty and nil byte slices are equivalent; times may come back in
//     another location (compare with [time.Time.Equal]).
//   - Members of a job that does not exist fail with [store.ErrNotFound].
//   - Reschedule fails with [store.ErrNotFound], storing nothing, if the
//     operation or the job does not exist.
//   - Complete fails with [store.ErrNotFound] if the operation does not
//     exist; completing a job that is already gone stores the record and
//     succeeds, so completing twice is harmless.
//   - An idempotency key is unexpired while now is before ExpiresAt.
//   - Empty IDs, keys or group keys, a job whose ID is not its operation's,
//     and a join with MaxSize below one fail with a
//     [*store.InputError] and store nothing.
//   - Claim with a limit below one claims nothing.
package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

// Run runs the conformance suite. open returns a new, empty store for each
// subtest; it registers any cleanup (such as closing) with t.Cleanup.
// Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Interface) {
	t.Helper()
	for _, group := range []struct {
		name  string
		tests []test
	}{
		{"Installations", installationTests},
		{"Operations", operationTests},
		{"Queue", queueTests},
		{"Groups", groupTests},
		{"Ops", opsTests},
		{"Concurrency", concurrencyTests},
		{"Contract", contractTests},
	} {
		t.Run(group.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range group.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, open(t))
				})
			}
		})
	}
}

// test is one case of the suite.
type test struct {
	name string
	run  func(t *testing.T, s store.Interface)
}

// t0 is the suite's reference time; stores never read the clock.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// at returns t0 plus d seconds.
func at(d int) time.Time { return t0.Add(time.Duration(d) * time.Second) }

// opID returns a sortable operation ID.
func opID(i int) string { return fmt.Sprintf("op-%06d", i) }

// lease returns the lease of claim attempt of job id.
func lease(id string, attempt int) store.Lease { return store.Lease{JobID: id, Attempt: attempt} }

// newOp returns an operation record of installation inst.
func newOp(id, inst string) store.Operation {
	return store.Operation{ID: id, InstallationID: inst, Data: []byte("data of " + id)}
}

// newJob returns a plain job for operation id, due at runAt.
func newJob(id string, runAt time.Time) store.Job {
	return store.Job{
		ID:             id,
		InstallationID: "inst-1",
		Provider:       "hubspot",
		RunAt:          runAt,
		Payload:        []byte("payload of " + id),
	}
}

// normBytes treats empty and nil alike.
func normBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// normTime makes equal instants compare equal with require.Equal.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

// requireJobs checks jobs field by field, times by instant.
func requireJobs(t *testing.T, want, got []store.Job) {
	t.Helper()
	norm := func(js []store.Job) []store.Job {
		out := make([]store.Job, len(js))
		for i, j := range js {
			j.RunAt = normTime(j.RunAt)
			j.Payload = normBytes(j.Payload)
			out[i] = j
		}
		return out
	}
	require.Equal(t, norm(want), norm(got))
}

// requireOps checks operation records.
func requireOps(t *testing.T, want, got []store.Operation) {
	t.Helper()
	norm := func(rs []store.Operation) []store.Operation {
		out := make([]store.Operation, len(rs))
		for i, r := range rs {
			r.Data = normBytes(r.Data)
			out[i] = r
		}
		return out
	}
	require.Equal(t, norm(want), norm(got))
}

// requireOp checks that the stored operation id equals want.
func requireOp(t *testing.T, s store.Interface, want store.Operation) {
	t.Helper()
	got, err := s.Operation(t.Context(), want.ID)
	require.NoError(t, err)
	requireOps(t, []store.Operation{want}, []store.Operation{got})
}

// requireInstallation checks installation records.
func requireInstallation(t *testing.T, want, got store.Installation) {
	t.Helper()
	want.Data, got.Data = normBytes(want.Data), normBytes(got.Data)
	require.Equal(t, want, got)
}

// requireKey checks an idempotency key, ExpiresAt by instant.
func requireKey(t *testing.T, want, got store.IdempotencyKey) {
	t.Helper()
	want.ExpiresAt, got.ExpiresAt = normTime(want.ExpiresAt), normTime(got.ExpiresAt)
	require.Equal(t, want, got)
}

// requireMembers checks a group's members in order.
func requireMembers(t *testing.T, s store.Interface, jobID string, want ...string) {
	t.Helper()
	got, err := s.Members(t.Context(), jobID)
	require.NoError(t, err)
	gotS := make([]string, len(got))
	for i, m := range got {
		gotS[i] = string(m)
	}
	if len(want) == 0 {
		want = []string{}
	}
	require.Equal(t, want, gotS)
}

// requireNextDue checks the earliest RunAt of the queue.
func requireNextDue(t *testing.T, s store.Interface, want time.Time, wantOK bool) {
	t.Helper()
	got, ok, err := s.NextDue(t.Context())
	require.NoError(t, err)
	require.Equal(t, wantOK, ok)
	if wantOK {
		require.True(t, want.Equal(got), "next due %v, want %v", got, want)
	}
}

// claimIDs claims up to limit jobs at now and returns their IDs.
func claimIDs(t *testing.T, s store.Interface, now, leaseUntil time.Time, limit int) []string {
	t.Helper()
	jobs, err := s.Claim(t.Context(), now, leaseUntil, limit)
	require.NoError(t, err)
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return ids
}

// join adds member to group with an operation and job ready for a new group.
func join(t *testing.T, s store.Interface, group, member, newID string, maxSize int, now time.Time) store.JoinResult {
	t.Helper()
	res, err := s.Join(t.Context(), joinRequest(group, member, newID, maxSize, now))
	require.NoError(t, err)
	return res
}

// joinRequest builds a join whose new group would flush a minute after now.
func joinRequest(group, member, newID string, maxSize int, now time.Time) store.JoinRequest {
	return store.JoinRequest{
		Group:        group,
		Member:       []byte(member),
		MaxSize:      maxSize,
		Now:          now,
		NewOperation: newOp(newID, "inst-1"),
		NewJob: store.Job{
			ID:             newID,
			InstallationID: "inst-1",
			Provider:       "hubspot",
			Group:          group,
			RunAt:          now.Add(time.Minute),
			Payload:        []byte("common part of " + group),
		},
	}
}

// mutate overwrites b in place, to show a store kept no alias of it.
func mutate(b []byte) {
	copy(b, bytes.Repeat([]byte{'#'}, len(b)))
}
