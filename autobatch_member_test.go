package writeback_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// TestAutoBatchEachWriterFindsItsOwnRecord has concurrent writers
// auto-batch creates into one group per provider. Each gets its own
// member handle, and waiting on it gives the ID of the record it created
// (Salesforce creates echo no fields: the ID is the only link).
func TestAutoBatchEachWriterFindsItsOwnRecord(t *testing.T) {
	t.Parallel()
	b := simSetup(t)
	startWriter(t, b.w)
	const writers = 24
	cases := []struct {
		name   string
		target writeback.Target
		field  string
		record func(id string) (any, bool)
	}{
		{"hubspot", hsTarget("companies"), "name", func(id string) (any, bool) {
			rec, ok := b.hub.Record("companies", id)
			return rec["name"], ok
		}},
		{"salesforce", sfcTarget("Account"), "Name", func(id string) (any, bool) {
			rec, ok := b.sf.Record("Account", id)
			return rec["Name"], ok
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				masters = map[string]bool{}
				members = map[int]bool{}
			)
			for i := range writers {
				wg.Go(func() {
					name := fmt.Sprintf("%s-writer-%d", tc.name, i)
					res, err := b.w.Create(ctx, tc.target, writeback.Record{Fields: map[string]any{tc.field: name}}, autoBatch(time.Second))
					if !assertNoError(t, err) {
						return
					}
					mu.Lock()
					masters[res.OperationID] = true
					members[res.Member] = true
					mu.Unlock()
					if res.MemberID != fmt.Sprintf("%s:%d", res.OperationID, res.Member) {
						t.Errorf("member handle %q for member %d of %s", res.MemberID, res.Member, res.OperationID)
					}
					op, err := b.w.Wait(ctx, res.MemberID)
					if !assertNoError(t, err) {
						return
					}
					if op.Status != writeback.OperationSuccess || len(op.Results) != 1 || op.Group != res.OperationID || op.ID != res.MemberID {
						t.Errorf("writer %d: %+v", i, op)
						return
					}
					got, ok := tc.record(op.Results[0].ID)
					if !ok || got != name {
						t.Errorf("writer %d: record %s holds %v, not its own %q", i, op.Results[0].ID, got, name)
					}
					if len(op.SuccessfulRecordIDs) != 1 || op.SuccessfulRecordIDs[0] != op.Results[0].ID {
						t.Errorf("writer %d: successful IDs %v", i, op.SuccessfulRecordIDs)
					}
				})
			}
			wg.Wait()
			require.Len(t, masters, 1, "one group")
			require.Len(t, members, writers, "each writer its own position")
		})
	}
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

func TestAutoBatchMemberView(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	b.hub.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
		if rec.Fields["name"] == "bad" {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, Message: "refused", RecordIndex: 0}
		}
		return nil
	})
	good, err := b.w.Create(ctx, crmTarget("companies"), company("good"), autoBatch(time.Second))
	require.NoError(t, err)
	bad, err := b.w.Create(ctx, crmTarget("companies"), company("bad"), autoBatch(time.Second))
	require.NoError(t, err)
	require.Equal(t, 0, good.Member)
	require.Equal(t, 1, bad.Member)

	// Before the group runs: the record is in progress.
	op, err := b.w.Operation(ctx, bad.MemberID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationInProgress, op.Status)
	require.Empty(t, op.Results)
	_, err = b.w.Operation(ctx, good.OperationID+":2")
	require.ErrorIs(t, err, writeback.ErrNotFound, "no third member")

	startWriter(t, b.w)
	op = waitOpReal(t, b.w, bad.MemberID)
	require.Equal(t, writeback.OperationFailure, op.Status, "this record failed, though the group succeeded")
	require.Equal(t, writeback.ClassInvalid, op.Results[0].Err.Class)
	op = waitOpReal(t, b.w, good.MemberID)
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.Len(t, op.SuccessfulRecordIDs, 1)
	group, err := b.w.Operation(ctx, good.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, group.Status)
	require.Len(t, group.Results, 2)

	sync, err := b.w.Create(ctx, crmTarget("companies"), company("plain"), nil)
	require.NoError(t, err)
	require.Empty(t, sync.MemberID)
	_, err = b.w.Operation(ctx, sync.OperationID+":0")
	require.ErrorIs(t, err, writeback.ErrNotFound, "a write that is not auto-batched has no members")
}
