package writeback

import "context"

// submitAutoBatch adds an async single write to its auto-batch group and
// returns the group's master operation in progress.
func (w *Writer) submitAutoBatch(ctx context.Context, p *plan, opts *WriteOpts, key *IdempotencyKey) (*Result, error) {
	return nil, ErrStopped
}

// runGroup executes a claimed auto-batch group job.
func (w *Writer) runGroup(ctx context.Context, job Job) {}
