package transport

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// TestCallsListEverySend checks that the sends of one Do, resends
// included, are listed with their status and the wait before each.
func TestCallsListEverySend(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hc, _ := scripted(func(n int32, _ *http.Request) *http.Response {
			if n < 3 {
				return reply(http.StatusServiceUnavailable, "", "Retry-After", "1")
			}
			return reply(http.StatusOK, `{}`)
		})
		c := New(Config{HTTPClient: hc})
		resp, err := c.Do(t.Context(), &Request{Method: http.MethodPatch, URL: "https://api.example.test/objects/1?secret=x", Body: []byte(`{}`), Idempotent: true})
		require.NoError(t, err)
		require.Equal(t, []writeback.ProviderCall{
			{Method: http.MethodPatch, Path: "/objects/1", Status: 503},
			{Method: http.MethodPatch, Path: "/objects/1", Status: 503, Wait: time.Second},
			{Method: http.MethodPatch, Path: "/objects/1", Status: 200, Wait: time.Second},
		}, resp.Calls)
	})
}

// TestCallsOnSendError checks that a call without an answer lists its
// sends too.
func TestCallsOnSendError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hc, _ := scripted(func(int32, *http.Request) *http.Response {
			return reply(http.StatusTooManyRequests, "", "Retry-After", "5")
		})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		time.AfterFunc(time.Second, cancel)
		_, err := New(Config{HTTPClient: hc}).Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`)})
		var se *SendError
		require.ErrorAs(t, err, &se)
		require.Equal(t, []writeback.ProviderCall{{Method: http.MethodPost, Path: "/objects", Status: 429}}, se.Calls)
	})
}

// TestPacingPastDeadlineReturnsTheAnswer checks that when a resend is
// given up because the pacer's wait for the full window would pass the
// deadline, Do returns the provider's answer (the request was sent and
// answered), with the wait the pacer would impose.
func TestPacingPastDeadlineReturnsTheAnswer(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hc, sends := scripted(func(int32, *http.Request) *http.Response {
			return reply(http.StatusTooManyRequests, `{"policyName":"TEN_SECONDLY_ROLLING"}`,
				"X-HubSpot-RateLimit-Interval-Milliseconds", "10000",
				"X-HubSpot-RateLimit-Max", "100",
				"X-HubSpot-RateLimit-Remaining", "0")
		})
		c := New(Config{HTTPClient: hc, Limits: hubspotLimits, Resend: func(*Response) (bool, time.Duration) { return true, time.Second }})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`), Key: "inst"})
		require.NoError(t, err, "the request was sent and answered")
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, int32(1), sends.Load())
		require.Equal(t, 1, resp.Attempts)
		require.Len(t, resp.Calls, 1)
		// The window observed at t=0 ends at t=10 s; the wait of 1 s passed.
		require.Equal(t, 9*time.Second, resp.PaceWait)
	})
}
