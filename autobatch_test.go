package writeback_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

// autoBatch returns async auto-batch options with the given max delay.
func autoBatch(delay time.Duration) *writeback.WriteOpts {
	return &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: delay}}
}

// company returns a company record named name.
func company(name string) writeback.Record {
	return writeback.Record{Fields: map[string]any{"name": name}}
}

// startWriter starts w and stops it when the test ends.
func startWriter(t *testing.T, w *writeback.Writer) {
	t.Helper()
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, w.Stop(context.Background())) })
}

// waitOp waits for an operation to end, inside a synctest bubble, where a
// group that never flushes is a deadlock the bubble reports.
func waitOp(t *testing.T, w *writeback.Writer, id string) *writeback.Operation {
	t.Helper()
	op, err := w.Wait(t.Context(), id)
	require.NoError(t, err)
	require.True(t, op.Status.Terminal())
	return op
}

// waitOpReal waits for an operation to end on the real clock, giving up
// after a minute so that a group that never flushes fails the test.
func waitOpReal(t *testing.T, w *writeback.Writer, id string) *writeback.Operation {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	op, err := w.Wait(ctx, id)
	require.NoError(t, err)
	require.True(t, op.Status.Terminal())
	return op
}

// createCompanies auto-batches n company creates named prefix0..prefixN-1
// and returns the operation IDs they got.
func createCompanies(t *testing.T, w *writeback.Writer, prefix string, n int, opts *writeback.WriteOpts) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		res, err := w.Create(t.Context(), crmTarget("companies"), company(fmt.Sprintf("%s%d", prefix, i)), opts)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, res.Status)
		ids[i] = res.OperationID
	}
	return ids
}

// requireSame asserts that every ID equals the first and returns it.
func requireSame(t *testing.T, ids []string) string {
	t.Helper()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	return ids[0]
}

// requireCreated asserts that every result of an operation created the
// company named prefix<i> at the fake, in join order.
func requireCreated(t *testing.T, fake *providertest.Fake, op *writeback.Operation, prefix string) {
	t.Helper()
	require.Len(t, op.SuccessfulRecordIDs, len(op.Results))
	for i, r := range op.Results {
		require.NoError(t, errOrNil(r.Err))
		rec, ok := fake.Record("companies", r.ID)
		require.True(t, ok, "record %d", i)
		require.Equal(t, fmt.Sprintf("%s%d", prefix, i), rec["name"])
	}
}

func errOrNil(e *writeback.ProviderError) error {
	if e == nil {
		return nil
	}
	return e
}

func TestAutoBatchSizeTrigger(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		startWriter(t, b.w)
		start := time.Now()

		id := requireSame(t, createCompanies(t, b.w, "c", 100, autoBatch(time.Hour)))
		op := waitOp(t, b.w, id)
		// Written at once: the 100th record filled the group.
		require.Equal(t, start, time.Now())
		require.True(t, op.AutoBatch)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Len(t, op.Results, 100)
		requireCreated(t, b.hub, op, "c")

		writes := b.hub.Writes()
		require.Len(t, writes, 1)
		require.Len(t, writes[0].Records, 100)
		require.True(t, writes[0].Batch)
		require.False(t, writes[0].AllOrNone)

		// The next record opens a new group.
		next := createCompanies(t, b.w, "d", 1, autoBatch(time.Hour))
		require.NotEqual(t, id, next[0])
	})
}

func TestAutoBatchSizeTriggerFollowsProviderLimit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		small := providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 10})
		w := setup(t, withStore(b.store), withProviders(small, b.sf)).w
		startWriter(t, w)

		ids := createCompanies(t, w, "c", 25, autoBatch(time.Minute))
		require.Equal(t, ids[0], ids[9])
		require.NotEqual(t, ids[9], ids[10])
		require.Equal(t, ids[10], ids[19])
		require.NotEqual(t, ids[19], ids[20])
		for _, id := range []string{ids[0], ids[10]} {
			op := waitOp(t, w, id)
			require.Len(t, op.SuccessfulRecordIDs, 10)
		}
		synctest.Wait()
		require.Len(t, small.Writes(), 2, "the last 5 records wait for the delay")
		op := waitOp(t, w, ids[20])
		require.Len(t, op.SuccessfulRecordIDs, 5)
		require.Len(t, small.Writes(), 3)
	})
}

func TestAutoBatchTimeTrigger(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		startWriter(t, b.w)
		start := time.Now()

		first := createCompanies(t, b.w, "c", 1, autoBatch(10*time.Second))[0]
		time.Sleep(4 * time.Second)
		// A later record with a shorter delay joins the same group and
		// does not move its flush time: the first record's delay decides.
		res, err := b.w.Create(t.Context(), crmTarget("companies"), company("c1"), autoBatch(time.Second))
		require.NoError(t, err)
		require.Equal(t, first, res.OperationID)

		op, err := b.w.Operation(t.Context(), first)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status)
		require.True(t, op.AutoBatch)

		time.Sleep(6*time.Second - time.Millisecond)
		synctest.Wait()
		require.Empty(t, b.hub.Writes(), "nothing is written before the delay")

		op = waitOp(t, b.w, first)
		require.Equal(t, start.Add(10*time.Second), time.Now())
		require.True(t, start.Add(10*time.Second).Equal(op.UpdatedAt), "written at the first record's flush time")
		require.Equal(t, writeback.OperationSuccess, op.Status)
		requireCreated(t, b.hub, op, "c")
		require.Len(t, b.hub.Writes(), 1)
	})
}

func TestAutoBatchKeepsCreatesAndUpdatesApart(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		startWriter(t, b.w)
		ctx := t.Context()
		existing := []string{
			b.hub.Seed("companies", map[string]any{"name": "old0"}),
			b.hub.Seed("companies", map[string]any{"name": "old1"}),
		}

		var creates, updates []string
		for i := range 2 {
			res, err := b.w.Create(ctx, crmTarget("companies"), company(fmt.Sprintf("new%d", i)), autoBatch(time.Second))
			require.NoError(t, err)
			creates = append(creates, res.OperationID)
			res, err = b.w.Update(ctx, crmTarget("companies"),
				writeback.Record{ID: existing[i], Fields: map[string]any{"name": fmt.Sprintf("renamed%d", i)}}, autoBatch(time.Second))
			require.NoError(t, err)
			updates = append(updates, res.OperationID)
		}
		createOp := waitOp(t, b.w, requireSame(t, creates))
		updateOp := waitOp(t, b.w, requireSame(t, updates))
		require.NotEqual(t, createOp.ID, updateOp.ID)
		require.Equal(t, writeback.WriteTypeCreate, createOp.Type)
		require.Equal(t, writeback.WriteTypeUpdate, updateOp.Type)
		requireCreated(t, b.hub, createOp, "new")
		require.Equal(t, existing, updateOp.SuccessfulRecordIDs)
		for i, id := range existing {
			rec, _ := b.hub.Record("companies", id)
			require.Equal(t, fmt.Sprintf("renamed%d", i), rec["name"])
		}

		writes := b.hub.Writes()
		require.Len(t, writes, 2)
		for _, wr := range writes {
			require.Len(t, wr.Records, 2)
		}
		require.ElementsMatch(t, []writeback.WriteType{writeback.WriteTypeCreate, writeback.WriteTypeUpdate},
			[]writeback.WriteType{writes[0].Type, writes[1].Type})
	})
}

func TestAutoBatchSeveralInstallations(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		ctx := t.Context()
		refs := []string{"cust-42", "cust-43", "cust-44"}
		for _, ref := range refs[1:] {
			_, err := b.w.CreateInstallation(ctx, &writeback.Installation{
				Integration: "crm",
				GroupRef:    ref,
				Connection:  writeback.Connection{Provider: "hubspot"},
				Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
					"companies": {ObjectName: "companies"},
				}}},
			})
			require.NoError(t, err)
		}
		startWriter(t, b.w)

		const perInstallation = 30
		ids := make([][]string, len(refs))
		var wg sync.WaitGroup
		for k, ref := range refs {
			ids[k] = make([]string, perInstallation)
			wg.Go(func() {
				for i := range perInstallation {
					res, err := b.w.Create(ctx, writeback.Target{Integration: "crm", GroupRef: ref, Object: "companies"},
						company(fmt.Sprintf("%s/%d", ref, i)), autoBatch(time.Second))
					if err != nil {
						t.Error(err)
						return
					}
					ids[k][i] = res.OperationID
				}
			})
		}
		wg.Wait()

		seen := map[string]bool{}
		for k, ref := range refs {
			op := waitOp(t, b.w, requireSame(t, ids[k]))
			require.False(t, seen[op.ID], "installations share no group")
			seen[op.ID] = true
			require.Equal(t, ref, op.GroupRef)
			require.Len(t, op.SuccessfulRecordIDs, perInstallation)
			for i, r := range op.Results {
				rec, _ := b.hub.Record("companies", r.ID)
				require.Equal(t, fmt.Sprintf("%s/%d", ref, i), rec["name"])
			}
		}
		writes := b.hub.Writes()
		require.Len(t, writes, len(refs))
		installs := map[string]bool{}
		for _, wr := range writes {
			require.Len(t, wr.Records, perInstallation)
			installs[wr.InstallationID] = true
		}
		require.Len(t, installs, len(refs))
	})
}

func TestAutoBatchHeadersSplitGroups(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		startWriter(t, b.w)
		ctx := t.Context()
		opts := func(v string) *writeback.WriteOpts {
			o := autoBatch(time.Second)
			o.Headers = []writeback.Header{{Key: "Sforce-Auto-Assign", Value: v}}
			return o
		}
		var ids []string
		for _, v := range []string{"FALSE", "FALSE", "TRUE"} {
			res, err := b.w.Create(ctx, sfTarget(), writeback.Record{Fields: map[string]any{"LastName": v}}, opts(v))
			require.NoError(t, err)
			ids = append(ids, res.OperationID)
		}
		require.Equal(t, ids[0], ids[1])
		require.NotEqual(t, ids[0], ids[2])
		waitOp(t, b.w, ids[0])
		waitOp(t, b.w, ids[2])

		writes := b.sf.Writes()
		require.Len(t, writes, 2)
		for _, wr := range writes {
			require.Len(t, wr.Headers, 1)
			for _, r := range wr.Records {
				require.Equal(t, wr.Headers[0].Value, r.Fields["LastName"], "each batch carries its records' headers")
			}
		}
	})
}

func TestAutoBatchRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	startWriter(t, b.w)
	ctx := t.Context()

	opts := autoBatch(time.Second)
	opts.IdempotencyKey = "k1"
	_, err := b.w.Create(ctx, crmTarget("companies"), company("x"), opts)
	require.ErrorIs(t, err, writeback.ErrUnsupported)
	var ve *writeback.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "idempotencyKey", ve.Field)

	_, err = b.w.Batch(ctx, crmTarget("companies"), writeback.WriteTypeCreate, []writeback.Record{company("x")}, autoBatch(time.Second))
	require.ErrorIs(t, err, writeback.ErrUnsupported)
	_, err = b.w.Delete(ctx, crmTarget("contacts"), b.hub.Seed("contacts", map[string]any{"email": "x@example.com"}), autoBatch(time.Second))
	require.ErrorIs(t, err, writeback.ErrUnsupported)
	_, err = b.w.Create(ctx, crmTarget("companies"), company("x"), autoBatch(500*time.Millisecond))
	require.ErrorIs(t, err, writeback.ErrInvalidOptions)
	_, err = b.w.Create(ctx, crmTarget("companies"), company("x"), &writeback.WriteOpts{AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Second}})
	require.ErrorIs(t, err, writeback.ErrInvalidOptions, "auto-batching needs async mode")

	noBatch := providertest.NewFake("hubspot", writeback.Capabilities{Delete: true})
	w := setup(t, withStore(b.store), withProviders(noBatch, b.sf)).w
	startWriter(t, w)
	_, err = w.Create(ctx, crmTarget("companies"), company("x"), autoBatch(time.Second))
	require.ErrorIs(t, err, writeback.ErrUnsupported)

	require.Empty(t, b.operations(t, b.crm), "a rejected write stores nothing")
}

func TestAutoBatchTwoUpdatesOfOneRecord(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		startWriter(t, b.w)
		ctx := t.Context()
		id := b.hub.Seed("companies", map[string]any{"name": "old"})
		other := b.hub.Seed("companies", map[string]any{"name": "other"})

		var ops []string
		for _, r := range []writeback.Record{
			{ID: id, Fields: map[string]any{"name": "first"}},
			{ID: other, Fields: map[string]any{"name": "renamed"}},
			{ID: id, Fields: map[string]any{"name": "second"}},
		} {
			res, err := b.w.Update(ctx, crmTarget("companies"), r, autoBatch(time.Second))
			require.NoError(t, err)
			ops = append(ops, res.OperationID)
		}
		op := waitOp(t, b.w, requireSame(t, ops))
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, 3, op.SuccessCount())
		rec, _ := b.hub.Record("companies", id)
		require.Equal(t, "second", rec["name"], "updates of one record apply in join order")
		// One record ID per batch: the second update goes in a second call.
		writes := b.hub.Writes()
		require.Len(t, writes, 2)
		require.Len(t, writes[0].Records, 2)
		require.Len(t, writes[1].Records, 1)
	})
}

func TestAutoBatchIfEmptyReadsOncePerBatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		startWriter(t, b.w)
		ctx := t.Context()
		withPhone := b.hub.Seed("contacts", map[string]any{"email": "a@example.com", "mobilephone": "+1 555 0100"})
		without := b.hub.Seed("contacts", map[string]any{"email": "b@example.com"})

		var ops []string
		for _, id := range []string{withPhone, without} {
			res, err := b.w.Update(ctx, crmTarget("contacts"),
				writeback.Record{ID: id, Fields: map[string]any{"phone": "+1 555 0199"}}, autoBatch(time.Second))
			require.NoError(t, err)
			ops = append(ops, res.OperationID)
		}
		op := waitOp(t, b.w, requireSame(t, ops))
		require.Equal(t, 1, op.SuccessCount())
		require.Equal(t, 1, op.UnchangedCount(), "the phone already set is left as it is")

		var reads, writes int
		for _, c := range b.hub.Calls() {
			if c.Read != nil {
				reads++
			} else {
				writes++
			}
		}
		require.Equal(t, 1, reads, "one read for the whole group")
		require.Equal(t, 1, writes, "the record with a phone has nothing left to write")
		rec, _ := b.hub.Record("contacts", withPhone)
		require.Equal(t, "+1 555 0100", rec["mobilephone"])
		rec, _ = b.hub.Record("contacts", without)
		require.Equal(t, "+1 555 0199", rec["mobilephone"])
	})
}

func TestAutoBatchRetriesUntilSuccess(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		var failures atomic.Int64
		failures.Store(2)
		b.hub.FailCalls(func(*writeback.ProviderRequest) error {
			if failures.Add(-1) >= 0 {
				return &writeback.ProviderError{Class: writeback.ClassRateLimited, StatusCode: 429,
					Code: "RATE_LIMIT", Message: "TEN_SECONDLY_ROLLING", RetryAfter: 10 * time.Second, RecordIndex: writeback.NoRecord}
			}
			return nil
		})
		startWriter(t, b.w)
		start := time.Now()
		id := requireSame(t, createCompanies(t, b.w, "c", 3, autoBatch(time.Second)))
		op := waitOp(t, b.w, id)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		requireCreated(t, b.hub, op, "c")
		require.Equal(t, 3, op.Attempts)
		require.Len(t, b.hub.Writes(), 3)
		require.GreaterOrEqual(t, time.Since(start), time.Second+20*time.Second, "each retry waits RetryAfter")
	})
}

func TestAutoBatchRetriesOnlyRecordsThatFailedRetryably(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		var once atomic.Bool
		b.hub.FailRecords(func(_ *writeback.ProviderRequest, _ int, r writeback.Record) *writeback.ProviderError {
			if r.Fields["name"] == "c2" && once.CompareAndSwap(false, true) {
				return &writeback.ProviderError{Class: writeback.ClassUnavailable, StatusCode: 503, Message: "try again"}
			}
			return nil
		})
		startWriter(t, b.w)
		id := requireSame(t, createCompanies(t, b.w, "c", 5, autoBatch(time.Second)))
		op := waitOp(t, b.w, id)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		requireCreated(t, b.hub, op, "c")
		require.Equal(t, 5, b.hub.Count("companies"), "the records written at the first attempt are not sent again")
		writes := b.hub.Writes()
		require.Len(t, writes, 2)
		require.Len(t, writes[0].Records, 5)
		require.Len(t, writes[1].Records, 1)
		require.Equal(t, "c2", writes[1].Records[0].Fields["name"])
		require.Equal(t, 2, op.Attempts)
	})
}

// blockFirst is a provider whose first Write waits until its context ends,
// as a call in flight when the Writer stops does.
type blockFirst struct {
	*providertest.Fake
	blocked atomic.Bool
	entered chan struct{}
}

func (p *blockFirst) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	if p.blocked.CompareAndSwap(false, true) {
		close(p.entered)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return p.Fake.Write(ctx, req)
}

func TestAutoBatchStopCancelsCallInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		ctx := t.Context()
		p := &blockFirst{Fake: b.hub, entered: make(chan struct{})}
		w := setup(t, withStore(b.store), withProviders(p, b.sf)).w
		startWriter(t, w)
		var ids, existing []string
		for i := range 3 {
			existing = append(existing, b.hub.Seed("companies", map[string]any{"name": "old"}))
			res, err := w.Update(ctx, crmTarget("companies"),
				writeback.Record{ID: existing[i], Fields: map[string]any{"name": fmt.Sprintf("new%d", i)}}, autoBatch(time.Second))
			require.NoError(t, err)
			ids = append(ids, res.OperationID)
		}
		<-p.entered
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		require.ErrorIs(t, w.Stop(sctx), context.DeadlineExceeded)
		op, err := w.Operation(ctx, requireSame(t, ids))
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status, "a cancelled update batch is retried")

		w2 := setup(t, withStore(b.store), withProviders(p, b.sf)).w
		startWriter(t, w2)
		op = waitOp(t, w2, ids[0])
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Equal(t, existing, op.SuccessfulRecordIDs)
		for i, id := range existing {
			rec, _ := b.hub.Record("companies", id)
			require.Equal(t, fmt.Sprintf("new%d", i), rec["name"])
		}
	})
}

func TestAutoBatchFailsAtRetryDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		b.hub.FailCalls(func(*writeback.ProviderRequest) error {
			return &writeback.ProviderError{Class: writeback.ClassUnavailable, StatusCode: 503, Message: "down", RecordIndex: writeback.NoRecord}
		})
		startWriter(t, b.w)
		start := time.Now()
		opts := autoBatch(time.Minute)
		opts.RetryDeadline = 48 * time.Hour // ignored with auto-batching
		opts.AutoBatch.RetryDeadline = 2 * time.Hour
		id := requireSame(t, createCompanies(t, b.w, "c", 3, opts))
		op := waitOp(t, b.w, id)
		require.Equal(t, writeback.OperationFailure, op.Status)
		require.True(t, start.Add(time.Minute+2*time.Hour).Equal(op.Deadline), "retries end 2 h after the flush")
		require.LessOrEqual(t, time.Since(start), time.Minute+2*time.Hour)
		require.Greater(t, op.Attempts, 2)
		for _, r := range op.Results {
			require.Equal(t, writeback.ClassUnavailable, r.Err.Class)
		}
		require.Zero(t, b.hub.Count("companies"))
	})
}

func TestAutoBatchResumesAccumulationAfterRestart(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		ctx := t.Context()
		require.NoError(t, b.w.Start(ctx))
		start := time.Now()
		ids := createCompanies(t, b.w, "c", 2, autoBatch(time.Minute))
		time.Sleep(20 * time.Second)
		require.NoError(t, b.w.Stop(ctx))

		// A new Writer on the same store: the open group keeps accepting
		// records and is written at its original flush time.
		w := setup(t, withStore(b.store), withProviders(b.hub, b.sf)).w
		startWriter(t, w)
		res, err := w.Create(ctx, crmTarget("companies"), company("c2"), autoBatch(time.Second))
		require.NoError(t, err)
		require.Equal(t, requireSame(t, ids), res.OperationID)

		op := waitOp(t, w, res.OperationID)
		require.Equal(t, start.Add(time.Minute), time.Now())
		require.Len(t, op.Results, 3)
		requireCreated(t, b.hub, op, "c")
		require.Len(t, b.hub.Writes(), 1)
	})
}

func TestAutoBatchCompletionNotifies(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var done []*writeback.Operation
		w := setup(t, withOnComplete(func(op *writeback.Operation) {
			mu.Lock()
			defer mu.Unlock()
			done = append(done, op)
		})).w
		startWriter(t, w)
		id := requireSame(t, createCompanies(t, w, "c", 5, autoBatch(time.Second)))
		waitOp(t, w, id)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, done, 1, "one notification for the group")
		require.Equal(t, id, done[0].ID)
		require.Len(t, done[0].Results, 5)
	})
}
