package hubspottest

import (
	"net/http"
	"strconv"
	"time"
)

// admit counts a request against the rate limits, or answers 429.
func (s *Server) admit(w http.ResponseWriter) bool {
	s.mu.Lock()
	now := s.now()
	s.rollLocked(now)
	policy, msg := "", ""
	switch {
	case s.opts.DailyLimit > 0 && s.dailyUsed >= s.opts.DailyLimit:
		policy, msg = "DAILY", "You have reached your daily limit."
	case s.opts.TenSecondLimit > 0 && len(s.window) >= s.opts.TenSecondLimit:
		policy, msg = "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
	default:
		s.window = append(s.window, now)
		s.dailyUsed++
	}
	s.mu.Unlock()
	if policy == "" {
		return true
	}
	s.writeError(w, http.StatusTooManyRequests, apiError{Category: "RATE_LIMITS", ErrorType: "RATE_LIMIT", PolicyName: policy, Message: msg})
	return false
}

// rollLocked drops requests older than the window and starts a new day at
// midnight in the account's time zone.
func (s *Server) rollLocked(now time.Time) {
	cut := 0
	for cut < len(s.window) && !s.window[cut].After(now.Add(-RateWindow)) {
		cut++
	}
	s.window = s.window[cut:]
	if day := now.In(s.loc).Format(time.DateOnly); day != s.day {
		s.day = day
		s.dailyUsed = 0
	}
}

// setLimitHeaders sets the X-HubSpot-RateLimit-* headers.
func (s *Server) setLimitHeaders(h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollLocked(s.now())
	if s.opts.TenSecondLimit > 0 {
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.Itoa(int(RateWindow/time.Millisecond)))
		h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.opts.TenSecondLimit))
		h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(max(0, s.opts.TenSecondLimit-len(s.window))))
	}
	if s.opts.DailyLimit > 0 && !s.opts.OAuth {
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(s.opts.DailyLimit))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(max(0, s.opts.DailyLimit-s.dailyUsed)))
	}
}

// Usage returns the requests counted in the current 10-second window and
// today.
func (s *Server) Usage() (window, daily int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollLocked(s.now())
	return len(s.window), s.dailyUsed
}

// SetDailyUsed sets the requests counted today, as if the customer's other
// integrations had spent them.
func (s *Server) SetDailyUsed(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollLocked(s.now())
	s.dailyUsed = n
}
