package writeback_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

// requireCannot checks that err is a ValidationError wrapping sentinel.
func requireCannot(t *testing.T, err, sentinel error) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	var ve *writeback.ValidationError
	require.ErrorAs(t, err, &ve)
}

func TestCancelQueued(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	e := setup(t, asyncContacts(fake)) // never started: the write stays queued
	res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
	require.NoError(t, err)

	op, err := e.w.Cancel(ctx, res.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationCanceled, op.Status)
	require.True(t, op.Status.Terminal())
	require.Len(t, op.Results, 1)
	require.Equal(t, writeback.ClassCanceled, op.Results[0].Err.Class)
	require.Equal(t, "canceled: 1 of 1 records not written", op.Summary)
	require.Contains(t, op.Logs[len(op.Logs)-1].Message, "canceled by request")
	require.Equal(t, 1, e.completions(op.ID), "OnComplete reports the cancel")

	waited, err := e.w.Wait(ctx, res.OperationID)
	require.NoError(t, err, "Wait returns a canceled operation")
	require.Equal(t, writeback.OperationCanceled, waited.Status)
	stats, err := e.w.QueueStats(ctx)
	require.NoError(t, err)
	require.Empty(t, stats.Providers, "the job is gone")

	_, err = e.w.Cancel(ctx, res.OperationID)
	requireCannot(t, err, writeback.ErrCannotCancel)
	require.ErrorContains(t, err, "is canceled")

	// A started Writer has nothing to run.
	require.NoError(t, e.w.Start(ctx))
	e.stop(t)
	require.Empty(t, fake.Writes())
}

func TestCancelFinishedOrSync(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	res, err := b.w.Create(ctx, crmTarget("companies"), writeback.Record{Fields: map[string]any{"name": "Acme"}}, nil)
	require.NoError(t, err)
	op, err := b.w.Cancel(ctx, res.OperationID)
	requireCannot(t, err, writeback.ErrCannotCancel)
	require.ErrorContains(t, err, "is success: only an unfinished operation can be canceled")
	require.Equal(t, writeback.OperationSuccess, op.Status, "the operation as it is")

	_, err = b.w.Cancel(ctx, "missing")
	require.ErrorIs(t, err, writeback.ErrNotFound)
}

// TestCancelWaitingForRetry cancels an async write between attempts: the
// retry does not happen and the records carry the last attempt's error.
func TestCancelWaitingForRetry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		calls := &callLog{errs: []error{rateLimited(time.Minute)}}
		fake.FailCalls(calls.rule)
		e := setup(t, asyncContacts(fake))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		synctest.Wait()
		require.Len(t, calls.calls(), 1)

		stats, err := e.w.QueueStats(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, stats.Providers[0].Retrying)

		op, err := e.w.Cancel(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationCanceled, op.Status)
		require.Equal(t, 1, op.Attempts)
		perr := op.Results[0].Err
		require.Equal(t, writeback.ClassCanceled, perr.Class)
		require.Contains(t, perr.Message, "its last attempt failed: hubspot: rate_limited (429 RATE_LIMITS)")

		time.Sleep(time.Hour)
		synctest.Wait()
		require.Len(t, calls.calls(), 1, "no retry after the cancel")
		require.Equal(t, 1, e.completions(op.ID))
	})
}

// TestCancelInFlight cancels an async write while its attempt runs: the
// attempt finishes; a retryable failure then ends the operation canceled
// instead of retried, and a success stays a success.
func TestCancelInFlight(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fail bool
		want writeback.OperationStatus
	}{
		{"FailsRetryably", true, writeback.OperationCanceled},
		{"Succeeds", false, writeback.OperationSuccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				g := newGated("hubspot")
				if tc.fail {
					g.FailCalls((&callLog{errs: []error{unavailable(1), unavailable(2)}}).rule)
				}
				e := setup(t, asyncContacts(g))
				require.NoError(t, e.w.Start(ctx))
				defer e.stop(t)
				res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
				require.NoError(t, err)
				synctest.Wait()
				inflight, _ := g.counts()
				require.Equal(t, 1, inflight)

				stats, err := e.w.QueueStats(ctx)
				require.NoError(t, err)
				require.Len(t, stats.InFlight, 1)
				require.Equal(t, res.OperationID, stats.InFlight[0].OperationID)
				require.True(t, time.Now().Add(time.Minute).Equal(stats.InFlight[0].LeaseUntil), "leased for a minute")

				op, err := e.w.Cancel(ctx, res.OperationID)
				require.NoError(t, err)
				require.Equal(t, writeback.OperationInProgress, op.Status, "the attempt in flight finishes first")
				stats, err = e.w.QueueStats(ctx)
				require.NoError(t, err)
				require.True(t, stats.InFlight[0].CancelRequested)

				g.release <- struct{}{}
				op, err = e.w.Wait(ctx, res.OperationID)
				require.NoError(t, err)
				require.Equal(t, tc.want, op.Status, op.Summary)
				require.Equal(t, 1, op.Attempts)
				if tc.fail {
					require.Equal(t, writeback.ClassCanceled, op.Results[0].Err.Class)
					require.Contains(t, op.Results[0].Err.Message, "service unavailable #1")
					require.Contains(t, op.Logs[len(op.Logs)-2].Message, "it is not retried: a cancel was requested")
					require.Equal(t, 503, op.Logs[len(op.Logs)-2].Error.StatusCode)
				}
				time.Sleep(time.Hour)
				synctest.Wait()
				require.Len(t, g.Writes(), 1, "one attempt only")
				require.Equal(t, 1, e.completions(op.ID))
			})
		})
	}
}

// TestCancelClaimedBeforeItRuns cancels a write claimed by a Writer that
// died: the next claim ends it canceled without an attempt.
func TestCancelClaimedBeforeItRuns(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := memstore.New()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		id := fake.Seed("contacts", map[string]any{"email": "old@x.com"})
		e1 := setup(t, asyncContacts(fake), withStore(st))
		res, err := e1.w.Update(ctx, contacts, writeback.Record{ID: id, Fields: map[string]any{"email": "new@x.com"}}, async)
		require.NoError(t, err)
		now := time.Now()
		jobs, err := st.Claim(ctx, now, now.Add(time.Minute), 10)
		require.NoError(t, err)
		require.Len(t, jobs, 1)

		op, err := e1.w.Cancel(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status, "leased: a request")

		e2 := setup(t, asyncContacts(fake), withStore(st))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err = e2.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationCanceled, op.Status)
		require.Equal(t, id, op.Results[0].ID)
		require.Empty(t, fake.Writes(), "not sent")
	})
}

// TestCancelGroup cancels an auto-batch group while it fills: every record
// of the group is canceled, a later write opens a new group, and Retry
// sends the canceled records as one batch.
func TestCancelGroup(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		e := setup(t, asyncContacts(fake))
		opts := &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Minute}}
		var id string
		for _, email := range []string{"a@x.com", "b@x.com", "c@x.com"} {
			res, err := e.w.Create(ctx, contacts, contact(email), opts)
			require.NoError(t, err)
			id = res.OperationID
		}
		stats, err := e.w.QueueStats(ctx)
		require.NoError(t, err)
		require.Len(t, stats.Groups, 1)
		require.Equal(t, writeback.OpenGroup{
			OperationID: id, InstallationID: stats.Groups[0].InstallationID, Integration: "crm", GroupRef: "cust-7",
			Object: "contacts", Type: writeback.WriteTypeCreate, Provider: "hubspot",
			Records: 3, MaxRecords: 100, OpenedAt: time.Now().UTC(), FlushAt: time.Now().Add(time.Minute).UTC(),
		}, stats.Groups[0])

		_, err = e.w.Cancel(ctx, id+":1")
		requireCannot(t, err, writeback.ErrCannotCancel)
		require.ErrorContains(t, err, "canceled whole: cancel "+id)
		op, err := e.w.Cancel(ctx, id)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationCanceled, op.Status)
		require.Len(t, op.Results, 3)
		for i, r := range op.Results {
			require.Equal(t, writeback.ClassCanceled, r.Err.Class)
			require.Equal(t, i, r.Err.RecordIndex)
		}
		next, err := e.w.Create(ctx, contacts, contact("d@x.com"), opts)
		require.NoError(t, err)
		require.NotEqual(t, id, next.OperationID, "a new group")

		_, err = e.w.Retry(ctx, id+":0")
		requireCannot(t, err, writeback.ErrCannotRetry)
		op, err = e.w.Retry(ctx, id)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status)
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		op, err = e.w.Wait(ctx, id)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
		require.Len(t, op.SuccessfulRecordIDs, 3)
		require.True(t, op.AutoBatch)
		writes := fake.Writes()
		require.Len(t, writes, 1, "the canceled records, in one batch (the new group is not due yet)")
		require.Len(t, writes[0].Records, 3)
		require.True(t, writes[0].Batch)
		require.Equal(t, "a@x.com", writes[0].Records[0].Fields["email"])
	})
}

// TestCancelGroupInFlight cancels a group while it is written: the call
// finishes, and records left to retry are canceled.
func TestCancelGroupInFlight(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		g := newGated("hubspot")
		g.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
			if rec.Fields["email"] == "busy@x.com" {
				return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnavailable, Message: "locked", RecordIndex: 0}
			}
			return nil
		})
		e := setup(t, asyncContacts(g))
		opts := &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Second}}
		var id string
		for _, email := range []string{"ok@x.com", "busy@x.com"} {
			res, err := e.w.Create(ctx, contacts, contact(email), opts)
			require.NoError(t, err)
			id = res.OperationID
		}
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		time.Sleep(time.Second)
		synctest.Wait()
		inflight, _ := g.counts()
		require.Equal(t, 1, inflight)

		op, err := e.w.Cancel(ctx, id)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status)
		g.release <- struct{}{}
		op, err = e.w.Wait(ctx, id)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationCanceled, op.Status, op.Summary)
		require.Nil(t, op.Results[0].Err)
		require.Equal(t, writeback.ClassCanceled, op.Results[1].Err.Class)
		require.Contains(t, op.Results[1].Err.Message, "locked")
		require.Equal(t, "canceled: 1 of 2 records not written (1 written before the cancel)", op.Summary)
		time.Sleep(time.Hour)
		synctest.Wait()
		require.Len(t, g.Writes(), 1)
	})
}

// TestCancelWaitingForSlot cancels a job claimed while it waits for its
// provider's slot (claimed because another provider had room): it ends
// canceled without being sent, when the slot frees up or when the Writer
// stops.
func TestCancelWaitingForSlot(t *testing.T) {
	t.Parallel()
	for _, stop := range []bool{false, true} {
		t.Run(fmt.Sprintf("stop=%v", stop), func(t *testing.T) {
			t.Parallel()
			cancelWaitingForSlot(t, stop)
		})
	}
}

func cancelWaitingForSlot(t *testing.T, stop bool) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		m, err := writeback.ParseManifest([]byte(testManifest))
		require.NoError(t, err)
		g := newGated("hubspot")
		w, err := writeback.NewWriter(&writeback.Config{
			Manifest:        m,
			Providers:       []writeback.Provider{g, providertest.NewFake("salesforce", writeback.Capabilities{})},
			Store:           memstore.New(),
			TokenSourceFunc: providertest.StaticTokens("test-token"),
			MaxConcurrency:  1,
		})
		require.NoError(t, err)
		_, err = w.CreateInstallation(ctx, &writeback.Installation{
			Integration: "crm", GroupRef: "cust-42", Connection: writeback.Connection{Provider: "hubspot"},
			Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"companies": {ObjectName: "companies"},
			}}},
		})
		require.NoError(t, err)
		require.NoError(t, w.Start(ctx))
		company := writeback.Record{Fields: map[string]any{"name": "Acme"}}
		first, err := w.Create(ctx, crmTarget("companies"), company, async)
		require.NoError(t, err)
		synctest.Wait()
		second, err := w.Create(ctx, crmTarget("companies"), company, async)
		require.NoError(t, err)
		synctest.Wait()
		stats, err := w.QueueStats(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, stats.Providers[0].InFlight, "the second is claimed, waiting for the slot")

		op, err := w.Cancel(ctx, second.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status)

		if stop {
			stopped := make(chan error)
			go func() { stopped <- w.Stop(context.WithoutCancel(ctx)) }()
			synctest.Wait()
			g.release <- struct{}{}
			require.NoError(t, <-stopped)
		} else {
			defer func() { require.NoError(t, w.Stop(context.WithoutCancel(ctx))) }()
			g.release <- struct{}{}
			_, err = w.Wait(ctx, second.OperationID)
			require.NoError(t, err)
		}
		op, err = w.Operation(ctx, second.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationCanceled, op.Status, op.Summary)
		op, err = w.Operation(ctx, first.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Len(t, g.Writes(), 1)
	})
}

// TestCancelBeforeSend cancels an async create that waits in its adapter
// for the provider's rate limit (Capabilities.BeforeSend): when the wait
// ends it is not sent, and the operation ends canceled.
func TestCancelBeforeSend(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{BeforeSend: true})
		paced := &pacedFake{Fake: fake, waiting: make(chan struct{}), release: make(chan struct{})}
		e := setup(t, asyncContacts(paced))
		require.NoError(t, e.w.Start(ctx))
		defer e.stop(t)
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		<-paced.waiting

		op, err := e.w.Cancel(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationInProgress, op.Status, "claimed: a request")
		start := time.Now()
		close(paced.release)
		op, err = e.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationCanceled, op.Status, op.Summary)
		require.Equal(t, start, time.Now(), "at once, not when the lease ends")
		require.Empty(t, fake.Writes(), "not sent")
		require.Equal(t, 1, e.completions(op.ID))
	})
}
