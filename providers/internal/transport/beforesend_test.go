package transport

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBeforeSendOnceBeforeTheFirstSend checks that BeforeSend runs once,
// before anything is sent, and not again for a resend.
func TestBeforeSendOnceBeforeTheFirstSend(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hc, sends := scripted(func(n int32, _ *http.Request) *http.Response {
			if n == 1 {
				return reply(http.StatusTooManyRequests, "", "Retry-After", "1")
			}
			return reply(http.StatusCreated, `{"id":"1"}`)
		})
		var hooked []int32 // sends made when the hook ran
		resp, err := New(Config{HTTPClient: hc}).Do(t.Context(), &Request{
			Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`),
			BeforeSend: func(context.Context) error {
				hooked = append(hooked, sends.Load())
				return nil
			},
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Equal(t, []int32{0}, hooked, "once, before the first send")
		require.Equal(t, int32(2), sends.Load())
	})
}

// TestBeforeSendFailureSendsNothing checks that a failing BeforeSend
// stops the call before anything is sent.
func TestBeforeSendFailureSendsNothing(t *testing.T) {
	t.Parallel()
	hc, sends := scripted(func(int32, *http.Request) *http.Response { return reply(http.StatusCreated, `{}`) })
	refused := errors.New("not now")
	_, err := New(Config{HTTPClient: hc}).Do(t.Context(), &Request{
		Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`),
		BeforeSend: func(context.Context) error { return refused },
	})
	require.ErrorIs(t, err, refused)
	var se *SendError
	require.ErrorAs(t, err, &se)
	require.False(t, se.Sent, "nothing was sent")
	require.Zero(t, sends.Load())
}

// TestBeforeSendAfterThePacersWait checks that BeforeSend runs once the
// pacer lets the call go: a call held back because the provider said its
// window is full calls it after the wait, not before.
func TestBeforeSendAfterThePacersWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		hc, _ := scripted(func(int32, *http.Request) *http.Response {
			return reply(http.StatusCreated, `{"id":"1"}`, "Window-Remaining", "0")
		})
		c := New(Config{HTTPClient: hc, Limits: func(h http.Header, now time.Time) (Limits, bool) {
			if h.Get("Window-Remaining") == "" {
				return Limits{}, false
			}
			return Limits{Window: 3 * time.Second, WindowMax: 1, WindowRemaining: 0, Observed: now}, true
		}})
		req := func(hook func(context.Context) error) *Request {
			return &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`), Key: "inst-1", BeforeSend: hook}
		}
		start := time.Now()
		_, err := c.Do(ctx, req(nil)) // fills the window
		require.NoError(t, err)
		var hookedAt time.Duration
		_, err = c.Do(ctx, req(func(context.Context) error {
			hookedAt = time.Since(start)
			return nil
		}))
		require.NoError(t, err)
		require.GreaterOrEqual(t, hookedAt, 3*time.Second, "after the pacer's wait for the window")
	})
}
