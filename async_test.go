package writeback_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/boltstore"
	"github.com/writebackhq/writeback/store/memstore"
)

// asyncManifest has one HubSpot-like integration.
const asyncManifest = `
specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    write:
      objects:
        - objectName: contacts
`

// contacts is the target of the async tests.
var contacts = writeback.Target{Integration: "crm", GroupRef: "cust-7", Object: "contacts"}

var async = &writeback.WriteOpts{Mode: writeback.ModeAsync}

func contact(email string) writeback.Record {
	return writeback.Record{Fields: map[string]any{"email": email}}
}

// callLog is a FailCalls rule that fails the first n calls with errs[i] and
// records when each call came.
type callLog struct {
	mu    sync.Mutex
	times []time.Time
	errs  []error // errs[i] fails call i; calls past the end succeed
}

func (c *callLog) rule(req *writeback.ProviderRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := len(c.times)
	c.times = append(c.times, time.Now())
	if i < len(c.errs) {
		return c.errs[i]
	}
	return nil
}

func (c *callLog) calls() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.times...)
}

func rateLimited(retryAfter time.Duration) *writeback.ProviderError {
	return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassRateLimited, StatusCode: 429,
		Code: "RATE_LIMITS", Message: "ten secondly rolling limit", RetryAfter: retryAfter, RecordIndex: writeback.NoRecord}
}

func unavailable(n int) *writeback.ProviderError {
	return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnavailable, StatusCode: 503,
		Message: fmt.Sprintf("service unavailable #%d", n), CorrelationID: fmt.Sprintf("corr-%d", n), RecordIndex: writeback.NoRecord}
}

func TestAsyncCreateSucceeds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		e := setup(t, asyncContacts(fake))

		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, res.Status)
		require.NotEmpty(t, res.OperationID)
		op, err := e.w.Operation(ctx, res.OperationID)
		require.NoError(t, err, "the operation is stored before Create returns")
		require.Equal(t, writeback.OperationInProgress, op.Status)
		require.Equal(t, writeback.ModeAsync, op.Mode)
		require.True(t, op.CreatedAt.Add(writeback.DefaultRetryDeadline).Equal(op.Deadline))

		synctest.Wait()
		require.Empty(t, fake.Writes(), "async writes wait for Start")

		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		op, err = e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, 1, op.Attempts)
		require.False(t, op.LastAttempt.IsZero())
		require.Len(t, op.Results, 1)
		id := op.Results[0].ID
		require.Equal(t, []string{id}, op.SuccessfulRecordIDs)
		rec, ok := fake.Record("contacts", id)
		require.True(t, ok)
		require.Equal(t, "ada@example.com", rec["email"])
		require.GreaterOrEqual(t, len(op.Logs), 2, "accepted, then the outcome")
		require.Equal(t, writeback.SeverityInfo, op.Logs[len(op.Logs)-1].Severity)
		require.Equal(t, 1, e.completions(op.ID))
	})
}

func TestAsyncBatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		res, err := e.w.Batch(ctx, contacts, writeback.WriteTypeCreate,
			[]writeback.Record{contact("a@x.com"), contact("b@x.com")},
			&writeback.WriteOpts{Mode: writeback.ModeAsync, BatchPolicy: writeback.BatchPartial})
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Len(t, op.SuccessfulRecordIDs, 2)
		require.Equal(t, 2, fake.Count("contacts"))
		require.Len(t, fake.Writes(), 1, "one provider batch")
	})
}

func TestAsyncRetryThenSuccess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		calls := &callLog{errs: []error{unavailable(1), rateLimited(0)}}
		fake.FailCalls(calls.rule)
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, 3, op.Attempts)
		require.Equal(t, 1, fake.Count("contacts"))
		times := calls.calls()
		require.Len(t, times, 3)
		// Backoff with jitter: about 1 s (±50%), then about 2 s.
		require.GreaterOrEqual(t, times[1].Sub(times[0]), 500*time.Millisecond)
		require.LessOrEqual(t, times[1].Sub(times[0]), 1500*time.Millisecond)
		require.GreaterOrEqual(t, times[2].Sub(times[1]), time.Second)
		require.LessOrEqual(t, times[2].Sub(times[1]), 3*time.Second)

		var retries []writeback.LogEntry
		for _, l := range op.Logs {
			if l.Error != nil {
				retries = append(retries, l)
			}
		}
		require.Len(t, retries, 2, "each failed attempt is logged with its error")
		require.Equal(t, 503, retries[0].Error.StatusCode)
		require.Equal(t, "corr-1", retries[0].Error.CorrelationID)
		require.Contains(t, retries[0].Message, "next attempt at")
		require.Equal(t, writeback.ClassRateLimited, retries[1].Error.Class)
		require.Equal(t, 1, e.completions(op.ID))
	})
}

func TestAsyncRetryUntilDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		var mu sync.Mutex
		n := 0
		fake.FailCalls(func(*writeback.ProviderRequest) error {
			mu.Lock()
			defer mu.Unlock()
			n++
			return unavailable(n)
		})
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		start := time.Now()
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationFailure, op.Status)
		require.Equal(t, start.Add(time.Hour), time.Now(), "the last attempt runs at the deadline")
		mu.Lock()
		calls := n
		mu.Unlock()
		require.Greater(t, calls, 5)
		require.Equal(t, calls, op.Attempts)
		require.Len(t, op.Results, 1)
		require.Equal(t, fmt.Sprintf("service unavailable #%d", calls), op.Results[0].Err.Message, "fails with the last error")
		require.Contains(t, op.Logs[len(op.Logs)-2].Message, "retry deadline")
		require.Zero(t, fake.Count("contacts"))
		require.Equal(t, 1, e.completions(op.ID))
	})
}

func TestAsyncNonRetryableFailsAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		fake.FailRecords(func(*writeback.ProviderRequest, int, writeback.Record) *writeback.ProviderError {
			return &writeback.ProviderError{Class: writeback.ClassInvalid, StatusCode: 400, Code: "VALIDATION_ERROR",
				Message: "Property values were not valid", Fields: []string{"email"}, CorrelationID: "c-9"}
		})
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		start := time.Now()
		res, err := e.w.Create(ctx, contacts, contact("not-an-email"), async)
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, start, time.Now(), "no wait")
		require.Equal(t, writeback.OperationFailure, op.Status)
		require.Equal(t, 1, op.Attempts)
		require.Len(t, fake.Writes(), 1)
		perr := op.Results[0].Err
		require.Equal(t, "VALIDATION_ERROR", perr.Code)
		require.Equal(t, []string{"email"}, perr.Fields)
		require.Equal(t, "c-9", perr.CorrelationID)
		require.Empty(t, op.SuccessfulRecordIDs)
	})
}

func TestAsyncRetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		calls := &callLog{errs: []error{rateLimited(10 * time.Minute), rateLimited(2 * time.Hour), rateLimited(time.Second)}}
		fake.FailCalls(calls.rule)
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		start := time.Now()
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		times := calls.calls()
		require.Len(t, times, 3)
		require.Equal(t, 10*time.Minute, times[1].Sub(times[0]), "Retry-After is honoured")
		require.Equal(t, start.Add(time.Hour), times[2], "a Retry-After past the deadline is clamped to it")
		require.Equal(t, writeback.OperationFailure, op.Status, "the attempt at the deadline was the last")
		require.Equal(t, writeback.ClassRateLimited, op.Results[0].Err.Class)
		require.Equal(t, 3, op.Attempts)
	})
}

func TestAsyncRetryDeadlineOption(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		calls := &callLog{errs: []error{rateLimited(5 * time.Hour), rateLimited(5 * time.Hour), rateLimited(5 * time.Hour)}}
		fake.FailCalls(calls.rule)
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		start := time.Now()
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"),
			&writeback.WriteOpts{Mode: writeback.ModeAsync, RetryDeadline: 12 * time.Hour})
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.True(t, start.Add(12*time.Hour).Equal(op.Deadline))
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, []time.Time{start, start.Add(5 * time.Hour), start.Add(10 * time.Hour), start.Add(12 * time.Hour)}, calls.calls(),
			"Retry-After honoured, the last wait clamped to the deadline")
	})
}

func TestAsyncUnknownOutcome(t *testing.T) {
	t.Parallel()
	unknown := &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnknownOutcome,
		Message: "timeout after the request was sent", RecordIndex: writeback.NoRecord}
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		id := fake.Seed("contacts", map[string]any{"email": "old@x.com"})
		calls := &callLog{errs: []error{unknown, unknown}}
		fake.FailCalls(calls.rule)
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		// A create that may have been written is reported, not resent.
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationFailure, op.Status)
		require.Equal(t, writeback.ClassUnknownOutcome, op.Results[0].Err.Class)
		require.Equal(t, 1, op.Attempts)
		require.Len(t, calls.calls(), 1)

		// An update is repeated: writing the same values twice is harmless.
		res, err = e.w.Update(ctx, contacts, writeback.Record{ID: id, Fields: map[string]any{"email": "new@x.com"}}, async)
		require.NoError(t, err)
		op, err = e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, 2, op.Attempts)
		rec, _ := fake.Record("contacts", id)
		require.Equal(t, "new@x.com", rec["email"])
	})
}

func TestWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		e := setup(t, asyncContacts(fake))

		_, err := e.w.Wait(ctx, "no-such-operation")
		require.ErrorIs(t, err, writeback.ErrNotFound)

		sync, err := e.w.Create(ctx, contacts, contact("sync@x.com"), nil)
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, sync.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Zero(t, e.completions(sync.OperationID), "OnComplete is for async operations")

		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		// Not started: Wait gives up when its ctx ends.
		short, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		_, err = e.w.Wait(short, res.OperationID)
		require.ErrorIs(t, err, context.DeadlineExceeded)

		// Several waiters are woken by the completion.
		got := make(chan *writeback.Operation, 3)
		for range 3 {
			go func() {
				op, err := e.w.Wait(ctx, res.OperationID)
				if err != nil {
					op = nil
				}
				got <- op
			}()
		}
		synctest.Wait()
		require.Empty(t, got, "waiting, not polling")
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		for range 3 {
			op := <-got
			require.NotNil(t, op)
			require.Equal(t, writeback.OperationSuccess, op.Status)
		}
		require.Equal(t, 1, e.completions(res.OperationID))
	})
}

func TestOnCompleteOncePerOperation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		calls := &callLog{errs: []error{unavailable(1), unavailable(2), unavailable(3)}}
		fake.FailCalls(calls.rule)
		e := setup(t, asyncContacts(fake), withConcurrency(3))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		var ids []string
		for i := range 20 {
			res, err := e.w.Create(ctx, contacts, contact(fmt.Sprintf("u%d@x.com", i)), async)
			require.NoError(t, err)
			ids = append(ids, res.OperationID)
		}
		for _, id := range ids {
			op, err := e.w.Wait(ctx, id)
			require.NoError(t, err)
			require.Equal(t, writeback.OperationSuccess, op.Status)
		}
		synctest.Wait()
		e.mu.Lock()
		defer e.mu.Unlock()
		require.Len(t, e.done, len(ids))
		for _, id := range ids {
			require.Equal(t, 1, e.done[id], "operation %s", id)
			require.Equal(t, writeback.OperationSuccess, e.last[id].Status)
		}
		require.Equal(t, 20, fake.Count("contacts"))
	})
}

func TestStartStopIdempotent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		e := setup(t, asyncContacts(fake))

		require.NoError(t, e.w.Stop(ctx), "Stop before Start")
		require.NoError(t, e.w.Stop(ctx))
		_, err := e.w.Create(ctx, contacts, contact("a@x.com"), async)
		require.ErrorIs(t, err, writeback.ErrStopped)
		_, err = e.w.Create(ctx, contacts, contact("sync@x.com"), nil)
		require.NoError(t, err, "sync writes need no Start")

		require.NoError(t, e.w.Start(ctx))
		require.NoError(t, e.w.Start(ctx))
		res, err := e.w.Create(ctx, contacts, contact("b@x.com"), async)
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)

		require.NoError(t, e.w.Stop(ctx))
		require.NoError(t, e.w.Stop(ctx))
		_, err = e.w.Create(ctx, contacts, contact("c@x.com"), async)
		require.ErrorIs(t, err, writeback.ErrStopped)
		require.Equal(t, 2, fake.Count("contacts"))
	})
}

// gated is a provider whose writes block until released or cancelled, and
// which counts the calls in flight.
type gated struct {
	*providertest.Fake
	release chan struct{}

	mu             sync.Mutex
	inflight, peak int
}

func newGated(name string) *gated {
	return &gated{Fake: providertest.NewFake(name, writeback.Capabilities{}), release: make(chan struct{})}
}

func (g *gated) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	g.mu.Lock()
	g.inflight++
	g.peak = max(g.peak, g.inflight)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inflight--
		g.mu.Unlock()
	}()
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Fake.Write(ctx, req)
}

func (g *gated) counts() (inflight, peak int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inflight, g.peak
}

func TestStopWaitsForCallInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		g := newGated("hubspot")
		e := setup(t, asyncContacts(g))
		require.NoError(t, e.w.Start(ctx))
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		synctest.Wait()
		inflight, _ := g.counts()
		require.Equal(t, 1, inflight)

		stopped := make(chan error)
		go func() { stopped <- e.w.Stop(ctx) }()
		synctest.Wait()
		require.Empty(t, stopped, "Stop waits for the call")
		_, err = e.w.Create(ctx, contacts, contact("late@x.com"), async)
		require.ErrorIs(t, err, writeback.ErrStopped, "intake stops at once")
		g.release <- struct{}{}
		require.NoError(t, <-stopped)
		op, err := e.w.Operation(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, 1, e.completions(op.ID))
	})
}

func TestStopWithExpiringContextRecordsOutcome(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		g := newGated("hubspot")
		st := memstore.New()
		e := setup(t, asyncContacts(g), withStore(st), withConcurrency(1))
		id := g.Seed("contacts", map[string]any{"email": "old@x.com"})
		require.NoError(t, e.w.Start(ctx))
		created, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		synctest.Wait()
		updated, err := e.w.Update(ctx, contacts, writeback.Record{ID: id, Fields: map[string]any{"email": "new@x.com"}}, async)
		require.NoError(t, err)
		synctest.Wait()
		inflight, _ := g.counts()
		require.Equal(t, 1, inflight, "one slot: the update waits")

		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		require.ErrorIs(t, e.w.Stop(sctx), context.DeadlineExceeded)

		op, err := e.w.Operation(ctx, created.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationFailure, op.Status, "the cancelled create is recorded")
		require.Equal(t, writeback.ClassUnknownOutcome, op.Results[0].Err.Class)
		require.Equal(t, 1, e.completions(op.ID))
		op, err = e.w.Operation(ctx, updated.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status, "the update stays queued")

		// The next Writer on the store runs the update.
		close(g.release)
		e2 := setup(t, asyncContacts(g), withStore(st))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err = e2.w.Wait(ctx, updated.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		rec, _ := g.Record("contacts", id)
		require.Equal(t, "new@x.com", rec["email"])
		require.Zero(t, g.Count("contacts")-1, "the create was not resent")
	})
}

func TestConcurrencyBoundPerProvider(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		g := newGated("hubspot")
		e := setup(t, asyncContacts(g), withConcurrency(3))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		var ids []string
		for i := range 10 {
			res, err := e.w.Create(ctx, contacts, contact(fmt.Sprintf("u%d@x.com", i)), async)
			require.NoError(t, err)
			ids = append(ids, res.OperationID)
		}
		for done := 0; done < 10; done++ {
			synctest.Wait()
			inflight, _ := g.counts()
			require.Equal(t, min(3, 10-done), inflight)
			g.release <- struct{}{}
		}
		for _, id := range ids {
			op, err := e.w.Wait(ctx, id)
			require.NoError(t, err)
			require.Equal(t, writeback.OperationSuccess, op.Status)
		}
		_, peak := g.counts()
		require.Equal(t, 3, peak)
	})
}

func TestRestartResumes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := memstore.New()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		calls := &callLog{errs: []error{rateLimited(time.Minute)}}
		fake.FailCalls(calls.rule)
		e1 := setup(t, asyncContacts(fake), withStore(st))
		require.NoError(t, e1.w.Start(ctx))
		retried, err := e1.w.Create(ctx, contacts, contact("retried@x.com"), async)
		require.NoError(t, err)
		synctest.Wait()
		require.Len(t, calls.calls(), 1)
		e1.stop(t)
		// Accepted by a Writer that was never started.
		e0 := setup(t, asyncContacts(fake), withStore(st))
		queued, err := e0.w.Create(ctx, contacts, contact("queued@x.com"), async)
		require.NoError(t, err)

		start := time.Now()
		e2 := setup(t, asyncContacts(fake), withStore(st))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err := e2.w.Wait(ctx, queued.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, start, time.Now(), "queued work runs at once")
		op, err = e2.w.Wait(ctx, retried.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, 2, op.Attempts)
		times := calls.calls()
		require.Equal(t, time.Minute, times[len(times)-1].Sub(times[0]), "the retry schedule survives the restart")
		require.Equal(t, 1, e2.completions(retried.OperationID))
		require.Zero(t, e1.completions(retried.OperationID))
		require.Equal(t, 2, fake.Count("contacts"))
	})
}

func TestAsyncIdempotencyKey(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := memstore.New()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		e1 := setup(t, asyncContacts(fake), withStore(st))
		opts := &writeback.WriteOpts{Mode: writeback.ModeAsync, IdempotencyKey: "signup-42"}
		first, err := e1.w.Create(ctx, contacts, contact("ada@example.com"), opts)
		require.NoError(t, err)
		again, err := e1.w.Create(ctx, contacts, contact("ada@example.com"), opts)
		require.NoError(t, err)
		require.Equal(t, first.OperationID, again.OperationID)
		_, err = e1.w.Create(ctx, contacts, contact("other@example.com"), opts)
		require.ErrorIs(t, err, writeback.ErrIdempotencyMismatch)

		// Concurrent twins: one operation.
		var wg sync.WaitGroup
		ids := make([]string, 8)
		twin := &writeback.WriteOpts{Mode: writeback.ModeAsync, IdempotencyKey: "twin"}
		for i := range ids {
			wg.Go(func() {
				res, err := e1.w.Create(ctx, contacts, contact("twin@example.com"), twin)
				if err == nil {
					ids[i] = res.OperationID
				}
			})
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id)
		}

		// After a restart the key still leads to the operation.
		e2 := setup(t, asyncContacts(fake), withStore(st))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err := e2.w.Wait(ctx, first.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		res, err := e2.w.Create(ctx, contacts, contact("ada@example.com"), opts)
		require.NoError(t, err)
		require.Equal(t, first.OperationID, res.OperationID)
		require.Equal(t, writeback.OperationSuccess, res.Status)
		_, err = e2.w.Wait(ctx, ids[0])
		require.NoError(t, err)
		require.Equal(t, 2, fake.Count("contacts"), "one write per key")

		// After the retention the key can be used again.
		time.Sleep(writeback.DefaultIdempotencyRetention)
		res, err = e2.w.Create(ctx, contacts, contact("ada@example.com"), opts)
		require.NoError(t, err)
		require.NotEqual(t, first.OperationID, res.OperationID)
		_, err = e2.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, 3, fake.Count("contacts"))
	})
}

// TestRestartResumesBolt closes a bbolt-backed Writer with work queued, one
// job of it claimed by a process that died, and checks that a Writer on
// the reopened file runs all of it, and that idempotency keys survive.
func TestRestartResumesBolt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "writeback.db")
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	id := fake.Seed("contacts", map[string]any{"email": "old@x.com"})
	lease := withLease(100 * time.Millisecond)

	st, err := boltstore.Open(path, nil)
	require.NoError(t, err)
	e1 := setup(t, asyncContacts(fake), withStore(st), lease)
	keyed := &writeback.WriteOpts{Mode: writeback.ModeAsync, IdempotencyKey: "k1"}
	a, err := e1.w.Create(ctx, contacts, contact("a@x.com"), async)
	require.NoError(t, err)
	b, err := e1.w.Create(ctx, contacts, contact("b@x.com"), keyed)
	require.NoError(t, err)
	// The dead process's claim of the first job, leased briefly.
	now := time.Now()
	jobs, err := st.Claim(ctx, now, now.Add(100*time.Millisecond), 1)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	u, err := e1.w.Update(ctx, contacts, writeback.Record{ID: id, Fields: map[string]any{"email": "new@x.com"}}, async)
	require.NoError(t, err)
	require.NoError(t, e1.w.Stop(ctx))
	require.NoError(t, st.Close())

	st, err = boltstore.Open(path, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	e2 := setup(t, asyncContacts(fake), withStore(st), lease)
	require.NoError(t, e2.w.Start(ctx))
	defer e2.stop(t)
	for _, id := range []string{a.OperationID, b.OperationID, u.OperationID} {
		op, err := e2.w.Wait(ctx, id)
		require.NoError(t, err)
		require.True(t, op.Status.Terminal())
		require.Equal(t, 1, e2.completions(id))
	}
	require.Equal(t, a.OperationID, jobs[0].ID)
	for _, id := range []string{a.OperationID, b.OperationID, u.OperationID} {
		op, err := e2.w.Operation(ctx, id)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status, "the dead process's claim sent nothing: its create is sent")
	}
	rec, _ := fake.Record("contacts", id)
	require.Equal(t, "new@x.com", rec["email"])
	require.Equal(t, 3, fake.Count("contacts"), "the seeded contact and the two creates, once each")

	again, err := e2.w.Create(ctx, contacts, contact("b@x.com"), keyed)
	require.NoError(t, err)
	require.Equal(t, b.OperationID, again.OperationID)
	require.Equal(t, writeback.OperationSuccess, again.Status)
	_, err = e2.w.Create(ctx, contacts, contact("other@x.com"), keyed)
	require.ErrorIs(t, err, writeback.ErrIdempotencyMismatch)
}

// twoProviders has an integration for each of two providers.
const twoProviders = `
specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    write:
      objects:
        - objectName: contacts
  - name: sf
    provider: salesforce
    write:
      objects:
        - objectName: Contact
`

func TestConcurrencyBoundIsPerProvider(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		hub, sf := newGated("hubspot"), newGated("salesforce")
		sfContact := &writeback.Installation{
			Integration: "sf", GroupRef: "cust-7",
			Connection: writeback.Connection{Provider: "salesforce", InstanceURL: "https://example.my.salesforce.com"},
			Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"Contact": {ObjectName: "Contact"},
			}}},
		}
		w := setup(t, withManifest(twoProviders), withProviders(hub, sf), withConcurrency(2),
			withInstallations(contactsInstallation(), sfContact)).w
		sfTarget := writeback.Target{Integration: "sf", GroupRef: "cust-7", Object: "Contact"}
		require.NoError(t, w.Start(ctx))
		defer func() { require.NoError(t, w.Stop(ctx)) }()
		// HubSpot's work is queued first; Salesforce's still gets its own slots.
		var ids []string
		for i := range 6 {
			res, err := w.Create(ctx, contacts, contact(fmt.Sprintf("h%d@x.com", i)), async)
			require.NoError(t, err)
			ids = append(ids, res.OperationID)
		}
		for i := range 3 {
			res, err := w.Create(ctx, sfTarget, writeback.Record{Fields: map[string]any{"LastName": fmt.Sprintf("S%d", i)}}, async)
			require.NoError(t, err)
			ids = append(ids, res.OperationID)
		}
		synctest.Wait()
		hIn, _ := hub.counts()
		sIn, _ := sf.counts()
		require.Equal(t, 2, hIn)
		require.Equal(t, 2, sIn, "a busy provider does not hold back another")
		close(hub.release)
		close(sf.release)
		for _, id := range ids {
			op, err := w.Wait(ctx, id)
			require.NoError(t, err)
			require.Equal(t, writeback.OperationSuccess, op.Status)
		}
		_, hPeak := hub.counts()
		_, sPeak := sf.counts()
		require.Equal(t, 2, hPeak)
		require.Equal(t, 2, sPeak)
	})
}

func TestAsyncPartialBatchRetriesOnlyFailedRecords(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		var mu sync.Mutex
		locked := 2 // b@x.com is locked for its first two attempts
		fake.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
			mu.Lock()
			defer mu.Unlock()
			switch rec.Fields["email"] {
			case "bad":
				return &writeback.ProviderError{Class: writeback.ClassInvalid, StatusCode: 400, Code: "INVALID_EMAIL", Message: "invalid email"}
			case "b@x.com":
				if locked > 0 {
					locked--
					return &writeback.ProviderError{Class: writeback.ClassUnavailable, Code: "UNABLE_TO_LOCK_ROW", Message: "locked"}
				}
			}
			return nil
		})
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		res, err := e.w.Batch(ctx, contacts, writeback.WriteTypeCreate,
			[]writeback.Record{contact("a@x.com"), contact("b@x.com"), contact("bad")},
			&writeback.WriteOpts{Mode: writeback.ModeAsync, BatchPolicy: writeback.BatchPartial})
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, 3, op.Attempts)
		require.Len(t, op.Results, 3)
		require.True(t, op.Results[0].Success())
		require.True(t, op.Results[1].Success(), "retried until written")
		require.Equal(t, "INVALID_EMAIL", op.Results[2].Err.Code, "a final error is not retried")
		require.Equal(t, 2, op.Results[2].Err.RecordIndex)
		require.Len(t, op.SuccessfulRecordIDs, 2)
		require.Equal(t, 2, fake.Count("contacts"), "a@x.com was not created twice")

		writes := fake.Writes()
		require.Len(t, writes, 3)
		require.Len(t, writes[0].Records, 3)
		for _, w := range writes[1:] {
			require.Len(t, w.Records, 1, "only the record that failed retryably is sent again")
			require.Equal(t, "b@x.com", w.Records[0].Fields["email"])
		}
	})
}

func TestAsyncAllOrNothingBatchRetriesWhole(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		var mu sync.Mutex
		locked := 1
		fake.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
			mu.Lock()
			defer mu.Unlock()
			if rec.Fields["email"] == "b@x.com" && locked > 0 {
				locked--
				return &writeback.ProviderError{Class: writeback.ClassUnavailable, Code: "UNABLE_TO_LOCK_ROW", Message: "locked"}
			}
			return nil
		})
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)

		res, err := e.w.Batch(ctx, contacts, writeback.WriteTypeCreate,
			[]writeback.Record{contact("a@x.com"), contact("b@x.com")}, async)
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Len(t, op.SuccessfulRecordIDs, 2)
		writes := fake.Writes()
		require.Len(t, writes, 2)
		require.Len(t, writes[1].Records, 2, "the rolled-back batch is sent again whole")
		require.Equal(t, 2, fake.Count("contacts"))
	})
}
