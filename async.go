package writeback

import (
	"context"
	"errors"
	"fmt"

	"github.com/writebackhq/writeback/store"
)

// submitAsync stores an async write durably, with its idempotency key if
// any, and returns its operation in progress; the dispatcher runs it. Async
// writes are accepted whenever the Writer is not stopped: before Start they
// wait in the store and run once it is started (like river's insert-only
// client); after Stop they fail with [ErrStopped].
func (w *Writer) submitAsync(ctx context.Context, p *plan, opts *WriteOpts, key *store.IdempotencyKey) (*Result, error) {
	if !w.async.accepting() {
		return nil, fmt.Errorf("writeback: async write: %w", ErrStopped)
	}
	if opts.AutoBatch != nil {
		return w.submitAutoBatch(ctx, p, opts, key)
	}
	now := w.now()
	op := p.newOperation(newID(now), ModeAsync, now)
	deadline := opts.RetryDeadline
	if deadline == 0 {
		deadline = DefaultRetryDeadline
	}
	op.Deadline = now.Add(deadline)
	op.Logs = append(op.Logs, LogEntry{Time: now, Severity: SeverityInfo, Message: "accepted; queued for asynchronous execution"})
	rec, err := encodeOperation(op)
	if err != nil {
		return nil, err
	}
	payload, err := encodeJob(jobPayload{Plan: p, Deadline: op.Deadline})
	if err != nil {
		return nil, err
	}
	job := store.Job{ID: op.ID, InstallationID: p.InstallationID, Provider: p.Provider, RunAt: now, Payload: payload}
	if key != nil {
		key.OperationID = op.ID
	}
	if err := w.store.Enqueue(ctx, rec, job, key, now); err != nil {
		var kerr *store.KeyExistsError
		if key != nil && errors.As(err, &kerr) {
			// A concurrent twin with the same key won: it is the write.
			return w.replayExisting(ctx, key, kerr.Existing)
		}
		return nil, fmt.Errorf("writeback: queue async write: %w", err)
	}
	w.async.notify()
	return op.result(), nil
}
