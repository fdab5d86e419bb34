package writeback_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/boltstore"
)

// keyCounting counts the writes and the reads by key that reach an
// adapter that can upsert.
type keyCounting struct {
	*hubspot.Provider
	writes, reads atomic.Int64
}

func (p *keyCounting) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	p.writes.Add(1)
	return p.Provider.Write(ctx, req)
}

func (p *keyCounting) ReadByKey(ctx context.Context, req *writeback.ReadRequest) (map[string]writeback.KeyedRecord, error) {
	p.reads.Add(1)
	return p.Provider.ReadByKey(ctx, req)
}

// BenchmarkAutoBatchUpsert writes 10,000 single auto-batched upserts of
// HubSpot contacts by email, half of which exist, through the HubSpot
// adapter and simulator, and the same number of auto-batched creates of
// new contacts (the baseline). It reports the provider calls per 10,000
// writes (reads by key and writes; goal ≤ 202 for the upserts: one read
// and one write per 100) and records/s end to end, from the first call
// until every record's operation completed, onto a bbolt file.
func BenchmarkAutoBatchUpsert(b *testing.B) {
	const writes = 10_000
	for _, typ := range []writeback.WriteType{writeback.WriteTypeUpsert, writeback.WriteTypeCreate} {
		b.Run(string(typ), func(b *testing.B) {
			ctx := b.Context()
			hp, sim := benchProvider(b)
			p := &keyCounting{Provider: hp.(*hubspot.Provider)}
			st, err := boltstore.Open(filepath.Join(b.TempDir(), "writeback.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			var records atomic.Int64
			var want int64
			var done chan struct{}
			w := setup(b, withStore(st), withManifest(upsertManifest),
				withProviders(p, providertest.NewFake("salesforce", writeback.Capabilities{})),
				withInstallations(&writeback.Installation{
					Integration: "crm", GroupRef: "cust-42", Connection: writeback.Connection{Provider: "hubspot"},
					Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{"contacts": {}}}},
				}),
				withOnComplete(func(op *writeback.Operation) {
					if records.Add(int64(len(op.Results))) == want {
						close(done)
					}
				})).w
			if err := w.Start(ctx); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = w.Stop(context.Background()) })
			opts := autoBatch(time.Second)
			var elapsed time.Duration
			contacts, run := 0, 0
			for b.Loop() {
				run++
				email := func(i int) string { return fmt.Sprintf("r%d-c%d@example.com", run, i) }
				if typ == writeback.WriteTypeUpsert {
					for i := 0; i < writes; i += 2 {
						sim.Seed("contacts", map[string]string{"email": email(i), "firstname": "old"})
					}
				}
				records.Store(0)
				want, done = writes, make(chan struct{})
				start := time.Now()
				var next atomic.Int64
				var wg sync.WaitGroup
				for range 16 {
					wg.Go(func() {
						for {
							i := int(next.Add(1) - 1)
							if i >= writes {
								return
							}
							rec := writeback.Record{Fields: map[string]any{"email": email(i), "firstname": "new"}}
							var err error
							if typ == writeback.WriteTypeUpsert {
								_, err = w.Upsert(ctx, crmTarget("contacts"), rec, opts)
							} else {
								_, err = w.Create(ctx, crmTarget("contacts"), rec, opts)
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				<-done
				elapsed += time.Since(start)
				contacts += writes // for upserts, half seeded and half created: no duplicate
			}
			if n := sim.Count("contacts"); n != contacts {
				b.Fatalf("%d contacts, want %d", n, contacts)
			}
			perRun := func(n int64) float64 { return float64(n) / float64(b.N) * 10_000 / writes }
			b.ReportMetric(perRun(p.reads.Load()+p.writes.Load()), "calls/10k")
			b.ReportMetric(perRun(p.reads.Load()), "reads/10k")
			b.ReportMetric(float64(writes*b.N)/elapsed.Seconds(), "records/s")
		})
	}
}
