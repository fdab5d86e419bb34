package writeback_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// TestAdapterRefusalIsBadInputInEveryMode writes records the adapters
// refuse before sending (a non-numeric HubSpot ID, a nested map as a
// HubSpot property, a malformed Salesforce ID) in every mode: each is a
// ValidationError naming the field, and nothing is stored or sent.
func TestAdapterRefusalIsBadInputInEveryMode(t *testing.T) {
	t.Parallel()
	b := simSetup(t)
	ctx := t.Context()
	type call func(opts *writeback.WriteOpts) error
	cases := []struct {
		name  string
		call  call
		field string
		modes []*writeback.WriteOpts
	}{
		{"hubspot update id", func(o *writeback.WriteOpts) error {
			_, err := b.w.Update(ctx, hsTarget("companies"), writeback.Record{ID: "abc", Fields: map[string]any{"name": "x"}}, o)
			return err
		}, "record.id", []*writeback.WriteOpts{nil, async, autoBatch(time.Minute)}},
		{"hubspot nested map", func(o *writeback.WriteOpts) error {
			_, err := b.w.Create(ctx, hsTarget("companies"), writeback.Record{Fields: map[string]any{"name": map[string]any{"a": 1}}}, o)
			return err
		}, "record.fields.name", []*writeback.WriteOpts{nil, async, autoBatch(time.Minute)}},
		{"hubspot delete id", func(o *writeback.WriteOpts) error {
			_, err := b.w.Delete(ctx, hsTarget("companies"), "12-ab", o)
			return err
		}, "record.id", []*writeback.WriteOpts{nil}},
		{"salesforce update id", func(o *writeback.WriteOpts) error {
			_, err := b.w.Update(ctx, sfcTarget("Account"), writeback.Record{ID: "001short", Fields: map[string]any{"Name": "x"}}, o)
			return err
		}, "record.id", []*writeback.WriteOpts{nil, async, autoBatch(time.Minute)}},
		{"salesforce reserved field", func(o *writeback.WriteOpts) error {
			_, err := b.w.Create(ctx, sfcTarget("Account"), writeback.Record{Fields: map[string]any{"Name": "x", "attributes": "y"}}, o)
			return err
		}, "record.fields.attributes", []*writeback.WriteOpts{nil, async, autoBatch(time.Minute)}},
	}
	for _, tc := range cases {
		for _, opts := range tc.modes {
			err := tc.call(opts)
			var ve *writeback.ValidationError
			require.True(t, errors.As(err, &ve), "%s: want a ValidationError, got %T %v", tc.name, err, err)
			require.Equal(t, tc.field, ve.Field, tc.name)
			require.ErrorIs(t, err, writeback.ErrInvalidRecord, tc.name)
		}
	}
	require.Zero(t, b.hub.CallCount(), "nothing sent")
	require.Zero(t, b.sf.CallCount(), "nothing sent")
	for _, inst := range []*writeback.Installation{b.hs, b.sfc} {
		page, err := b.w.Operations(ctx, &writeback.OperationListParams{InstallationID: inst.ID})
		require.NoError(t, err)
		require.Empty(t, page.Operations, "nothing stored")
	}
}

// TestPartialBatchNamesEveryRecordTheAdapterRefuses sends a partial batch
// update with two bad HubSpot IDs: the error names both, and nothing is
// written or stored.
func TestPartialBatchNamesEveryRecordTheAdapterRefuses(t *testing.T) {
	t.Parallel()
	b := simSetup(t)
	ctx := t.Context()
	good := b.hub.Seed("companies", map[string]string{"name": "a"})
	_, err := b.w.Batch(ctx, hsTarget("companies"), writeback.WriteTypeUpdate, []writeback.Record{
		{ID: good, Fields: map[string]any{"name": "b"}},
		{ID: "x1", Fields: map[string]any{"name": "c"}},
		{ID: good + "0", Fields: map[string]any{"name": "d"}},
		{ID: "x2", Fields: map[string]any{"name": "e"}},
	}, &writeback.WriteOpts{BatchPolicy: writeback.BatchPartial})
	var ve *writeback.ValidationError
	require.True(t, errors.As(err, &ve), "got %v", err)
	require.Equal(t, "batch[1].id", ve.Field)
	require.Contains(t, ve.Reason, "2 records refused; also batch[3].id")
	require.Equal(t, 0, b.hub.CallCount())
	page, err := b.w.Operations(ctx, &writeback.OperationListParams{InstallationID: b.hs.ID})
	require.NoError(t, err)
	require.Empty(t, page.Operations)
}

// unchecked hides an adapter's RecordChecker, as an adapter without one
// (or a Writer of an earlier version) would accept a record.
type unchecked struct{ writeback.Provider }

// TestAutoBatchIsolatesRecordsTheAdapterRefuses has auto-batch groups
// hold records the HubSpot adapter refuses (they joined through a Writer
// whose adapter did not check them). The Writer that runs the groups fails
// those records alone, without a provider call for them, and writes the
// others in one call.
func TestAutoBatchIsolatesRecordsTheAdapterRefuses(t *testing.T) {
	t.Parallel()
	b := simSetup(t)
	ctx := t.Context()
	accept := b.writer(t, unchecked{b.hubProvider}, b.sfProvider)

	existing := make([]string, 5)
	for i := range existing {
		existing[i] = b.hub.Seed("companies", map[string]string{"name": "old"})
	}
	var ids []string
	for i, id := range existing {
		r := writeback.Record{ID: id, Fields: map[string]any{"name": fmt.Sprintf("new%d", i)}}
		switch i {
		case 1:
			r.ID = "not-a-number"
		case 3:
			r.Fields["name"] = map[string]any{"nested": true}
		}
		res, err := accept.Update(ctx, hsTarget("companies"), r, autoBatch(time.Second))
		require.NoError(t, err)
		ids = append(ids, res.OperationID)
	}
	startWriter(t, b.w)
	op := waitOpReal(t, b.w, requireSame(t, ids))
	require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
	require.Len(t, op.SuccessfulRecordIDs, 3)
	for i, r := range op.Results {
		if i == 1 || i == 3 {
			require.NotNil(t, r.Err, "record %d", i)
			require.Equal(t, writeback.ClassInvalid, r.Err.Class)
			require.Equal(t, i, r.Err.RecordIndex)
			continue
		}
		require.Nil(t, r.Err, "record %d", i)
		rec, _ := b.hub.Record("companies", existing[i])
		require.Equal(t, fmt.Sprintf("new%d", i), rec["name"])
	}
	calls := b.hub.CallsTo("POST", "/batch/update")
	require.Len(t, calls, 1, "the others go out in one call")
	require.False(t, strings.Contains(string(calls[0].Body), "not-a-number"))
}
