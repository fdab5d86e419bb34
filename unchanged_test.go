package writeback_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

// In setup's installation, customSource is never written on update and
// phone only if empty: an update of customSource alone leaves nothing to
// write.

func TestUpdateLeftEmptyByRulesIsUnchanged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	id := b.hub.Seed("contacts", map[string]any{"email": "a@x.com"})

	res, err := b.w.Update(ctx, crmTarget("contacts"), writeback.Record{ID: id, Fields: map[string]any{"customSource": "x"}}, nil)
	require.NoError(t, err, "the rules exist to prevent overwriting: nothing to write is not an error")
	require.Equal(t, writeback.OperationSuccess, res.Status)
	require.True(t, res.Records[0].Unchanged)
	require.Equal(t, id, res.Records[0].ID)
	require.Zero(t, res.SuccessCount(), "not counted as written")
	require.Equal(t, 1, res.UnchangedCount())
	require.Empty(t, b.hub.Calls(), "no provider call")

	op, err := b.w.Operation(ctx, res.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.Empty(t, op.SuccessfulRecordIDs, "an unchanged record is not listed as written")
	require.Contains(t, op.Summary, "unchanged")

	dr, err := b.w.DryRun(ctx, crmTarget("contacts"), writeback.WriteTypeUpdate, []writeback.Record{{ID: id, Fields: map[string]any{"customSource": "x"}}}, nil)
	require.NoError(t, err)
	require.Equal(t, []int{0}, dr.Unchanged)
	require.Empty(t, dr.Request.Records)
}

func TestBatchWithRecordLeftEmptyByRulesWritesTheRest(t *testing.T) {
	t.Parallel()
	for _, policy := range []writeback.BatchPolicy{writeback.BatchPartial, writeback.BatchAllOrNothing} {
		b := setup(t)
		ctx := t.Context()
		a := b.hub.Seed("contacts", map[string]any{"email": "a@x.com"})
		c := b.hub.Seed("contacts", map[string]any{"email": "c@x.com"})
		res, err := b.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeUpdate, []writeback.Record{
			{ID: a, Fields: map[string]any{"customSource": "never on update"}},
			{ID: c, Fields: map[string]any{"email": "c2@x.com"}},
		}, &writeback.WriteOpts{BatchPolicy: policy})
		require.NoError(t, err, "policy %d", policy)
		require.Equal(t, writeback.OperationSuccess, res.Status)
		require.True(t, res.Records[0].Unchanged)
		require.True(t, res.Records[1].Written())
		writes := b.hub.Writes()
		require.Len(t, writes, 1)
		require.Len(t, writes[0].Records, 1, "only the record with something to write is sent")
		rec, _ := b.hub.Record("contacts", c)
		require.Equal(t, "c2@x.com", rec["email"])
		op, err := b.w.Operation(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, []string{c}, op.SuccessfulRecordIDs)
		require.Contains(t, op.Summary, "1 succeeded, 0 failed, 1 unchanged")
	}
}

func TestAsyncAndAutoBatchedUpdatesLeftEmptyByRules(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		startWriter(t, b.w)
		ctx := t.Context()
		id := b.hub.Seed("contacts", map[string]any{"email": "a@x.com"})
		other := b.hub.Seed("contacts", map[string]any{"email": "b@x.com"})

		res, err := b.w.Update(ctx, crmTarget("contacts"), writeback.Record{ID: id, Fields: map[string]any{"customSource": "x"}}, async)
		require.NoError(t, err)
		op := waitOp(t, b.w, res.OperationID)
		require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
		require.True(t, op.Results[0].Unchanged)
		require.Empty(t, b.hub.Writes())

		var ops []string
		for _, r := range []writeback.Record{
			{ID: id, Fields: map[string]any{"customSource": "x"}},
			{ID: other, Fields: map[string]any{"email": "b2@x.com"}},
		} {
			res, err := b.w.Update(ctx, crmTarget("contacts"), r, autoBatch(time.Second))
			require.NoError(t, err)
			ops = append(ops, res.OperationID)
		}
		op = waitOp(t, b.w, requireSame(t, ops))
		require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
		require.True(t, op.Results[0].Unchanged)
		require.True(t, op.Results[1].Written())
		require.Equal(t, []string{other}, op.SuccessfulRecordIDs)
		writes := b.hub.Writes()
		require.Len(t, writes, 1)
		require.Len(t, writes[0].Records, 1, "no provider call for the unchanged record")
	})
}

// badRecord fails records whose email is "bad" as the provider would.
func badRecord(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
	if rec.Fields["email"] == "bad" {
		return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, StatusCode: 400,
			Code: "VALIDATION_ERROR", Message: "invalid email", RecordIndex: 0}
	}
	return nil
}

func TestAllOrNothingBatchWithUnchangedRecordFailsHonestly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	b.hub.FailRecords(badRecord)
	withPhone := b.hub.Seed("contacts", map[string]any{"email": "a@x.com", "mobilephone": "+1"})
	other := b.hub.Seed("contacts", map[string]any{"email": "b@x.com"})

	res, err := b.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeUpdate, []writeback.Record{
		{ID: withPhone, Fields: map[string]any{"phone": "+2"}}, // ifEmpty: left unchanged
		{ID: other, Fields: map[string]any{"email": "bad"}},
	}, nil)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr, "a record that needed writing was not written: the batch failed")
	require.Equal(t, writeback.OperationFailure, res.Status)
	require.Zero(t, res.SuccessCount())
	require.True(t, res.Records[0].Unchanged)
	require.Equal(t, writeback.ClassInvalid, res.Records[1].Err.Class)

	op, err := b.w.Operation(ctx, res.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationFailure, op.Status)
	require.Empty(t, op.SuccessfulRecordIDs, "the unchanged record is not a success of the failed batch")
	require.Contains(t, op.Summary, "batch write failed (0 succeeded, 1 failed, 1 unchanged)")
}

func TestAsyncAllOrNothingBatchWithUnchangedRecordRetries(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		startWriter(t, b.w)
		ctx := t.Context()
		// The first attempt's record fails retryably, alone (as a
		// Salesforce UNABLE_TO_LOCK_ROW does per record).
		failures := 1
		b.hub.FailRecords(func(*writeback.ProviderRequest, int, writeback.Record) *writeback.ProviderError {
			if failures > 0 {
				failures--
				return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnavailable, Code: "UNABLE_TO_LOCK_ROW", Message: "locked"}
			}
			return nil
		})
		withPhone := b.hub.Seed("contacts", map[string]any{"email": "a@x.com", "mobilephone": "+1"})
		other := b.hub.Seed("contacts", map[string]any{"email": "b@x.com"})
		res, err := b.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeUpdate, []writeback.Record{
			{ID: withPhone, Fields: map[string]any{"phone": "+2"}},
			{ID: other, Fields: map[string]any{"email": "b2@x.com"}},
		}, async)
		require.NoError(t, err)
		op := waitOp(t, b.w, res.OperationID)
		require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
		require.Equal(t, 2, op.Attempts, "the retryable failure is retried: no record had been written")
		require.Equal(t, []string{other}, op.SuccessfulRecordIDs)
		rec, _ := b.hub.Record("contacts", other)
		require.Equal(t, "b2@x.com", rec["email"])
	})
}

// TestAllOrNothingHonestOnSimulators runs an all-or-nothing batch update
// in which one record is left unchanged by ifEmpty and the other fails at
// the provider, through both adapters and simulators.
func TestAllOrNothingHonestOnSimulators(t *testing.T) {
	t.Parallel()
	b := simSetup(t)
	ctx := t.Context()

	t.Run("hubspot", func(t *testing.T) {
		withPhone := b.hub.Seed("contacts", map[string]string{"email": "a@x.com", "phone": "+1"})
		other := b.hub.Seed("contacts", map[string]string{"email": "b@x.com"})
		res, err := b.w.Batch(ctx, hsTarget("contacts"), writeback.WriteTypeUpdate, []writeback.Record{
			{ID: withPhone, Fields: map[string]any{"phone": "+2"}},
			{ID: other, Fields: map[string]any{"lifecyclestage": "lead", "hs_lead_status": "NOT_AN_OPTION"}},
		}, nil)
		require.Error(t, err)
		require.Equal(t, writeback.OperationFailure, res.Status)
		require.True(t, res.Records[0].Unchanged)
		require.NotNil(t, res.Records[1].Err)
		op, err := b.w.Operation(ctx, res.OperationID)
		require.NoError(t, err)
		require.Empty(t, op.SuccessfulRecordIDs)
		rec, _ := b.hub.Record("contacts", withPhone)
		require.Equal(t, "+1", rec["phone"])
	})
	t.Run("salesforce", func(t *testing.T) {
		withPhone := b.sf.Seed("Contact", map[string]any{"LastName": "A", "MobilePhone": "+1"})
		other := b.sf.Seed("Contact", map[string]any{"LastName": "B"})
		res, err := b.w.Batch(ctx, sfcTarget("Contact"), writeback.WriteTypeUpdate, []writeback.Record{
			{ID: withPhone, Fields: map[string]any{"MobilePhone": "+2"}},
			{ID: other, Fields: map[string]any{"NoSuchField__c": "x"}},
		}, nil)
		require.Error(t, err)
		require.Equal(t, writeback.OperationFailure, res.Status)
		require.True(t, res.Records[0].Unchanged)
		require.NotNil(t, res.Records[1].Err)
		op, err := b.w.Operation(ctx, res.OperationID)
		require.NoError(t, err)
		require.Empty(t, op.SuccessfulRecordIDs)
	})
}

// TestUnchangedWriteNeedsNoCredentials: a write the rules leave with
// nothing to write makes no provider call and needs no token, in every
// mode: a failing token source does not fail it.
func TestUnchangedWriteNeedsNoCredentials(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		w := b.writerWith(t, func(c *writeback.Config) {
			c.TokenSourceFunc = func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
				return nil, errors.New("no credentials")
			}
		})
		startWriter(t, w)
		ctx := t.Context()
		id := b.hub.Seed("contacts", map[string]any{"email": "a@x.com"})
		r := writeback.Record{ID: id, Fields: map[string]any{"customSource": "x"}}
		res, err := w.Update(ctx, crmTarget("contacts"), r, nil)
		require.NoError(t, err)
		require.True(t, res.Records[0].Unchanged)
		for _, opts := range []*writeback.WriteOpts{async, autoBatch(time.Second)} {
			res, err := w.Update(ctx, crmTarget("contacts"), r, opts)
			require.NoError(t, err)
			op := waitOp(t, w, res.OperationID)
			require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
			require.True(t, op.Results[0].Unchanged)
		}
		require.Empty(t, b.hub.Calls())
	})
}

// writerWith returns another Writer on the bundle's store, with the
// bundle's providers and manifest, and its config changed by mutate.
func (b *bundle) writerWith(t *testing.T, mutate func(*writeback.Config)) *writeback.Writer {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(testManifest))
	require.NoError(t, err)
	cfg := &writeback.Config{
		Manifest:        m,
		Providers:       []writeback.Provider{b.hub, b.sf},
		Store:           b.store,
		TokenSourceFunc: providertest.StaticTokens("test-token"),
	}
	mutate(cfg)
	w, err := writeback.NewWriter(cfg)
	require.NoError(t, err)
	return w
}
