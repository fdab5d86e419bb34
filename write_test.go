package writeback_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

func TestCreateAppliesMappingAndDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()

	res, err := b.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{
		"email": "ada@example.com",
		"phone": "+44 1",
	}}, nil)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, res.Status)
	require.Len(t, res.Records, 1)
	require.True(t, res.Records[0].Success())
	id := res.Records[0].ID
	require.NotEmpty(t, id)

	writes := b.hub.Writes()
	require.Len(t, writes, 1)
	require.Equal(t, "contacts", writes[0].Object)
	require.Equal(t, writeback.WriteTypeCreate, writes[0].Type)
	require.False(t, writes[0].Batch)
	require.Equal(t, map[string]any{
		"email":          "ada@example.com",
		"mobilephone":    "+44 1",
		"myCustomSource": "myApp", // default, renamed through the customer's mapping
	}, writes[0].Records[0].Fields)

	got, ok := b.hub.Record("contacts", id)
	require.True(t, ok)
	require.Equal(t, "myApp", got["myCustomSource"])

	op, err := b.w.Operation(ctx, res.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.Equal(t, []string{id}, op.SuccessfulRecordIDs)
	require.Equal(t, b.crm.ID, op.InstallationID)
	require.Equal(t, writeback.ModeSync, op.Mode)
	require.Equal(t, 1, op.Attempts)
	require.NotEmpty(t, op.Logs)
}

func TestUpdateHonoursOverwriteRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	filled := b.hub.Seed("contacts", map[string]any{"email": "a@x.com", "mobilephone": "+1 555"})
	empty := b.hub.Seed("contacts", map[string]any{"email": "b@x.com", "mobilephone": ""})

	// phone is ifEmpty on update: kept where the record has no phone.
	res, err := b.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeUpdate, []writeback.Record{
		{ID: filled, Fields: map[string]any{"phone": "+2", "email": "a2@x.com", "customSource": "never-on-update"}},
		{ID: empty, Fields: map[string]any{"phone": "+3", "email": "b2@x.com"}},
	}, nil)
	require.NoError(t, err)
	require.Equal(t, 2, res.SuccessCount())

	calls := b.hub.Calls()
	require.Len(t, calls, 2, "one read for the whole batch, then one write")
	require.Equal(t, "Read", calls[0].Method)
	require.ElementsMatch(t, []string{filled, empty}, calls[0].Read.IDs)
	require.Equal(t, []string{"mobilephone"}, calls[0].Read.Fields)
	w := calls[1].Write
	require.True(t, w.Batch)
	require.Equal(t, map[string]any{"email": "a2@x.com"}, w.Records[0].Fields, "filled phone kept, customSource never written on update")
	require.Equal(t, map[string]any{"email": "b2@x.com", "mobilephone": "+3"}, w.Records[1].Fields)

	rec, _ := b.hub.Record("contacts", filled)
	require.Equal(t, "+1 555", rec["mobilephone"])
	rec, _ = b.hub.Record("contacts", empty)
	require.Equal(t, "+3", rec["mobilephone"])
}

func TestUpdateLeftEmptyByIfEmptyIsNotSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.hub.Seed("contacts", map[string]any{"mobilephone": "+1"})
	res, err := b.w.Update(t.Context(), crmTarget("contacts"), writeback.Record{ID: id, Fields: map[string]any{"phone": "+9"}}, nil)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, res.Status)
	require.Equal(t, id, res.Records[0].ID)
	require.Empty(t, b.hub.Writes(), "nothing left to write: no provider write")
}

func TestDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.hub.Seed("contacts", map[string]any{"email": "a@x.com"})
	res, err := b.w.Delete(t.Context(), crmTarget("contacts"), id, &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err, "delete ignores the mode and runs now")
	require.Equal(t, writeback.OperationSuccess, res.Status)
	_, ok := b.hub.Record("contacts", id)
	require.False(t, ok)
	op, err := b.w.Operation(t.Context(), res.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.WriteTypeDelete, op.Type)
	require.Equal(t, writeback.ModeSync, op.Mode)
}

func TestHeadersPassThrough(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hs := []writeback.Header{{Key: "Sforce-Auto-Assign", Value: "FALSE"}}
	_, err := b.w.Create(t.Context(), sfTarget(), writeback.Record{Fields: map[string]any{"LastName": "King"}}, &writeback.WriteOpts{Headers: hs})
	require.NoError(t, err)
	writes := b.sf.Writes()
	require.Len(t, writes, 1)
	require.Equal(t, hs, writes[0].Headers)
	require.Equal(t, "https://example.my.salesforce.com", writes[0].Connection.InstanceURL)
}

func TestSingleWriteFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.hub.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
		return &writeback.ProviderError{Class: writeback.ClassConflict, StatusCode: 409, Code: "CONFLICT",
			Message: "Contact already exists. Existing ID: 77", ExistingID: "77", CorrelationID: "corr-1"}
	})
	res, err := b.w.Create(t.Context(), crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "a@x.com"}}, nil)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassConflict, perr.Class)
	require.Equal(t, "77", perr.ExistingID)
	require.False(t, perr.Retryable())
	require.NotNil(t, res)
	require.Equal(t, writeback.OperationFailure, res.Status)
	require.Equal(t, "corr-1", res.Records[0].Err.CorrelationID)

	op, err := b.w.Operation(t.Context(), res.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationFailure, op.Status)
	require.Equal(t, "CONFLICT", op.Results[0].Err.Code)
	require.Empty(t, op.SuccessfulRecordIDs)
}

func TestBatchPolicies(t *testing.T) {
	t.Parallel()
	bad := func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
		if rec.Fields["email"] == "bad" {
			return &writeback.ProviderError{Class: writeback.ClassInvalid, StatusCode: 400, Code: "VALIDATION_ERROR",
				Message: "invalid email", Fields: []string{"email"}}
		}
		return nil
	}
	records := []writeback.Record{
		{Fields: map[string]any{"email": "a@x.com"}},
		{Fields: map[string]any{"email": "bad"}},
		{Fields: map[string]any{"email": "c@x.com"}},
	}

	t.Run("all or nothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.hub.FailRecords(bad)
		res, err := b.w.Batch(t.Context(), crmTarget("contacts"), writeback.WriteTypeCreate, records, nil)
		var perr *writeback.ProviderError
		require.ErrorAs(t, err, &perr)
		require.Equal(t, 1, perr.RecordIndex, "the error names the record that failed the batch")
		require.Equal(t, []string{"email"}, perr.Fields)
		require.Equal(t, writeback.OperationFailure, res.Status)
		require.Equal(t, 0, res.SuccessCount())
		require.Equal(t, writeback.ClassRolledBack, res.Records[0].Err.Class)
		require.Equal(t, writeback.ClassInvalid, res.Records[1].Err.Class)
		require.Equal(t, 0, b.hub.Count("contacts"))
		require.True(t, b.hub.Writes()[0].AllOrNone)
	})
	t.Run("partial", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.hub.FailRecords(bad)
		res, err := b.w.Batch(t.Context(), crmTarget("contacts"), writeback.WriteTypeCreate, records, &writeback.WriteOpts{BatchPolicy: writeback.BatchPartial})
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, res.Status)
		require.Equal(t, 2, res.SuccessCount())
		require.Equal(t, 1, res.FailureCount())
		require.False(t, res.Records[1].Success())
		require.Equal(t, 2, b.hub.Count("contacts"))
		op, err := b.w.Operation(t.Context(), res.OperationID)
		require.NoError(t, err)
		require.Len(t, op.SuccessfulRecordIDs, 2)
		require.Contains(t, op.Summary, "2 succeeded, 1 failed")
	})
}

func TestWholeCallFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.hub.FailCalls(func(*writeback.ProviderRequest) error {
		return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnavailable, StatusCode: 503, Message: "down", RecordIndex: writeback.NoRecord}
	})
	res, err := b.w.Batch(t.Context(), crmTarget("contacts"), writeback.WriteTypeCreate, []writeback.Record{
		{Fields: map[string]any{"email": "a@x.com"}}, {Fields: map[string]any{"email": "b@x.com"}},
	}, nil)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.True(t, perr.Retryable())
	require.Equal(t, writeback.OperationFailure, res.Status)
	for _, r := range res.Records {
		require.Equal(t, writeback.ClassUnavailable, r.Err.Class)
	}
}

func TestSyncIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	opts := &writeback.WriteOpts{IdempotencyKey: "order-1"}
	r := writeback.Record{Fields: map[string]any{"email": "a@x.com"}}
	first, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
	require.NoError(t, err)
	again, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
	require.NoError(t, err)
	require.Equal(t, first.OperationID, again.OperationID)
	require.Equal(t, first.Records[0].ID, again.Records[0].ID)
	require.Len(t, b.hub.Writes(), 1, "the repeat must not write again")

	_, err = b.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "other@x.com"}}, opts)
	require.ErrorIs(t, err, writeback.ErrIdempotencyMismatch)
	require.Len(t, b.hub.Writes(), 1)
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	id := b.hub.Seed("contacts", map[string]any{"mobilephone": "+1"})

	dr, err := b.w.DryRun(ctx, crmTarget("contacts"), writeback.WriteTypeCreate, []writeback.Record{{Fields: map[string]any{"email": "a@x.com"}}}, nil)
	require.NoError(t, err)
	require.Equal(t, "contacts", dr.Request.Object)
	require.False(t, dr.Request.Batch)
	require.Nil(t, dr.Request.TokenSource)
	require.Equal(t, map[string]any{"email": "a@x.com", "myCustomSource": "myApp"}, dr.Request.Records[0].Fields)

	dr, err = b.w.DryRun(ctx, crmTarget("contacts"), writeback.WriteTypeUpdate, []writeback.Record{
		{ID: id, Fields: map[string]any{"phone": "+2"}},
	}, nil)
	require.NoError(t, err)
	require.Equal(t, []int{0}, dr.Unchanged, "ifEmpty drops the phone the record already has")
	require.Empty(t, dr.Request.Records)

	require.Empty(t, b.hub.Writes(), "a dry run never writes")
	require.Empty(t, b.operations(t, b.crm), "a dry run records no operation")

	_, err = b.w.DryRun(ctx, crmTarget("deals"), writeback.WriteTypeCreate, []writeback.Record{{Fields: map[string]any{"a": 1}}}, nil)
	require.ErrorIs(t, err, writeback.ErrObjectNotEnabled)
}

func TestOperationsPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	var ids []string
	for i := range 5 {
		res, err := b.w.Create(ctx, crmTarget("companies"), writeback.Record{Fields: map[string]any{"name": i}}, nil)
		require.NoError(t, err)
		ids = append(ids, res.OperationID)
	}
	var got []string
	token := ""
	for {
		page, err := b.w.Operations(ctx, &writeback.OperationListParams{InstallationID: b.crm.ID, PageToken: token, PageSize: 2})
		require.NoError(t, err)
		for _, op := range page.Operations {
			got = append(got, op.ID)
		}
		if page.Done {
			require.Empty(t, page.NextPageToken)
			break
		}
		token = page.NextPageToken
	}
	require.Equal(t, ids, got)

	_, err := b.w.Operation(ctx, "missing")
	require.ErrorIs(t, err, writeback.ErrNotFound)
	require.EqualError(t, err, `writeback: operation "missing": not found`, "the ID once, one prefix")
	_, err = b.w.Operations(ctx, &writeback.OperationListParams{InstallationID: b.crm.ID, PageSize: writeback.MaxPageSize + 1})
	require.ErrorIs(t, err, writeback.ErrInvalidOptions)
	_, err = b.w.Operations(ctx, &writeback.OperationListParams{InstallationID: b.crm.ID, Status: "lost"})
	require.ErrorIs(t, err, writeback.ErrInvalidOptions)
	_, err = b.w.Operations(ctx, &writeback.OperationListParams{Type: "merge"})
	require.ErrorIs(t, err, writeback.ErrInvalidOptions)
}

func TestOperationsByStatus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	b.hub.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
		if rec.Fields["name"] == "bad" {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, Message: "refused", RecordIndex: 0}
		}
		return nil
	})
	var failed []string
	for i := range 7 {
		name := any(i)
		if i%3 == 0 {
			name = "bad"
		}
		res, err := b.w.Create(ctx, crmTarget("companies"), writeback.Record{Fields: map[string]any{"name": name}}, nil)
		if i%3 == 0 {
			require.Error(t, err)
			failed = append(failed, res.OperationID)
		} else {
			require.NoError(t, err)
		}
	}
	var got []string
	params := &writeback.OperationListParams{InstallationID: b.crm.ID, Status: writeback.OperationFailure, PageSize: 2}
	for {
		page, err := b.w.Operations(ctx, params)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Operations), 2)
		for _, op := range page.Operations {
			require.Equal(t, writeback.OperationFailure, op.Status)
			got = append(got, op.ID)
		}
		if page.Done {
			break
		}
		params.PageToken = page.NextPageToken
	}
	require.Equal(t, failed, got)
}

func TestCanceledContextWritesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := b.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "a@x.com"}}, nil)
	require.True(t, errors.Is(err, context.Canceled))
	require.Empty(t, b.hub.Calls())
}
