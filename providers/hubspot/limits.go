package hubspot

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/writebackhq/writeback/providers/internal/transport"
)

// RateLimits is what HubSpot's X-HubSpot-RateLimit-* headers said last for
// an installation.
type RateLimits struct {
	// Window is the rolling window of the short limit
	// (X-HubSpot-RateLimit-Interval-Milliseconds), e.g. 10 s.
	Window time.Duration
	// WindowMax is the calls allowed per Window (X-HubSpot-RateLimit-Max).
	WindowMax int
	// WindowRemaining is the calls left in the window
	// (X-HubSpot-RateLimit-Remaining).
	WindowRemaining int
	// DailyMax is the calls allowed per day (X-HubSpot-RateLimit-Daily);
	// zero when HubSpot did not say (OAuth-authorized calls).
	DailyMax int
	// DailyRemaining is the calls left today
	// (X-HubSpot-RateLimit-Daily-Remaining).
	DailyRemaining int
	// DailyReset is the next midnight in the account's time zone
	// ([Config.Location]); zero when DailyMax is.
	DailyReset time.Time
	// Observed is when the headers were received.
	Observed time.Time
}

// RateLimits returns the latest rate limits HubSpot reported for an
// installation's calls, and whether any were seen.
func (p *Provider) RateLimits(installationID string) (RateLimits, bool) {
	l, ok := p.client.Limits(installationID)
	if !ok {
		return RateLimits{}, false
	}
	return RateLimits{
		Window: l.Window, WindowMax: l.WindowMax, WindowRemaining: l.WindowRemaining,
		DailyMax: l.DailyMax, DailyRemaining: l.DailyRemaining, DailyReset: l.DailyReset,
		Observed: l.Observed,
	}, true
}

// parseLimits reads the X-HubSpot-RateLimit-* headers (and the older
// -Secondly pair).
func (p *Provider) parseLimits(h http.Header, now time.Time) (transport.Limits, bool) {
	num := func(name string) (int, bool) {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= 0
	}
	var l transport.Limits
	found := false
	if ms, ok := num("X-HubSpot-RateLimit-Interval-Milliseconds"); ok && ms > 0 {
		l.Window = time.Duration(ms) * time.Millisecond
	}
	if m, ok := num("X-HubSpot-RateLimit-Max"); ok {
		l.WindowMax, found = m, true
		l.WindowRemaining, _ = num("X-HubSpot-RateLimit-Remaining")
		if l.Window == 0 {
			l.Window = 10 * time.Second
		}
	} else if m, ok := num("X-HubSpot-RateLimit-Secondly"); ok {
		l.WindowMax, l.Window, found = m, time.Second, true
		l.WindowRemaining, _ = num("X-HubSpot-RateLimit-Secondly-Remaining")
	}
	if d, ok := num("X-HubSpot-RateLimit-Daily"); ok && d > 0 {
		l.DailyMax, found = d, true
		l.DailyRemaining, _ = num("X-HubSpot-RateLimit-Daily-Remaining")
		l.DailyReset = p.nextMidnight(now)
	}
	if !found {
		return transport.Limits{}, false
	}
	l.Observed = now
	return l, true
}

// nextMidnight returns the next midnight in the account's time zone.
func (p *Provider) nextMidnight(now time.Time) time.Time {
	t := now.In(p.loc)
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, p.loc)
}

// policyName returns the policyName of a 429 body, upper case; "" if none.
func policyName(body []byte) string {
	var b struct {
		PolicyName string `json:"policyName"`
	}
	_ = json.Unmarshal(body, &b)
	return strings.ToUpper(b.PolicyName)
}

// resend is the transport's Resend hook: a 429 for a short window and a
// 503 prove HubSpot did not process the call, so it may be resent after a
// short wait; a 429 DAILY is not resent (the engine waits for the reset).
func (p *Provider) resend(resp *transport.Response) (bool, time.Duration) {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		if policyName(resp.Body) == "DAILY" {
			return false, 0
		}
		if _, ok := transport.ParseRetryAfter(resp.Header, time.Now()); ok {
			return true, 0
		}
		return true, p.rateWait
	case http.StatusServiceUnavailable:
		return true, 0
	}
	return false, 0
}
