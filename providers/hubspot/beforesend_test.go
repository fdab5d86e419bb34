package hubspot_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

// TestCreateCallsBeforeSend checks that a create, single or batch, calls
// BeforeSend once, before HubSpot receives anything, and that a refusal
// sends nothing.
func TestCreateCallsBeforeSend(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	require.True(t, p.Capabilities().BeforeSend)
	for _, batch := range []bool{false, true} {
		recs := []writeback.Record{contact(len(srv.Calls()))}
		if batch {
			recs = append(recs, contact(100+len(srv.Calls())))
		}
		req := simRequest(writeback.WriteTypeCreate, batch, false, recs...)
		var seen []int // calls HubSpot had received when BeforeSend ran
		req.BeforeSend = func(context.Context) error {
			seen = append(seen, srv.CallCount())
			return nil
		}
		before := srv.CallCount()
		_, err := p.Write(t.Context(), req)
		require.NoError(t, err)
		require.Equal(t, []int{before}, seen, "batch %v: once, before the request", batch)
		require.Equal(t, before+1, srv.CallCount())
	}

	refused := errors.New("not now")
	req := simRequest(writeback.WriteTypeCreate, false, false, contact(99))
	req.BeforeSend = func(context.Context) error { return refused }
	before := srv.CallCount()
	_, err := p.Write(t.Context(), req)
	require.ErrorIs(t, err, refused)
	require.Equal(t, before, srv.CallCount(), "nothing was sent")
}
