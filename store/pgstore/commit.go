package pgstore

import (
	"context"
	"errors"
	"runtime"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/writebackhq/writeback/store"
)

// maxBatch caps how many calls share one transaction.
const maxBatch = 512

// request is one Enqueue, CreateOperation or Join waiting for a committer.
// Exactly one of create and join is set. Its byte slices are the Store's
// own copies: the caller may return (its ctx ended) and reuse its slices
// while the request still waits.
type request struct {
	ctx    context.Context
	create *createCall
	join   *joinCall
	done   chan error
}

// submit hands r to the committers and waits until its transaction
// committed (nil), it failed alone (its error), or ctx ended. A caller
// whose ctx ends while its request waits gets ctx.Err(); the request may
// still be committed.
func (s *Store) submit(r *request) error {
	if err := s.begin(r.ctx); err != nil {
		return err
	}
	if s.opts.noGroupCommit {
		return s.commitAlone(r)
	}
	r.done = make(chan error, 1)
	s.mu.RLock()
	if s.closed.Load() {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.reqs <- r:
		s.mu.RUnlock()
	case <-r.ctx.Done():
		s.mu.RUnlock()
		return r.ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// commitLoop is one committer: it takes every call waiting when it is free
// (up to maxBatch, no timer), applies them in one transaction and commits
// once, until Close. Several committers run at once, so a batch gathers
// while the previous one commits.
func (s *Store) commitLoop() {
	batch := make([]*request, 0, maxBatch)
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
			// Let the callers the last commit released queue their next
			// calls before draining: yield while more keep coming.
			for n := -1; n != len(s.reqs) && len(s.reqs) < maxBatch; {
				n = len(s.reqs)
				runtime.Gosched()
			}
		more:
			for len(batch) < maxBatch {
				select {
				case r := <-s.reqs:
					batch = append(batch, r)
				default:
					break more
				}
			}
			s.commit(batch)
			clear(batch)
		}
	}
}

// commit applies batch in one transaction and answers every call. Calls
// refused alone (a taken idempotency key, an existing ID) get their own
// error and the others commit. If the transaction fails as a whole on a
// statement (a deadlock with another process, say), each call is retried
// in a transaction of its own, so only the call at fault fails; if the
// connection or the commit fails, every call gets the error.
func (s *Store) commit(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if calls, ok := withoutKeys(live); ok {
		results, err := s.commitWithoutKeys(s.ctx, calls)
		for i, r := range live {
			if err != nil {
				r.done <- err
				continue
			}
			r.done <- results[i]
		}
		return
	}
	results := make([]error, len(live))
	err := pgx.BeginFunc(s.ctx, s.pool, func(tx pgx.Tx) error {
		return s.apply(s.ctx, tx, live, results)
	})
	if len(live) > 1 && retryAlone(err) {
		for _, r := range live {
			r.done <- s.commitAlone(r)
		}
		return
	}
	for i, r := range live {
		if err != nil {
			r.done <- wrap(err, "commit")
			continue
		}
		r.done <- results[i]
	}
}

// withoutKeys returns the calls of batch if they are all Enqueue or
// CreateOperation calls without an idempotency key, with distinct IDs:
// the common case, which one statement can store.
func withoutKeys(batch []*request) ([]*createCall, bool) {
	calls := make([]*createCall, len(batch))
	ids := make(map[string]bool, len(batch))
	for i, r := range batch {
		c := r.create
		if c == nil || c.key != nil || ids[c.op.ID] {
			return nil, false
		}
		ids[c.op.ID] = true
		calls[i] = c
	}
	return calls, true
}

// retryAlone reports an error of one statement that spoiled a shared
// transaction (a deadlock with another process, a constraint), after which
// each call is worth retrying alone; not a lost connection or a server
// shutting down, which would fail every call again.
func retryAlone(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	class := pe.Code[:2]
	return class != "08" && class != "57" && class != "53"
}

// commitAlone applies r in a transaction of its own (without group
// commit, on the caller's goroutine and ctx).
func (s *Store) commitAlone(r *request) error {
	ctx := s.ctx
	if s.opts.noGroupCommit {
		ctx = r.ctx
	}
	results := make([]error, 1)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return s.apply(ctx, tx, []*request{r}, results)
	})
	if err != nil {
		return wrap(err, "commit")
	}
	return results[0]
}

// apply applies reqs in tx: the creates first, then the joins, and sends
// one notification if any of them queued work. A call refused alone has
// its error in results; an error apply returns spoils the transaction.
func (s *Store) apply(ctx context.Context, tx pgx.Tx, reqs []*request, results []error) error {
	var creates, joins []int
	for i, r := range reqs {
		if r.create != nil {
			creates = append(creates, i)
		} else {
			joins = append(joins, i)
		}
	}
	queued := false
	if len(creates) > 0 {
		calls := make([]*createCall, len(creates))
		for j, i := range creates {
			calls[j] = reqs[i].create
		}
		errs, err := s.applyCreates(ctx, tx, calls)
		if err != nil {
			return err
		}
		for j, i := range creates {
			results[i] = errs[j]
			queued = queued || (errs[j] == nil && calls[j].job != nil)
		}
	}
	if len(joins) > 0 {
		calls := make([]*joinCall, len(joins))
		for j, i := range joins {
			calls[j] = reqs[i].join
		}
		errs, err := s.applyJoins(ctx, tx, calls)
		if err != nil {
			return err
		}
		for j, i := range joins {
			results[i] = errs[j]
			res := calls[j].res
			queued = queued || (errs[j] == nil && (res.Opened || res.Sealed))
		}
	}
	if queued {
		return s.notify(ctx, tx, payloadDue)
	}
	return nil
}
