package hubspot_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

// BenchmarkBatchVersusSingle writes 100 contacts to the simulator as one
// batch create and, as the baseline in the same run, as 100 single
// creates. It reports calls per 100 records and how many times faster the
// batch is.
func BenchmarkBatchVersusSingle(b *testing.B) {
	srv := hubspottest.NewServer(hubspottest.Options{TenSecondLimit: -1, DailyLimit: -1})
	defer srv.Close()
	p := hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client()})
	ctx := b.Context()
	n := 0
	records := func() []writeback.Record {
		recs := make([]writeback.Record, 100)
		for i := range recs {
			n++
			recs[i] = writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("b%d@example.com", n), "firstname": "Bench"}}
		}
		return recs
	}
	var single, batch time.Duration
	var singleCalls, batchCalls int
	for b.Loop() {
		recs := records()
		calls := srv.CallCount()
		start := time.Now()
		for _, r := range recs {
			if _, err := p.Write(ctx, simRequest(writeback.WriteTypeCreate, false, false, r)); err != nil {
				b.Fatal(err)
			}
		}
		single += time.Since(start)
		singleCalls += srv.CallCount() - calls

		recs = records()
		calls = srv.CallCount()
		start = time.Now()
		if _, err := p.Write(ctx, simRequest(writeback.WriteTypeCreate, true, false, recs...)); err != nil {
			b.Fatal(err)
		}
		batch += time.Since(start)
		batchCalls += srv.CallCount() - calls
	}
	b.ReportMetric(float64(batchCalls)/float64(b.N), "batch-calls/100rec")
	b.ReportMetric(float64(singleCalls)/float64(b.N), "single-calls/100rec")
	b.ReportMetric(float64(single)/float64(batch), "batch-speedup-x")
}
