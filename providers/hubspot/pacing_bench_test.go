package hubspot_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

// BenchmarkPacing sends a burst of 10×N single creates from 8 goroutines
// through the adapter to the simulator limited to N requests per rolling
// 10 s, on the real clock, retrying what comes back retryable the way the
// engine does (after RetryAfter, else 1 s). It reports the share of 429
// answers the simulator gave (goal: at most 1 %) and checks every write
// landed. It takes about 10 windows (100 s), so it is a benchmark, not a
// test:
//
//	go test -run '^$' -bench BenchmarkPacing -benchtime 1x ./providers/hubspot/
func BenchmarkPacing(b *testing.B) {
	const n = 20 // requests per 10 s
	for range b.N {
		srv := hubspottest.NewServer(hubspottest.Options{TenSecondLimit: n, DailyLimit: -1})
		p := hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client()})
		ts := hubspot.StaticToken(hubspottest.DefaultToken)

		writes := 10 * n
		var next, landed, engineRetries atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 8 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(writes) {
						return
					}
					for {
						resp, err := p.Write(b.Context(), &writeback.ProviderRequest{
							InstallationID: "inst-1",
							Connection:     writeback.Connection{Provider: "hubspot"},
							TokenSource:    ts,
							Object:         "contacts",
							Type:           writeback.WriteTypeCreate,
							Records:        []writeback.Record{{Fields: map[string]any{"email": fmt.Sprintf("p%d@example.com", i)}}},
						})
						var perr *writeback.ProviderError
						if err == nil && resp.Results[0].Err != nil {
							perr = resp.Results[0].Err
						} else if err != nil && !errors.As(err, &perr) {
							b.Errorf("write %d: %v", i, err)
							return
						}
						if perr == nil {
							landed.Add(1)
							break
						}
						if !perr.Retryable() {
							b.Errorf("write %d: %v", i, perr)
							return
						}
						engineRetries.Add(1)
						wait := perr.RetryAfter
						if wait <= 0 {
							wait = time.Second
						}
						time.Sleep(wait)
					}
				}
			})
		}
		wg.Wait()
		took := time.Since(start)

		calls := srv.Calls()
		limited := 0
		for _, c := range calls {
			if c.Status == 429 {
				limited++
			}
		}
		srv.Close()
		if int(landed.Load()) != writes {
			b.Fatalf("%d of %d writes landed", landed.Load(), writes)
		}
		b.ReportMetric(float64(writes), "writes")
		b.ReportMetric(float64(len(calls)), "requests")
		b.ReportMetric(100*float64(limited)/float64(len(calls)), "%429")
		b.ReportMetric(float64(engineRetries.Load()), "engine-retries")
		b.ReportMetric(took.Seconds(), "s")
		b.ReportMetric(100*float64(writes)/(took.Seconds()*n/10), "%of-limit")
	}
}
