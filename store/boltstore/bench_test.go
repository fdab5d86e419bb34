package boltstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/writebackhq/writeback/store"
	bolt "go.etcd.io/bbolt"
)

var benchNow = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)

// benchOp and benchJob are one queued write: a 200-byte operation record
// and a job with the given payload size, due now.
func benchOp(id string) store.Operation {
	return store.Operation{ID: id, InstallationID: "inst-1", Data: make([]byte, 200)}
}

func benchJob(id string, payload int) store.Job {
	return store.Job{ID: id, InstallationID: "inst-1", Provider: "hubspot", RunAt: benchNow, Payload: make([]byte, payload)}
}

// enqueueRun is the outcome of enqueueing n jobs from callers goroutines.
type enqueueRun struct {
	elapsed   time.Duration
	latencies []time.Duration
}

func (r enqueueRun) acksPerSec(n int) float64 { return float64(n) / r.elapsed.Seconds() }

func (r enqueueRun) p99() time.Duration {
	slices.Sort(r.latencies)
	return r.latencies[len(r.latencies)*99/100]
}

// runEnqueue opens a store with opts and enqueues n jobs of 1 KB from
// callers goroutines, timing each call.
func runEnqueue(b *testing.B, opts Options, callers, n int) enqueueRun {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "store.db"), &opts)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}()
	ctx := context.Background()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		run  enqueueRun
	)
	start := time.Now()
	for range callers {
		wg.Go(func() {
			var lat []time.Duration
			for {
				i := next.Add(1)
				if i > int64(n) {
					break
				}
				id := fmt.Sprintf("%020d", i)
				t := time.Now()
				if err := s.Enqueue(ctx, benchOp(id), benchJob(id, 1024), nil, benchNow); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			run.latencies = append(run.latencies, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	run.elapsed = time.Since(start)
	return run
}

// fsyncLatency times writing a page and syncing it, the disk's floor for a
// durable commit (bbolt syncs twice per commit).
func fsyncLatency(b *testing.B) time.Duration {
	b.Helper()
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	const n = 100
	start := time.Now()
	for i := range n {
		if _, err := f.WriteAt(page, int64(i*len(page))); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / n
}

// BenchmarkEnqueue measures acknowledged, fsync'd Enqueue calls of 1 KB
// payloads from 64 concurrent callers with group commit, against the same
// calls committed one transaction each, in the same run. fsync-ms is the
// disk's sync latency at the time, which bounds both.
func BenchmarkEnqueue(b *testing.B) {
	const callers, grouped, naive = 64, 40_000, 4_000
	var g, base enqueueRun
	var fsync time.Duration
	for b.Loop() {
		fsync += fsyncLatency(b)
		r := runEnqueue(b, Options{}, callers, grouped)
		g.elapsed += r.elapsed
		g.latencies = append(g.latencies, r.latencies...)
		r = runEnqueue(b, Options{noGroupCommit: true}, callers, naive)
		base.elapsed += r.elapsed
		base.latencies = append(base.latencies, r.latencies...)
	}
	acks, baseAcks := g.acksPerSec(len(g.latencies)), base.acksPerSec(len(base.latencies))
	b.ReportMetric(acks, "acks/s")
	b.ReportMetric(float64(g.p99().Microseconds())/1000, "p99-ms")
	b.ReportMetric(baseAcks, "baseline-acks/s")
	b.ReportMetric(float64(base.p99().Microseconds())/1000, "baseline-p99-ms")
	b.ReportMetric(acks/baseAcks, "speedup")
	b.ReportMetric(float64(fsync.Microseconds())/1000/float64(b.N), "fsync-ms")
}

// fill enqueues n jobs with payload bytes each directly, batchSize per
// transaction, to build big queues fast.
func fill(b *testing.B, s *Store, n, payload, batchSize int) {
	b.Helper()
	for start := 0; start < n; start += batchSize {
		err := s.write(context.Background(), func(tx *bolt.Tx) error {
			for i := start; i < min(start+batchSize, n); i++ {
				id := fmt.Sprintf("%020d", i)
				job := benchJob(id, payload)
				job.RunAt = benchNow.Add(time.Duration(i) * time.Millisecond)
				op := benchOp(id)
				op.Data = op.Data[:64]
				if err := putOperation(tx, newOpWrite(op), nil); err != nil {
					return err
				}
				if err := putJob(tx, job, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// heapInUse returns the heap in use after collections (two, so that pooled
// buffers are gone too).
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkQueuedMemory queues 1,000,000 jobs of 128-byte payloads, reopens
// the store, claims from it, and reports the heap in use: payloads stay on
// disk, so the heap does not grow with the queue. heap-MB is the process's
// heap with the store open; baseline-heap-MB is the heap before opening.
func BenchmarkQueuedMemory(b *testing.B) {
	const jobs, payload = 1_000_000, 128
	path := filepath.Join(b.TempDir(), "store.db")
	s, err := Open(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	fill(b, s, jobs, payload, 20_000)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	var base, heap uint64
	for b.Loop() {
		base = heapInUse()
		s, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		claimed, err := s.Claim(context.Background(), benchNow.Add(time.Hour), benchNow.Add(2*time.Hour), 100)
		if err != nil || len(claimed) != 100 {
			b.Fatal(len(claimed), err)
		}
		claimed = nil
		heap = heapInUse()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
	b.ReportMetric(float64(base)/(1<<20), "baseline-heap-MB")
	b.ReportMetric(float64(info.Size())/(1<<20), "file-MB")
	b.ReportMetric(float64(jobs), "queued-jobs")
}

// BenchmarkResume queues 100,000 jobs, closes the store, and reports the
// time from Open to the first successful Claim; baseline-ms is the same on
// an empty store.
func BenchmarkResume(b *testing.B) {
	const jobs = 100_000
	dir := b.TempDir()
	path := filepath.Join(dir, "store.db")
	s, err := Open(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	fill(b, s, jobs, 1024, 10_000)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	s, err = Open(empty, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	resume := func(path string, want int) time.Duration {
		start := time.Now()
		s, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		claimed, err := s.Claim(context.Background(), benchNow.Add(time.Hour), benchNow.Add(2*time.Hour), 100)
		elapsed := time.Since(start)
		if err != nil || len(claimed) != want {
			b.Fatal(len(claimed), err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		return elapsed
	}
	var full, base time.Duration
	n := 0
	for b.Loop() {
		full += resume(path, 100)
		base += resume(empty, 0)
		n++
	}
	b.ReportMetric(float64(full.Microseconds())/1000/float64(n), "ms-to-first-claim")
	b.ReportMetric(float64(base.Microseconds())/1000/float64(n), "baseline-ms")
}
