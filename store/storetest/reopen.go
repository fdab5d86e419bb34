package storetest

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

// RunReopen checks that a store keeps everything acknowledged across close
// and open: installations, operations, idempotency keys, queued and leased
// jobs (with a cancel request), open and sealed groups with their members. open opens (creating if
// needed) the store kept at path and returns it with the function that
// closes it.
func RunReopen(t *testing.T, open func(t *testing.T, path string) (store.Interface, func() error)) {
	t.Helper()
	t.Run("Reopen", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		path := filepath.Join(t.TempDir(), "store")
		s, closeStore := open(t, path)

		acme := newInstallation("inst-1", "crm", "acme")
		globex := newInstallation("inst-2", "crm", "globex")
		require.NoError(t, s.InsertInstallation(ctx, acme))
		require.NoError(t, s.InsertInstallation(ctx, globex))
		acme.Revision, acme.Data = 2, []byte("second config")
		require.NoError(t, s.ReplaceInstallation(ctx, acme))
		require.NoError(t, s.InsertInstallation(ctx, newInstallation("inst-3", "crm", "initech")))
		require.NoError(t, s.DeleteInstallation(ctx, "inst-3"))

		key := store.IdempotencyKey{Key: "inst-1/k", RequestHash: "h", OperationID: opID(1), ExpiresAt: at(3600)}
		require.NoError(t, s.CreateOperation(ctx, newOp(opID(1), "inst-1"), &key, t0))
		require.NoError(t, s.CreateOperation(ctx, newOp(opID(2), "inst-1"), nil, t0))

		leased := enqueue(t, s, "q-1", t0)
		waiting := enqueue(t, s, "q-2", at(100))
		enqueue(t, s, "q-3", t0)
		require.Equal(t, []string{"q-1", "q-3"}, claimIDs(t, s, t0, at(30), 10))
		done := newOp("q-3", "inst-1")
		done.Data = []byte("success")
		require.NoError(t, s.Complete(ctx, done, lease("q-3", 1)))
		removed, err := s.Cancel(ctx, cancelReq("q-1", "canceled", prevData("q-1"), 0, at(10)))
		require.NoError(t, err)
		require.False(t, removed, "q-1 is leased: the cancel is a request")

		openReq := joinRequest("open", "o1", "g-1", 3, at(1))
		_, err = s.Join(ctx, openReq)
		require.NoError(t, err)
		join(t, s, "open", "o2", "g-2", 3, at(2))
		sealedReq := joinRequest("sealed", "s1", "g-3", 2, at(3))
		_, err = s.Join(ctx, sealedReq)
		require.NoError(t, err)
		require.True(t, join(t, s, "sealed", "s2", "g-4", 2, at(4)).Sealed)

		require.NoError(t, closeStore())
		s, closeStore = open(t, path)
		defer func() { require.NoError(t, closeStore()) }()

		got, err := s.InstallationByGroup(ctx, "crm", "acme")
		require.NoError(t, err)
		requireInstallation(t, acme, got)
		all, err := s.Installations(ctx, "crm")
		require.NoError(t, err)
		require.Len(t, all, 2)
		requireInstallation(t, globex, all[1])
		_, err = s.InstallationByGroup(ctx, "crm", "initech")
		require.ErrorIs(t, err, store.ErrNotFound)
		acme.Revision = 3
		require.NoError(t, s.ReplaceInstallation(ctx, acme), "the revision survived")

		gotKey, err := s.IdempotencyKey(ctx, key.Key, at(10))
		require.NoError(t, err)
		requireKey(t, key, gotKey)
		err = s.CreateOperation(ctx, newOp(opID(9), "inst-1"), &key, at(10))
		var exists *store.KeyExistsError
		require.ErrorAs(t, err, &exists)
		require.Equal(t, [][]string{{"g-1", "g-3", opID(1), opID(2), "q-1", "q-2", "q-3"}}, listAll(t, s, "inst-1", 10))
		requireOp(t, s, done)

		res := join(t, s, "open", "o3", "g-5", 3, at(5))
		require.Equal(t, store.JoinResult{JobID: "g-1", Size: 3, Sealed: true}, res, "the open group is still open")
		requireMembers(t, s, "g-1", "o1", "o2", "o3")
		requireMembers(t, s, "g-3", "s1", "s2")
		newReq := joinRequest("sealed", "s3", "g-6", 2, at(6))
		res, err = s.Join(ctx, newReq)
		require.NoError(t, err)
		require.True(t, res.Opened, "the sealed group is still sealed")

		leased.RunAt, leased.Attempts, leased.Leased, leased.CancelRequested = at(30), 1, true, true
		requireJob(t, s, leased)
		requireNextDue(t, s, at(4), true)
		jobs, err := s.Claim(ctx, at(100), at(200), 10)
		require.NoError(t, err)
		sealedJob, openJob, newJob := sealedReq.NewJob, openReq.NewJob, newReq.NewJob
		for _, j := range []*store.Job{&sealedJob, &openJob, &leased, &newJob, &waiting} {
			j.RunAt = at(200)
			j.Attempts++
			j.Leased = true
		}
		leased.Attempts = 2
		requireJobs(t, []store.Job{sealedJob, openJob, leased, newJob, waiting}, jobs)
		requireNextDue(t, s, at(200), true)
	})
}
