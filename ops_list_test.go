package writeback_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/store"
)

// idTime reads the creation time an operation ID records (UUIDv7: Unix
// milliseconds in the first 48 bits).
func idTime(t *testing.T, id string) time.Time {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", "")[:12])
	require.NoError(t, err)
	var ms int64
	for _, c := range b {
		ms = ms<<8 | int64(c)
	}
	return time.UnixMilli(ms)
}

// listIDs pages through every operation params selects.
func listIDs(t *testing.T, w *writeback.Writer, params writeback.OperationListParams) []string {
	t.Helper()
	var ids []string
	for {
		page, err := w.Operations(t.Context(), &params)
		require.NoError(t, err)
		for _, op := range page.Operations {
			ids = append(ids, op.ID)
		}
		if page.Done {
			require.Empty(t, page.NextPageToken)
			return ids
		}
		require.NotEmpty(t, page.NextPageToken)
		params.PageToken = page.NextPageToken
	}
}

func TestOperationsAcrossInstallations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	b.hub.FailRecords(func(_ *writeback.ProviderRequest, i int, rec writeback.Record) *writeback.ProviderError {
		if rec.Fields["name"] == "bad" {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, Message: "refused", RecordIndex: i}
		}
		return nil
	})
	type made struct {
		id          string
		integration string
		object      string
		typ         writeback.WriteType
		status      writeback.OperationStatus
	}
	var all []made
	add := func(res *writeback.Result, integration, object string, typ writeback.WriteType) {
		all = append(all, made{res.OperationID, integration, object, typ, res.Status})
	}
	for i := range 4 {
		name := fmt.Sprint(i)
		if i == 2 {
			name = "bad"
		}
		res, _ := b.w.Create(ctx, crmTarget("companies"), writeback.Record{Fields: map[string]any{"name": name}}, nil)
		add(res, "crm", "companies", writeback.WriteTypeCreate)
		res, err := b.w.Create(ctx, sfTarget(), writeback.Record{Fields: map[string]any{"LastName": name}}, nil)
		require.NoError(t, err)
		add(res, "sf", "Contact", writeback.WriteTypeCreate)
		if i == 1 {
			res, err = b.w.Update(ctx, crmTarget("contacts"), writeback.Record{ID: b.hub.Seed("contacts", map[string]any{"email": "old@y.z"}), Fields: map[string]any{"email": "x@y.z"}}, nil)
			require.NoError(t, err)
			add(res, "crm", "contacts", writeback.WriteTypeUpdate)
		}
	}
	res, err := b.w.Create(ctx, sfTarget(), writeback.Record{Fields: map[string]any{"LastName": "queued"}}, async)
	require.NoError(t, err)
	add(res, "sf", "Contact", writeback.WriteTypeCreate)

	want := func(keep func(m made) bool) []string {
		var ids []string
		for _, m := range all {
			if keep(m) {
				ids = append(ids, m.id)
			}
		}
		return ids
	}
	require.Equal(t, want(func(made) bool { return true }), listIDs(t, b.w, writeback.OperationListParams{PageSize: 3}), "every installation's, in creation order")
	page, err := b.w.Operations(ctx, nil)
	require.NoError(t, err)
	require.Len(t, page.Operations, len(all))
	require.True(t, page.Done)

	for _, tc := range []struct {
		name   string
		params writeback.OperationListParams
		keep   func(m made) bool
	}{
		{"installation", writeback.OperationListParams{InstallationID: b.sfi.ID}, func(m made) bool { return m.integration == "sf" }},
		{"integration", writeback.OperationListParams{Integration: "crm"}, func(m made) bool { return m.integration == "crm" }},
		{"group", writeback.OperationListParams{Integration: "sf", GroupRef: "cust-42"}, func(m made) bool { return m.integration == "sf" }},
		{"object", writeback.OperationListParams{Object: "contacts"}, func(m made) bool { return m.object == "contacts" }},
		{"type", writeback.OperationListParams{Type: writeback.WriteTypeUpdate}, func(m made) bool { return m.typ == writeback.WriteTypeUpdate }},
		{"status", writeback.OperationListParams{Status: writeback.OperationFailure}, func(m made) bool { return m.status == writeback.OperationFailure }},
		{"in progress", writeback.OperationListParams{Status: writeback.OperationInProgress, Integration: "sf"}, func(m made) bool { return m.status == writeback.OperationInProgress }},
		{"none", writeback.OperationListParams{Integration: "crm", Object: "Contact"}, func(made) bool { return false }},
	} {
		tc.params.PageSize = 2
		require.Equal(t, want(tc.keep), listIDs(t, b.w, tc.params), tc.name)
	}

	_, err = b.w.Operations(ctx, &writeback.OperationListParams{Type: "merge"})
	require.ErrorIs(t, err, writeback.ErrInvalidOptions)
}

// storeOps stores n finished operations of inst directly, created a second
// apart from base (as their IDs record it), and returns their IDs.
func storeOps(t *testing.T, st store.Interface, inst string, base time.Time, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		ms := base.Add(time.Duration(i) * time.Second).UnixMilli()
		id := fmt.Sprintf("%08x-%04x-7000-8000-%012x", ms>>16, ms&0xffff, i)
		data, err := json.Marshal(map[string]any{"v": 2, "id": id, "installationId": inst, "integration": "crm",
			"object": "companies", "type": "create", "mode": "synchronous", "status": "success"})
		require.NoError(t, err)
		require.NoError(t, st.CreateOperation(t.Context(), store.Operation{ID: id, InstallationID: inst, Data: data}, nil, base))
		ids = append(ids, id)
	}
	return ids
}

// TestOperationsTimeRange lists the operations created in a time range, as
// their time-ordered IDs record it.
func TestOperationsTimeRange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	base := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	ids := storeOps(t, b.store, b.crm.ID, base, 10)
	for i := range ids {
		require.True(t, base.Add(time.Duration(i)*time.Second).Equal(idTime(t, ids[i])))
	}
	at := func(s float64) time.Time { return base.Add(time.Duration(s * float64(time.Second))) }
	for _, tc := range []struct {
		since, until time.Time
		want         []string
	}{
		{at(3), at(7), ids[3:7]},
		{at(2.5), at(7.001), ids[3:8]},
		{at(3), time.Time{}, ids[3:]},
		{time.Time{}, at(2), ids[:2]},
		{at(20), time.Time{}, nil},
		{at(-5), at(0), nil},
	} {
		require.Equal(t, tc.want, listIDs(t, b.w, writeback.OperationListParams{Since: tc.since, Until: tc.until, PageSize: 2}), "%v to %v", tc.since, tc.until)
	}
	_, err := b.w.Operations(ctx, &writeback.OperationListParams{Since: at(5), Until: at(5)})
	require.ErrorIs(t, err, writeback.ErrInvalidOptions)
}

// TestOperationsBoundedScan lists with a filter that matches nothing among
// more operations than one call reads: each call stops after MaxListScan
// and hands back a token, and the order stays stable.
func TestOperationsBoundedScan(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	n := writeback.MaxListScan + 10
	storeOps(t, b.store, b.crm.ID, time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC), n)
	failed, _ := b.w.Create(ctx, crmTarget("companies"), writeback.Record{}, nil)
	require.Nil(t, failed, "an empty record is refused before anything is stored")

	params := &writeback.OperationListParams{Status: writeback.OperationFailure}
	page, err := b.w.Operations(ctx, params)
	require.NoError(t, err)
	require.Empty(t, page.Operations)
	require.False(t, page.Done, "the scan stopped; more may follow")
	require.NotEmpty(t, page.NextPageToken)
	params.PageToken = page.NextPageToken
	page, err = b.w.Operations(ctx, params)
	require.NoError(t, err)
	require.Empty(t, page.Operations)
	require.True(t, page.Done)

	all := listIDs(t, b.w, writeback.OperationListParams{PageSize: writeback.MaxPageSize})
	require.Len(t, all, n)
}
