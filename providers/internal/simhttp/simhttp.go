// Package simhttp holds what the provider simulators (hubspottest,
// salesforcetest) share: the log of the calls a simulator received, a
// response writer that remembers the status, the queue of injected faults,
// and the fault actions (holding an answer back, dropping a connection
// without an answer, Retry-After).
package simhttp

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Call is one request a simulator received.
type Call struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path.
	Path string
	// Query is the raw query string.
	Query string
	// Header holds the request headers as received, Authorization included.
	Header http.Header
	// Body is the request body.
	Body []byte
	// Status is the HTTP status answered, or 0 when the connection was
	// dropped without an answer.
	Status int
	// Time is when the request arrived, by the simulator's clock.
	Time time.Time
}

// Log records the calls a simulator receives. The zero value is ready to
// use; a Log is safe for concurrent use.
type Log struct {
	mu    sync.Mutex
	calls []*Call
}

// Add records a request as it arrives, at now, and returns its entry for
// [Log.SetStatus].
func (l *Log) Add(r *http.Request, body []byte, now time.Time) *Call {
	c := &Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, Time: now}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
	return c
}

// SetStatus records the status answered to c.
func (l *Log) SetStatus(c *Call, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.Status = status
}

// Calls returns copies of every call recorded so far, oldest first.
func (l *Log) Calls() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Call, len(l.calls))
	for i, c := range l.calls {
		out[i] = *c
		out[i].Header = c.Header.Clone()
		out[i].Body = append([]byte(nil), c.Body...)
	}
	return out
}

// CallsTo returns the calls with the given method (empty means any) whose
// path contains path.
func (l *Log) CallsTo(method, path string) []Call {
	var out []Call
	for _, c := range l.Calls() {
		if (method == "" || strings.EqualFold(method, c.Method)) && strings.Contains(c.Path, path) {
			out = append(out, c)
		}
	}
	return out
}

// Len returns the number of calls recorded.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

// StatusRecorder is a response writer that remembers the status written.
type StatusRecorder struct {
	http.ResponseWriter
	// Status is the status written, or 0 before anything was written.
	Status int
}

// WriteHeader implements http.ResponseWriter.
func (r *StatusRecorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (r *StatusRecorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// HijackClose closes the client's connection without an answer. w is the
// server's response writer, or a [StatusRecorder] around it.
func HijackClose(w http.ResponseWriter) {
	if sr, ok := w.(*StatusRecorder); ok {
		w = sr.ResponseWriter
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("simhttp: connection cannot be hijacked")
	}
	if conn, _, err := hj.Hijack(); err == nil {
		_ = conn.Close()
	}
}
