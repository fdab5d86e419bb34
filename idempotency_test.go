package writeback_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// failFirst makes the fake's first n writes fail as a whole with err.
func failFirst(b *bundle, n int, err error) {
	var calls atomic.Int32
	b.hub.FailCalls(func(*writeback.ProviderRequest) error {
		if int(calls.Add(1)) <= n {
			return err
		}
		return nil
	})
}

// TestIdempotencyKeyFreedByFailureThatWroteNothing: a sync create whose
// failure surely wrote nothing (unavailable, rate limited) leaves the key
// free for a retry, which writes; the retry's success is then what the key
// leads to.
func TestIdempotencyKeyFreedByFailureThatWroteNothing(t *testing.T) {
	t.Parallel()
	for name, cause := range map[string]error{
		"503": unavailable(1),
		"429": rateLimited(time.Second),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := t.Context()
			failFirst(b, 1, cause)
			opts := &writeback.WriteOpts{IdempotencyKey: "order-1"}
			r := writeback.Record{Fields: map[string]any{"email": "a@x.com"}}

			first, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
			require.Error(t, err)
			require.Equal(t, writeback.OperationFailure, first.Status)

			retry, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
			require.NoError(t, err, "nothing was written: the retry writes")
			require.NotEqual(t, first.OperationID, retry.OperationID)
			require.Len(t, b.hub.Writes(), 2)
			require.Equal(t, 1, b.hub.Count("contacts"))

			again, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
			require.NoError(t, err)
			require.Equal(t, retry.OperationID, again.OperationID, "the key now leads to the success")
			require.Len(t, b.hub.Writes(), 2, "no third write")
		})
	}
}

// TestIdempotencyKeyKeptByFailureThatMayHaveWritten: an unknown outcome or
// a failure that is not retryable keeps the key on the failed operation.
func TestIdempotencyKeyKeptByFailureThatMayHaveWritten(t *testing.T) {
	t.Parallel()
	for name, cause := range map[string]error{
		"unknown outcome": &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnknownOutcome, Message: "no answer", RecordIndex: writeback.NoRecord},
		"invalid":         &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, StatusCode: 400, Message: "bad", RecordIndex: writeback.NoRecord},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := t.Context()
			failFirst(b, 1, cause)
			opts := &writeback.WriteOpts{IdempotencyKey: "order-1"}
			r := writeback.Record{Fields: map[string]any{"email": "a@x.com"}}
			first, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
			require.Error(t, err)
			again, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
			require.Error(t, err)
			require.Equal(t, first.OperationID, again.OperationID)
			require.Len(t, b.hub.Writes(), 1, "the retry returns the first outcome without a call")
		})
	}
}

// TestIdempotencyKeyRetryAfterFreeingWritesOnce has concurrent twins retry
// a key freed by a failure: one writes, the others get its operation.
func TestIdempotencyKeyRetryAfterFreeingWritesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	failFirst(b, 1, unavailable(1))
	opts := &writeback.WriteOpts{IdempotencyKey: "order-1"}
	r := writeback.Record{Fields: map[string]any{"email": "a@x.com"}}
	_, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
	require.Error(t, err)

	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			res, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
			if err == nil {
				ids[i] = res.OperationID
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, b.hub.Count("contacts"), "written once")
	require.Len(t, b.hub.Writes(), 2)
}

// TestIdempotencyKeySurvivesSettingsChange repeats a request with its key
// after the customer changed an unrelated default: it is the same request,
// in sync and async mode.
func TestIdempotencyKeySurvivesSettingsChange(t *testing.T) {
	t.Parallel()
	for _, mode := range []writeback.Mode{writeback.ModeSync, writeback.ModeAsync} {
		b := setup(t)
		ctx := t.Context()
		opts := &writeback.WriteOpts{Mode: mode, IdempotencyKey: "order-1"}
		r := writeback.Record{Fields: map[string]any{"email": "a@x.com"}}
		first, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
		require.NoError(t, err)

		obj := b.crm.Config.Write.Objects["contacts"]
		settings := obj.SelectedFieldSettings
		settings["customSource"] = writeback.FieldSetting{Default: writeback.StringDefault("otherApp")}
		_, err = b.w.UpdateInstallation(ctx, b.crm.ID, b.crm, []string{"config.content.write.objects.contacts"})
		require.NoError(t, err)

		again, err := b.w.Create(ctx, crmTarget("contacts"), r, opts)
		require.NoError(t, err, "mode %v", mode)
		require.Equal(t, first.OperationID, again.OperationID)

		_, err = b.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "b@x.com"}}, opts)
		require.ErrorIs(t, err, writeback.ErrIdempotencyMismatch, "a different request is still refused")
	}
}
