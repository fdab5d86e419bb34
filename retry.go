package writeback

import (
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// The retry schedule of async work: exponential backoff with jitter, from
// about a second up to five minutes between attempts, until the write's
// retry deadline.
const (
	retryInitialInterval = time.Second
	retryMultiplier      = 2
	retryJitter          = 0.5
	retryMaxInterval     = 5 * time.Minute
)

// backoffDelay returns the wait after the attempt-th failed attempt (1 for
// the first). It depends only on attempt, so the schedule needs no state
// beyond the attempt count that the operation record keeps across restarts.
func backoffDelay(attempt int) time.Duration {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(retryInitialInterval),
		backoff.WithMultiplier(retryMultiplier),
		backoff.WithRandomizationFactor(retryJitter),
		backoff.WithMaxInterval(retryMaxInterval),
		backoff.WithMaxElapsedTime(0), // the engine's deadline bounds retries
	)
	d := b.NextBackOff()
	for i := 1; i < attempt && i < 64; i++ {
		d = b.NextBackOff()
	}
	return d
}

// retryable reports whether a failed write of type typ may be sent again:
// errors the adapter classified retryable, and an unknown outcome of an
// update or delete (which can be repeated safely). A create whose outcome is
// unknown is never resent: it may have been written.
func retryable(typ WriteType, perr *ProviderError) bool {
	if perr == nil {
		return false
	}
	if perr.Class == ClassUnknownOutcome {
		return typ != WriteTypeCreate
	}
	return perr.Retryable()
}

// nextAttempt decides what follows a failed attempt of a write of type typ
// that ended at now with perr: retry at runAt (retry true), or give up
// (retry false), because the error is final or the deadline has passed.
// attempt counts the attempts made so far. The wait is the backoff delay,
// at least perr.RetryAfter, and never past the deadline: a wait that would
// pass it is clamped so that the last attempt runs at the deadline. A
// quota that comes back only after the deadline (class quota, RetryAfter
// past it) fails the write at once: perr's message then says when the
// quota comes back.
func nextAttempt(typ WriteType, perr *ProviderError, attempt int, now, deadline time.Time) (runAt time.Time, retry bool) {
	if !retryable(typ, perr) || !now.Before(deadline) {
		return time.Time{}, false
	}
	if reset := now.Add(perr.RetryAfter); perr.Class == ClassQuota && reset.After(deadline) {
		perr.Message += fmt.Sprintf("; the quota comes back at %s (in %s), after the write's retry deadline %s: not retried",
			reset.UTC().Format(time.RFC3339), perr.RetryAfter.Round(time.Second), deadline.UTC().Format(time.RFC3339))
		return time.Time{}, false
	}
	wait := max(backoffDelay(attempt), perr.RetryAfter)
	runAt = now.Add(wait)
	if runAt.After(deadline) {
		runAt = deadline
	}
	return runAt, true
}

// retryError returns the error that decides whether an outcome is retried,
// or nil for an outcome that is final as it is. It is the error of the
// whole call, if any. Otherwise, for a partial batch, it is the first
// retryable record error: the records that failed retryably are tried
// again, the others keep their results. For a single write or an
// all-or-nothing batch, it is the first retryable record error when no
// record was written and every other failed record was rolled back with
// it; any other record error is final. Records the rules left unchanged
// were not written, so they never make an outcome final.
func retryError(p *plan, out *outcome) *ProviderError {
	if out.Err != nil {
		return out.Err
	}
	partial := !p.AllOrNone && len(p.Records) > 1
	var first *ProviderError
	for _, r := range out.Results {
		switch {
		case r.Err == nil && r.Unchanged:
		case r.Err == nil:
			if !partial {
				return nil
			}
		case retryable(p.Type, r.Err):
			if first == nil {
				first = r.Err
			}
		case r.Err.Class == ClassRolledBack:
		case !partial:
			return nil
		}
	}
	return first
}
