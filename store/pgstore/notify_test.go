package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// next returns the next event, failing t if the channel closed.
func next(t *testing.T, events <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-events:
		require.True(t, ok, "subscription ended")
		return ev
	case <-t.Context().Done():
		t.Fatal("no event before the test ended")
	}
	return store.Event{}
}

func TestSubscribeSeesOtherStore(t *testing.T) {
	t.Parallel()
	url, schema := pgtest.URL(t), newSchema()
	a, b := openStore(t, url, schema), openStore(t, url, schema)
	ctx := t.Context()
	events, err := b.Subscribe(ctx)
	require.NoError(t, err)

	op := store.Operation{ID: "op-1", InstallationID: "inst-1"}
	require.NoError(t, a.Enqueue(ctx, op, store.Job{ID: "op-1", RunAt: t0}, nil, t0))
	require.Equal(t, store.Event{Kind: store.EventDue}, next(t, events), "enqueue")

	jobs, err := a.Claim(ctx, t0, t0.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.NoError(t, a.Reschedule(ctx, op, jobs[0].Lease(), t0))
	require.Equal(t, store.Event{Kind: store.EventDue}, next(t, events), "reschedule")

	req := store.JoinRequest{
		Group: "g", Member: []byte("m1"), MaxSize: 2, Now: t0,
		NewOperation: store.Operation{ID: "g-1", InstallationID: "inst-1"},
		NewJob:       store.Job{ID: "g-1", Group: "g", RunAt: t0.Add(time.Minute)},
	}
	_, err = a.Join(ctx, req)
	require.NoError(t, err)
	require.Equal(t, store.Event{Kind: store.EventDue}, next(t, events), "a group opened")
	req.Member = []byte("m2")
	res, err := a.Join(ctx, req)
	require.NoError(t, err)
	require.True(t, res.Sealed)
	require.Equal(t, store.Event{Kind: store.EventDue}, next(t, events), "a group sealed")

	jobs, err = a.Claim(ctx, t0, t0.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, jobs, 2)
	for _, j := range jobs {
		require.NoError(t, a.Complete(ctx, store.Operation{ID: j.ID, InstallationID: "inst-1", Data: []byte("done")}, j.Lease()))
	}
	got := []string{next(t, events).OperationID, next(t, events).OperationID}
	require.ElementsMatch(t, []string{"op-1", "g-1"}, got, "completions")

	require.ErrorIs(t, a.Complete(ctx, op, jobs[0].Lease()), store.ErrLeaseLost)
	require.NoError(t, a.Enqueue(ctx, store.Operation{ID: "op-2"}, store.Job{ID: "op-2", RunAt: t0}, nil, t0))
	require.Equal(t, store.Event{Kind: store.EventDue}, next(t, events), "a refused completion notified nothing")
}

func TestSubscribeEnds(t *testing.T) {
	t.Parallel()
	s := openStore(t, pgtest.URL(t), newSchema())
	ctx, cancel := context.WithCancel(t.Context())
	events, err := s.Subscribe(ctx)
	require.NoError(t, err)
	cancel()
	for range events {
	}

	events, err = s.Subscribe(t.Context())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	for range events {
	}
}
