package boltstore_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
)

// TestOpenFormat1 opens a store written by the first file format
// (testdata/format1.db: installations, an operation with an idempotency
// key, three queued jobs of which one leased, an open and a sealed group),
// which Open migrates, and finds everything there.
func TestOpenFormat1(t *testing.T) {
	t.Parallel()
	golden, err := os.ReadFile("testdata/format1.db")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "store.db")
	require.NoError(t, os.WriteFile(path, golden, 0o600))

	s, err := boltstore.Open(path, &boltstore.Options{Verify: true})
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, s.Verify(ctx))

	inst, err := s.InstallationByGroup(ctx, "crm", "globex")
	require.NoError(t, err)
	require.Equal(t, "inst-2", inst.ID)
	require.Equal(t, []byte("globex config"), inst.Data)
	key, err := s.IdempotencyKey(ctx, "inst-1/k", t0)
	require.NoError(t, err)
	require.Equal(t, "op-1", key.OperationID)
	op, err := s.Operation(ctx, "q-2")
	require.NoError(t, err)
	require.Equal(t, []byte("async q-2"), op.Data)

	members, err := s.Members(ctx, "g-1")
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("m-1"), []byte("m-2")}, members)

	jobs, err := s.Claim(ctx, t0.Add(10*time.Hour), t0.Add(11*time.Hour), 10)
	require.NoError(t, err)
	got := map[string]int{}
	for _, j := range jobs {
		got[j.ID] = j.Attempts
	}
	// q-1 was leased once before; g-3 was sealed (due at once).
	require.Equal(t, map[string]int{"q-1": 2, "q-2": 1, "q-3": 1, "g-1": 1, "g-3": 1}, got)
	require.Equal(t, []byte("payload q-2"), jobPayload(jobs, "q-2"))
	require.NoError(t, s.Close())

	s, err = boltstore.Open(path, &boltstore.Options{Verify: true})
	require.NoError(t, err, "the migrated file opens again")
	require.NoError(t, s.Close())
}

func jobPayload(jobs []store.Job, id string) []byte {
	for _, j := range jobs {
		if j.ID == id {
			return j.Payload
		}
	}
	return nil
}

// TestOpenEmptyFile refuses a file of zero bytes unless asked to make a
// store in it, and makes a store where no file exists.
func TestOpenEmptyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "store.db")
	require.NoError(t, os.WriteFile(path, nil, 0o600))

	_, err := boltstore.Open(path, nil)
	require.ErrorIs(t, err, boltstore.ErrCorrupt)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "empty")
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Zero(t, info.Size(), "nothing written")

	s, err := boltstore.Open(path, &boltstore.Options{InitEmptyFile: true})
	require.NoError(t, err)
	require.NoError(t, s.Verify(t.Context()))
	require.NoError(t, s.Close())
	s, err = boltstore.Open(path, nil)
	require.NoError(t, err, "a store now")
	require.NoError(t, s.Close())

	fresh := filepath.Join(dir, "new.db")
	s, err = boltstore.Open(fresh, nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
}
