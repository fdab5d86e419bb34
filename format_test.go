package writeback_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
	"github.com/writebackhq/writeback/store/memstore"
)

// formatStore is a store written by this version of writeback (format 5):
// finished operations, an idempotency key, queued async writes, an async
// write waiting for its retry and an open auto-batch group, a sync update
// the rules left unchanged, and what operating writeback leaves: a
// refused create (which keeps its records for a retry), one stored
// without field values, a canceled write, a refused create queued again
// by Retry, and an update claimed by a Writer that died and canceled
// since, and a queued upsert and an open auto-batch group of upserts.
// Regenerate it (only with a format change, under a new name,
// keeping the older files) with
// WRITEBACK_WRITE_FORMAT=1 go test -run TestStoredFormats .
var formatStore = storedFormat{path: "testdata/format-v5.db", key: "format-v5-key", unchanged: true, ops: true, upserts: true}

// formatStores are the stores every format version wrote, the same way
// (format 3 adds an unchanged update, format 4 what operating leaves,
// format 5 upserts).
var formatStores = []storedFormat{
	{path: "testdata/format-v1.db", key: "format-v1-key"},
	{path: "testdata/format-v2.db", key: "format-v1-key"},
	{path: "testdata/format-v3.db", key: "format-v3-key", unchanged: true},
	{path: "testdata/format-v4.db", key: "format-v4-key", unchanged: true, ops: true},
	formatStore,
}

// storedFormat is a store of formatStores.
type storedFormat struct {
	path string
	// key is the idempotency key of the store's keyed create.
	key string
	// unchanged reports that the store holds a sync update left unchanged.
	unchanged bool
	// ops reports that the store holds what operating writeback leaves
	// (see formatStore).
	ops bool
	// upserts reports that the store holds a queued upsert and a group
	// of two upserts.
	upserts bool
}

// formatTime is the clock of the Writer that wrote formatStore.
var formatTime = time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)

// fixedClock reads start plus one millisecond per reading.
type fixedClock struct {
	mu    sync.Mutex
	start time.Time
	n     time.Duration
}

func (c *fixedClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += time.Millisecond
	return c.start.Add(c.n)
}

// formatWorld is the world of formatStore: the async tests' manifest, a
// fake HubSpot, and a clock starting at start; the installation is the
// store's.
func formatWorld(fake *providertest.Fake, start time.Time) option {
	return func(s *writerSpec) {
		asyncContacts(fake)(s)
		s.installations = nil
		s.now = (&fixedClock{start: start}).now
	}
}

func formatFake() *providertest.Fake {
	return providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100, Delete: true, Associations: true, IfEmpty: true, Upsert: true})
}

// TestStoredFormats opens the store of every format version with the
// current code and runs everything in it to completion. Every stored
// format stays readable: a format change adds a file and keeps this test
// passing.
func TestStoredFormats(t *testing.T) {
	if os.Getenv("WRITEBACK_WRITE_FORMAT") == "1" {
		writeFormatStore(t)
	}
	for _, fs := range formatStores {
		t.Run(filepath.Base(fs.path), func(t *testing.T) {
			t.Parallel()
			resumeFormatStore(t, fs)
		})
	}
}

// resumeFormatStore opens a copy of a store of formatStores and runs it
// to completion.
func resumeFormatStore(t *testing.T, fs storedFormat) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "writeback.db")
	copyFile(t, fs.path, path)
	st, err := boltstore.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })

	fake := formatFake()
	// The record the sync create made, which the queued update changes:
	// it exists before any queued create runs.
	require.Equal(t, "1001", fake.Seed("contacts", map[string]any{"email": "sync@example.com"}))
	w := setup(t, withStore(st), formatWorld(fake, formatTime.Add(2*time.Hour))).w
	inst, err := w.InstallationByGroup(ctx, contacts.Integration, contacts.GroupRef)
	require.NoError(t, err)
	require.Equal(t, writeback.WriteOnUpdateNever, inst.Config.Write.Objects["contacts"].SelectedFieldSettings["lifecycle"].WriteOnUpdate)

	byStatus := operationsByStatus(t, w, inst.ID)
	if fs.unchanged {
		require.Len(t, byStatus[writeback.OperationSuccess], 3, "a sync create, a keyed sync create and an unchanged update")
		unchanged := 0
		for _, op := range byStatus[writeback.OperationSuccess] {
			unchanged += op.UnchangedCount()
			require.Equal(t, op.SuccessCount()+op.UnchangedCount(), len(op.Results))
		}
		require.Equal(t, 1, unchanged)
	} else {
		require.Len(t, byStatus[writeback.OperationSuccess], 2, "a sync create and a keyed sync create")
	}
	if fs.ops {
		require.Len(t, byStatus[writeback.OperationFailure], 3, "a refused sync update and create, and one stored without values")
		require.Len(t, byStatus[writeback.OperationCanceled], 1)
		require.Len(t, byStatus[writeback.OperationInProgress], 7+2*upserts(fs), "a retrying write, three queued writes, an auto-batch group, a write queued again by Retry, a claimed update whose cancel was requested (and a queued upsert and a group of upserts)")
	} else {
		require.Len(t, byStatus[writeback.OperationFailure], 1, "a refused sync update")
		require.Len(t, byStatus[writeback.OperationInProgress], 5, "a retrying write, three queued writes and an auto-batch group")
		for _, op := range byStatus[writeback.OperationInProgress] {
			require.Equal(t, writeback.ModeAsync, op.Mode)
		}
	}

	// The keyed create replays from the stored key: no provider call.
	keyed, err := w.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "keyed@example.com"}}, &writeback.WriteOpts{IdempotencyKey: fs.key})
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, keyed.Status)
	require.Empty(t, fake.Writes())

	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { require.NoError(t, w.Stop(context.Background())) })
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	written := 0
	for _, op := range byStatus[writeback.OperationInProgress] {
		done, err := w.Wait(wctx, op.ID)
		require.NoError(t, err)
		if done.Status == writeback.OperationCanceled {
			require.True(t, fs.ops, "only the claimed update whose cancel was requested")
			continue
		}
		require.Equal(t, writeback.OperationSuccess, done.Status, done.Summary)
		require.Zero(t, done.FailureCount(), done.Summary)
		written += done.SuccessCount()
	}
	if !fs.ops {
		require.Equal(t, 1+3+3, written, "the retried write, the queued writes and the group's three members")
		require.Equal(t, 1+6, fake.Count("contacts"), "the seeded record, the retried create, two queued creates and the group's three")
		// A failure stored before format 4 kept no records to retry.
		_, err := w.Retry(ctx, byStatus[writeback.OperationFailure][0].ID)
		require.ErrorIs(t, err, writeback.ErrCannotRetry)
		return
	}
	require.Equal(t, 1+3+3+1+3*upserts(fs), written, "the retried write, the queued writes, the group's three members and the write queued again (and three upserts)")
	require.Equal(t, 1+7+3*upserts(fs), fake.Count("contacts"), "the seeded record, the retried create, two queued creates, the group's three and the create queued again (and three upserted contacts)")
	after := operationsByStatus(t, w, inst.ID)
	require.Len(t, after[writeback.OperationCanceled], 2)
	require.Len(t, after[writeback.OperationFailure], 3)

	// The refused create kept its records: it can be retried. The one
	// stored without values cannot.
	retried := 0
	for _, op := range after[writeback.OperationFailure] {
		if op.Type != writeback.WriteTypeCreate {
			continue
		}
		if _, err := w.Retry(ctx, op.ID); err != nil {
			require.ErrorIs(t, err, writeback.ErrCannotRetry)
			require.ErrorContains(t, err, "without field values")
			continue
		}
		done, err := w.Wait(wctx, op.ID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, done.Status, done.Summary)
		retried++
	}
	require.Equal(t, 1, retried)
}

// upserts returns 1 for a store holding upserts, else 0.
func upserts(fs storedFormat) int {
	if fs.upserts {
		return 1
	}
	return 0
}

// operationsByStatus returns an installation's operations by status.
func operationsByStatus(t *testing.T, w *writeback.Writer, inst string) map[writeback.OperationStatus][]*writeback.Operation {
	t.Helper()
	page, err := w.Operations(t.Context(), &writeback.OperationListParams{InstallationID: inst, PageSize: writeback.MaxPageSize})
	require.NoError(t, err)
	require.True(t, page.Done)
	byStatus := map[writeback.OperationStatus][]*writeback.Operation{}
	for _, op := range page.Operations {
		byStatus[op.Status] = append(byStatus[op.Status], op)
	}
	return byStatus
}

// TestStoredFormatVersions reads a record of the first, unversioned format
// (Mode stored as a number) and refuses one from a newer writeback.
func TestStoredFormatVersions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := memstore.New()
	w := setup(t, withStore(st), formatWorld(formatFake(), formatTime)).w
	legacy := `{"id":"op-legacy","installationId":"i","type":"create","mode":1,"status":"in_progress","attempts":0,"createTime":"2026-01-01T00:00:00Z","updateTime":"2026-01-01T00:00:00Z"}`
	require.NoError(t, st.CreateOperation(ctx, store.Operation{ID: "op-legacy", InstallationID: "i", Data: []byte(legacy)}, nil, formatTime))
	op, err := w.Operation(ctx, "op-legacy")
	require.NoError(t, err)
	require.Equal(t, writeback.ModeAsync, op.Mode)

	future := `{"v":99,"id":"op-future","installationId":"i","type":"create","mode":"asynchronous","status":"in_progress"}`
	require.NoError(t, st.CreateOperation(ctx, store.Operation{ID: "op-future", InstallationID: "i", Data: []byte(future)}, nil, formatTime))
	_, err = w.Operation(ctx, "op-future")
	require.ErrorIs(t, err, writeback.ErrStoreFormat)
	require.ErrorContains(t, err, "format 99")
}

// writeFormatStore writes formatStore anew.
func writeFormatStore(t *testing.T) {
	ctx := t.Context()
	tmp := filepath.Join(t.TempDir(), "writeback.db")
	st, err := boltstore.Open(tmp, nil)
	require.NoError(t, err)

	// A Writer that runs: finished sync writes, a key, and an async write
	// that fails retryably once and waits for its retry.
	fake := formatFake()
	fake.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
		switch rec.Fields["email"] {
		case "retry@example.com":
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnavailable, StatusCode: 503, Message: "down", RecordIndex: 0, RetryAfter: 30 * time.Minute}
		case "refused@example.com", "refused-create@example.com", "retried@example.com", "no-values@example.com":
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, StatusCode: 400, Code: "VALIDATION_ERROR", Message: "bad", RecordIndex: 0}
		}
		return nil
	})
	w := setup(t, withStore(st), formatWorld(fake, formatTime)).w
	lifecycle := "lead"
	_, err = w.CreateInstallation(ctx, &writeback.Installation{
		Integration: contacts.Integration, GroupRef: contacts.GroupRef,
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {SelectedFieldSettings: map[string]writeback.FieldSetting{
				"lifecycle": {Default: &writeback.DefaultValue{StringValue: &lifecycle}, WriteOnUpdate: writeback.WriteOnUpdateNever},
			}},
		}}},
	})
	require.NoError(t, err)
	created, err := w.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "sync@example.com"}}, nil)
	require.NoError(t, err)
	_, err = w.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "keyed@example.com"}}, &writeback.WriteOpts{IdempotencyKey: formatStore.key})
	require.NoError(t, err)
	_, err = w.Update(ctx, contacts, writeback.Record{ID: created.Records[0].ID, Fields: map[string]any{"email": "refused@example.com"}}, nil)
	require.Error(t, err)
	res, err := w.Update(ctx, contacts, writeback.Record{ID: created.Records[0].ID, Fields: map[string]any{"lifecycle": "customer"}}, nil)
	require.NoError(t, err)
	require.True(t, res.Records[0].Unchanged)
	_, err = w.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "refused-create@example.com"}}, nil)
	require.Error(t, err)
	retried, err := w.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "retried@example.com"}}, nil)
	require.Error(t, err)

	retrying, err := w.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "retry@example.com"}}, &writeback.WriteOpts{Mode: writeback.ModeAsync, RetryDeadline: 48 * time.Hour})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	for deadline := time.Now().Add(time.Minute); ; {
		op, err := w.Operation(ctx, retrying.OperationID)
		require.NoError(t, err)
		if op.Attempts == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the first attempt never ended")
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, w.Stop(ctx))

	// A Writer never started: its async writes stay queued. The first, an
	// update, is claimed by a Writer that died (the only job due), then
	// canceled: a cancel request.
	idle := setup(t, withStore(st), formatWorld(formatFake(), formatTime.Add(time.Minute))).w
	claimed, err := idle.Update(ctx, contacts, writeback.Record{ID: created.Records[0].ID, Fields: map[string]any{"email": "claimed@example.com"}}, &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	now := formatTime.Add(2 * time.Minute)
	jobs, err := st.Claim(ctx, now, now.Add(time.Minute), 100)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, claimed.OperationID, jobs[0].ID)
	op, err := idle.Cancel(ctx, claimed.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationInProgress, op.Status)

	// Queued again while stopped: it runs at the next Start.
	_, err = w.Retry(ctx, retried.OperationID)
	require.NoError(t, err)

	// A Writer that stores no values.
	noValues := setup(t, withStore(st), formatWorld(fake, formatTime.Add(time.Minute)), withRetention(writeback.Retention{OmitValues: true})).w
	_, err = noValues.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "no-values@example.com"}}, nil)
	require.Error(t, err)

	for _, email := range []string{"queued-1@example.com", "queued-2@example.com"} {
		_, err := idle.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": email}}, &writeback.WriteOpts{Mode: writeback.ModeAsync})
		require.NoError(t, err)
	}
	_, err = idle.Update(ctx, contacts, writeback.Record{ID: created.Records[0].ID, Fields: map[string]any{"email": "queued-update@example.com"}}, &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	canceled, err := idle.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "canceled@example.com"}}, &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	_, err = idle.Cancel(ctx, canceled.OperationID)
	require.NoError(t, err)
	for _, email := range []string{"group-1@example.com", "group-2@example.com", "group-3@example.com"} {
		_, err := idle.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": email}},
			&writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Hour}})
		require.NoError(t, err)
	}
	upsert := &writeback.WriteOpts{Mode: writeback.ModeAsync, UpsertKey: "email"}
	_, err = idle.Upsert(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "upsert@example.com", "lifecycle": "customer"}}, upsert)
	require.NoError(t, err)
	upsert.AutoBatch = &writeback.AutoBatchPolicy{MaxDelay: time.Hour}
	for _, email := range []string{"upsert-group-1@example.com", "upsert-group-2@example.com"} {
		_, err := idle.Upsert(ctx, contacts, writeback.Record{Fields: map[string]any{"email": email, "lifecycle": "customer"}}, upsert)
		require.NoError(t, err)
	}
	require.NoError(t, st.Close())
	copyFile(t, tmp, formatStore.path)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	require.NoError(t, err)
	defer src.Close()
	dst, err := os.Create(to)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
}

// TestFormat1InterruptedCreate: format 1 did not record a create about to
// be sent, so a create a crash interrupted in a store of format 1 may have
// been sent: it is reported as an unknown outcome, not sent again.
func TestFormat1InterruptedCreate(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := memstore.New()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		e1 := setup(t, asyncContacts(fake), withStore(st))
		res, err := e1.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		rec, err := st.Operation(ctx, res.OperationID)
		require.NoError(t, err)
		v1 := regexp.MustCompile(`^\{"v":\d+,`).ReplaceAll(rec.Data, []byte(`{"v":1,`))
		require.NotEqual(t, rec.Data, v1)
		rec.Data = v1
		require.NoError(t, st.UpdateOperation(ctx, rec))
		// The claim of a process that died, with the store in format 1.
		now := time.Now()
		_, err = st.Claim(ctx, now, now.Add(time.Minute), 1)
		require.NoError(t, err)

		e2 := setup(t, asyncContacts(fake), withStore(st))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err := e2.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.ClassUnknownOutcome, op.Results[0].Err.Class)
		require.Empty(t, fake.Writes())
	})
}
