package writeback

import "context"

// submitAsync stores an async write durably and returns its operation in
// progress. Async execution needs a started Writer.
func (w *Writer) submitAsync(ctx context.Context, p *plan, opts *WriteOpts, key *IdempotencyKey) (*Result, error) {
	return nil, ErrStopped
}
