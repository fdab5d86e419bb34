package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// closedAddr returns the address of a loopback listener that was closed:
// dialling it is refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// newServer starts a loopback server that counts requests.
func newServer(t *testing.T, h func(n int32, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(hits.Add(1), w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// hangUp reads the request, then closes the connection without answering.
func hangUp(t *testing.T, w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		t.Error(err)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	_ = conn.Close()
}

func TestResendCreateOnConnectionRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, hits := newServer(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	refused := closedAddr(t)
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		if dials.Add(1) == 1 {
			return d.DialContext(ctx, network, refused)
		}
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := New(Config{Provider: "test", HTTPClient: &http.Client{Transport: tr}, MaxWait: time.Millisecond})

	resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: srv.URL + "/objects", Body: []byte(`{"a":1}`)})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"a":1}`, string(resp.Body), "the body is sent again in full")
	require.Equal(t, 2, resp.Attempts)
	require.Equal(t, int32(1), hits.Load())
}

func TestConnectionRefusedEverySendIsNotSent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := New(Config{HTTPClient: &http.Client{Transport: tr}, MaxAttempts: 2, MaxWait: time.Millisecond})

	_, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "http://" + closedAddr(t) + "/objects", Body: []byte(`{}`)})
	var se *SendError
	require.ErrorAs(t, err, &se)
	require.False(t, se.Sent)
	require.Equal(t, 2, se.Attempts)
}

func TestNoResendOfCreateWhoseOutcomeIsUnknown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, hits := newServer(t, func(_ int32, w http.ResponseWriter, r *http.Request) { hangUp(t, w, r) })
	c := New(Config{HTTPClient: srv.Client(), MaxWait: time.Millisecond})

	resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: srv.URL + "/objects", Body: []byte(`{"a":1}`)})
	require.Nil(t, resp)
	var se *SendError
	require.ErrorAs(t, err, &se)
	require.True(t, se.Sent, "the provider read the request: outcome unknown")
	require.Equal(t, 1, se.Attempts)
	require.Equal(t, int32(1), hits.Load())
}

func TestResendIdempotentWhoseOutcomeIsUnknown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, hits := newServer(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			hangUp(t, w, r)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	c := New(Config{HTTPClient: srv.Client(), MaxWait: time.Millisecond})

	resp, err := c.Do(ctx, &Request{Method: http.MethodPatch, URL: srv.URL + "/objects/1", Body: []byte(`{"a":1}`), Idempotent: true})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 2, resp.Attempts)
	require.Equal(t, int32(2), hits.Load())
}

func TestResendIdempotentOnGatewayError(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, idempotent := range []bool{false, true} {
		srv, hits := newServer(t, func(n int32, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		c := New(Config{HTTPClient: srv.Client(), MaxWait: time.Millisecond})
		resp, err := c.Do(ctx, &Request{Method: http.MethodPatch, URL: srv.URL + "/x", Body: []byte(`{}`), Idempotent: idempotent})
		require.NoError(t, err)
		if idempotent {
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, int32(2), hits.Load())
		} else {
			require.Equal(t, http.StatusBadGateway, resp.StatusCode, "a 502 may hide a processed create")
			require.Equal(t, int32(1), hits.Load())
		}
	}
}

func TestServiceUnavailableResentUpToMaxAttempts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, hits := newServer(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"a":1}` {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "answer %d", n)
	})
	c := New(Config{HTTPClient: srv.Client(), MaxAttempts: 4})

	resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: srv.URL + "/objects", Body: []byte(`{"a":1}`)})
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "answer 4", string(resp.Body), "the last response is returned")
	require.Equal(t, 4, resp.Attempts)
	require.Equal(t, int32(4), hits.Load())
}

func TestInternalServerErrorNotResent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, hits := newServer(t, func(_ int32, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"message":"boom"}`)
	})
	c := New(Config{HTTPClient: srv.Client()})

	for _, idempotent := range []bool{false, true} {
		hits.Store(0)
		resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: srv.URL + "/objects", Body: []byte(`{}`), Idempotent: idempotent})
		require.NoError(t, err)
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.JSONEq(t, `{"message":"boom"}`, string(resp.Body))
		require.Equal(t, 1, resp.Attempts)
		require.Equal(t, int32(1), hits.Load())
	}
}

func TestUnauthorizedRefreshesOnceAndResendsOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	t.Run("refreshed token accepted", func(t *testing.T) {
		t.Parallel()
		srv, hits := newServer(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer new" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusCreated)
		})
		ts := &refresher{}
		c := New(Config{HTTPClient: srv.Client(), MaxAttempts: 1})
		resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: srv.URL + "/objects", Body: []byte(`{}`), TokenSource: ts})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Equal(t, int32(1), ts.refreshes.Load())
		require.Equal(t, int32(2), hits.Load())
		require.Equal(t, 2, resp.Attempts)
	})

	t.Run("second 401 returned", func(t *testing.T) {
		t.Parallel()
		srv, hits := newServer(t, func(_ int32, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		})
		ts := &refresher{}
		c := New(Config{HTTPClient: srv.Client()})
		resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: srv.URL + "/objects", Body: []byte(`{}`), TokenSource: ts})
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, int32(1), ts.refreshes.Load())
		require.Equal(t, int32(2), hits.Load())
	})

	t.Run("plain source asked again", func(t *testing.T) {
		t.Parallel()
		srv, hits := newServer(t, func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 || r.Header.Get("Authorization") != "Bearer tok" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		ts := &staticToken{tok: "tok"}
		c := New(Config{HTTPClient: srv.Client()})
		resp, err := c.Do(ctx, &Request{Method: http.MethodGet, URL: srv.URL + "/objects/1", TokenSource: ts, Idempotent: true})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, int32(2), ts.calls.Load(), "one token per send")
		require.Equal(t, int32(2), hits.Load())
	})
}

func TestHeadersPassThrough(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, _ := newServer(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "%s|%s|%s", r.Header.Get("Content-Type"), r.Header.Get("X-Extra"), r.Header.Get("Authorization"))
	})
	c := New(Config{HTTPClient: srv.Client()})
	h := http.Header{"X-Extra": {"v"}, "Authorization": {"Basic spoof"}}
	resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: srv.URL + "/o", Body: []byte(`{}`), Header: h, TokenSource: &staticToken{tok: "t"}})
	require.NoError(t, err)
	require.Equal(t, "application/json|v|Bearer t", string(resp.Body))
}

func TestResponseBodyCapped(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv, _ := newServer(t, func(_ int32, w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(make([]byte, MaxBodySize+1))
	})
	c := New(Config{HTTPClient: srv.Client()})
	_, err := c.Do(ctx, &Request{Method: http.MethodGet, URL: srv.URL + "/big", Idempotent: true})
	require.ErrorIs(t, err, ErrBodyTooLarge)
	var se *SendError
	require.ErrorAs(t, err, &se)
	require.True(t, se.Sent)
}

func TestInvalidRequest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := New(Config{})
	for _, req := range []*Request{
		nil,
		{URL: "http://example.invalid/x"},
		{Method: http.MethodGet, URL: "/relative?token=s3cret"},
		{Method: http.MethodGet, URL: "http://[::1"},
	} {
		_, err := c.Do(ctx, req)
		require.ErrorIs(t, err, ErrInvalidRequest)
		require.NotContains(t, err.Error(), "s3cret")
	}
}

func TestLogsAndErrorsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const token, secret = "TOKEN-7f3a", "QUERY-9c1d"
	srv, _ := newServer(t, func(n int32, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusUnauthorized)
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		case 3:
			w.WriteHeader(http.StatusOK)
		default:
			hangUp(t, w, r)
		}
	})
	var logs logBuffer
	c := New(Config{Provider: "test", HTTPClient: srv.Client(), Logger: logs.logger(), MaxWait: time.Millisecond})
	req := &Request{
		Method: http.MethodPost, URL: srv.URL + "/crm/v3/objects?hapikey=" + secret, Body: []byte(`{"token":"` + token + `"}`),
		TokenSource: &staticToken{tok: token},
	}
	resp, err := c.Do(ctx, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	_, err = c.Do(ctx, req) // the server hangs up: an error that quotes the URL
	require.Error(t, err)
	require.NotContains(t, err.Error(), secret)
	require.NotContains(t, err.Error(), token)

	req.URL = "http://" + closedAddr(t) + "/crm/v3/objects?hapikey=" + secret
	_, err = c.Do(ctx, req)
	require.Error(t, err)
	require.NotContains(t, err.Error(), secret)

	out := logs.String()
	require.Contains(t, out, "/crm/v3/objects")
	require.Contains(t, out, "status=429")
	require.Contains(t, out, "level=WARN")
	require.NotContains(t, out, secret)
	require.NotContains(t, out, token)
	require.NotContains(t, out, "hapikey")
	require.False(t, strings.Contains(out, "Bearer"))
}

func TestCanceledBeforeSendIsNotSent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	srv, hits := newServer(t, func(_ int32, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	c := New(Config{HTTPClient: srv.Client()})
	_, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: srv.URL + "/objects", Body: []byte(`{}`)})
	require.ErrorIs(t, err, context.Canceled)
	var se *SendError
	require.ErrorAs(t, err, &se)
	require.False(t, se.Sent)
	require.Zero(t, hits.Load())
	require.False(t, errors.Is(err, ErrToken))
}
