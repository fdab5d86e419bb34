package simhttp

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Latency is an http.RoundTripper that delays each exchange through Base
// by a random time from 0 to max each way, on the caller's clock (the fake
// clock in a testing/synctest bubble). The delays come from a source
// seeded with seed, so a run inside a bubble can be repeated.
type Latency struct {
	base http.RoundTripper
	max  time.Duration

	mu  sync.Mutex
	rnd *rand.Rand
}

// NewLatency returns a Latency around base.
func NewLatency(base http.RoundTripper, max time.Duration, seed uint64) *Latency {
	return &Latency{base: base, max: max, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// pause sleeps a random time from 0 to max.
func (l *Latency) pause() {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	d := time.Duration(l.rnd.Int64N(int64(l.max)))
	l.mu.Unlock()
	time.Sleep(d)
}

// RoundTrip implements http.RoundTripper.
func (l *Latency) RoundTrip(r *http.Request) (*http.Response, error) {
	l.pause()
	resp, err := l.base.RoundTrip(r)
	l.pause()
	return resp, err
}
