package simhttp

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults is the queue of faults injected into a simulator, of the
// simulator's own fault type F. Faults apply in the order they were added;
// each matches a number of requests. The zero value is ready to use; it is
// safe for concurrent use.
type Faults[F any] struct {
	mu   sync.Mutex
	list []*pending[F]
}

// pending is one queued fault and its counters.
type pending[F any] struct {
	fault     F
	match     func(*http.Request) bool
	skip      int
	remaining int
}

// Add queues f for the next times requests (at least one) that match,
// after letting the first skip of them through untouched.
func (q *Faults[F]) Add(f F, times, skip int, match func(*http.Request) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = append(q.list, &pending[F]{fault: f, match: match, skip: skip, remaining: max(times, 1)})
}

// Clear removes every queued fault.
func (q *Faults[F]) Clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = nil
}

// Take returns the first fault matching r, counting the use, and whether
// there was one.
func (q *Faults[F]) Take(r *http.Request) (F, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, p := range q.list {
		if !p.match(r) {
			continue
		}
		if p.skip > 0 {
			p.skip--
			break
		}
		p.remaining--
		if p.remaining <= 0 {
			q.list = append(q.list[:i:i], q.list[i+1:]...)
		}
		return p.fault, true
	}
	var zero F
	return zero, false
}

// Matches reports whether r has the method (empty means any) and a URL path
// containing path (empty means any).
func Matches(r *http.Request, method, path string) bool {
	return (method == "" || strings.EqualFold(method, r.Method)) && strings.Contains(r.URL.Path, path)
}

// Delay holds the answer to r back for d, or until the client gives up. It
// reports whether the full delay passed.
func Delay(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// SetRetryAfter sets the Retry-After header to d in whole seconds, rounded
// up, when d is positive.
func SetRetryAfter(h http.Header, d time.Duration) {
	if d > 0 {
		h.Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}
