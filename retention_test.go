package writeback_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

// manualClock is a clock the test moves. It starts at the real time, so
// that operation IDs (which never go back in time within a process) record
// the clock's time. Tests make no operation after moving it ahead: the
// IDs of every later operation in the process would record that time.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newManualClock() *manualClock { return &manualClock{now: time.Now()} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// requireGone checks that operation id was pruned.
func requireGone(t *testing.T, w *writeback.Writer, id string) {
	t.Helper()
	_, err := w.Operation(t.Context(), id)
	require.ErrorIs(t, err, writeback.ErrNotFound)
}

func TestPrune(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newManualClock()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	refuse(fake, "bad@x.com")
	e := setup(t, asyncContacts(fake), withClock(clock.Now))
	ok, err := e.w.Create(ctx, contacts, contact("ok@x.com"), nil)
	require.NoError(t, err)
	failed, err := e.w.Create(ctx, contacts, contact("bad@x.com"), nil)
	require.Error(t, err)
	keyed, err := e.w.Create(ctx, contacts, contact("keyed@x.com"), &writeback.WriteOpts{IdempotencyKey: "k-1"})
	require.NoError(t, err)
	queued, err := e.w.Create(ctx, contacts, contact("queued@x.com"), async)
	require.NoError(t, err)
	canceled, err := e.w.Create(ctx, contacts, contact("canceled@x.com"), async)
	require.NoError(t, err)

	clock.advance(25 * 24 * time.Hour)
	_, err = e.w.Cancel(ctx, canceled.OperationID)
	require.NoError(t, err)
	res, err := e.w.Prune(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, &writeback.PruneResult{Keys: 1}, res, "nothing is 30 days old yet; the key expired after a day")

	clock.advance(6 * 24 * time.Hour)
	res, err = e.w.Prune(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, &writeback.PruneResult{Operations: 3}, res)
	for _, id := range []string{ok.OperationID, failed.OperationID, keyed.OperationID} {
		requireGone(t, e.w, id)
	}
	op, err := e.w.Operation(ctx, queued.OperationID)
	require.NoError(t, err, "an unfinished operation is never pruned")
	require.Equal(t, writeback.OperationInProgress, op.Status)
	_, err = e.w.Operation(ctx, canceled.OperationID)
	require.NoError(t, err, "finished six days ago")

	res, err = e.w.Prune(ctx, &writeback.PruneOptions{OlderThan: 24 * time.Hour})
	require.NoError(t, err)
	require.Equal(t, &writeback.PruneResult{Operations: 1}, res)
	requireGone(t, e.w, canceled.OperationID)
	_, err = e.w.Prune(ctx, &writeback.PruneOptions{OlderThan: -time.Hour})
	require.ErrorIs(t, err, writeback.ErrInvalidOptions)
}

func TestPruneKeepForever(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newManualClock()
	e := setup(t, asyncContacts(providertest.NewFake("hubspot", writeback.Capabilities{})), withClock(clock.Now),
		withRetention(writeback.Retention{Operations: writeback.KeepForever}))
	res, err := e.w.Create(ctx, contacts, contact("ok@x.com"), &writeback.WriteOpts{IdempotencyKey: "k"})
	require.NoError(t, err)
	clock.advance(365 * 24 * time.Hour)
	pruned, err := e.w.Prune(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, &writeback.PruneResult{Keys: 1}, pruned, "keys expire on their own")
	_, err = e.w.Operation(ctx, res.OperationID)
	require.NoError(t, err)
}

// TestPruneInBackground prunes while the Writer runs.
func TestPruneInBackground(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := newManualClock()
	e := setup(t, asyncContacts(providertest.NewFake("hubspot", writeback.Capabilities{})), withClock(clock.Now),
		withRetention(writeback.Retention{Operations: 48 * time.Hour}), withPruneInterval(time.Millisecond))
	res, err := e.w.Create(ctx, contacts, contact("ok@x.com"), nil)
	require.NoError(t, err)
	require.NoError(t, e.w.Start(ctx))
	defer e.stop(t)
	clock.advance(30 * 24 * time.Hour)
	for deadline := time.Now().Add(time.Minute); ; {
		if _, err := e.w.Operation(ctx, res.OperationID); err != nil {
			require.ErrorIs(t, err, writeback.ErrNotFound)
			break
		}
		require.True(t, time.Now().Before(deadline), "not pruned in the background")
		time.Sleep(time.Millisecond)
	}
}

func TestRetentionConfig(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(asyncManifest))
	require.NoError(t, err)
	for _, r := range []writeback.Retention{{Operations: time.Hour}, {Operations: -2 * time.Hour}} {
		_, err = writeback.NewWriter(&writeback.Config{
			Manifest: m, Providers: []writeback.Provider{providertest.NewFake("hubspot", writeback.Capabilities{})},
			Store: memstore.New(), TokenSourceFunc: providertest.StaticTokens("t"), Retention: r,
		})
		require.ErrorIs(t, err, writeback.ErrInvalidConfig, "%v", r)
	}
}

// dataProvider answers every written record with the provider's data.
type dataProvider struct{ *providertest.Fake }

func (p dataProvider) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	resp, err := p.Fake.Write(ctx, req)
	if err == nil {
		for i := range resp.Results {
			resp.Results[i].Data = map[string]any{"email": req.Records[i].Fields["email"]}
		}
	}
	return resp, err
}

// TestOmitValues stores results without the provider's data, which the
// sync caller still gets.
func TestOmitValues(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, omit := range []bool{false, true} {
		e := setup(t, asyncContacts(dataProvider{providertest.NewFake("hubspot", writeback.Capabilities{})}),
			withRetention(writeback.Retention{OmitValues: omit}))
		res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), nil)
		require.NoError(t, err)
		require.Equal(t, "ada@example.com", res.Records[0].Data["email"], "the caller gets the answer")
		op, err := e.w.Operation(ctx, res.OperationID)
		require.NoError(t, err)
		if omit {
			require.Nil(t, op.Results[0].Data)
			require.NotEmpty(t, op.Results[0].ID)
		} else {
			require.Equal(t, "ada@example.com", op.Results[0].Data["email"])
		}
	}
}

// TestOpsOnlyWriter operates a store without a manifest or providers.
func TestOpsOnlyWriter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := memstore.New()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	app := setup(t, asyncContacts(fake), withStore(st))
	queued, err := app.w.Create(ctx, contacts, contact("ada@example.com"), async)
	require.NoError(t, err)

	ops, err := writeback.NewWriter(&writeback.Config{Store: st})
	require.NoError(t, err)
	page, err := ops.Operations(ctx, nil)
	require.NoError(t, err)
	require.Len(t, page.Operations, 1)
	stats, err := ops.QueueStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, stats.Providers[0].Queued)
	op, err := ops.Cancel(ctx, queued.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationCanceled, op.Status)
	_, err = ops.Retry(ctx, queued.OperationID)
	require.NoError(t, err)
	insts, err := ops.Installations(ctx, "crm")
	require.NoError(t, err, "no manifest to check the integration against")
	require.Len(t, insts, 1)

	_, err = ops.Create(ctx, contacts, contact("bob@example.com"), nil)
	require.ErrorIs(t, err, writeback.ErrUnknownIntegration)
	require.ErrorIs(t, ops.Start(ctx), writeback.ErrInvalidConfig)
	require.NoError(t, ops.Stop(ctx))

	// The app's Writer runs the retried write.
	require.NoError(t, app.w.Start(ctx))
	defer app.stop(t)
	op, err = app.w.Wait(ctx, queued.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, op.Status)

	_, err = writeback.NewWriter(&writeback.Config{Store: st, Providers: []writeback.Provider{fake}})
	require.ErrorIs(t, err, writeback.ErrInvalidConfig, "a partial config is not operations-only")
}
