package transport

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkDo measures the client's own cost per call (pacing, tracing,
// token, logging check, body read) against a plain http.Client send of the
// same request through the same in-memory RoundTripper, as a ratio.
func BenchmarkDo(b *testing.B) {
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			_ = r.Body.Close()
		}
		return reply(http.StatusCreated, `{"id":"1"}`,
			"X-HubSpot-RateLimit-Interval-Milliseconds", "10000",
			"X-HubSpot-RateLimit-Max", "1000000000",
			"X-HubSpot-RateLimit-Remaining", "999999999"), nil
	})
	body := []byte(`{"properties":{"email":"a@example.test"}}`)
	const url = "https://api.example.test/crm/v3/objects/contacts"

	raw := &http.Client{Transport: rt}
	plain := func() {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer t")
		resp, err := raw.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	c := New(Config{HTTPClient: &http.Client{Transport: rt}, Limits: hubspotLimits})
	ts := &staticToken{tok: "t"}
	client := func() {
		resp, err := c.Do(b.Context(), &Request{Method: http.MethodPost, URL: url, Body: body, Key: "inst", TokenSource: ts})
		if err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatal(err)
		}
	}

	const baseline = 2000
	start := time.Now()
	for range baseline {
		plain()
	}
	perPlain := time.Since(start) / baseline

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		client()
	}
	b.StopTimer()
	perCall := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perPlain.Nanoseconds()), "plain-ns/op")
	b.ReportMetric(float64(perCall)/float64(perPlain), "x-plain")
}
