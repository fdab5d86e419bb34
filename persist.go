package writeback

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/writebackhq/writeback/store"
)

// persist stores what an attempt learned (an outcome, a reschedule, a
// group's progress) with save, trying again while the store fails for a
// while (a database restarting, a lost connection): an answer the provider
// gave is not dropped because the store blinked. It gives up when the
// failure is final (the lease was lost, a cancel was requested, the record
// is gone, the input is refused, the record is damaged), when ctx ends, or after the lease time,
// when the job would be claimed again anyway.
func (w *Writer) persist(ctx context.Context, save func(context.Context) error) error {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(50*time.Millisecond),
		backoff.WithMaxInterval(2*time.Second),
		backoff.WithMaxElapsedTime(w.async.leaseTime),
	)
	return backoff.Retry(func() error {
		err := save(ctx)
		if err != nil && final(err) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, ctx))
}

// final reports a store error that trying again cannot change.
func final(err error) bool {
	for _, s := range []error{store.ErrLeaseLost, store.ErrCancelRequested, store.ErrNotFound, store.ErrConflict, store.ErrInvalidInput, store.ErrCorrupt, store.ErrClosed} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
