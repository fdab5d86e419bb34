package memstore_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/memstore"
	"github.com/writebackhq/writeback/store/storetest"
)

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) store.Interface { return memstore.New() })
	storetest.RunShared(t, func(*testing.T) (store.Interface, store.Interface) {
		s := memstore.New()
		return s, s
	})
}

func TestStoreInBubble(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := memstore.New()
		now := time.Now()
		op := store.Operation{ID: "op-1", InstallationID: "inst-1"}
		job := store.Job{ID: "op-1", InstallationID: "inst-1", RunAt: now.Add(time.Second)}
		require.NoError(t, s.Enqueue(ctx, op, job, nil, now))
		next, ok, err := s.NextDue(ctx)
		require.NoError(t, err)
		require.True(t, ok)

		time.Sleep(time.Until(next))
		synctest.Wait()
		jobs, err := s.Claim(ctx, time.Now(), time.Now().Add(time.Minute), 10)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		require.Equal(t, 1, jobs[0].Attempts)
	})
}
