package writeback_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
)

// benchCallers is the number of concurrent callers in BenchmarkAsyncEnqueue.
const benchCallers = 64

// kbNotes fills kbRecord's records, shared like the store benchmarks'
// payloads.
var kbNotes = strings.Repeat("x", 1000)

// kbRecord returns a contact of about 1 KB.
func kbRecord(i int) writeback.Record {
	return writeback.Record{Fields: map[string]any{
		"email": "user" + strconv.Itoa(i) + "@example.com",
		"notes": kbNotes,
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
// so only acknowledgement is measured. Two baselines are measured in the
// same run, with the same callers and as many writes, each on its own file
// in the same directory:
//
//   - store-acks/s: boltstore's own Enqueue with the records of
//     store/boltstore's BenchmarkEnqueue (a 200-byte operation and a 1 KB
//     job): the store's group commit without the Writer in front of it.
//     of-store is the Writer's figure over this one;
//   - bbolt-acks/s: raw bbolt group commit (DB.Batch) of one 1.2 KB value
//     per call.
//
// The three run in rounds, taking turns, so that a change in the
// machine's load during the run affects them alike.
func BenchmarkAsyncEnqueue(b *testing.B) {
	const rounds = 8
	ctx := b.Context()
	dir := b.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, "writeback.db"), nil)
	require.NoError(b, err)
	defer st.Close()
	w := setup(b, asyncContacts(providertest.NewFake("hubspot", writeback.Capabilities{})), withStore(st)).w
	bst, err := boltstore.Open(filepath.Join(dir, "store.db"), nil)
	require.NoError(b, err)
	defer bst.Close()
	db, err := bolt.Open(filepath.Join(dir, "raw.db"), 0o600, nil)
	require.NoError(b, err)
	defer db.Close()
	require.NoError(b, db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte("ops"))
		return err
	}))

	now := time.Now()
	op, payload, value := make([]byte, 200), make([]byte, 1024), make([]byte, 1200)
	runs := []struct {
		call    func(i int) error
		elapsed time.Duration
		lat     []time.Duration
	}{
		{call: func(i int) error {
			_, err := w.Create(ctx, contacts, kbRecord(i), async)
			return err
		}},
		{call: func(i int) error {
			id := fmt.Sprintf("%020d", i)
			return bst.Enqueue(ctx, store.Operation{ID: id, InstallationID: "inst-1", Data: op},
				store.Job{ID: id, InstallationID: "inst-1", Provider: "hubspot", RunAt: now, Payload: payload}, nil, now)
		}},
		{call: func(i int) error {
			return db.Batch(func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("ops")).Put(fmt.Appendf(nil, "%020d", i), value)
			})
		}},
	}
	b.ResetTimer()
	done := 0
	for r := range rounds {
		n := (b.N - done) / (rounds - r)
		for k := range runs {
			run := &runs[(k+r)%len(runs)]
			start := time.Now()
			lat := runCallers(b, n, func(i int) error { return run.call(done + i) })
			run.elapsed += time.Since(start)
			run.lat = append(run.lat, lat...)
		}
		done += n
	}
	b.StopTimer()

	rate := func(k int) float64 { return float64(len(runs[k].lat)) / runs[k].elapsed.Seconds() }
	ms := func(k int) float64 { return float64(p99(runs[k].lat).Microseconds()) / 1000 }
	b.ReportMetric(rate(0), "acks/s")
	b.ReportMetric(ms(0), "p99-ms")
	b.ReportMetric(rate(1), "store-acks/s")
	b.ReportMetric(ms(1), "store-p99-ms")
	b.ReportMetric(rate(2), "bbolt-acks/s")
	b.ReportMetric(ms(2), "bbolt-p99-ms")
	b.ReportMetric(rate(0)/rate(1), "of-store")
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
