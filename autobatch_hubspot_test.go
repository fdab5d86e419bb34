package writeback_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

// hubspotWriter returns a started Writer on the bundle's store whose
// HubSpot integration writes through the HubSpot adapter to a simulator.
func hubspotWriter(t *testing.T, b *bundle) (*writeback.Writer, *hubspottest.Server) {
	t.Helper()
	sim := hubspottest.NewServer(hubspottest.Options{Tokens: []string{"test-token"}, TenSecondLimit: -1})
	t.Cleanup(sim.Close)
	w := setup(t, withStore(b.store), withProviders(hubspot.New(hubspot.Config{BaseURL: sim.URL}), b.sf)).w
	startWriter(t, w)
	return w, sim
}

// TestAutoBatchHubSpotPerRecordErrors writes a full group of creates with
// one invalid record through the HubSpot adapter: the group goes out as a
// traced batch, HubSpot answers 207 naming the bad input, and the others
// are created in that one call.
func TestAutoBatchHubSpotPerRecordErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w, sim := hubspotWriter(t, b)
	const bad = 37
	var ids []string
	for i := range hubspot.MaxBatchSize {
		r := company(fmt.Sprintf("c%d", i))
		if i == bad {
			r.Fields["numberofemployees"] = "many"
		}
		res, err := w.Create(t.Context(), crmTarget("companies"), r, autoBatch(time.Hour))
		require.NoError(t, err)
		ids = append(ids, res.OperationID)
	}
	op := waitOpReal(t, w, requireSame(t, ids))
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.Len(t, op.SuccessfulRecordIDs, hubspot.MaxBatchSize-1)
	for i, r := range op.Results {
		if i == bad {
			require.Equal(t, writeback.ClassInvalid, r.Err.Class)
			require.Equal(t, bad, r.Err.RecordIndex)
			continue
		}
		require.Nil(t, r.Err)
		rec, ok := sim.Record("companies", r.ID)
		require.True(t, ok)
		require.Equal(t, fmt.Sprintf("c%d", i), rec["name"])
	}
	require.Len(t, sim.CallsTo("POST", "/batch/create"), 1)
	require.Equal(t, hubspot.MaxBatchSize-1, sim.Count("companies"))
}

// TestAutoBatchHubSpotWholeBatchError writes a full group of updates with
// one invalid value through the HubSpot adapter. HubSpot rejects a batch
// update with an invalid property value as a whole (400); every record
// carries the property, so the adapter cannot tell which one is at fault
// and gives them all the batch's error. The engine bisects to find it and
// updates the others.
func TestAutoBatchHubSpotWholeBatchError(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w, sim := hubspotWriter(t, b)
	const bad = 62
	existing := make([]string, hubspot.MaxBatchSize)
	for i := range existing {
		existing[i] = sim.Seed("companies", map[string]string{"name": "old"})
	}
	var ids []string
	for i, id := range existing {
		r := writeback.Record{ID: id, Fields: map[string]any{"name": fmt.Sprintf("new%d", i), "numberofemployees": i}}
		if i == bad {
			r.Fields["numberofemployees"] = "many"
		}
		res, err := w.Update(t.Context(), crmTarget("companies"), r, autoBatch(time.Hour))
		require.NoError(t, err)
		ids = append(ids, res.OperationID)
	}
	op := waitOpReal(t, w, requireSame(t, ids))
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.Len(t, op.SuccessfulRecordIDs, hubspot.MaxBatchSize-1)
	for i, r := range op.Results {
		rec, ok := sim.Record("companies", existing[i])
		require.True(t, ok)
		if i == bad {
			require.Equal(t, writeback.ClassInvalid, r.Err.Class)
			require.Equal(t, bad, r.Err.RecordIndex)
			require.Equal(t, "old", rec["name"])
			continue
		}
		require.Nil(t, r.Err)
		require.Equal(t, existing[i], r.ID)
		require.Equal(t, fmt.Sprintf("new%d", i), rec["name"])
	}
	// The rejected batch, then at most ceil(log2 100) + 1 = 8 more.
	calls := len(sim.CallsTo("POST", "/batch/update"))
	require.LessOrEqual(t, calls, 1+8)
	t.Logf("%d batch update calls", calls)
}
