package lazyfs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/store/boltstore/internal/lazyfs"
)

// mount mounts a lazy view of a new directory, or skips t where FUSE
// cannot mount (failing instead with WRITEBACK_REQUIRE_FUSE=1).
func mount(t *testing.T) (l *lazyfs.FS, backing, mnt string) {
	t.Helper()
	backing, mnt = t.TempDir(), t.TempDir()
	l, err := lazyfs.Mount(backing, mnt)
	if err != nil {
		if os.Getenv("WRITEBACK_REQUIRE_FUSE") == "1" {
			t.Fatalf("lazyfs: FUSE is required (WRITEBACK_REQUIRE_FUSE=1): %v", err)
		}
		t.Skipf("lazyfs: needs FUSE (/dev/fuse, root): %v", err)
	}
	t.Cleanup(func() { require.NoError(t, l.Unmount()) })
	return l, backing, mnt
}

func TestCutDropsUnsyncedWrites(t *testing.T) {
	t.Parallel()
	l, backing, mnt := mount(t)
	f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("synced"), 0)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	_, err = f.WriteAt([]byte("SYNCED and more"), 0)
	require.NoError(t, err)

	got := make([]byte, 15)
	_, err = f.ReadAt(got, 0)
	require.NoError(t, err)
	require.Equal(t, "SYNCED and more", string(got), "the mount shows pending writes")
	info, err := f.Stat()
	require.NoError(t, err)
	require.EqualValues(t, 15, info.Size())
	onDisk, err := os.ReadFile(filepath.Join(backing, "f"))
	require.NoError(t, err)
	require.Equal(t, "synced", string(onDisk), "the backing file does not")
	require.NoError(t, f.Close())

	require.Positive(t, l.Cut())
	onDisk, err = os.ReadFile(filepath.Join(backing, "f"))
	require.NoError(t, err)
	require.Equal(t, "synced", string(onDisk))
}
