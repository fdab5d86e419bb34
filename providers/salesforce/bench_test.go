package salesforce_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// BenchmarkWrite100 writes 100 Accounts per iteration to the simulator, as
// 100 single creates (the baseline) and as one Collections batch, and
// reports API calls per 100 records and the batch's speed-up in the same
// run.
func BenchmarkWrite100(b *testing.B) {
	recs := make([]writeback.Record, 100)
	for i := range recs {
		recs[i] = writeback.Record{Fields: map[string]any{"Name": fmt.Sprintf("Account %d", i), "NumberOfEmployees": i}}
	}
	run := func(b *testing.B, batch bool) time.Duration {
		e := newBenchEnv(b)
		start := time.Now()
		for b.Loop() {
			if batch {
				req := e.write("Account", writeback.WriteTypeCreate, true, recs...)
				req.AllOrNone = true
				if _, err := e.p.Write(b.Context(), req); err != nil {
					b.Fatal(err)
				}
				continue
			}
			for _, r := range recs {
				if _, err := e.p.Write(b.Context(), e.write("Account", writeback.WriteTypeCreate, false, r)); err != nil {
					b.Fatal(err)
				}
			}
		}
		elapsed := time.Since(start) / time.Duration(b.N)
		b.ReportMetric(float64(len(e.srv.CallsTo("", "/services/data/")))/float64(b.N), "calls/100records")
		return elapsed
	}
	var single time.Duration
	b.Run("single", func(b *testing.B) { single = run(b, false) })
	b.Run("collections", func(b *testing.B) {
		batched := run(b, true)
		if single > 0 && batched > 0 {
			b.ReportMetric(float64(single)/float64(batched), "speedup-vs-single")
		}
	})
}

// newBenchEnv is newEnv for benchmarks.
func newBenchEnv(b *testing.B) *env {
	b.Helper()
	srv := salesforcetest.NewServer(salesforcetest.Options{DailyLimit: 1 << 30})
	b.Cleanup(srv.Close)
	e := &env{srv: srv, p: salesforce.New(salesforce.Config{HTTPClient: srv.Client()})}
	e.ts = salesforce.NewTokenSource(srv.Client(), srv.OAuthConfig(), srv.Token(), nil)
	return e
}
