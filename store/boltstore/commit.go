package boltstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/writebackhq/writeback/store"
	bolt "go.etcd.io/bbolt"
)

// maxBatch caps how many calls share one transaction.
const maxBatch = 1024

// request is one write call waiting for the committer.
type request struct {
	ctx context.Context
	// fn applies the call to tx. It must decide to fail before it writes
	// anything: an error it returns is the caller's alone, and the
	// transaction goes on with the next call. Only a *writeError (bbolt
	// refused a write half-way) spoils the transaction.
	fn   func(tx *bolt.Tx) error
	done chan error
}

// writeError reports bbolt refusing a put or delete, which may leave the
// transaction half-written.
type writeError struct{ err error }

// Error implements error.
func (e *writeError) Error() string { return "boltstore: write: " + e.err.Error() }

// Unwrap returns bbolt's error.
func (e *writeError) Unwrap() error { return e.err }

// write runs fn in a transaction the committer shares with other calls, and
// returns once that transaction is durable.
func (s *Store) write(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.reqs <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The committer may still apply and commit the call.
		return ctx.Err()
	}
}

// read runs fn in a read-only transaction. A fault or panic on a damaged
// page becomes ErrCorrupt.
func (s *Store) read(ctx context.Context, fn func(tx *bolt.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = &faultError{"read", p}
		}
	}()
	return s.db.View(fn)
}

// commitLoop is the committer: it takes the calls waiting when the previous
// commit finished (natural batching, no timer), up to maxBatch, applies
// them in one transaction and commits it, until Close.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	debug.SetPanicOnFault(true)
	batch := make([]*request, 0, maxBatch)
	var broken error
	for {
		select {
		case <-s.quit:
			for {
				select {
				case r := <-s.reqs:
					r.done <- store.ErrClosed
				default:
					return
				}
			}
		case r := <-s.reqs:
			batch = append(batch[:0], r)
			// Let the callers the previous commit released queue their
			// next calls before draining: yield while more keep coming.
			// Bigger batches mean fewer fsyncs, and there is no timer.
			for n := -1; n != len(s.reqs) && len(s.reqs) < maxBatch; {
				n = len(s.reqs)
				runtime.Gosched()
			}
		more:
			for len(batch) < maxBatch && !s.opts.noGroupCommit {
				select {
				case r := <-s.reqs:
					batch = append(batch, r)
				default:
					break more
				}
			}
			if broken != nil {
				for _, r := range batch {
					r.done <- broken
				}
				continue
			}
			broken = s.commit(batch)
			clear(batch)
		}
	}
}

// commit applies batch in one transaction and answers every call. If bbolt
// refuses a write half-way, it rolls back and retries each call in a
// transaction of its own. It returns an error only if the store can no
// longer be written.
func (s *Store) commit(batch []*request) error {
	results := make([]error, len(batch))
	tx, err := begin(s.db)
	if err != nil {
		return s.fail(batch, err)
	}
	wrote := false
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		err := apply(tx, r.fn)
		var we *writeError
		if errors.As(err, &we) {
			_ = tx.Rollback()
			return s.commitEach(batch)
		}
		var fe *faultError
		if errors.As(err, &fe) {
			rollback(tx)
			return s.fail(batch, err)
		}
		results[i] = err
		wrote = wrote || err == nil
	}
	if !wrote {
		_ = tx.Rollback()
	} else if err := commitTx(tx); err != nil {
		return s.fail(batch, err)
	}
	for i, r := range batch {
		r.done <- results[i]
	}
	return nil
}

// commitEach applies and commits every call in a transaction of its own.
func (s *Store) commitEach(batch []*request) error {
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		tx, err := begin(s.db)
		if err != nil {
			return s.fail(batch[i:], err)
		}
		err = apply(tx, r.fn)
		if err != nil {
			_ = tx.Rollback()
			var fe *faultError
			if errors.As(err, &fe) {
				return s.fail(batch[i:], err)
			}
			r.done <- err
			continue
		}
		if err := commitTx(tx); err != nil {
			return s.fail(batch[i:], err)
		}
		r.done <- nil
	}
	return nil
}

// appendFill is the fill percent of the buckets whose keys mostly grow
// (time-ordered IDs, RunAt): pages split nearly full instead of half full,
// so a commit writes fewer pages and the file stays smaller.
const appendFill = 0.9

// begin starts a write transaction.
func begin(db *bolt.DB) (*bolt.Tx, error) {
	tx, err := db.Begin(true)
	if err != nil {
		return nil, fmt.Errorf("boltstore: begin: %w", err)
	}
	for _, name := range [][]byte{bucketOperations, bucketOpIndex, bucketJobs, bucketDue, bucketMembers} {
		tx.Bucket(name).FillPercent = appendFill
	}
	return tx, nil
}

// fail answers every call with err and returns err as the reason the store
// is broken.
func (s *Store) fail(batch []*request, err error) error {
	for _, r := range batch {
		r.done <- err
	}
	return fmt.Errorf("%w: %w", store.ErrClosed, err)
}

// faultError is a fault or panic inside bbolt, from a damaged page; it
// wraps ErrCorrupt.
type faultError struct {
	op    string
	cause any
}

// Error implements error.
func (e *faultError) Error() string {
	return fmt.Sprintf("boltstore: %s: %v: %v", e.op, ErrCorrupt, e.cause)
}

// Unwrap returns [ErrCorrupt].
func (e *faultError) Unwrap() error { return ErrCorrupt }

// apply runs fn, turning a fault or panic into a *faultError.
func apply(tx *bolt.Tx, fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &faultError{"write", p}
		}
	}()
	return fn(tx)
}

// commitTx commits tx, turning a fault or panic into a *faultError. A
// commit that panicked is rolled back, so that Close does not wait
// forever for its lock.
func commitTx(tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &faultError{"commit", p}
			rollback(tx)
		}
	}()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("boltstore: commit: %w", err)
	}
	return nil
}

// rollback rolls tx back, ignoring a fault or panic on the way: the store
// is already failing.
func rollback(tx *bolt.Tx) {
	defer func() { _ = recover() }()
	_ = tx.Rollback()
}
