package transport

import (
	"errors"
	"fmt"
	"time"

	"github.com/writebackhq/writeback"
)

// ErrToken reports that the request's token source did not yield a token.
// It arrives inside a [*SendError] with Sent false: nothing was sent.
var ErrToken = errors.New("transport: no token")

// SendError reports a call that ended without an HTTP response.
type SendError struct {
	// Provider names the provider, as in [Config.Provider].
	Provider string
	// Sent reports that a send may have reached the provider and its outcome
	// is unknown. False means no send can have taken effect: the connection
	// was never made, or every answer proved the request was not processed.
	Sent bool
	// Attempts is the number of sends made.
	Attempts int
	// Calls lists the sends made, in order.
	Calls []writeback.ProviderCall
	// Err is the cause. Context errors are kept, so errors.Is(err,
	// context.Canceled) and errors.Is(err, context.DeadlineExceeded) work.
	Err error
}

// Error implements error.
func (e *SendError) Error() string {
	state := "not sent"
	if e.Sent {
		state = "sent, outcome unknown"
	}
	return fmt.Sprintf("%s: %s after %d attempt(s): %v", e.Provider, state, e.Attempts, e.Err)
}

// Unwrap returns the cause.
func (e *SendError) Unwrap() error { return e.Err }

// ReserveError reports a call refused without sending because the daily
// budget is down to the reserve kept for the customer's other integrations.
type ReserveError struct {
	// Provider names the provider, as in [Config.Provider].
	Provider string
	// Limits are the limits that caused the refusal.
	Limits Limits
	// Reserve is the fraction of the daily budget kept, e.g. 0.10.
	Reserve float64
	// RetryAfter is how long until the daily budget is likely renewed: until
	// Limits.DailyReset when known, else one hour.
	RetryAfter time.Duration
}

// Spent reports whether the daily budget is spent, rather than down to the
// reserve.
func (e *ReserveError) Spent() bool {
	return e.Limits.DailyRemaining <= 0 || e.Reserve <= 0
}

// Error implements error. It speaks of the reserve only when the reserve is
// what refused the call.
func (e *ReserveError) Error() string {
	if e.Spent() {
		return fmt.Sprintf("%s: the daily API budget of %d calls is spent, retry in %s",
			e.Provider, e.Limits.DailyMax, e.RetryAfter.Round(time.Second))
	}
	return fmt.Sprintf("%s: daily API budget down to %d of %d calls; the last %.0f%% are kept for the customer's other integrations, retry in %s",
		e.Provider, e.Limits.DailyRemaining, e.Limits.DailyMax, e.Reserve*100, e.RetryAfter.Round(time.Second))
}
