package transport

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// scripted returns a fake RoundTripper that answers the n-th send (from 1)
// with answer(n), and counts sends.
func scripted(answer func(n int32, r *http.Request) *http.Response) (*http.Client, *atomic.Int32) {
	var sends atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			_ = r.Body.Close()
		}
		return answer(sends.Add(1), r), nil
	})
	return &http.Client{Transport: rt}, &sends
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		hc, sends := scripted(func(n int32, _ *http.Request) *http.Response {
			if n == 1 {
				return reply(http.StatusTooManyRequests, "", "Retry-After", "1")
			}
			return reply(http.StatusCreated, `{"id":"1"}`)
		})
		c := New(Config{HTTPClient: hc})
		start := time.Now()
		resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`)})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Equal(t, time.Second, time.Since(start), "resent after the Retry-After wait, not before")
		require.Equal(t, int32(2), sends.Load())
	})
}

func TestRetryAfterAsHTTPDate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		hc, sends := scripted(func(n int32, _ *http.Request) *http.Response {
			if n == 1 {
				at := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
				return reply(http.StatusServiceUnavailable, "", "Retry-After", at)
			}
			return reply(http.StatusOK, "")
		})
		c := New(Config{HTTPClient: hc})
		start := time.Now()
		resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		// HTTP dates have whole seconds; the fake clock starts on one.
		require.Equal(t, 3*time.Second, time.Since(start))
		require.Equal(t, int32(2), sends.Load())
	})
}

func TestRetryAfterBeyondMaxWaitReturnedAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		hc, sends := scripted(func(int32, *http.Request) *http.Response {
			return reply(http.StatusTooManyRequests, `{"policyName":"DAILY"}`, "Retry-After", "3600")
		})
		c := New(Config{HTTPClient: hc, MaxWait: 10 * time.Second})
		start := time.Now()
		resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`)})
		require.NoError(t, err)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "3600", resp.Header.Get("Retry-After"), "the adapter reports RetryAfter")
		require.JSONEq(t, `{"policyName":"DAILY"}`, string(resp.Body))
		require.Zero(t, time.Since(start))
		require.Equal(t, int32(1), sends.Load())
	})
}

func TestWaitPastDeadlineReturnedAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		hc, sends := scripted(func(int32, *http.Request) *http.Response {
			return reply(http.StatusTooManyRequests, "", "Retry-After", "5")
		})
		c := New(Config{HTTPClient: hc})
		start := time.Now()
		resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`)})
		require.NoError(t, err)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Zero(t, time.Since(start))
		require.Equal(t, int32(1), sends.Load())
	})
}

func TestCancelStopsWaiting(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		hc, sends := scripted(func(int32, *http.Request) *http.Response {
			return reply(http.StatusTooManyRequests, "", "Retry-After", "5")
		})
		c := New(Config{HTTPClient: hc})
		time.AfterFunc(2*time.Second, cancel)
		start := time.Now()
		_, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`)})
		require.ErrorIs(t, err, context.Canceled)
		var se *SendError
		require.ErrorAs(t, err, &se)
		require.False(t, se.Sent, "a 429 proves the create was not processed")
		require.Equal(t, 2*time.Second, time.Since(start))
		require.Equal(t, int32(1), sends.Load())
	})
}

func TestExponentialBackoffWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		hc, sends := scripted(func(int32, *http.Request) *http.Response {
			return reply(http.StatusServiceUnavailable, "")
		})
		c := New(Config{HTTPClient: hc, MaxAttempts: 4})
		start := time.Now()
		resp, err := c.Do(ctx, &Request{Method: http.MethodGet, URL: "https://api.example.test/x", Idempotent: true})
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Equal(t, int32(4), sends.Load())
		// Waits of 200, 400 and 800 ms, each jittered by half either way.
		took := time.Since(start)
		require.GreaterOrEqual(t, took, 700*time.Millisecond)
		require.LessOrEqual(t, took, 2100*time.Millisecond)
	})
}

// windowServer is a fake provider limited to max sends per rolling window,
// answering 429 when that is exceeded, with HubSpot-like limit headers.
type windowServer struct {
	window  time.Duration
	max     int
	latency time.Duration // each way, uniformly random up to this

	mu       sync.Mutex
	accepted []time.Time
	sends    int
	rejected int
	worst    int // most sends accepted in any rolling window
	daily    int // daily calls left; < 0 means no daily headers
	dailyMax int
	reset    time.Time
}

func (s *windowServer) roundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	if s.latency > 0 {
		time.Sleep(rand.N(s.latency))       // request on its way
		defer time.Sleep(rand.N(s.latency)) // response on its way, after the unlock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.sends++
	i := 0
	for i < len(s.accepted) && !s.accepted[i].After(now.Add(-s.window)) {
		i++
	}
	s.accepted = s.accepted[i:]
	kv := []string{
		"X-HubSpot-RateLimit-Interval-Milliseconds", fmt.Sprint(s.window.Milliseconds()),
		"X-HubSpot-RateLimit-Max", fmt.Sprint(s.max),
	}
	if s.daily >= 0 {
		kv = append(kv, "X-HubSpot-RateLimit-Daily", fmt.Sprint(s.dailyMax))
		if !s.reset.IsZero() {
			kv = append(kv, "X-Test-Daily-Reset", s.reset.Format(time.RFC3339Nano))
		}
	}
	if len(s.accepted) >= s.max {
		s.rejected++
		kv = append(kv, "X-HubSpot-RateLimit-Remaining", "0")
		if s.daily >= 0 {
			kv = append(kv, "X-HubSpot-RateLimit-Daily-Remaining", fmt.Sprint(s.daily))
		}
		return reply(http.StatusTooManyRequests, `{"errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}`, kv...), nil
	}
	s.accepted = append(s.accepted, now)
	s.worst = max(s.worst, len(s.accepted))
	kv = append(kv, "X-HubSpot-RateLimit-Remaining", fmt.Sprint(s.max-len(s.accepted)))
	if s.daily >= 0 {
		s.daily--
		kv = append(kv, "X-HubSpot-RateLimit-Daily-Remaining", fmt.Sprint(s.daily))
	}
	return reply(http.StatusCreated, `{"id":"1"}`, kv...), nil
}

func TestPacingSpreadsBurst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		srv := &windowServer{window: 10 * time.Second, max: 10, daily: -1}
		c := New(Config{HTTPClient: &http.Client{Transport: roundTripFunc(srv.roundTrip)}, Limits: hubspotLimits})
		const n = 30
		start := time.Now()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for range n / 3 {
					resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`), Key: "inst-1"})
					if err != nil {
						t.Errorf("write failed: %v", err)
						return
					}
					if resp.StatusCode != http.StatusCreated {
						t.Errorf("write answered %d", resp.StatusCode)
						return
					}
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		t.Logf("30 sends at 10 per 10 s took %s", took)
		require.Zero(t, srv.rejected, "pacing avoids 429s")
		require.Equal(t, n, srv.sends)
		require.LessOrEqual(t, srv.worst, srv.max)
		// 30 sends at 10 per 10 s need at least two full windows, and
		// pacing should not waste more than one more.
		require.GreaterOrEqual(t, took, 2*srv.window)
		require.Less(t, took, 4*srv.window)
		l, ok := c.Limits("inst-1")
		require.True(t, ok)
		require.Equal(t, 10*time.Second, l.Window)
		require.Equal(t, 10, l.WindowMax)
		_, ok = c.Limits("other")
		require.False(t, ok)
	})
}

func TestNoPacingBeforeLimitsKnown(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		hc, sends := scripted(func(int32, *http.Request) *http.Response { return reply(http.StatusOK, "") })
		c := New(Config{HTTPClient: hc, Limits: hubspotLimits})
		start := time.Now()
		for range 50 {
			_, err := c.Do(ctx, &Request{Method: http.MethodGet, URL: "https://api.example.test/x", Key: "k", Idempotent: true})
			require.NoError(t, err)
		}
		require.Zero(t, time.Since(start))
		require.Equal(t, int32(50), sends.Load())
	})
}

func TestOtherSendersSlowPacing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		srv := &windowServer{window: 10 * time.Second, max: 20, daily: -1}
		// Another process of the same app has used 15 calls of the window.
		now := time.Now()
		for range 15 {
			srv.accepted = append(srv.accepted, now)
		}
		c := New(Config{HTTPClient: &http.Client{Transport: roundTripFunc(srv.roundTrip)}, Limits: hubspotLimits})
		for range 10 {
			resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`), Key: "k"})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, resp.StatusCode)
		}
		require.Zero(t, srv.rejected, "WindowRemaining showed the window nearly full")
		require.GreaterOrEqual(t, time.Since(now), srv.window, "waited for the other calls to leave the window")
	})
}

func TestDailyReserveKept(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		reset := time.Now().Add(5 * time.Hour)
		srv := &windowServer{window: 10 * time.Second, max: 1000, daily: 15, dailyMax: 100, reset: reset}
		c := New(Config{Provider: "hubspot", HTTPClient: &http.Client{Transport: roundTripFunc(srv.roundTrip)}, Limits: hubspotLimits})
		req := &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`), Key: "k"}
		var err error
		writes := 0
		for ; writes < 100; writes++ {
			if _, err = c.Do(ctx, req); err != nil {
				break
			}
		}
		var re *ReserveError
		require.ErrorAs(t, err, &re)
		require.Equal(t, 5, writes, "15 left, 10 kept")
		require.Equal(t, 5, srv.sends, "nothing sent once the reserve is reached")
		require.Equal(t, 10, re.Limits.DailyRemaining)
		require.Equal(t, 5*time.Hour, re.RetryAfter)
		require.Contains(t, re.Error(), "10%")
		require.Contains(t, re.Error(), "other integrations")

		// After the reset, calls go again.
		time.Sleep(5 * time.Hour)
		srv.mu.Lock()
		srv.daily, srv.reset = 100, time.Now().Add(24*time.Hour)
		srv.mu.Unlock()
		_, err = c.Do(ctx, req)
		require.NoError(t, err)
	})
}

func TestDailyReserveWithoutResetTime(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		srv := &windowServer{window: 10 * time.Second, max: 1000, daily: 3, dailyMax: 1000}
		c := New(Config{HTTPClient: &http.Client{Transport: roundTripFunc(srv.roundTrip)}, Limits: hubspotLimits, Reserve: -1})
		req := &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`), Key: "k"}
		for range 3 {
			_, err := c.Do(ctx, req)
			require.NoError(t, err, "no reserve: the budget may be spent")
		}
		_, err := c.Do(ctx, req)
		var re *ReserveError
		require.ErrorAs(t, err, &re)
		require.Equal(t, time.Hour, re.RetryAfter)
		require.Equal(t, 3, srv.sends)
	})
}

func TestCancelStopsPacingWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		srv := &windowServer{window: 10 * time.Second, max: 2, daily: -1}
		c := New(Config{HTTPClient: &http.Client{Transport: roundTripFunc(srv.roundTrip)}, Limits: hubspotLimits})
		req := &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`), Key: "k"}
		for range 2 {
			_, err := c.Do(ctx, req)
			require.NoError(t, err)
		}
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		_, err := c.Do(ctx, req)
		require.ErrorIs(t, err, context.Canceled)
		var se *SendError
		require.ErrorAs(t, err, &se)
		require.False(t, se.Sent)
		require.Equal(t, time.Second, time.Since(start), "the window was full; the wait ended with ctx")
		require.Equal(t, 2, srv.sends)
	})
}

func TestPacingWaitPastDeadlineNotSent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := &windowServer{window: 10 * time.Second, max: 2, daily: -1}
		c := New(Config{HTTPClient: &http.Client{Transport: roundTripFunc(srv.roundTrip)}, Limits: hubspotLimits})
		req := &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`), Key: "k"}
		for range 2 {
			_, err := c.Do(t.Context(), req)
			require.NoError(t, err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Do(ctx, req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Zero(t, time.Since(start), "no wait that cannot end in a send")
		require.Equal(t, 2, srv.sends)
	})
}

// slowRefresher is a writeback.TokenRefresher whose refresh lasts until
// ctx ends.
type slowRefresher struct{}

func (slowRefresher) Token() (*oauth2.Token, error) { return &oauth2.Token{AccessToken: "old"}, nil }

func (slowRefresher) RefreshToken(ctx context.Context) (*oauth2.Token, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCancelDuringRefreshIsNotAuthFailure(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		hc, sends := scripted(func(int32, *http.Request) *http.Response { return reply(http.StatusUnauthorized, "") })
		c := New(Config{HTTPClient: hc})
		time.AfterFunc(time.Second, cancel)
		resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/objects", Body: []byte(`{}`), TokenSource: slowRefresher{}})
		require.Nil(t, resp, "the 401 is not final: the refresh was cut short")
		require.ErrorIs(t, err, context.Canceled)
		var se *SendError
		require.ErrorAs(t, err, &se)
		require.False(t, se.Sent)
		require.Equal(t, int32(1), sends.Load())
	})
}
