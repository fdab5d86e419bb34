package transport

import (
	"errors"

	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// DefaultResend is the default [Config.Resend]: a 429 or a 503 proves the
// provider did not process the request, so it may be resent after the
// Retry-After wait (or exponential backoff when there is none). Gateway
// errors (502, 504) are ambiguous and are left to the idempotency rule.
func DefaultResend(resp *Response) (resend bool, wait time.Duration) {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true, 0
	}
	return false, 0
}

// ParseRetryAfter reads a Retry-After header, in seconds or as an HTTP date,
// relative to now. ok is false when there is none or it does not parse; a
// date in the past gives zero.
func ParseRetryAfter(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(365*24*time.Hour/time.Second) {
			s = int64(365 * 24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// Exponential backoff between resends without Retry-After: from 200 ms,
// doubling, with jitter of half the interval either way, at most the
// client's MaxWait.
const (
	minBackoff        = 200 * time.Millisecond
	backoffMultiplier = 2
	backoffJitter     = 0.5
)

// newBackoff returns the backoff of one call: each call of the function
// returns the wait before the next resend, never more than maxWait.
func newBackoff(maxWait time.Duration) func() time.Duration {
	if maxWait <= 0 {
		return func() time.Duration { return 0 }
	}
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(min(minBackoff, maxWait)),
		backoff.WithMultiplier(backoffMultiplier),
		backoff.WithRandomizationFactor(backoffJitter),
		backoff.WithMaxInterval(maxWait),
		backoff.WithMaxElapsedTime(0), // MaxAttempts and ctx bound the resends
	)
	return func() time.Duration { return min(b.NextBackOff(), maxWait) }
}

// isDialError reports whether err is a failure to establish the connection
// (connection refused, DNS failure, dial timeout): nothing was written.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// gateway reports a 502 or 504: the request may or may not have reached the
// provider.
func gateway(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusGatewayTimeout
}
