package transport

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// roundTripFunc is an http.RoundTripper made of a function; tests inside a
// synctest bubble use it instead of a network server.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// reply builds a response with a status, headers as key/value pairs, and a body.
func reply(status int, body string, kv ...string) *http.Response {
	h := make(http.Header)
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return &http.Response{
		StatusCode: status,
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}

// staticToken is an oauth2.TokenSource that counts its calls.
type staticToken struct {
	calls atomic.Int32
	tok   string
}

func (s *staticToken) Token() (*oauth2.Token, error) {
	s.calls.Add(1)
	return &oauth2.Token{AccessToken: s.tok}, nil
}

// refresher is a writeback.TokenRefresher that hands out "old" until it is
// refreshed, then "new"; it counts refreshes.
type refresher struct {
	mu        sync.Mutex
	refreshed bool
	refreshes atomic.Int32
}

func (r *refresher) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refreshed {
		return &oauth2.Token{AccessToken: "new"}, nil
	}
	return &oauth2.Token{AccessToken: "old"}, nil
}

func (r *refresher) RefreshToken(context.Context) (*oauth2.Token, error) {
	r.refreshes.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshed = true
	return &oauth2.Token{AccessToken: "new"}, nil
}

// logBuffer collects log output safely.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// hubspotLimits parses HubSpot's rate-limit headers, as the HubSpot
// adapter does.
func hubspotLimits(h http.Header, now time.Time) (Limits, bool) {
	num := func(k string) int {
		n, _ := strconv.Atoi(h.Get(k))
		return n
	}
	l := Limits{
		Window:          time.Duration(num("X-HubSpot-RateLimit-Interval-Milliseconds")) * time.Millisecond,
		WindowMax:       num("X-HubSpot-RateLimit-Max"),
		WindowRemaining: num("X-HubSpot-RateLimit-Remaining"),
		DailyMax:        num("X-HubSpot-RateLimit-Daily"),
		DailyRemaining:  num("X-HubSpot-RateLimit-Daily-Remaining"),
		Observed:        now,
	}
	if v := h.Get("X-Test-Daily-Reset"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err == nil {
			l.DailyReset = t
		}
	}
	return l, l.Window > 0 || l.DailyMax > 0
}
