// Package memstore keeps a [store.Interface] in memory: installations,
// operation records and the async queue, lost when the process exits. It
// suits tests (it starts no goroutines and uses no timers, so it works inside
// testing/synctest bubbles) and sync-only use. For durable async work use
// store/boltstore.
package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Store is an in-memory [store.Interface]. It is safe for concurrent use.
// Byte slices are copied in and out, so callers never alias stored data.
// Times come back in UTC without a monotonic reading.
type Store struct {
	mu sync.Mutex

	installations map[string]store.Installation
	groupRefs     map[groupRef]string // (integration, groupRef) -> installation ID

	operations map[string]store.Operation
	opIDs      []string            // every operation ID, sorted
	opsByInst  map[string][]string // installation ID -> operation IDs, sorted
	keys       map[string]store.IdempotencyKey

	jobs       map[string]*entry
	due        dueHeap
	openGroups map[string]string // group key -> job ID
}

// groupRef indexes installations by (integration, groupRef).
type groupRef struct{ integration, ref string }

// entry is a queued job and, for a group job, its members in join order.
type entry struct {
	job     store.Job
	members [][]byte
	index   int // in Store.due
}

var _ store.Interface = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		installations: make(map[string]store.Installation),
		groupRefs:     make(map[groupRef]string),
		operations:    make(map[string]store.Operation),
		opsByInst:     make(map[string][]string),
		keys:          make(map[string]store.IdempotencyKey),
		jobs:          make(map[string]*entry),
		openGroups:    make(map[string]string),
	}
}

// lock checks ctx and takes the store's lock; the caller must unlock.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	return nil
}

// cloneBytes copies b; empty and nil both come back nil.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// normTime drops the monotonic reading and location, as a disk store would.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}
