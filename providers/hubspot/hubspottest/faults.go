package hubspottest

import (
	"net/http"
	"strings"
	"time"

	"github.com/writebackhq/writeback/providers/internal/simhttp"
)

// Fault is a failure injected into the next matching requests. Faults
// apply in the order they were added; each matches Times requests. A
// faulted request is answered before auth and rate limits and is not
// counted against them.
type Fault struct {
	// Method limits the fault to one HTTP method; empty means any.
	Method string
	// Path limits the fault to URL paths containing it, e.g.
	// "/batch/update"; empty means any.
	Path string
	// Times is the number of requests the fault applies to; zero means 1.
	Times int
	// Skip lets the first Skip matching requests through untouched before
	// the fault applies, e.g. 1 to fail a retry but not the first call.
	Skip int
	// Delay holds the answer back this long (or until the client gives
	// up); the request is then served, or the other settings apply.
	Delay time.Duration
	// Status answers with this HTTP status and a HubSpot error body,
	// without processing the request: e.g. 500, 502, 503, 423, 477 or 429.
	Status int
	// PolicyName is the 429 body's policyName: TEN_SECONDLY_ROLLING (the
	// default for 429) or DAILY.
	PolicyName string
	// Category and Message override the error body; empty means a
	// HubSpot-like default for Status.
	Category, Message string
	// RetryAfter, if positive, is sent as Retry-After (whole seconds).
	RetryAfter time.Duration
	// Drop closes the connection without an answer and without processing
	// the request: nothing happened.
	Drop bool
	// DropAfterProcessing processes the request (writes take effect) and
	// then closes the connection without an answer.
	DropAfterProcessing bool
}

// InjectFault adds a fault for the next requests that match it.
func (s *Server) InjectFault(f Fault) {
	s.faults.Add(f, f.Times, f.Skip, func(r *http.Request) bool { return simhttp.Matches(r, f.Method, f.Path) })
}

// FailNext makes the next n requests fail with status.
func (s *Server) FailNext(n, status int) {
	s.InjectFault(Fault{Status: status, Times: n})
}

// ClearFaults removes all pending faults.
func (s *Server) ClearFaults() { s.faults.Clear() }

// takeFault returns the first fault matching r, counting the use.
func (s *Server) takeFault(r *http.Request) *Fault {
	if f, ok := s.faults.Take(r); ok {
		return &f
	}
	return nil
}

// before applies the fault's delay, drop and status. It reports whether
// the request should still be served.
func (f *Fault) before(w http.ResponseWriter, r *http.Request, s *Server) bool {
	if !simhttp.Delay(r, f.Delay) {
		return false
	}
	switch {
	case f.Drop:
		simhttp.HijackClose(w)
		return false
	case f.Status != 0:
		e := apiError{Category: f.Category, Message: f.Message}
		switch f.Status {
		case http.StatusTooManyRequests:
			e.ErrorType, e.PolicyName = "RATE_LIMIT", f.PolicyName
			if e.PolicyName == "" {
				e.PolicyName = "TEN_SECONDLY_ROLLING"
			}
			if e.Category == "" {
				e.Category = "RATE_LIMITS"
			}
			if e.Message == "" {
				e.Message = "You have reached your " + strings.ToLower(e.PolicyName) + " limit."
				if e.PolicyName == "DAILY" {
					e.Message = "You have reached your daily limit."
				}
			}
		case http.StatusLocked:
			if e.Message == "" {
				e.Message = "The record is locked by another request; try again."
			}
		case 477:
			if e.Message == "" {
				e.Message = "The account is being migrated to another data center; try again later."
			}
		default:
			if e.Message == "" {
				e.Message = "internal error"
			}
		}
		if e.Category == "" && f.Status >= 500 {
			e.Category = "INTERNAL_ERROR"
		}
		simhttp.SetRetryAfter(w.Header(), f.RetryAfter)
		s.writeError(w, f.Status, e)
		return false
	}
	return true
}
