package writeback_test

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

// refuse makes fake refuse records whose email is in bad, until the
// returned func is called.
func refuse(fake *providertest.Fake, bad ...string) (fix func()) {
	var fixed atomic.Bool
	fake.FailRecords(func(_ *writeback.ProviderRequest, i int, rec writeback.Record) *writeback.ProviderError {
		for _, b := range bad {
			if !fixed.Load() && rec.Fields["email"] == b {
				return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, StatusCode: 400,
					Code: "PROPERTY_DOESNT_EXIST", Message: "no such property", CorrelationID: "corr-" + b, RecordIndex: i}
			}
		}
		return nil
	})
	return func() { fixed.Store(true) }
}

// TestRetryFailedSync retries a sync create the provider refused, once the
// cause is fixed: it is queued on the same operation and written by the
// started Writer.
func TestRetryFailedSync(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		fix := refuse(fake, "ada@example.com")
		e := setup(t, asyncContacts(fake))
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), nil)
		require.Error(t, err)
		require.Equal(t, writeback.OperationFailure, res.Status)

		fix()
		start := time.Now()
		op, err := e.w.Retry(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status)
		require.Empty(t, op.Results, "sent again whole")
		require.True(t, start.Add(time.Hour).Equal(op.Deadline), "a sync write retries for an hour")
		require.Contains(t, op.Logs[len(op.Logs)-1].Message, "retry requested: 1 of 1 records are sent again")
		stored, err := e.w.Operation(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, op.Summary, stored.Summary)
		_, err = e.w.Retry(ctx, res.OperationID)
		requireCannot(t, err, writeback.ErrCannotRetry)
		require.ErrorContains(t, err, "is in progress")

		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		op, err = e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
		require.Equal(t, 2, op.Attempts)
		require.Equal(t, 1, fake.Count("contacts"))
		require.Equal(t, writeback.ModeSync, op.Mode, "the operation is the same")
		require.Equal(t, 1, e.completions(op.ID))

		_, err = e.w.Retry(ctx, res.OperationID)
		requireCannot(t, err, writeback.ErrCannotRetry)
		require.ErrorContains(t, err, "wrote every record")
	})
}

// TestRetryPartialBatch retries only the records of a partial batch that
// were not written.
func TestRetryPartialBatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		fix := refuse(fake, "b@x.com")
		e := setup(t, asyncContacts(fake))
		res, err := e.w.Batch(ctx, contacts, writeback.WriteTypeCreate,
			[]writeback.Record{contact("a@x.com"), contact("b@x.com"), contact("c@x.com")},
			&writeback.WriteOpts{BatchPolicy: writeback.BatchPartial})
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, res.Status)
		written := res.Records[0].ID

		fix()
		op, err := e.w.Retry(ctx, res.OperationID)
		require.NoError(t, err)
		require.Len(t, op.Results, 3, "the results so far")
		require.Equal(t, "retry requested: 1 of 3 records are sent again", op.Summary)
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		op, err = e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Zero(t, op.FailureCount(), op.Summary)
		require.Equal(t, written, op.Results[0].ID, "a written record keeps its result")
		writes := fake.Writes()
		require.Len(t, writes, 2)
		require.Len(t, writes[1].Records, 1, "only the refused record is sent again")
		require.Equal(t, "b@x.com", writes[1].Records[0].Fields["email"])
		require.Equal(t, 3, fake.Count("contacts"))
	})
}

// TestRetryRetriesUntilNewDeadline retries an async write whose retry
// deadline passed: the new attempt retries retryable failures again, until
// a fresh deadline.
func TestRetryRetriesUntilNewDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		var down atomic.Bool
		down.Store(true)
		fake.FailCalls(func(*writeback.ProviderRequest) error {
			if down.Load() {
				return unavailable(0)
			}
			return nil
		})
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		op, err := e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationFailure, op.Status)
		attempts := op.Attempts

		op, err = e.w.Retry(ctx, res.OperationID)
		require.NoError(t, err)
		require.True(t, time.Now().Add(time.Hour).Equal(op.Deadline))
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		op, err = e.w.Operation(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status, "retrying")
		require.Greater(t, op.Attempts, attempts+1, "attempts count on")
		down.Store(false)
		op, err = e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
	})
}

func TestRetryRefused(t *testing.T) {
	t.Parallel()
	unknown := &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnknownOutcome,
		Message: "timeout after the request was sent", RecordIndex: writeback.NoRecord}
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		fake.FailCalls((&callLog{errs: []error{unknown}}).rule)
		e := setup(t, asyncContacts(fake))
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), nil)
		require.Error(t, err)
		_, err = e.w.Retry(ctx, res.OperationID)
		requireCannot(t, err, writeback.ErrCannotRetry)
		require.ErrorContains(t, err, "creates whose outcome is unknown")

		queued, err := e.w.Create(ctx, contacts, contact("bob@example.com"), async)
		require.NoError(t, err)
		_, err = e.w.Retry(ctx, queued.OperationID)
		requireCannot(t, err, writeback.ErrCannotRetry)
		_, err = e.w.Retry(ctx, "missing")
		require.ErrorIs(t, err, writeback.ErrNotFound)
	})
}

// TestRetryOmitValues keeps no records on failed operations, so they
// cannot be retried, and no provider data in results.
func TestRetryOmitValues(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	refuse(fake, "ada@example.com")
	e := setup(t, asyncContacts(fake), withRetention(writeback.Retention{OmitValues: true}))
	res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), nil)
	require.Error(t, err)
	op, err := e.w.Operation(ctx, res.OperationID)
	require.NoError(t, err)
	require.Equal(t, "corr-ada@example.com", op.Results[0].Err.CorrelationID, "errors are kept")
	_, err = e.w.Retry(ctx, res.OperationID)
	requireCannot(t, err, writeback.ErrCannotRetry)
	require.ErrorContains(t, err, "stored without field values")
}
