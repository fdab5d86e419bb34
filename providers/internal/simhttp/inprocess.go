package simhttp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync"
)

// ErrDropped is the error of an in-process exchange whose connection the
// simulator closed without an answer (a fault such as DropAfterProcessing).
var ErrDropped = errors.New("simhttp: connection closed without an answer")

// InProcess is an http.RoundTripper that serves each request with a
// simulator's handler on the calling goroutine, without a socket. It is
// for tests in a testing/synctest bubble, where a goroutine blocked on a
// loopback connection keeps the fake clock from advancing. To the client
// it looks like a connection: the request's httptrace GotConn and
// WroteRequest hooks run before the handler, and a dropped connection is
// an error wrapping [ErrDropped] after the handler has acted.
type InProcess struct {
	// Handler serves the requests.
	Handler http.Handler
}

// RoundTrip implements http.RoundTripper.
func (t InProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	body := []byte(nil)
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	if tr := httptrace.ContextClientTrace(r.Context()); tr != nil {
		if tr.GotConn != nil {
			tr.GotConn(httptrace.GotConnInfo{})
		}
		if tr.WroteRequest != nil {
			tr.WroteRequest(httptrace.WroteRequestInfo{})
		}
	}
	in := r.Clone(r.Context())
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.ContentLength = int64(len(body))
	in.RequestURI = r.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:1"
	if in.Host == "" {
		in.Host = r.URL.Host
	}
	w := &inProcessWriter{ResponseRecorder: httptest.NewRecorder()}
	t.Handler.ServeHTTP(w, in)
	if w.hijacked() {
		return nil, ErrDropped
	}
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

// inProcessWriter is a recorder whose connection can be hijacked, which
// closes it without an answer.
type inProcessWriter struct {
	*httptest.ResponseRecorder

	mu   sync.Mutex
	conn net.Conn
}

// Hijack implements http.Hijacker: the connection returned leads nowhere,
// and the exchange ends without an answer.
func (w *inProcessWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	server, client := net.Pipe()
	_ = client.Close()
	w.conn = server
	return server, bufio.NewReadWriter(bufio.NewReader(server), bufio.NewWriter(server)), nil
}

// hijacked reports whether the handler took the connection.
func (w *inProcessWriter) hijacked() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn != nil
}
