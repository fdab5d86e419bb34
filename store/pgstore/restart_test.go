package pgstore_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

// enqueueOp enqueues a plain job due at t0 for operation id.
func enqueueOp(s store.Interface, t *testing.T, id string) error {
	return s.Enqueue(t.Context(), store.Operation{ID: id, InstallationID: "inst-1"}, store.Job{ID: id, RunAt: t0}, nil, t0)
}

// recovered enqueues until one call succeeds, allowing one failure per
// pooled connection that died with the server, and then requires the next
// calls to succeed.
func recovered(t *testing.T, s store.Interface, prefix string) {
	t.Helper()
	var err error
	for i := range 10 {
		if err = enqueueOp(s, t, fmt.Sprintf("%s-%d", prefix, i)); err == nil {
			break
		}
	}
	require.NoError(t, err, "the store works again without being recreated")
	for i := range 20 {
		require.NoError(t, enqueueOp(s, t, fmt.Sprintf("%s-after-%d", prefix, i)))
	}
}

func TestServerDown(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	s := openStore(t, srv.URL(t), "down")
	require.NoError(t, enqueueOp(s, t, "before"))

	require.NoError(t, srv.Down())
	require.Error(t, enqueueOp(s, t, "while-down"), "an error, not a hang or a panic")
	_, err := s.Claim(t.Context(), t0, t0.Add(time.Minute), 10)
	require.Error(t, err)
	_, _, err = s.NextDue(t.Context())
	require.Error(t, err)

	require.NoError(t, srv.Up())
	recovered(t, s, "up")
	jobs, err := s.Claim(t.Context(), t0, t0.Add(time.Minute), 100)
	require.NoError(t, err)
	require.NotEmpty(t, jobs)
}

func TestServerRestartUnderLoad(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	s := openStore(t, srv.URL(t), "restart")
	events, err := s.Subscribe(t.Context())
	require.NoError(t, err)

	const callers = 8
	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		acked   sync.Map
		failed  atomic.Int64
		started = make(chan struct{}, callers)
	)
	for c := range callers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("load-%d-%d", c, i)
				if err := enqueueOp(s, t, id); err != nil {
					failed.Add(1)
					continue
				}
				acked.Store(id, true)
				if i == 10 {
					started <- struct{}{}
				}
			}
		})
	}
	for range callers {
		<-started
	}
	require.NoError(t, srv.Restart())
	close(stop)
	wg.Wait()
	t.Logf("%d calls failed during the restart", failed.Load())

	recovered(t, s, "restarted")
	n := 0
	acked.Range(func(k, _ any) bool {
		_, err := s.Operation(t.Context(), k.(string))
		require.NoError(t, err, "an acknowledged enqueue survived the restart")
		n++
		return true
	})
	require.Greater(t, n, callers*10)

	// The subscription reconnected: it says so, then delivers again.
	for ev := next(t, events); ev.Kind != store.EventResync; ev = next(t, events) {
	}
	require.NoError(t, enqueueOp(s, t, "after-resync"))
	for ev := next(t, events); ev.Kind != store.EventDue; ev = next(t, events) {
	}
}
