package transport

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// minBackoff is the first exponential backoff step.
const minBackoff = 200 * time.Millisecond

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

// backoff returns the wait before resend number n (1 for the first resend):
// exponential from 200 ms with full jitter over its upper half, at most max.
func backoff(n int, maxWait time.Duration) time.Duration {
	d := minBackoff
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(half+1)
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
