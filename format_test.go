package writeback_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
	"github.com/writebackhq/writeback/store/memstore"
)

// formatStore is a store written by this version of writeback (format 2):
// finished operations (success, failure, canceled; one stored without
// field values), an idempotency key, queued async writes, an async write
// waiting for its retry, a failed write queued again by Retry, a write
// claimed by a Writer that died and canceled since, and an open auto-batch
// group. Regenerate it (only with a format change, keeping the older
// files) with WRITEBACK_WRITE_FORMAT=1 go test -run TestStoredFormats .
const formatStore = "testdata/format-v2.db"

// formatTime is the clock of the Writer that wrote formatStore.
var formatTime = time.Date(2026, 12, 6, 6, 0, 0, 0, time.UTC)

// formatKey is the idempotency key of formatStore's keyed create.
const formatKey = "format-v1-key"

// storedFormat is a store written by one format version and what resuming
// it finds.
type storedFormat struct {
	path string
	// before counts the operations by status before the Writer starts.
	before map[writeback.OperationStatus]int
	// after counts them once every unfinished one has finished.
	after map[writeback.OperationStatus]int
	// written is the number of records the resumed Writer writes, created
	// the number of those it creates.
	written, created int
}

// storedFormats are the stores of every format version.
var storedFormats = []storedFormat{{
	// Format 1: a sync create and a keyed sync create, a refused sync
	// update; a retrying write, three queued writes, a group of three.
	path:    "testdata/format-v1.db",
	before:  map[writeback.OperationStatus]int{writeback.OperationSuccess: 2, writeback.OperationFailure: 1, writeback.OperationInProgress: 5},
	after:   map[writeback.OperationStatus]int{writeback.OperationSuccess: 7, writeback.OperationFailure: 1},
	written: 7,
	created: 6,
}, {
	// Format 2 adds a refused sync create, one stored without values, a
	// canceled write, a refused create queued again by Retry, and a claimed
	// write whose cancel was requested.
	path: formatStore,
	before: map[writeback.OperationStatus]int{writeback.OperationSuccess: 2, writeback.OperationFailure: 3,
		writeback.OperationCanceled: 1, writeback.OperationInProgress: 7},
	after: map[writeback.OperationStatus]int{writeback.OperationSuccess: 8, writeback.OperationFailure: 3,
		writeback.OperationCanceled: 2},
	written: 8,
	created: 7,
}}

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

// formatWriter is a Writer on st with the async tests' manifest, a fake
// HubSpot and a clock starting at start.
func formatWriter(t *testing.T, st store.Interface, fake *providertest.Fake, start time.Time) *writeback.Writer {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(asyncManifest))
	require.NoError(t, err)
	clock := &fixedClock{start: start}
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:        m,
		Providers:       []writeback.Provider{fake},
		Store:           st,
		TokenSourceFunc: providertest.StaticTokens("test-token"),
		Test:            writeback.TestConfig{NowFunc: clock.now},
	})
	require.NoError(t, err)
	return w
}

func formatFake() *providertest.Fake {
	return providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100, Delete: true, Associations: true, IfEmpty: true})
}

// TestStoredFormats opens the store written by each format version with
// the current code and runs everything in it to completion. Every stored
// format stays readable: a format change adds a file and keeps this test
// passing.
func TestStoredFormats(t *testing.T) {
	if os.Getenv("WRITEBACK_WRITE_FORMAT") == "1" {
		writeFormatStore(t)
	}
	for _, f := range storedFormats {
		t.Run(filepath.Base(f.path), func(t *testing.T) { resumeStoredFormat(t, f) })
	}
}

// byStatus counts the operations of w by status, and returns them.
func byStatus(t *testing.T, w *writeback.Writer) (map[writeback.OperationStatus]int, map[writeback.OperationStatus][]*writeback.Operation) {
	t.Helper()
	page, err := w.Operations(t.Context(), &writeback.OperationListParams{PageSize: writeback.MaxPageSize})
	require.NoError(t, err)
	require.True(t, page.Done)
	counts := map[writeback.OperationStatus]int{}
	ops := map[writeback.OperationStatus][]*writeback.Operation{}
	for _, op := range page.Operations {
		counts[op.Status]++
		ops[op.Status] = append(ops[op.Status], op)
	}
	return counts, ops
}

func resumeStoredFormat(t *testing.T, f storedFormat) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "writeback.db")
	copyFile(t, f.path, path)
	st, err := boltstore.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })

	fake := formatFake()
	// The record the sync create made, which queued updates change: it
	// exists before any queued create runs.
	require.Equal(t, "1001", fake.Seed("contacts", map[string]any{"email": "sync@example.com"}))
	w := formatWriter(t, st, fake, formatTime.Add(2*time.Hour))
	inst, err := w.InstallationByGroup(ctx, contacts.Integration, contacts.GroupRef)
	require.NoError(t, err)
	require.Equal(t, writeback.WriteOnUpdateNever, inst.Config.Write.Objects["contacts"].SelectedFieldSettings["lifecycle"].WriteOnUpdate)

	counts, ops := byStatus(t, w)
	require.Equal(t, f.before, counts)

	// The keyed create replays from the stored key: no provider call.
	keyed, err := w.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "keyed@example.com"}}, &writeback.WriteOpts{IdempotencyKey: formatKey})
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, keyed.Status)
	require.Empty(t, fake.Writes())

	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { require.NoError(t, w.Stop(context.Background())) })
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	written := 0
	for _, op := range ops[writeback.OperationInProgress] {
		done, err := w.Wait(wctx, op.ID)
		require.NoError(t, err)
		require.True(t, done.Status.Terminal())
		written += done.SuccessCount()
	}
	counts, ops = byStatus(t, w)
	require.Equal(t, f.after, counts)
	require.Equal(t, f.written, written)
	require.Equal(t, 1+f.created, fake.Count("contacts"), "every record written once")

	// A failed create of format 2 keeps its records and can be retried,
	// unless it was stored without values; one of format 1 cannot.
	retried := 0
	for _, op := range ops[writeback.OperationFailure] {
		if op.Type != writeback.WriteTypeCreate {
			continue
		}
		_, err := w.Retry(ctx, op.ID)
		if err != nil {
			require.ErrorIs(t, err, writeback.ErrCannotRetry)
			continue
		}
		done, err := w.Wait(wctx, op.ID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, done.Status, done.Summary)
		retried++
	}
	if f.path == formatStore {
		require.Equal(t, 1, retried, "the refused create, not the one without values")
	} else {
		require.Zero(t, retried)
	}
}

// TestStoredFormatVersions reads a record of the first, unversioned format
// (Mode stored as a number) and refuses one from a newer writeback.
func TestStoredFormatVersions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := memstore.New()
	w := formatWriter(t, st, formatFake(), formatTime)
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
	w := formatWriter(t, st, fake, formatTime)
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
	_, err = w.Create(ctx, contacts, writeback.Record{Fields: map[string]any{"email": "keyed@example.com"}}, &writeback.WriteOpts{IdempotencyKey: formatKey})
	require.NoError(t, err)
	_, err = w.Update(ctx, contacts, writeback.Record{ID: created.Records[0].ID, Fields: map[string]any{"email": "refused@example.com"}}, nil)
	require.Error(t, err)
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
	idle := formatWriter(t, st, formatFake(), formatTime.Add(time.Minute))
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
	m, err := writeback.ParseManifest([]byte(asyncManifest))
	require.NoError(t, err)
	noValues, err := writeback.NewWriter(&writeback.Config{
		Manifest: m, Providers: []writeback.Provider{fake}, Store: st,
		TokenSourceFunc: providertest.StaticTokens("test-token"),
		Retention:       writeback.Retention{OmitValues: true},
	})
	require.NoError(t, err)
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
	require.NoError(t, st.Close())
	copyFile(t, tmp, formatStore)
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
