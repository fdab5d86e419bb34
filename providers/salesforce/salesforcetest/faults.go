package salesforcetest

import (
	"net/http"
	"strings"
	"time"

	"github.com/writebackhq/writeback/providers/internal/simhttp"
)

// Fault is a failure injected into the next matching requests. Faults
// apply in the order they were added; each matches Times requests.
type Fault struct {
	// Method limits the fault to one HTTP method; empty means any.
	Method string
	// Path limits the fault to URL paths containing it, e.g.
	// "/composite/sobjects"; empty means any REST API path (under
	// /services/data). Use "/services/oauth2/token" to hit the token
	// endpoint.
	Path string
	// Times is the number of requests the fault applies to; zero means 1.
	Times int
	// Delay holds the answer back this long (or until the client gives
	// up); the request is then served, or the other settings apply.
	Delay time.Duration
	// Status answers with this HTTP status and a Salesforce error body,
	// without processing the request or counting it against the limit:
	// e.g. 500, 502 or 503.
	Status int
	// ErrorCode and Message override the error body of Status; empty means
	// UNKNOWN_EXCEPTION for 500 and SERVER_UNAVAILABLE otherwise.
	ErrorCode, Message string
	// RetryAfter, if positive, is sent as Retry-After (seconds) with Status.
	RetryAfter time.Duration
	// Drop closes the connection without an answer and without processing
	// the request: nothing happened.
	Drop bool
	// DropAfterProcessing processes the request (writes take effect) and
	// then closes the connection without an answer: the client cannot
	// know the outcome.
	DropAfterProcessing bool
	// LockRow fails records with UNABLE_TO_LOCK_ROW: the one record of a
	// single-record request (400), or the Records of a Collections write
	// (all when empty); with allOrNone the others are rolled back.
	LockRow bool
	// Records are the record indexes LockRow fails in a Collections write.
	Records []int
}

// InjectFault adds a fault for the next requests that match it.
func (s *Server) InjectFault(f Fault) {
	f.Records = append([]int(nil), f.Records...)
	s.faults.Add(f, f.Times, 0, f.matches)
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

// matches reports whether the fault applies to r.
func (f *Fault) matches(r *http.Request) bool {
	if f.Path == "" {
		return simhttp.Matches(r, f.Method, "") && strings.HasPrefix(r.URL.Path, "/services/data/")
	}
	return simhttp.Matches(r, f.Method, f.Path)
}

// apply applies the fault's delay, status and drop. It reports whether the
// request should still be served.
func (f *Fault) apply(w http.ResponseWriter, r *http.Request, rec http.ResponseWriter, s *Server) bool {
	if !simhttp.Delay(r, f.Delay) {
		return false
	}
	switch {
	case f.Drop:
		simhttp.HijackClose(w)
		return false
	case f.Status != 0:
		code, msg := f.ErrorCode, f.Message
		if code == "" {
			code = "SERVER_UNAVAILABLE"
			if f.Status == http.StatusInternalServerError {
				code = "UNKNOWN_EXCEPTION"
			}
		}
		if msg == "" {
			msg = "Server temporarily unavailable"
			if f.Status == http.StatusInternalServerError {
				msg = "An unexpected error occurred. Please include this ErrorId if you contact support: 1712345678-12345 (-1234567890)"
			}
		}
		simhttp.SetRetryAfter(rec.Header(), f.RetryAfter)
		s.mu.Lock()
		info := s.limitInfoLocked()
		s.mu.Unlock()
		writeErrors(rec, f.Status, info, sfError{code: code, message: msg})
		return false
	}
	return true
}
