package hubspot_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

func upsertRequest(key string, batch bool, recs ...writeback.Record) *writeback.ProviderRequest {
	req := simRequest(writeback.WriteTypeUpsert, batch, false, recs...)
	req.Key = key
	return req
}

func TestUpsertCreatesOrUpdatesByUniqueProperty(t *testing.T) {
	t.Parallel()
	for _, shuffle := range []bool{false, true} {
		srv, p := sim(t, hubspottest.Options{ShuffleBatchResults: shuffle})
		ids := seedContacts(srv, 2)
		resp, err := p.Write(t.Context(), upsertRequest("email", true,
			writeback.Record{Fields: map[string]any{"email": "s1@example.com", "firstname": "New S1"}},
			writeback.Record{Fields: map[string]any{"email": "fresh@example.com", "firstname": "Fresh"}},
			writeback.Record{Fields: map[string]any{"email": "s0@example.com", "lastname": "Zero"}},
		))
		require.NoError(t, err)
		require.Equal(t, ids[1], resp.Results[0].ID)
		require.False(t, resp.Results[0].Created)
		require.True(t, resp.Results[1].Created)
		require.NotEmpty(t, resp.Results[1].ID)
		require.Equal(t, ids[0], resp.Results[2].ID)
		require.Equal(t, 3, srv.Count("contacts"), "one created, two updated")
		rec, _ := srv.Record("contacts", ids[1])
		require.Equal(t, "New S1", rec["firstname"])
		calls := srv.CallsTo("POST", "/crm/v3/objects/contacts/batch/upsert")
		require.Len(t, calls, 1)
		var body struct {
			Inputs []map[string]any `json:"inputs"`
		}
		require.NoError(t, json.Unmarshal(calls[0].Body, &body))
		require.Equal(t, "email", body.Inputs[0]["idProperty"])
		require.Equal(t, "s1@example.com", body.Inputs[0]["id"])
	}
}

func TestUpsertByANonUniquePropertyIsRefused(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	srv.Seed("contacts", map[string]string{"email": "a@example.com", "firstname": "Ann"})
	resp, err := p.Write(t.Context(), upsertRequest("firstname", false, writeback.Record{Fields: map[string]any{"firstname": "Ann", "lastname": "X"}}))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassInvalid, resp.Results[0].Err.Class)
	require.Contains(t, resp.Results[0].Err.Message, "non-unique")
	rec, _ := srv.Record("contacts", srv.Records("contacts")[0].ID)
	require.NotContains(t, rec, "lastname", "nothing written")

	_, err = p.ReadByKey(t.Context(), &writeback.ReadRequest{Object: "contacts", Key: "firstname", IDs: []string{"Ann"},
		TokenSource: hubspot.StaticToken(hubspottest.DefaultToken)})
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassInvalid, perr.Class)
}

func TestReadByKeyFindsRecordsInOneCall(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	ids := seedContacts(srv, 2)
	got, err := p.ReadByKey(t.Context(), &writeback.ReadRequest{Object: "contacts", Key: "email",
		IDs: []string{"s0@example.com", "s1@example.com", "none@example.com"}, Fields: []string{"firstname", "phone"},
		TokenSource: hubspot.StaticToken(hubspottest.DefaultToken)})
	require.NoError(t, err)
	require.Equal(t, map[string]writeback.KeyedRecord{
		"s0@example.com": {ID: ids[0], Fields: map[string]any{"firstname": "S0"}},
		"s1@example.com": {ID: ids[1], Fields: map[string]any{"firstname": "S1"}},
	}, got)
	require.Len(t, srv.CallsTo("POST", "/crm/v3/objects/contacts/batch/read"), 1)
}
