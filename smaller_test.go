package writeback_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// TestCallerValueUnderProviderNameBeatsDefault: a value the caller sends
// under the provider's field name is not replaced by a default keyed by
// the application's name for the same field.
func TestCallerValueUnderProviderNameBeatsDefault(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// customSource is mapped to myCustomSource, with the default "myApp".
	_, err := b.w.Create(t.Context(), crmTarget("contacts"), writeback.Record{Fields: map[string]any{
		"email": "a@x.com", "myCustomSource": "from the caller",
	}}, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"email": "a@x.com", "myCustomSource": "from the caller"}, b.hub.Writes()[0].Records[0].Fields)
}

// TestDeleteIgnoresAsyncOptions: a delete ignores the retry deadline of
// async writes, as it ignores their mode.
func TestDeleteIgnoresAsyncOptions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.hub.Seed("contacts", map[string]any{"email": "a@x.com"})
	res, err := b.w.Delete(t.Context(), crmTarget("contacts"), id, &writeback.WriteOpts{Mode: writeback.ModeAsync, RetryDeadline: 2 * time.Hour})
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, res.Status)
	_, ok := b.hub.Record("contacts", id)
	require.False(t, ok)
}

// TestSyncWriteCutOffByCallerDeadline: a sync write whose caller's
// deadline ends while the provider is called reports the context's error;
// a create that may have been sent stays an unknown outcome.
func TestSyncWriteCutOffByCallerDeadline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		class writeback.ErrorClass // what the provider call reports
		want  writeback.ErrorClass
	}{
		{"update, as the transport classifies it", writeback.ClassUnavailable, writeback.ClassCanceled},
		{"create that may have been sent", writeback.ClassUnknownOutcome, writeback.ClassUnknownOutcome},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
			defer cancel()
			b.hub.FailCalls(func(*writeback.ProviderRequest) error {
				cancel() // the deadline passes during the call
				return &writeback.ProviderError{Provider: "hubspot", Class: tc.class, Message: "context canceled", RecordIndex: writeback.NoRecord, Err: context.Canceled}
			})
			res, err := b.w.Create(ctx, crmTarget("companies"), company("a"), nil)
			require.ErrorIs(t, err, context.Canceled)
			var perr *writeback.ProviderError
			require.ErrorAs(t, err, &perr)
			require.Equal(t, tc.want, perr.Class)
			require.Equal(t, writeback.OperationFailure, res.Status)
			op, err := b.w.Operation(t.Context(), res.OperationID)
			require.NoError(t, err)
			require.Equal(t, tc.want, op.Results[0].Err.Class, "stored as such")
		})
	}
}

// TestQueuedWriteNoLongerAllowedFailsAtRunTime: async writes queued before
// their object was disabled, their integration removed from the manifest
// or their installation deleted fail when they run, with a clear error,
// and are not written.
func TestQueuedWriteNoLongerAllowedFailsAtRunTime(t *testing.T) {
	t.Parallel()
	changes := map[string]struct {
		change func(t *testing.T, b *bundle) *writeback.Writer
		code   string
		class  writeback.ErrorClass
	}{
		"object disabled": {func(t *testing.T, b *bundle) *writeback.Writer {
			_, err := b.w.UpdateInstallation(t.Context(), b.crm.ID, &writeback.Installation{}, []string{"config.content.write.objects.companies"})
			require.NoError(t, err)
			return b.w
		}, writeback.CodeObjectDisabled, writeback.ClassInvalid},
		"integration removed": {func(t *testing.T, b *bundle) *writeback.Writer {
			manifest := strings.Replace(testManifest, "        - objectName: companies\n", "", 1)
			require.NotEqual(t, testManifest, manifest)
			return setup(t, withStore(b.store), withProviders(b.hub, b.sf), withManifest(manifest)).w
		}, writeback.CodeObjectDisabled, writeback.ClassInvalid},
		"installation deleted": {func(t *testing.T, b *bundle) *writeback.Writer {
			require.NoError(t, b.w.DeleteInstallation(t.Context(), b.crm.ID))
			return b.w
		}, writeback.CodeInstallationDeleted, writeback.ClassNotFound},
	}
	for name, tc := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t)
				ctx := t.Context()
				plain, err := b.w.Create(ctx, crmTarget("companies"), company("a"), async)
				require.NoError(t, err)
				grouped, err := b.w.Create(ctx, crmTarget("companies"), company("b"), autoBatch(time.Second))
				require.NoError(t, err)
				w := tc.change(t, b)
				startWriter(t, w)
				for _, id := range []string{plain.OperationID, grouped.OperationID} {
					op := waitOp(t, w, id)
					require.Equal(t, writeback.OperationFailure, op.Status, op.Summary)
					require.Equal(t, tc.class, op.Results[0].Err.Class)
					require.Equal(t, tc.code, op.Results[0].Err.Code)
				}
				require.Empty(t, b.hub.Writes(), "nothing written")
			})
		})
	}
}

// TestUnmappedFieldStrippedIsLogged: a field stripped because the customer
// left it unmapped leaves a line in the operation's log, in every mode.
func TestUnmappedFieldStrippedIsLogged(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := setup(t)
		startWriter(t, b.w)
		ctx := t.Context()
		// region is an optional mapped field the customer left unmapped.
		r := writeback.Record{Fields: map[string]any{"email": "a@x.com", "region": "EU"}}
		var ids []string
		for _, opts := range []*writeback.WriteOpts{nil, async, autoBatch(time.Second)} {
			res, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
			require.NoError(t, err)
			ids = append(ids, res.OperationID)
		}
		for _, id := range ids {
			op := waitOp(t, b.w, id)
			found := false
			for _, l := range op.Logs {
				if strings.Contains(l.Message, "region not written: the installation leaves them unmapped") {
					found = true
				}
			}
			require.True(t, found, "operation %s logs: %+v", id, op.Logs)
		}
		for _, wr := range b.hub.Writes() {
			require.NotContains(t, wr.Records[0].Fields, "region")
		}
	})
}

// TestRetryDeadlineFromOneMinute: async writes may ask for a retry
// deadline from one minute, like the auto-batch delay's floor below the
// hosted service's.
func TestRetryDeadlineFromOneMinute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.w.Create(t.Context(), crmTarget("companies"), company("a"), &writeback.WriteOpts{Mode: writeback.ModeAsync, RetryDeadline: time.Minute})
	require.NoError(t, err)
	op, err := b.w.Operation(t.Context(), res.OperationID)
	require.NoError(t, err)
	require.Equal(t, time.Minute, op.Deadline.Sub(op.CreatedAt))
	_, err = b.w.Create(t.Context(), crmTarget("companies"), company("a"), &writeback.WriteOpts{Mode: writeback.ModeAsync,
		AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Second, RetryDeadline: 5 * time.Minute}})
	require.NoError(t, err)
}

// TestWaitOnWriterNeverStarted: Wait on a Writer never started says so
// when ctx ends; Running reports whether it runs.
func TestWaitOnWriterNeverStarted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.w.Create(t.Context(), crmTarget("companies"), company("a"), async)
	require.NoError(t, err)
	require.False(t, b.w.Running())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	_, err = b.w.Wait(ctx, res.OperationID)
	require.ErrorIs(t, err, writeback.ErrNotStarted)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	startWriter(t, b.w)
	require.True(t, b.w.Running())
	op := waitOpReal(t, b.w, res.OperationID)
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.NoError(t, b.w.Stop(t.Context()))
	require.False(t, b.w.Running())
}

// TestUnknownObjectListsTheValidOnes.
func TestUnknownObjectListsTheValidOnes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.w.Create(t.Context(), crmTarget("contcts"), company("a"), nil)
	var ve *writeback.ValidationError
	require.True(t, errors.As(err, &ve))
	require.ErrorIs(t, err, writeback.ErrUnknownObject)
	require.Contains(t, ve.Reason, "(write objects: contacts, companies, deals)")
}
