package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

var benchNow = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)

var benchSchemas atomic.Int64

// benchPool opens a pool of maxConns connections on url.
func benchPool(b *testing.B, url string, maxConns int32) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// benchStore migrates a new schema and opens a Store on it.
func benchStore(b *testing.B, pool *pgxpool.Pool, opts Options) *Store {
	b.Helper()
	opts.Schema = fmt.Sprintf("bench_%d", benchSchemas.Add(1))
	ctx := context.Background()
	if err := Migrate(ctx, pool, &opts); err != nil {
		b.Fatal(err)
	}
	s, err := New(ctx, pool, &opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// ackRun is the outcome of n acknowledged calls from many callers.
type ackRun struct {
	elapsed   time.Duration
	latencies []time.Duration
}

func (r *ackRun) add(o ackRun) {
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
}

func (r ackRun) perSec() float64 { return float64(len(r.latencies)) / r.elapsed.Seconds() }

func (r ackRun) p99ms() float64 {
	slices.Sort(r.latencies)
	return float64(r.latencies[len(r.latencies)*99/100].Microseconds()) / 1000
}

// runCalls makes n calls of call(i) from callers goroutines, timing each.
func runCalls(b *testing.B, callers, n int, call func(i int) error) ackRun {
	b.Helper()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		run  ackRun
	)
	start := time.Now()
	for range callers {
		wg.Go(func() {
			var lat []time.Duration
			for {
				i := int(next.Add(1))
				if i > n {
					break
				}
				t := time.Now()
				if err := call(i); err != nil {
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

// enqueueCall enqueues job i of a run: a 200-byte operation record and a
// 1 KB payload, due now.
func enqueueCall(s *Store, run string) func(i int) error {
	data, payload := make([]byte, 200), make([]byte, 1024)
	return func(i int) error {
		id := fmt.Sprintf("%s-%012d", run, i)
		op := store.Operation{ID: id, InstallationID: "inst-1", Data: data}
		job := store.Job{ID: id, InstallationID: "inst-1", Provider: "hubspot", RunAt: benchNow, Payload: payload}
		return s.Enqueue(context.Background(), op, job, nil, benchNow)
	}
}

// BenchmarkEnqueue measures acknowledged Enqueue calls (each returns after
// its transaction committed, synchronous_commit on) of 1 KB payloads from
// 64 concurrent callers with group commit, against two baselines in the
// same run on 64 connections: one plain INSERT per transaction (the
// database's floor for one commit per call), and the Store's own calls
// each in a transaction of their own. The three alternate in short rounds,
// so that a change in the machine's load hits them alike. calls/tx is the
// mean number of calls that shared a transaction.
func BenchmarkEnqueue(b *testing.B) {
	const callers, rounds, grouped, single = 64, 5, 4_000, 800
	ctx := context.Background()
	url := pgtest.URL(b)
	groupPool, singlePool := benchPool(b, url, 8), benchPool(b, url, callers)
	var g, raw, unbatched ackRun
	var txs int
	for b.Loop() {
		s := benchStore(b, groupPool, Options{})
		base := benchStore(b, singlePool, Options{noGroupCommit: true})
		payload := make([]byte, 1024)
		insert := base.sql(`INSERT INTO {schema}.jobs (id, installation_id, provider, run_at, payload) VALUES ($1, 'inst-1', 'hubspot', $2, $3)`)
		for r := range rounds {
			g.add(runCalls(b, callers, grouped, enqueueCall(s, fmt.Sprintf("g%d", r))))
			raw.add(runCalls(b, callers, single, func(i int) error {
				_, err := singlePool.Exec(ctx, insert, fmt.Sprintf("raw%d-%012d", r, i), benchNow, payload)
				return err
			}))
			unbatched.add(runCalls(b, callers, single/4, enqueueCall(base, fmt.Sprintf("u%d", r))))
		}
		var n int
		if err := groupPool.QueryRow(ctx, s.sql(`SELECT count(DISTINCT xmin::text) FROM {schema}.jobs`)).Scan(&n); err != nil {
			b.Fatal(err)
		}
		txs += n
	}
	b.ReportMetric(g.perSec(), "acks/s")
	b.ReportMetric(g.p99ms(), "p99-ms")
	b.ReportMetric(float64(len(g.latencies))/float64(txs), "calls/tx")
	b.ReportMetric(raw.perSec(), "insert-per-tx-acks/s")
	b.ReportMetric(unbatched.perSec(), "store-per-tx-acks/s")
	b.ReportMetric(g.perSec()/raw.perSec(), "speedup")
}

// loaded holds schemas filled by fill, shared by the benchmarks of one run
// in the database of queueURL.
var loaded sync.Map

var queueDB struct {
	sync.Mutex
	url string
}

// queueURL returns the database the big queues are loaded into, created
// on first use and kept for the whole run.
func queueURL(b *testing.B) string {
	queueDB.Lock()
	defer queueDB.Unlock()
	if queueDB.url == "" {
		queueDB.url = pgtest.URL(b)
	}
	return queueDB.url
}

// fill returns a Store on a schema holding n queued jobs with 256-byte
// payloads and their operations, due one millisecond apart before
// benchNow. The rows are generated by the server (INSERT ... SELECT
// generate_series), then vacuumed and analysed.
func fill(b *testing.B, url string, n int) *Store {
	b.Helper()
	ctx := context.Background()
	pool := benchPool(b, url, 4)
	schema := fmt.Sprintf("queued_%d", n)
	if _, ok := loaded.Load(schema); !ok {
		if err := Migrate(ctx, pool, &Options{Schema: schema}); err != nil {
			b.Fatal(err)
		}
		q := strings.NewReplacer("{schema}", quote(schema))
		if _, err := pool.Exec(ctx, q.Replace(`
INSERT INTO {schema}.operations (id, installation_id, data)
SELECT lpad(i::text, 20, '0'), 'inst-1', convert_to(repeat('o', 200), 'UTF8') FROM generate_series(1, $1::int) i`), n); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, q.Replace(`
INSERT INTO {schema}.jobs (id, installation_id, provider, run_at, payload)
SELECT lpad(i::text, 20, '0'), 'inst-1', 'hubspot', $2::timestamptz - make_interval(secs => i / 1000.0),
	convert_to(repeat('p', 256), 'UTF8')
FROM generate_series(1, $1::int) i`), n, benchNow); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+quote(schema)+".jobs"); err != nil {
			b.Fatal(err)
		}
		var queued int
		if err := pool.QueryRow(ctx, q.Replace(`SELECT count(*) FROM {schema}.jobs`)).Scan(&queued); err != nil || queued != n {
			b.Fatalf("%d jobs queued, want %d: %v", queued, n, err)
		}
		loaded.Store(schema, true)
	}
	s, err := New(ctx, pool, &Options{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkClaim measures one Claim of 10 jobs from a queue of 10,000 and
// from a queue of 1,000,000 due jobs, in the same run; the ratio shows
// whether a claim's cost grows with the queue. Each claim's lease ends at
// now, so claimed jobs stay due (at the back of the queue) and the queue
// keeps its size however many claims the benchmark makes.
func BenchmarkClaim(b *testing.B) {
	url := queueURL(b)
	small, big := fill(b, url, 10_000), fill(b, url, 1_000_000)
	ctx := context.Background()
	var smallT, bigT time.Duration
	now := benchNow
	for b.Loop() {
		now = now.Add(time.Millisecond)
		for _, c := range []struct {
			s *Store
			d *time.Duration
		}{{small, &smallT}, {big, &bigT}} {
			t := time.Now()
			jobs, err := c.s.Claim(ctx, now, now, 10)
			*c.d += time.Since(t)
			if err != nil || len(jobs) != 10 {
				b.Fatalf("claimed %d jobs: %v", len(jobs), err)
			}
		}
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(us(smallT), "claim-10k-µs")
	b.ReportMetric(us(bigT), "claim-1M-µs")
	b.ReportMetric(float64(bigT)/float64(smallT), "1M/10k")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkResume measures what a restarted process pays before its first
// claim with 1,000,000 queued jobs: a new pool, New and the first Claim,
// against the same on an empty schema in the same run.
func BenchmarkResume(b *testing.B) {
	url := queueURL(b)
	fill(b, url, 1_000_000)
	emptyPool := benchPool(b, url, 4)
	benchStore(b, emptyPool, Options{})
	empty := fmt.Sprintf("bench_%d", benchSchemas.Load())
	ctx := context.Background()
	resume := func(schema string, want int) time.Duration {
		t := time.Now()
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		s, err := New(ctx, pool, &Options{Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		jobs, err := s.Claim(ctx, benchNow, benchNow, 10)
		if err != nil || len(jobs) != want {
			b.Fatalf("claimed %d jobs: %v", len(jobs), err)
		}
		return time.Since(t)
	}
	var full, none time.Duration
	for b.Loop() {
		full += resume("queued_1000000", 10)
		none += resume(empty, 0)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(ms(full), "resume-1M-ms")
	b.ReportMetric(ms(none), "resume-empty-ms")
	b.ReportMetric(0, "ns/op")
}
