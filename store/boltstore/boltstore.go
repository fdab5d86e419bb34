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
//
// Damage is found, not trusted: every value carries a checksum of its
// bucket, key and bytes, each bucket counts its entries, and a read that
// meets a damaged entry fails with a [*CorruptError] naming the bucket and
// key. [Store.Verify] checks the whole file. The queue works around damage
// rather than stopping on it; see [Store.Claim] and [Store.Quarantine].
package boltstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	// ErrCorrupt reports a file that is not a writeback store or is
	// damaged. Damage to an entry is reported as a [*CorruptError], which
	// wraps it.
	ErrCorrupt = fmt.Errorf("boltstore: file is %w", store.ErrCorrupt)
)

// DefaultLockTimeout is how long [Open] waits for a locked file by default.
const DefaultLockTimeout = time.Second

// Options configures [Open]. A nil *Options means the defaults.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file before failing with ErrLocked. Zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// Verify makes Open run [Store.Verify], so that a damaged file fails at
	// Open with ErrCorrupt. It takes time in proportion to the file's
	// size. Without it Open checks the file's length, its meta and
	// freelist pages, and the pages on the way to the first and last
	// entries of each index; a damaged entry is then reported when it is
	// read (and worked around by the queue), not at Open.
	Verify bool
	// InitEmptyFile lets Open make a new store in an existing file of zero
	// bytes, such as one made with os.CreateTemp. Without it such a file
	// fails with ErrCorrupt: a store whose file lost its contents must not
	// come back as an empty queue. A path where no file exists is always
	// created.
	InitEmptyFile bool

	// noGroupCommit commits every call in a transaction of its own; the
	// benchmarks' baseline.
	noGroupCommit bool
	// noSync skips fsync (bbolt's NoSync): acknowledged writes can be lost
	// in a power cut. Only the power-cut test uses it, to show that its
	// harness notices such a loss.
	noSync bool
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

	formatKey = []byte("format")
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
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := checkFile(path, o); err != nil {
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
	db.NoSync = o.noSync
	if err := prepare(db, o.Verify); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if created {
		if err := syncDir(filepath.Dir(path)); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("boltstore: open %s: sync directory: %w", path, err)
		}
	}
	return db, nil
}

// checkFile runs precheck on an existing file while holding its lock.
func checkFile(path string, o Options) error {
	timeout := o.LockTimeout
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
	return precheck(f, o.InitEmptyFile)
}

// prepare creates the buckets of a new file, migrates one of an earlier
// format, and checks it.
func prepare(db *bolt.DB, full bool) error {
	var format []byte
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if k, _ := tx.Cursor().First(); k != nil {
				return fmt.Errorf("%w: not a writeback store", ErrCorrupt)
			}
			return nil
		}
		format = bytes.Clone(meta.Get(formatKey))
		if !bytes.Equal(format, formatV1) && !bytes.Equal(format, formatV2) {
			return fmt.Errorf("%w: unknown store format %x", ErrCorrupt, format)
		}
		for _, name := range dataBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%w: index %s is missing", ErrCorrupt, name)
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return err
	case format == nil:
		return db.Update(create)
	case bytes.Equal(format, formatV1):
		if err := db.Update(migrateV1); err != nil {
			return err
		}
	}
	return db.View(func(tx *bolt.Tx) error {
		if full {
			return verify(tx, db.Path())
		}
		return probe(tx)
	})
}

// create makes the buckets of a new store.
func create(tx *bolt.Tx) error {
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	if err := meta.Put(formatKey, formatV2); err != nil {
		return err
	}
	for _, name := range dataBuckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// decoders check the bodies of the buckets that hold records.
var decoders = map[string]func(k, body []byte) error{
	string(bucketInstallations): func(k, v []byte) error { _, err := decodeInstallation(k, v); return err },
	string(bucketOperations):    func(k, v []byte) error { _, err := decodeOperation(k, v); return err },
	string(bucketKeys):          func(k, v []byte) error { _, err := decodeKey(k, v); return err },
	string(bucketJobs):          func(k, v []byte) error { _, err := decodeJob(k, v); return err },
	string(bucketOpenGroups):    func(k, v []byte) error { _, _, err := decodeOpenGroup(k, v); return err },
}

// probe walks to the first and last entry of every bucket, a cheap look
// at the file's pages at Open (a damaged page faults or panics, which
// openDB reports). Damage to an entry itself does not stop Open: it is
// reported when the entry is read, and the queue works around it.
func probe(tx *bolt.Tx) error {
	for _, name := range dataBuckets {
		c := tx.Bucket(name).Cursor()
		c.First()
		c.Last()
	}
	return nil
}

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
