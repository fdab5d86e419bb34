package transport

import (
	"context"
	"errors"
	"fmt"

	"github.com/writebackhq/writeback"
)

// CallError classifies an error returned by [Client.Do] — a call that got
// no HTTP answer — as a [writeback.ProviderError] of the client's provider:
//
//   - a [*ReserveError] is class quota with the time until the daily
//     budget is renewed; when the reserve stopped the call it has Code
//     DAILY_RESERVE and wraps [Config.ErrDailyReserve], when the budget is
//     spent it has Code DAILY_BUDGET_SPENT;
//   - a token source that gave no token is classified by
//     [Config.TokenError] (nil: class auth);
//   - a send that may have reached the provider is an unknown outcome for
//     a create (create true), which must not be resent blindly, and
//     unavailable otherwise; a send that surely did not is unavailable;
//   - a context error is unavailable; anything else internal.
//
// The error is about the whole request ([writeback.NoRecord]) and lists
// the sends made ([writeback.ProviderError.Calls]).
func (c *Client) CallError(err error, create bool) *writeback.ProviderError {
	perr := c.callError(err, create)
	var se *SendError
	if perr.Calls == nil && errors.As(err, &se) {
		perr.Calls = se.Calls
	}
	return perr
}

func (c *Client) callError(err error, create bool) *writeback.ProviderError {
	var re *ReserveError
	if errors.As(err, &re) {
		perr := &writeback.ProviderError{
			Provider: c.provider, Class: writeback.ClassQuota, Code: CodeDailyReserve,
			Message:    re.Error() + "; nothing was sent",
			RetryAfter: re.RetryAfter, RecordIndex: writeback.NoRecord,
			Err: re,
		}
		if re.Spent() {
			perr.Code = CodeDailySpent
		} else if c.reserveErr != nil {
			perr.Err = fmt.Errorf("%w: %w", c.reserveErr, re)
		}
		return perr
	}
	var se *SendError
	if errors.As(err, &se) {
		if errors.Is(err, ErrToken) {
			if c.tokenError != nil {
				return c.tokenError(err)
			}
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				return &writeback.ProviderError{
					Provider: c.provider, Class: writeback.ClassAuth,
					Message:     "the installation's token source gave no token; nothing was sent",
					RecordIndex: writeback.NoRecord, Err: err,
				}
			}
		}
		perr := &writeback.ProviderError{
			Provider: c.provider, Class: writeback.ClassUnavailable, Message: se.Error(),
			RecordIndex: writeback.NoRecord, Err: err,
		}
		if se.Sent && create {
			perr.Class = writeback.ClassUnknownOutcome
			perr.Message = "the create was sent but no answer came back; the records may or may not exist: " + se.Error()
		}
		return perr
	}
	class := writeback.ClassInternal
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		class = writeback.ClassUnavailable
	}
	return &writeback.ProviderError{Provider: c.provider, Class: class, Message: err.Error(), RecordIndex: writeback.NoRecord, Err: err}
}

// Codes of the errors of calls refused without being sent.
const (
	// CodeDailyReserve is the Code of a call refused because the daily
	// budget is down to the reserve kept for the customer's other
	// integrations.
	CodeDailyReserve = "DAILY_RESERVE"
	// CodeDailySpent is the Code of a call refused because the daily
	// budget is spent.
	CodeDailySpent = "DAILY_BUDGET_SPENT"
)
