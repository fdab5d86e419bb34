package transport

import (
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/writebackhq/writeback"
)

// attempt records, from httptrace, how far one send got. The trace hooks
// may run on the transport's goroutines, even after RoundTrip returned.
type attempt struct {
	gotConn     atomic.Bool
	writeFailed atomic.Bool
}

// sent reports whether the send may have reached the provider: a connection
// was made and writing the request did not fail. A failed write leaves the
// request incomplete (the body has a Content-Length), so the provider
// cannot have acted on it.
func (a *attempt) sent() bool {
	return a.gotConn.Load() && !a.writeFailed.Load()
}

// sendTransport wraps the base RoundTripper for one call: it traces each
// send into the call's state and logs it. It deliberately does not implement
// CloseIdleConnections.
type sendTransport struct {
	base     http.RoundTripper
	log      *slog.Logger
	provider string
	call     *call // the Do this transport serves
}

// RoundTrip implements http.RoundTripper.
func (t *sendTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	a := &attempt{}
	t.call.cur = a
	n := t.call.sends + 1
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { a.gotConn.Store(true) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err != nil {
				a.writeFailed.Store(true)
			}
		},
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r.WithContext(httptrace.WithClientTrace(r.Context(), trace)))
	pc := writeback.ProviderCall{Method: r.Method, Path: r.URL.Path}
	if err == nil {
		pc.Status = resp.StatusCode
	}
	t.call.record(pc, start, time.Now())
	if t.log.Enabled(r.Context(), slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("provider", t.provider),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("attempt", n),
			slog.Duration("duration", time.Since(start)),
		}
		if err != nil {
			attrs = append(attrs, slog.Bool("sent", a.sent()), slog.String("error", err.Error()))
		} else {
			attrs = append(attrs, slog.Int("status", resp.StatusCode))
		}
		t.log.LogAttrs(r.Context(), slog.LevelDebug, "provider call", attrs...)
	}
	return resp, err
}
