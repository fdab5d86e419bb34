package boltstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
)

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// enqueueMany fills s with n jobs of a 1 KB payload from 16 callers.
func enqueueMany(t *testing.T, s *boltstore.Store, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for c := range 16 {
		wg.Go(func() {
			for i := c; i < n; i += 16 {
				id := fmt.Sprintf("op-%06d", i)
				errs <- s.Enqueue(t.Context(),
					store.Operation{ID: id, InstallationID: "inst-1", Data: []byte("op " + id)},
					store.Job{ID: id, InstallationID: "inst-1", RunAt: t0.Add(time.Duration(i) * time.Second), Payload: make([]byte, 1024)},
					nil, t0)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// writeStore makes a closed store file with n queued jobs and returns its path.
func writeStore(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := boltstore.Open(path, nil)
	require.NoError(t, err)
	enqueueMany(t, s, n)
	require.NoError(t, s.Close())
	return path
}

func TestOpenLocked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := boltstore.Open(path, nil)
	require.NoError(t, err)

	_, err = boltstore.Open(path, &boltstore.Options{LockTimeout: 100 * time.Millisecond})
	require.ErrorIs(t, err, boltstore.ErrLocked)
	require.ErrorContains(t, err, path)

	require.NoError(t, s.Close())
	s, err = boltstore.Open(path, nil)
	require.NoError(t, err, "the lock is released on Close")
	require.NoError(t, s.Close())
}

func TestOpenCorrupt(t *testing.T) {
	t.Parallel()
	garbage := func(n int) []byte {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}

	t.Run("RandomBytes", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "store.db")
		require.NoError(t, os.WriteFile(path, garbage(1<<16), 0o600))
		_, err := boltstore.Open(path, nil)
		require.ErrorIs(t, err, boltstore.ErrCorrupt)
	})
	t.Run("Text", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "store.db")
		require.NoError(t, os.WriteFile(path, []byte("not a database\n"), 0o600))
		_, err := boltstore.Open(path, nil)
		require.ErrorIs(t, err, boltstore.ErrCorrupt)
	})
	t.Run("OtherBoltFile", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "other.db")
		db, err := bolt.Open(path, 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("something else"))
			return err
		}))
		require.NoError(t, db.Close())
		_, err = boltstore.Open(path, nil)
		require.ErrorIs(t, err, boltstore.ErrCorrupt)
		require.ErrorContains(t, err, "not a writeback store")
	})
	path := writeStore(t, 2000)
	info, err := os.Stat(path)
	require.NoError(t, err)
	valid, err := os.ReadFile(path)
	require.NoError(t, err)

	t.Run("Truncated", func(t *testing.T) {
		t.Parallel()
		cut := filepath.Join(t.TempDir(), "store.db")
		require.NoError(t, os.WriteFile(cut, valid[:info.Size()/2], 0o600))
		_, err := boltstore.Open(cut, nil)
		require.ErrorIs(t, err, boltstore.ErrCorrupt)
		require.ErrorContains(t, err, "truncated")
	})
	t.Run("OverwrittenMiddle", func(t *testing.T) {
		t.Parallel()
		damaged := filepath.Join(t.TempDir(), "store.db")
		b := append([]byte(nil), valid...)
		copy(b[len(b)/3:], garbage(len(b)/3))
		require.NoError(t, os.WriteFile(damaged, b, 0o600))

		_, err := boltstore.Open(damaged, &boltstore.Options{Verify: true})
		require.ErrorIs(t, err, boltstore.ErrCorrupt)

		// Without Verify the damage may go unseen at Open; using the store
		// then fails with errors, never with a crash.
		s, err := boltstore.Open(damaged, nil)
		if err != nil {
			require.ErrorIs(t, err, boltstore.ErrCorrupt)
			return
		}
		defer func() { require.NoError(t, s.Close()) }()
		ctx := t.Context()
		_, errOps := s.Operations(ctx, "inst-1", "", 5000)
		_, errClaim := s.Claim(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 5000)
		require.True(t, errOps != nil || errClaim != nil, "reading every record meets the damage")
		for _, err := range []error{errOps, errClaim} {
			if err != nil {
				require.ErrorIs(t, err, boltstore.ErrCorrupt)
			}
		}
	})
}

func TestOpenVerifiesValidFile(t *testing.T) {
	t.Parallel()
	path := writeStore(t, 300)
	s, err := boltstore.Open(path, &boltstore.Options{Verify: true})
	require.NoError(t, err)
	jobs, err := s.Claim(t.Context(), t0.Add(time.Hour), t0.Add(2*time.Hour), 1000)
	require.NoError(t, err)
	require.Len(t, jobs, 300)
	require.NoError(t, s.Close())
}

func TestClosed(t *testing.T) {
	t.Parallel()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "store.db"), nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "closing again does nothing")

	ctx := t.Context()
	op := store.Operation{ID: "op-1", InstallationID: "inst-1"}
	job := store.Job{ID: "op-1"}
	for name, call := range map[string]func() error{
		"InsertInstallation": func() error {
			return s.InsertInstallation(ctx, store.Installation{ID: "inst-1"})
		},
		"Installation":    func() error { _, err := s.Installation(ctx, "inst-1"); return err },
		"Installations":   func() error { _, err := s.Installations(ctx, ""); return err },
		"CreateOperation": func() error { return s.CreateOperation(ctx, op, nil, t0) },
		"Operation":       func() error { _, err := s.Operation(ctx, "op-1"); return err },
		"Operations":      func() error { _, err := s.Operations(ctx, "inst-1", "", 10); return err },
		"IdempotencyKey":  func() error { _, err := s.IdempotencyKey(ctx, "k", t0); return err },
		"Enqueue":         func() error { return s.Enqueue(ctx, op, job, nil, t0) },
		"Join": func() error {
			_, err := s.Join(ctx, store.JoinRequest{Group: "g", MaxSize: 2, NewOperation: op, NewJob: store.Job{ID: "op-1", Group: "g"}})
			return err
		},
		"Claim":      func() error { _, err := s.Claim(ctx, t0, t0, 10); return err },
		"Members":    func() error { _, err := s.Members(ctx, "op-1"); return err },
		"Reschedule": func() error { return s.Reschedule(ctx, op, job.Lease(), t0) },
		"Complete":   func() error { return s.Complete(ctx, op, job.Lease()) },
		"Extend":     func() error { return s.Extend(ctx, job.Lease(), t0) },
		"NextDue":    func() error { _, _, err := s.NextDue(ctx); return err },
	} {
		require.ErrorIs(t, call(), store.ErrClosed, name)
	}
}

func TestCloseDuringWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := boltstore.Open(path, nil)
	require.NoError(t, err)

	const callers, each = 32, 50
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked []string
		start = make(chan struct{})
	)
	for c := range callers {
		wg.Go(func() {
			<-start
			for i := range each {
				id := fmt.Sprintf("op-%02d-%03d", c, i)
				err := s.Enqueue(context.Background(),
					store.Operation{ID: id, InstallationID: "inst-1"},
					store.Job{ID: id, RunAt: t0}, nil, t0)
				if err != nil {
					require.ErrorIs(t, err, store.ErrClosed)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	close(start)
	require.NoError(t, s.Close())
	wg.Wait()

	s, err = boltstore.Open(path, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	for _, id := range acked {
		_, err := s.Operation(t.Context(), id)
		require.NoError(t, err, "acknowledged %s before Close", id)
	}
}
