package transport

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIsDialError(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	dns := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.example.test", IsNotFound: true}}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&url.Error{Op: "Post", URL: "https://api.example.test", Err: refused}, true},
		{&url.Error{Op: "Post", URL: "https://api.example.test", Err: dns}, true},
		{&url.Error{Op: "Post", URL: "https://api.example.test", Err: reset}, false},
		{errors.New("EOF"), false},
	} {
		require.Equal(t, tc.want, isDialError(tc.err), "%v", tc.err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	} {
		h := http.Header{}
		if tc.value != "" {
			h.Set("Retry-After", tc.value)
		}
		got, ok := ParseRetryAfter(h, now)
		require.Equal(t, tc.ok, ok, tc.value)
		require.Equal(t, tc.want, got, tc.value)
	}
}

func TestBackoffGrowsAndIsClamped(t *testing.T) {
	t.Parallel()
	for range 20 {
		next := newBackoff(time.Second)
		for n := 1; n <= 8; n++ {
			interval := min(minBackoff<<(n-1), time.Second)
			d := next()
			require.GreaterOrEqual(t, d, interval/2, "resend %d", n)
			require.LessOrEqual(t, d, min(interval*3/2, time.Second), "resend %d", n)
		}
	}
	require.Zero(t, newBackoff(0)())
}
