package writeback

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
)

// pruneBenchOps is how many finished operations BenchmarkPrune prunes;
// WRITEBACK_PRUNE_OPS changes it.
const pruneBenchOps = 1_000_000

// pruneBenchCallers is the number of callers that enqueue meanwhile.
const pruneBenchCallers = 64

// BenchmarkPrune prunes a million finished operations (about 700 bytes
// of JSON each, as a sync create leaves them) from a bbolt store while 64
// callers enqueue async writes of 1 KB records through Writer.Create, and
// reports the enqueue p99 during the prune against the same callers on the
// same store without it (the baseline: 20,000 writes just before the prune
// and 20,000 just after), with the prune's rate. "paced" is the background
// pruning a started Writer does; "unpaced" is a prune pass at full speed
// (Writer.Prune).
//
//	go test -run '^$' -bench BenchmarkPrune -benchtime 1x .
//
// The seeded store is cached in the temporary directory between runs.
func BenchmarkPrune(b *testing.B) {
	n := pruneBenchOps
	if v := os.Getenv("WRITEBACK_PRUNE_OPS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	seed := seedPruneStore(b, n)
	for _, paced := range []bool{true, false} {
		name := "unpaced"
		if paced {
			name = "paced"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchPrune(b, seed, n, paced)
			}
		})
	}
}

// benchPrune runs one measurement on a copy of the seeded store.
func benchPrune(b *testing.B, seed string, n int, paced bool) {
	b.StopTimer()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "prune.db")
	copyBenchFile(b, seed, path)
	st, err := boltstore.Open(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	w := pruneBenchWriter(b, st)
	target := Target{Integration: "crm", GroupRef: "cust-1", Object: "contacts"}
	var seq atomic.Int64
	enqueue := func() (time.Duration, error) {
		i := seq.Add(1)
		rec := Record{Fields: map[string]any{"email": fmt.Sprintf("user%d@example.com", i), "notes": strings.Repeat("x", 1000)}}
		start := time.Now()
		_, err := w.Create(ctx, target, rec, &WriteOpts{Mode: ModeAsync})
		return time.Since(start), err
	}

	// Warm up, then the baseline: the same callers, no prune, before and
	// (below) after it, so that a drift of the disk's speed during the run
	// counts on both sides.
	enqueueUntil(b, enqueue, func(done int) bool { return done >= 5_000 })
	before := enqueueUntil(b, enqueue, func(done int) bool { return done >= 20_000 })
	b.StartTimer()
	start := time.Now()
	res := &PruneResult{}
	var pruneErr error
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var pause func(context.Context) error
		if paced {
			pause = pacer()
		}
		pruneErr = w.prune(ctx, time.Now(), DefaultRetention, res, pause)
	}()
	during := enqueueUntil(b, enqueue, func(int) bool {
		select {
		case <-finished:
			return true
		default:
			return false
		}
	})
	<-finished
	took := time.Since(start)
	b.StopTimer()
	if pruneErr != nil {
		b.Fatal(pruneErr)
	}
	after := enqueueUntil(b, enqueue, func(done int) bool { return done >= 20_000 })
	base := enqueued{lat: append(before.lat, after.lat...), took: before.took + after.took}
	if res.Operations != n {
		b.Fatalf("pruned %d operations, want %d", res.Operations, n)
	}
	bp, dp := percentile(base.lat, 99), percentile(during.lat, 99)
	b.ReportMetric(float64(dp.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(bp.Microseconds())/1000, "base-p99-ms")
	b.ReportMetric(float64(dp)/float64(bp), "p99-ratio")
	b.ReportMetric(float64(percentile(during.lat, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(base.lat, 50).Microseconds())/1000, "base-p50-ms")
	b.ReportMetric(during.rate(), "acks/s")
	b.ReportMetric(base.rate(), "base-acks/s")
	b.ReportMetric(float64(percentile(before.lat, 99).Microseconds())/1000, "before-p99-ms")
	b.ReportMetric(float64(percentile(after.lat, 99).Microseconds())/1000, "after-p99-ms")
	b.ReportMetric(float64(res.Operations)/took.Seconds(), "pruned/s")
	b.ReportMetric(took.Seconds(), "prune-s")
}

// enqueued is what a run of callers measured.
type enqueued struct {
	lat  []time.Duration
	took time.Duration
}

func (e enqueued) rate() float64 { return float64(len(e.lat)) / e.took.Seconds() }

// enqueueUntil runs pruneBenchCallers callers of enqueue until stop, asked
// after every call with the number of calls done, says so.
func enqueueUntil(b *testing.B, enqueue func() (time.Duration, error), stop func(done int) bool) enqueued {
	var (
		mu    sync.Mutex
		lat   []time.Duration
		first error
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range pruneBenchCallers {
		wg.Go(func() {
			for {
				d, err := enqueue()
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				lat = append(lat, d)
				n := len(lat)
				mu.Unlock()
				if err != nil || stop(n) {
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
	return enqueued{lat: lat, took: time.Since(start)}
}

func percentile(lat []time.Duration, p int) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[len(s)*p/100]
}

// noopProvider accepts every write; the benchmark never runs one.
type noopProvider struct{}

func (noopProvider) Name() string { return "hubspot" }

func (noopProvider) Capabilities() Capabilities { return Capabilities{MaxBatchSize: 100, Delete: true} }

func (noopProvider) Write(context.Context, *ProviderRequest) (*ProviderResponse, error) {
	return nil, fmt.Errorf("not for running")
}

func (noopProvider) Read(context.Context, *ReadRequest) (map[string]map[string]any, error) {
	return nil, ErrUnsupported
}

// pruneBenchWriter returns a Writer (never started) on st.
func pruneBenchWriter(b *testing.B, st store.Interface) *Writer {
	m, err := ParseManifest([]byte("specVersion: 1.0.0\nintegrations:\n  - name: crm\n    provider: hubspot\n    write:\n      objects:\n        - objectName: contacts\n"))
	if err != nil {
		b.Fatal(err)
	}
	w, err := NewWriter(&Config{
		Manifest: m, Providers: []Provider{noopProvider{}}, Store: st,
		TokenSourceFunc: func(context.Context, *Installation) (oauth2.TokenSource, error) { return nil, nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// seedPruneStore returns a bbolt store holding an installation and n
// operations that finished 40 days ago, writing it the first time.
func seedPruneStore(b *testing.B, n int) string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("writeback-bench-prune-v%d-%d.db", formatVersion, n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	ctx := context.Background()
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	st, err := boltstore.Open(tmp, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := pruneBenchWriter(b, st)
	inst, err := w.CreateInstallation(ctx, &Installation{
		Integration: "crm", GroupRef: "cust-1", Connection: Connection{Provider: "hubspot"},
		Config: InstallationConfig{Write: WriteConfig{Objects: map[string]WriteObject{"contacts": {ObjectName: "contacts"}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	old := time.Now().Add(-40 * 24 * time.Hour)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := st.CreateOperation(ctx, finishedOperation(inst.ID, i, old), nil, old); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// finishedOperation is the stored record of the i-th of the seeded sync
// creates, a millisecond apart from start.
func finishedOperation(inst string, i int, start time.Time) store.Operation {
	at := start.Add(time.Duration(i) * time.Millisecond)
	ms := at.UnixMilli()
	id := fmt.Sprintf("%08x-%04x-7000-8000-%012x", ms>>16&0xffffffff, ms&0xffff, i)
	p := &plan{InstallationID: inst, Integration: "crm", GroupRef: "cust-1", Object: "contacts", ProviderObject: "contacts",
		Provider: "hubspot", Type: WriteTypeCreate, Records: []Record{{Fields: map[string]any{"email": fmt.Sprintf("user%d@example.com", i)}}}}
	op := p.newOperation(id, ModeSync, at)
	op.Attempts, op.LastAttempt, op.ProviderCalls = 1, at, 1
	op.Logs = append(op.Logs, LogEntry{Time: at, Severity: SeverityInfo, Message: "attempt 1: 1 call: POST /crm/v3/objects/contacts 201",
		Calls: []ProviderCall{{Method: "POST", Path: "/crm/v3/objects/contacts", Status: 201, Duration: 80 * time.Millisecond}}})
	op.finish(&outcome{Results: []RecordResult{{ID: strconv.Itoa(100000 + i)}}}, at)
	rec, err := encodeFinished(op, p, DefaultRetryDeadline)
	if err != nil {
		panic(err)
	}
	return rec
}

// copyBenchFile copies the seeded store.
func copyBenchFile(b *testing.B, from, to string) {
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	// On disk before measuring: the copy's writeback must not compete.
	if err := dst.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
}
