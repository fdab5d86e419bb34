package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
	"github.com/writebackhq/writeback/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// open opens a store in a new file that is closed when t ends.
func open(t *testing.T) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "store.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Interface { return open(t) })
	storetest.RunReopen(t, func(t *testing.T, path string) (store.Interface, func() error) {
		s, err := boltstore.Open(path, &boltstore.Options{Verify: true})
		require.NoError(t, err)
		return s, s.Close
	})
	// One process owns a bbolt file: its goroutines share one Store.
	storetest.RunShared(t, func(t *testing.T) (store.Interface, store.Interface) {
		s := open(t)
		return s, s
	})
}
