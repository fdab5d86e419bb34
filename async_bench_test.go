package writeback_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/boltstore"
)

// benchCallers is the number of concurrent callers in BenchmarkAsyncEnqueue.
const benchCallers = 64

// baselineWrites caps the writes of BenchmarkAsyncEnqueue's baseline.
const baselineWrites = 2000

// kbRecord returns a contact of about 1 KB.
func kbRecord(i int) writeback.Record {
	return writeback.Record{Fields: map[string]any{
		"email": fmt.Sprintf("user%d@example.com", i),
		"notes": strings.Repeat("x", 1000),
	}}
}

// runCallers runs n calls of fn spread over benchCallers goroutines and
// returns each call's latency.
func runCallers(b *testing.B, n int, fn func(i int) error) []time.Duration {
	b.Helper()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range benchCallers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				start := time.Now()
				if err := fn(i); err != nil {
					failed.Store(&err)
					return
				}
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	return lat
}

func p99(lat []time.Duration) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[(len(s)*99)/100]
}

// BenchmarkAsyncEnqueue measures acknowledged async writes per second:
// Writer.Create in async mode through boltstore, 64 concurrent callers, 1 KB
// records; each ack means the write is fsync'd. The Writer is not started,
// so only acknowledgement is measured. The baseline, measured in the same
// run with the same callers and record sizes, is the naive path: one bbolt
// transaction (one fsync) per acknowledged write.
func BenchmarkAsyncEnqueue(b *testing.B) {
	ctx := b.Context()
	dir := b.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, "writeback.db"), nil)
	require.NoError(b, err)
	defer st.Close()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	e := setup(b, asyncContacts(fake), withStore(st)).w

	b.ResetTimer()
	start := time.Now()
	lat := runCallers(b, b.N, func(i int) error {
		_, err := e.Create(ctx, contacts, kbRecord(i), async)
		return err
	})
	elapsed := time.Since(start)
	b.StopTimer()

	// Baseline: writes of the same size, one bbolt transaction each, by
	// the same callers; at most baselineWrites of them, as it is slow.
	db, err := bolt.Open(filepath.Join(dir, "naive.db"), 0o600, nil)
	require.NoError(b, err)
	defer db.Close()
	require.NoError(b, db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte("ops"))
		return err
	}))
	payload := []byte(strings.Repeat("x", 1500)) // about an encoded op plus its job
	bstart := time.Now()
	bn := min(b.N, baselineWrites)
	blat := runCallers(b, bn, func(i int) error {
		return db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("ops")).Put(fmt.Appendf(nil, "%020d", i), payload)
		})
	})
	belapsed := time.Since(bstart)

	acks := float64(b.N) / elapsed.Seconds()
	base := float64(bn) / belapsed.Seconds()
	b.ReportMetric(acks, "acks/s")
	b.ReportMetric(float64(p99(lat).Microseconds())/1000, "p99-ms")
	b.ReportMetric(base, "baseline-acks/s")
	b.ReportMetric(float64(p99(blat).Microseconds())/1000, "baseline-p99-ms")
	b.ReportMetric(acks/base, "speedup")
}

// firstCall is a provider that reports its first Write and fails every
// write retryably, so the queue keeps its size.
type firstCall struct {
	*providertest.Fake
	once sync.Once
	got  chan struct{}
}

func (f *firstCall) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	f.once.Do(func() { close(f.got) })
	return nil, &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnavailable, StatusCode: 503, RecordIndex: writeback.NoRecord}
}

// BenchmarkResume measures how long a restarted Writer takes to resume a
// large queue: open a bbolt file holding 100,000 queued async operations,
// Start, and time until the first is dispatched to the provider. The
// baseline, measured in the same run, is the same with a file holding 1,000
// queued operations; the ratio shows whether resuming depends on the
// queue's size. Each run makes a few operations wait for a retry (the
// provider answers 503), so the queues stay about their size.
func BenchmarkResume(b *testing.B) {
	const queued, smallQueue = 100_000, 1000
	dir := b.TempDir()
	big := filepath.Join(dir, "big.db")
	small := filepath.Join(dir, "small.db")
	fill := func(path string, n int) {
		st, err := boltstore.Open(path, nil)
		require.NoError(b, err)
		defer st.Close()
		w := setup(b, asyncContacts(providertest.NewFake("hubspot", writeback.Capabilities{})), withStore(st)).w
		runCallers(b, n, func(i int) error {
			_, err := w.Create(b.Context(), contacts, kbRecord(i), async)
			return err
		})
	}
	fill(big, queued)
	fill(small, smallQueue)

	resume := func(path string) time.Duration {
		start := time.Now()
		st, err := boltstore.Open(path, nil)
		require.NoError(b, err)
		defer st.Close()
		p := &firstCall{Fake: providertest.NewFake("hubspot", writeback.Capabilities{}), got: make(chan struct{})}
		w := setup(b, asyncContacts(p), withStore(st)).w
		require.NoError(b, w.Start(b.Context()))
		<-p.got
		d := time.Since(start)
		require.NoError(b, w.Stop(b.Context()))
		return d
	}
	var total, baseTotal time.Duration
	b.ResetTimer()
	for range b.N {
		total += resume(big)
		b.StopTimer()
		baseTotal += resume(small)
		b.StartTimer()
	}
	b.StopTimer()
	ms := float64(total.Microseconds()) / 1000 / float64(b.N)
	base := float64(baseTotal.Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(ms, "first-dispatch-ms")
	b.ReportMetric(base, "baseline-first-dispatch-ms")
	b.ReportMetric(ms/base, "ratio")
}

// BenchmarkAsyncDelivery measures how fast a started Writer delivers
// queued async writes, end to end on boltstore with a Fake provider:
// 2,000 creates queued before Start, then the same number of updates, each
// timed from Start until the last operation completed. An async create
// records durably that it is about to be sent before its provider call
// (so that a crash never leaves a create that was not sent reported as an
// unknown outcome); an update records nothing, since it can be resent.
// The updates are the baseline: create-per-s / update-per-s is the cost
// of that record.
func BenchmarkAsyncDelivery(b *testing.B) {
	const n = 2000
	ctx := b.Context()
	deliver := func(write func(w *writeback.Writer, i int) error, fake *providertest.Fake) time.Duration {
		st, err := boltstore.Open(filepath.Join(b.TempDir(), "writeback.db"), nil)
		require.NoError(b, err)
		defer st.Close()
		var done atomic.Int64
		all := make(chan struct{})
		e := setup(b, asyncContacts(fake), withStore(st), withOnComplete(func(*writeback.Operation) {
			if done.Add(1) == n {
				close(all)
			}
		}))
		runCallers(b, n, func(i int) error { return write(e.w, i) })
		start := time.Now()
		require.NoError(b, e.w.Start(ctx))
		<-all
		d := time.Since(start)
		e.stop(b)
		return d
	}
	var creates, updates time.Duration
	for b.Loop() {
		creates += deliver(func(w *writeback.Writer, i int) error {
			_, err := w.Create(ctx, contacts, kbRecord(i), async)
			return err
		}, providertest.NewFake("hubspot", writeback.Capabilities{}))
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fake.Seed("contacts", map[string]any{"email": "old@example.com"})
		}
		updates += deliver(func(w *writeback.Writer, i int) error {
			r := kbRecord(i)
			r.ID = ids[i]
			_, err := w.Update(ctx, contacts, r, async)
			return err
		}, fake)
	}
	c := float64(n*b.N) / creates.Seconds()
	u := float64(n*b.N) / updates.Seconds()
	b.ReportMetric(c, "creates/s")
	b.ReportMetric(u, "baseline-updates/s")
	b.ReportMetric(c/u, "ratio")
}
