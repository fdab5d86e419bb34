package writeback_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/boltstore"
)

// countingProvider counts the Write calls that reach a provider and, if
// starts is set, sends when each began with the name of its first record.
type countingProvider struct {
	writeback.Provider
	calls  atomic.Int64
	starts chan callStart
}

// callStart is when a Write call began.
type callStart struct {
	at    time.Time
	first string
}

func (p *countingProvider) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	p.calls.Add(1)
	if p.starts != nil && len(req.Records) > 0 {
		name, _ := req.Records[0].Fields["name"].(string)
		select {
		case p.starts <- callStart{at: time.Now(), first: name}:
		default:
		}
	}
	return p.Provider.Write(ctx, req)
}

// benchEnv is a started Writer on a bbolt file in a temporary directory,
// with one installation, counting provider calls and completed records.
type benchEnv struct {
	w        *writeback.Writer
	provider *countingProvider
	target   writeback.Target
	records  atomic.Int64 // records of completed operations
	done     chan struct{}
	want     int64
}

// newBenchEnv returns a started benchEnv writing to p; starts, if not nil,
// receives the start of every provider call.
func newBenchEnv(b *testing.B, p writeback.Provider, starts chan callStart) *benchEnv {
	b.Helper()
	ctx := b.Context()
	st, err := boltstore.Open(filepath.Join(b.TempDir(), "writeback.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	e := &benchEnv{provider: &countingProvider{Provider: p, starts: starts}, target: crmTarget("companies")}
	e.w = setup(b, withStore(st), withProviders(e.provider, providertest.NewFake("salesforce", writeback.Capabilities{})),
		withInstallations(companiesInstallation()),
		withOnComplete(func(op *writeback.Operation) {
			if e.records.Add(int64(len(op.Results))) == e.want {
				close(e.done)
			}
		})).w
	if err := e.w.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.w.Stop(context.Background()) })
	return e
}

// writeAll writes n single async creates from several goroutines and waits
// until every one is written; it returns how long that took.
func (e *benchEnv) writeAll(b *testing.B, n int, opts *writeback.WriteOpts) time.Duration {
	b.Helper()
	ctx := b.Context()
	e.records.Store(0)
	e.want = int64(n)
	e.done = make(chan struct{})
	const submitters = 16
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range submitters {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if _, err := e.w.Create(ctx, e.target, company(fmt.Sprintf("c%d", i)), opts); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	<-e.done
	return time.Since(start)
}

// BenchmarkAutoBatch writes 10,000 single async creates for one
// installation, object and write type through the HubSpot adapter and
// simulator, with auto-batching and without it (the baseline), and reports
// the provider calls (calls/10k: Provider.Write calls; http/10k: requests
// the simulator received) per 10,000 writes and the records written per
// second, end to end: from the first call to Create until the last
// record's operation completed. Writes come from 16 goroutines onto a
// bbolt file, so every write is durable before Create returns.
func BenchmarkAutoBatch(b *testing.B) {
	const writes = 10_000
	for _, mode := range []struct {
		name string
		opts *writeback.WriteOpts
	}{
		{"AutoBatch", autoBatch(time.Second)},
		{"Single", &writeback.WriteOpts{Mode: writeback.ModeAsync}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			p, sim := benchProvider(b)
			e := newBenchEnv(b, p, nil)
			var elapsed time.Duration
			for b.Loop() {
				elapsed += e.writeAll(b, writes, mode.opts)
			}
			if n := sim.Count("companies"); n != writes*b.N {
				b.Fatalf("%d companies created, want %d", n, writes*b.N)
			}
			perRun := func(n int) float64 { return float64(n) / float64(b.N) * 10_000 / writes }
			b.ReportMetric(perRun(int(e.provider.calls.Load())), "calls/10k")
			b.ReportMetric(perRun(sim.CallCount()), "http/10k")
			b.ReportMetric(float64(writes*b.N)/elapsed.Seconds(), "records/s")
		})
	}
}

// BenchmarkAutoBatchFlushLag trickles single writes (one every 100 ms) into
// groups with a one-second max delay, so every group is written by its
// timer, and reports how long after its flush time (first record + max
// delay) each group's provider call began, on the real clock: the median,
// the 99th percentile and the maximum. Each iteration is one group.
func BenchmarkAutoBatchFlushLag(b *testing.B) {
	const (
		delay = time.Second
		every = 100 * time.Millisecond
	)
	starts := make(chan callStart, 1024)
	p, _ := benchProvider(b)
	e := newBenchEnv(b, p, starts)
	ctx := b.Context()
	opts := autoBatch(delay)

	var mu sync.Mutex
	groupOf := map[string]string{} // record name -> operation ID
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			name := fmt.Sprintf("t%d", i)
			res, err := e.w.Create(ctx, e.target, company(name), opts)
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			groupOf[name] = res.OperationID
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	var lags []time.Duration
	for b.Loop() {
		call := <-starts
		mu.Lock()
		id := groupOf[call.first]
		mu.Unlock()
		op, err := e.w.Operation(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		lags = append(lags, call.at.Sub(op.CreatedAt.Add(delay)))
	}
	close(stop)
	wg.Wait()
	slices.Sort(lags)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lags[len(lags)/2]), "flush-lag-ms-p50")
	b.ReportMetric(ms(lags[(len(lags)*99)/100]), "flush-lag-ms-p99")
	b.ReportMetric(ms(lags[len(lags)-1]), "flush-lag-ms-max")
}

// benchProvider returns the HubSpot adapter writing to a HubSpot
// simulator on loopback, without rate limits (so that the baseline's
// 10,000 calls measure the engine, not HubSpot's 100 calls per 10 s), and
// the simulator.
func benchProvider(b *testing.B) (writeback.Provider, *hubspottest.Server) {
	srv := hubspottest.NewServer(hubspottest.Options{Tokens: []string{testToken}, TenSecondLimit: -1, DailyLimit: -1})
	b.Cleanup(srv.Close)
	return hubspot.New(hubspot.Config{BaseURL: srv.URL}), srv
}
