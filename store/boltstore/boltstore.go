// Package boltstore keeps a [store.Interface] in a bbolt file: installations,
// operation records and the durable async queue of a single process.
//
// Every write is fsync'd before its method returns (the file is never opened
// with NoSync). Concurrent writes share transactions: one committer
// goroutine takes every call waiting at the moment the previous commit
// finished, applies them in one bbolt transaction and commits once (group
// commit), so many callers pay for one fsync. A call that fails (say with a
// [*store.KeyExistsError]) writes nothing and fails alone; the others in
// its transaction are unaffected.
//
// Every method checks its ctx before it starts. A caller whose ctx ends while
// its write waits for the committer gets ctx.Err(); the write may still have
// landed, as with any request whose answer is lost.
//
// Payloads stay on disk: the store keeps no in-memory copy of queued jobs,
// and [Store.Claim] reads only the due jobs, in order, from an index on RunAt.
//
// If a commit fails (a failed fsync leaves the file's state uncertain) or a
// damaged page is met while writing, the store refuses every later write
// with an error wrapping [store.ErrClosed]; close and reopen it.
//
// Only one process may open a file at a time; a second [Open] fails with
// [ErrLocked] after [Options.LockTimeout]. A file that is not a store, or
// whose pages are damaged, fails with [ErrCorrupt] rather than crashing the
// process.
package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/writebackhq/writeback/store"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrLocked reports a file that another process (or another Store in
	// this process) holds open.
	ErrLocked = errors.New("boltstore: file is locked by another process")
	// ErrCorrupt reports a file that is not a writeback store or is damaged.
	ErrCorrupt = errors.New("boltstore: file is corrupt")
)

// DefaultLockTimeout is how long [Open] waits for a locked file by default.
const DefaultLockTimeout = time.Second

// Options configures [Open]. A nil *Options means the defaults.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file before failing with ErrLocked. Zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// Verify makes Open read and decode every record, in every index, so
	// that a damaged file fails at Open with ErrCorrupt. It takes time in
	// proportion to the file's size. Without it Open checks the file's
	// length and the first and last records of each index.
	Verify bool

	// noGroupCommit commits every call in a transaction of its own; the
	// benchmarks' baseline.
	noGroupCommit bool
}

// Store is a [store.Interface] in a bbolt file. It is safe for concurrent
// use. Close it when done; a Writer never closes the store it was given.
type Store struct {
	db   *bolt.DB
	opts Options

	// mu guards closed. Callers hold it shared while they hand a write to
	// the committer or run a read, so Close (which holds it exclusively)
	// knows that no call is on its way in.
	mu     sync.RWMutex
	closed bool

	reqs    chan *request
	quit    chan struct{}
	stopped chan struct{}
}

var _ store.Interface = (*Store)(nil)

// Bucket names.
var (
	bucketMeta          = []byte("writeback")
	bucketInstallations = []byte("installations")
	bucketGroupRefs     = []byte("installations-by-group")
	bucketOperations    = []byte("operations")
	bucketOpIndex       = []byte("operations-by-installation")
	bucketKeys          = []byte("idempotency-keys")
	bucketJobs          = []byte("jobs")
	bucketDue           = []byte("jobs-due")
	bucketMembers       = []byte("group-members")
	bucketOpenGroups    = []byte("open-groups")

	dataBuckets = [][]byte{
		bucketInstallations, bucketGroupRefs, bucketOperations, bucketOpIndex,
		bucketKeys, bucketJobs, bucketDue, bucketMembers, bucketOpenGroups,
	}

	formatKey     = []byte("format")
	formatVersion = []byte{1}
)

// Open opens the store kept in the file at path, creating it if it does not
// exist, and starts its committer. It fails with [ErrLocked] if another
// process holds the file and with [ErrCorrupt] if the file is not a store
// or is damaged.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	db, err := openDB(path, o)
	if err != nil {
		return nil, err
	}
	s := &Store{
		db:      db,
		opts:    o,
		reqs:    make(chan *request, maxBatch),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go s.commitLoop()
	return s, nil
}

// openDB opens and checks the bbolt file. A damaged file fails with
// ErrCorrupt: precheck catches what would make bbolt fault while opening,
// and faults or panics while probing the pages are recovered.
func openDB(path string, o Options) (db *bolt.DB, err error) {
	if err := checkFile(path, o.LockTimeout); err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	var file *os.File
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				_ = db.Close()
			} else if file != nil {
				// bbolt lost its handle while opening; release the file.
				_ = file.Close()
			}
			db, err = nil, fmt.Errorf("boltstore: open %s: %w: %v", path, ErrCorrupt, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      o.LockTimeout,
		FreelistType: bolt.FreelistMapType,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("boltstore: open %s: %w (waited %v)", path, ErrLocked, o.LockTimeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("boltstore: open %s: %w: %w", path, ErrCorrupt, err)
	case err != nil:
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if err := prepare(db, o.Verify); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return db, nil
}

// checkFile runs precheck on an existing file while holding its lock.
func checkFile(path string, timeout time.Duration) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f, timeout); err != nil {
		if errors.Is(err, ErrLocked) {
			return fmt.Errorf("%w (waited %v)", ErrLocked, timeout)
		}
		return err
	}
	return precheck(f)
}

// prepare creates the buckets of a new file and checks an existing one.
func prepare(db *bolt.DB, verify bool) error {
	fresh := false
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			k, _ := tx.Cursor().First()
			fresh = k == nil
			if !fresh {
				return fmt.Errorf("%w: not a writeback store", ErrCorrupt)
			}
			return nil
		}
		if v := meta.Get(formatKey); string(v) != string(formatVersion) {
			return fmt.Errorf("%w: unknown store format %x", ErrCorrupt, v)
		}
		for _, name := range dataBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%w: index %s is missing", ErrCorrupt, name)
			}
		}
		return probe(tx, verify)
	})
	if err != nil || !fresh {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(formatKey, formatVersion); err != nil {
			return err
		}
		for _, name := range dataBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// decoders check the values of the buckets that hold records.
var decoders = map[string]func(k, v []byte) error{
	string(bucketInstallations): func(k, v []byte) error { _, err := decodeInstallation(k, v); return err },
	string(bucketOperations):    func(k, v []byte) error { _, err := decodeOperation(k, v); return err },
	string(bucketKeys):          func(k, v []byte) error { _, err := decodeKey(k, v); return err },
	string(bucketJobs):          func(k, v []byte) error { _, err := decodeJob(k, v); return err },
	string(bucketOpenGroups):    func(k, v []byte) error { _, _, err := decodeOpenGroup(k, v); return err },
}

// probe reads the first and last record of every bucket, or with verify
// every record, checking key order and decoding values.
func probe(tx *bolt.Tx, verify bool) error {
	for _, name := range dataBuckets {
		decode := decoders[string(name)]
		check := func(k, v []byte) error {
			if v == nil && tx.Bucket(name).Bucket(k) != nil {
				return fmt.Errorf("%w: unexpected bucket %q in %s", ErrCorrupt, k, name)
			}
			if decode != nil {
				return decode(k, v)
			}
			return nil
		}
		c := tx.Bucket(name).Cursor()
		if !verify {
			for _, kv := range [][2][]byte{pair(c.First()), pair(c.Last())} {
				if kv[0] != nil {
					if err := check(kv[0], kv[1]); err != nil {
						return err
					}
				}
			}
			continue
		}
		var prev []byte
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				return fmt.Errorf("%w: keys out of order in %s", ErrCorrupt, name)
			}
			if err := check(k, v); err != nil {
				return err
			}
			prev = k
		}
	}
	return nil
}

func pair(k, v []byte) [2][]byte { return [2][]byte{k, v} }

// Close stops the committer, fails the calls still waiting for it with
// [store.ErrClosed], and closes the file. Calls after Close fail
// with ErrStoreClosed; closing again does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	<-s.stopped
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}
