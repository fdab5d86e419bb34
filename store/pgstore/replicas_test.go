package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

// These tests run Writers as replicas of one app would: each with its own
// Store (its own pool) on one PostgreSQL schema.

const replicaManifest = `
specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    write:
      objects:
        - objectName: contacts
`

var replicaTarget = writeback.Target{Integration: "crm", GroupRef: "acme", Object: "contacts"}

// replica is a Writer on st with a fake HubSpot; cfg may change the
// config. The first replica of a schema creates the installation.
func replica(t testing.TB, st store.Interface, fake *providertest.Fake, cfg func(*writeback.Config)) *writeback.Writer {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(replicaManifest))
	require.NoError(t, err)
	c := &writeback.Config{
		Manifest:        m,
		Providers:       []writeback.Provider{fake},
		Store:           st,
		TokenSourceFunc: providertest.StaticTokens("t"),
	}
	if cfg != nil {
		cfg(c)
	}
	w, err := writeback.NewWriter(c)
	require.NoError(t, err)
	ctx := t.Context()
	if _, err := w.InstallationByGroup(ctx, replicaTarget.Integration, replicaTarget.GroupRef); err != nil {
		_, err = w.CreateInstallation(ctx, &writeback.Installation{
			Integration: replicaTarget.Integration, GroupRef: replicaTarget.GroupRef,
			Connection: writeback.Connection{Provider: "hubspot"},
			Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {ObjectName: "contacts"},
			}}},
		})
		require.NoError(t, err)
	}
	return w
}

func fakeHubSpot() *providertest.Fake {
	return providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100})
}

// idleStore never hands out work: a replica on it accepts writes and
// waits, but runs nothing, so what it sees comes from the other replica.
type idleStore struct{ store.Interface }

func (idleStore) Claim(context.Context, time.Time, time.Time, int) ([]store.Job, error) {
	return nil, nil
}

func (s idleStore) Subscribe(ctx context.Context) (<-chan store.Event, error) {
	return s.Interface.(store.Notifier).Subscribe(ctx)
}

// TestWaitAcrossReplicas: a write accepted on one replica and completed
// by another wakes Wait on the first through the store's notifications,
// with no poll in sight.
func TestWaitAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, schema := pgtest.URL(t), newSchema()
	api := replica(t, idleStore{openStore(t, url, schema)}, fakeHubSpot(), func(c *writeback.Config) { c.PollInterval = time.Hour })
	workerFake := fakeHubSpot()
	worker := replica(t, openStore(t, url, schema), workerFake, nil)
	require.NoError(t, api.Start(ctx))
	defer api.Stop(context.WithoutCancel(ctx))
	require.NoError(t, worker.Start(ctx))
	defer worker.Stop(context.WithoutCancel(ctx))

	res, err := api.Create(ctx, replicaTarget, writeback.Record{Fields: map[string]any{"email": "a@example.com"}}, &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op, err := api.Wait(wctx, res.OperationID)
	require.NoError(t, err, "the other replica's completion must wake Wait well before the hour-long poll")
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.Equal(t, 1, workerFake.Count("contacts"))
}

// droppingStore loses every notification that an operation completed.
type droppingStore struct{ store.Interface }

func (s droppingStore) Subscribe(ctx context.Context) (<-chan store.Event, error) {
	in, err := s.Interface.(store.Notifier).Subscribe(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan store.Event)
	go func() {
		defer close(out)
		for ev := range in {
			if ev.Kind == store.EventCompleted {
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// TestWaitPollsWhenANotificationIsLost: with the completion notification
// lost, Wait still returns, within the poll interval.
func TestWaitPollsWhenANotificationIsLost(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, schema := pgtest.URL(t), newSchema()
	api := replica(t, idleStore{droppingStore{openStore(t, url, schema)}}, fakeHubSpot(), func(c *writeback.Config) { c.PollInterval = 100 * time.Millisecond })
	worker := replica(t, openStore(t, url, schema), fakeHubSpot(), nil)
	require.NoError(t, api.Start(ctx))
	defer api.Stop(context.WithoutCancel(ctx))
	require.NoError(t, worker.Start(ctx))
	defer worker.Stop(context.WithoutCancel(ctx))

	res, err := api.Create(ctx, replicaTarget, writeback.Record{Fields: map[string]any{"email": "b@example.com"}}, &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	op, err := api.Wait(wctx, res.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, op.Status)
}

// TestLongCallKeepsItsLease: a provider call that outlasts the lease
// several times over keeps its job, extended by the heartbeat: the other
// replica never starts the same write.
func TestLongCallKeepsItsLease(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, schema := pgtest.URL(t), newSchema()
	const lease = 300 * time.Millisecond
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	slow := fakeHubSpot()
	slow.FailCalls(func(*writeback.ProviderRequest) error {
		started <- struct{}{}
		<-release
		return nil
	})
	other := fakeHubSpot()
	short := func(c *writeback.Config) { c.Test.LeaseDuration = lease; c.PollInterval = 50 * time.Millisecond }
	first := replica(t, openStore(t, url, schema), slow, short)
	second := replica(t, openStore(t, url, schema), other, short)

	res, err := first.Create(ctx, replicaTarget, writeback.Record{Fields: map[string]any{"email": "c@example.com"}}, &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	require.NoError(t, first.Start(ctx))
	defer first.Stop(context.WithoutCancel(ctx))
	<-started
	require.NoError(t, second.Start(ctx))
	defer second.Stop(context.WithoutCancel(ctx))

	// Let the lease run out several times over while the call is held.
	time.Sleep(5 * lease)
	close(release)
	op, err := first.Wait(ctx, res.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.Empty(t, other.Calls(), "the second replica never claimed the running write")
	require.Len(t, slow.Calls(), 1)
}

// autoBatchAcrossReplicas makes n auto-batched single creates, spread
// round-robin over three replicas that are all started, waits for every
// group, and returns the provider calls made and the records written.
func autoBatchAcrossReplicas(tb testing.TB, n int) (calls, written int, groups map[string]*writeback.Operation) {
	ctx := context.Background()
	url, schema := pgtest.URL(tb), newSchema()
	fakes := []*providertest.Fake{fakeHubSpot(), fakeHubSpot(), fakeHubSpot()}
	var ws []*writeback.Writer
	for _, f := range fakes {
		w := replica(tb, openStore(tb, url, schema), f, nil)
		require.NoError(tb, w.Start(ctx))
		defer w.Stop(context.WithoutCancel(ctx))
		ws = append(ws, w)
	}
	opts := &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: 2 * time.Second}}
	ids := make([]string, n)
	var wg sync.WaitGroup
	const callers = 48
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < n; i += callers {
				res, err := ws[i%len(ws)].Create(ctx, replicaTarget, writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("r%05d@example.com", i)}}, opts)
				if !assert.NoError(tb, err) {
					return
				}
				ids[i] = res.OperationID
			}
		}()
	}
	wg.Wait()
	groups = map[string]*writeback.Operation{}
	for _, id := range ids {
		groups[id] = nil
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for id := range groups {
		op, err := ws[0].Wait(wctx, id)
		require.NoError(tb, err)
		groups[id] = op
		written += op.SuccessCount()
	}
	for _, f := range fakes {
		calls += len(f.Calls())
	}
	return calls, written, groups
}

// TestAutoBatchAcrossReplicas: single writes accepted by three replicas
// share groups, each group is written by exactly one replica in one call,
// and no record is written twice.
func TestAutoBatchAcrossReplicas(t *testing.T) {
	t.Parallel()
	const n = 3000
	calls, written, groups := autoBatchAcrossReplicas(t, n)
	require.Equal(t, n, written)
	require.LessOrEqual(t, calls, n/100+2, "%d groups", len(groups))
	for _, op := range groups {
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, 1, op.Attempts, "written once, by one replica")
		require.LessOrEqual(t, len(op.Results), 100)
	}
}

// BenchmarkAutoBatchAcrossReplicas: 10,000 single writes spread over three
// replicas; goal ≤ 102 provider calls.
func BenchmarkAutoBatchAcrossReplicas(b *testing.B) {
	for range b.N {
		start := time.Now()
		calls, written, groups := autoBatchAcrossReplicas(b, 10000)
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(len(groups)), "groups")
		b.ReportMetric(float64(written)/time.Since(start).Seconds(), "records/s")
	}
}

// BenchmarkWriterEnqueue: Writer.Create in async mode on pgstore, 64
// callers, ~1 KB records: acknowledged after the commit.
func BenchmarkWriterEnqueue(b *testing.B) {
	ctx := context.Background()
	w := replica(b, openStore(b, pgtest.URL(b), newSchema()), fakeHubSpot(), nil)
	filler := strings.Repeat("x", 1000)
	var next atomic.Int64
	b.SetParallelism(32) // 64 callers on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			_, err := w.Create(ctx, replicaTarget, writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("e%d@example.com", i), "notes": filler}},
				&writeback.WriteOpts{Mode: writeback.ModeAsync})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "acks/s")
}

// BenchmarkThroughput: queued async writes from claim to completion with a
// provider that answers at once, for one and three replicas.
func BenchmarkThroughput(b *testing.B) {
	for _, replicas := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			const n = 3000
			ctx := context.Background()
			for range b.N {
				b.StopTimer()
				url, schema := pgtest.URL(b), newSchema()
				var ws []*writeback.Writer
				for range replicas {
					ws = append(ws, replica(b, openStore(b, url, schema), fakeHubSpot(), func(c *writeback.Config) { c.MaxConcurrency = 16 }))
				}
				ids := make([]string, n)
				var wg sync.WaitGroup
				for c := range 32 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := c; i < n; i += 32 {
							res, err := ws[0].Create(ctx, replicaTarget, writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("t%d@example.com", i)}}, &writeback.WriteOpts{Mode: writeback.ModeAsync})
							if err != nil {
								b.Error(err)
								return
							}
							ids[i] = res.OperationID
						}
					}()
				}
				wg.Wait()
				b.StartTimer()
				start := time.Now()
				for _, w := range ws {
					require.NoError(b, w.Start(ctx))
				}
				for _, id := range ids {
					if _, err := ws[0].Wait(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "jobs/s")
				b.StopTimer()
				for _, w := range ws {
					require.NoError(b, w.Stop(ctx))
				}
			}
		})
	}
}

// TestWritersThroughARestart: PostgreSQL restarts while two replicas
// accept and run async writes. Calls that fail while it is down return an
// error (nothing acknowledged); every acknowledged write completes once
// the server is back, without recreating a Writer or a Store.
func TestWritersThroughARestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := pgtest.Start(t)
	url, schema := srv.URL(t), newSchema()
	fakes := []*providertest.Fake{fakeHubSpot(), fakeHubSpot()}
	var ws []*writeback.Writer
	for _, f := range fakes {
		w := replica(t, openStore(t, url, schema), f, func(c *writeback.Config) {
			c.PollInterval = 200 * time.Millisecond
			c.Test.LeaseDuration = 3 * time.Second
		})
		require.NoError(t, w.Start(ctx))
		defer w.Stop(context.WithoutCancel(ctx))
		ws = append(ws, w)
	}
	var (
		mu      sync.Mutex
		acked   []string
		refused atomic.Int64
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := ws[c%2].Create(ctx, replicaTarget, writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("c%d-%d@example.com", c, i)}}, &writeback.WriteOpts{Mode: writeback.ModeAsync})
				if err != nil {
					refused.Add(1)
					continue
				}
				mu.Lock()
				acked = append(acked, res.OperationID)
				mu.Unlock()
			}
		}()
	}
	waitFor := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n {
				return
			}
			require.True(t, time.Now().Before(deadline), "only %d writes acknowledged", got)
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(50)
	require.NoError(t, srv.Restart())
	mu.Lock()
	atRestart := len(acked)
	mu.Unlock()
	waitFor(atRestart + 50) // the Writers work again by themselves
	close(stop)
	wg.Wait()

	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	written, unknown := 0, 0
	for _, id := range acked {
		op, err := ws[0].Wait(wctx, id)
		require.NoError(t, err)
		switch {
		case op.Status == writeback.OperationSuccess:
			written++
		case op.Results[0].Err != nil && op.Results[0].Err.Class == writeback.ClassUnknownOutcome:
			// A claim whose answer the restart cut off: the create is
			// reported, never resent blindly.
			unknown++
		default:
			t.Fatalf("operation %s: %s", op.ID, op.Summary)
		}
	}
	sent := fakes[0].Count("contacts") + fakes[1].Count("contacts")
	require.Equal(t, written, sent, "every write reported written was written once")
	require.LessOrEqual(t, unknown, len(acked)/10, "unknown outcomes only for work cut off by the restart")
	t.Logf("acknowledged %d (written %d, unknown outcome %d), refused while the server restarted %d", len(acked), written, unknown, refused.Load())
}
