package boltstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/writebackhq/writeback/store"
)

// TestCompleteReplacesDamagedOperation: an operation record that reads as
// corrupt can still be settled: Complete stores the final record, keeps
// the damaged one in quarantine, and the store verifies clean afterwards.
func TestCompleteReplacesDamagedOperation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "writeback.db")
	buildStore(t, path, 3)
	id := dmgID(1)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOperations)
		v := append([]byte(nil), b.Get([]byte(id))...)
		v[len(v)-1] ^= 0x01
		return b.Put([]byte(id), v)
	})

	s, err := Open(path, nil)
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Operation(ctx, id)
	require.ErrorIs(t, err, store.ErrCorrupt, "the damage is reported as the contract's ErrCorrupt")
	require.ErrorIs(t, err, ErrCorrupt)

	jobs, err := s.Claim(ctx, dmgT0.Add(time.Hour), dmgT0.Add(2*time.Hour), 10)
	require.NoError(t, err)
	var lease store.Lease
	for _, j := range jobs {
		if j.ID == id {
			lease = j.Lease()
		}
	}
	require.Equal(t, id, lease.JobID)

	final := store.Operation{ID: id, InstallationID: "inst-1", Data: []byte("failed: damaged")}
	require.NoError(t, s.Complete(ctx, final, lease))
	got, err := s.Operation(ctx, id)
	require.NoError(t, err)
	require.Equal(t, final.Data, got.Data)
	page, err := s.Operations(ctx, "inst-1", "", 10)
	require.NoError(t, err)
	require.Len(t, page, 5, "the installation's index still lists it (three operations, two groups)")
	q, err := s.Quarantine(ctx)
	require.NoError(t, err)
	require.Len(t, q, 1)
	require.NoError(t, s.Verify(ctx))
}
