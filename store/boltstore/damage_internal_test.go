package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/writebackhq/writeback/store"
)

// Helpers that build store files and damage them, for the corruption tests.

var dmgT0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// farFuture is a Claim's now that makes every job due, and a lease that
// never runs out within a test.
var farFuture = dmgT0.Add(1000 * time.Hour)

func dmgID(i int) string { return fmt.Sprintf("op-%06d", i) }

// dmgPayload is job i's payload: 1 KB that names the job.
func dmgPayload(i int) []byte {
	return append([]byte(dmgID(i)+" "), bytes.Repeat([]byte{'x'}, 1024)...)
}

// buildStore writes a store with n queued jobs (one caller, so the
// file's layout does not depend on scheduling), two installations,
// idempotency keys for the first ten operations, an open group of two
// members and a sealed group, then closes it.
func buildStore(t testing.TB, path string, n int) {
	t.Helper()
	s, err := Open(path, nil)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, s.InsertInstallation(ctx, store.Installation{ID: "inst-1", Integration: "crm", GroupRef: "acme", Revision: 1, Data: []byte("acme")}))
	require.NoError(t, s.InsertInstallation(ctx, store.Installation{ID: "inst-2", Integration: "crm", GroupRef: "globex", Revision: 1, Data: []byte("globex")}))
	for i := range n {
		id := dmgID(i)
		var key *store.IdempotencyKey
		if i < 10 {
			key = &store.IdempotencyKey{Key: "inst-1/key-" + id, RequestHash: "h", OperationID: id, ExpiresAt: farFuture.Add(time.Hour)}
		}
		require.NoError(t, s.Enqueue(ctx,
			store.Operation{ID: id, InstallationID: "inst-1", Data: []byte("operation " + id)},
			store.Job{ID: id, InstallationID: "inst-1", Provider: "hubspot", RunAt: dmgT0.Add(time.Duration(i) * time.Second), Payload: dmgPayload(i)},
			key, dmgT0))
	}
	for i, g := range []struct{ group, master string }{{"open", "g-open"}, {"open", ""}, {"sealed", "g-sealed"}, {"sealed", ""}} {
		_, err := s.Join(ctx, store.JoinRequest{Group: g.group, Member: []byte(fmt.Sprintf("member-%d", i)), MaxSize: 2 + boolInt(g.group == "open"), Now: dmgT0,
			NewOperation: store.Operation{ID: g.master, InstallationID: "inst-1"},
			NewJob:       store.Job{ID: g.master, InstallationID: "inst-1", Provider: "hubspot", Group: g.group, RunAt: farFuture.Add(-time.Hour), Payload: []byte("common")}})
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

var (
	templateOnce sync.Once
	templateFile []byte
)

// dmgTemplate returns the bytes of a store built by buildStore with 500
// jobs, built once per test binary.
func dmgTemplate(t *testing.T) []byte {
	templateOnce.Do(func() {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("boltstore-template-%d.db", os.Getpid()))
		defer os.Remove(path)
		buildStore(t, path, 500)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		templateFile = b
	})
	require.NotNil(t, templateFile, "building the template store failed")
	return templateFile
}

// rawUpdate changes the closed store file at path through a bbolt handle,
// bypassing the store (no seals, no counts unless fn makes them).
func rawUpdate(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(fn))
	require.NoError(t, db.Close())
}

// fileMeta reads the current meta of the file at path.
func fileMeta(t *testing.T, path string) meta {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	m, ok := readMeta(f)
	require.True(t, ok)
	return m
}

// freePages returns the pages in the freelist of the file b.
func freePages(b []byte, m meta) map[uint64]bool {
	free := map[uint64]bool{}
	if m.freelist == noFreelist {
		return free
	}
	p := b[m.freelist*m.pageSize:]
	count, start := uint64(binary.NativeEndian.Uint16(p[10:])), uint64(pageHeaderSize)
	if count == 0xFFFF {
		count, start = binary.NativeEndian.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	for i := range count {
		free[binary.NativeEndian.Uint64(p[start+i*8:])] = true
	}
	return free
}

// pageOf returns the ID of the first page in use below the high-water mark
// whose flags are flags and whose bytes contain needle (nil: any).
func pageOf(t *testing.T, b []byte, m meta, flags uint16, needle []byte) uint64 {
	t.Helper()
	free := freePages(b, m)
	for id := uint64(2); id < m.pgid; id++ {
		if free[id] {
			continue
		}
		p := b[id*m.pageSize : (id+1)*m.pageSize]
		if binary.NativeEndian.Uint64(p) != id || binary.NativeEndian.Uint16(p[8:]) != flags {
			continue
		}
		if needle == nil || bytes.Contains(p, needle) {
			return id
		}
	}
	t.Fatalf("no page with flags %#x holding %q", flags, needle)
	return 0
}

// flipBit flips bit of the byte at off in the file at path.
func flipBit(t *testing.T, path string, off int64, bit uint) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[off] ^= 1 << bit
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// offsetOf returns the offset of the first occurrence of needle in the
// file at path after from.
func offsetOf(t *testing.T, path string, from int64, needle []byte) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	i := bytes.Index(b[from:], needle)
	require.GreaterOrEqual(t, i, 0, "%q not in the file", needle)
	return from + int64(i)
}

// jobNeedle is the start of job i's stored entry: key, then its sealed
// record (which repeats the ID and names the provider), unique to the jobs
// bucket.
func jobNeedle(i int) []byte {
	id := dmgID(i)
	return []byte(id + "\x02\x09" + id + "\x06inst-1\x07hubspot")
}
