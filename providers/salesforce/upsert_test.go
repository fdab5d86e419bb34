package salesforce_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

func (e *env) upsert(key string, batch, allOrNone bool, recs ...writeback.Record) *writeback.ProviderRequest {
	req := e.write("Contact", writeback.WriteTypeUpsert, batch, recs...)
	req.Key, req.AllOrNone = key, allOrNone
	return req
}

func TestSingleUpsertByExternalID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	resp := mustWrite(t, e, e.upsert("Ext_Id__c", false, false, rec("Ext_Id__c", "X-1", "LastName", "One")))
	require.True(t, resp.Results[0].Created)
	id := resp.Results[0].ID
	calls := e.srv.CallsTo(http.MethodPatch, "/sobjects/Contact/Ext_Id__c/X-1")
	require.Len(t, calls, 1)
	require.JSONEq(t, `{"LastName":"One"}`, string(calls[0].Body), "the key is in the URL, not the body")

	resp = mustWrite(t, e, e.upsert("Ext_Id__c", false, false, rec("Ext_Id__c", "X-1", "Title", "CTO")))
	require.False(t, resp.Results[0].Created)
	require.Equal(t, id, resp.Results[0].ID)
	got, _ := e.srv.Record("Contact", id)
	require.Equal(t, "CTO", got["Title"])
	require.Equal(t, 1, e.srv.Count("Contact"))
}

func TestUpsertByAnAmbiguousExternalIDWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	e.srv.Seed("Contact", map[string]any{"LastName": "A", "Legacy_Id__c": "L-1"})
	e.srv.Seed("Contact", map[string]any{"LastName": "B", "Legacy_Id__c": "L-1"})
	resp := mustWrite(t, e, e.upsert("Legacy_Id__c", false, false, rec("Legacy_Id__c", "L-1", "Title", "x")))
	require.Equal(t, writeback.ClassConflict, resp.Results[0].Err.Class)
	require.Equal(t, http.StatusMultipleChoices, resp.Results[0].Err.StatusCode)

	resp = mustWrite(t, e, e.upsert("Legacy_Id__c", true, false, rec("Legacy_Id__c", "L-1", "Title", "x"), rec("Legacy_Id__c", "L-2", "LastName", "C")))
	require.Equal(t, writeback.ClassConflict, resp.Results[0].Err.Class)
	require.True(t, resp.Results[1].Created)

	_, err := e.p.ReadByKey(t.Context(), &writeback.ReadRequest{Connection: writeback.Connection{InstanceURL: e.srv.URL}, TokenSource: e.ts,
		Object: "Contact", Key: "Legacy_Id__c", IDs: []string{"L-1"}})
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassConflict, perr.Class)

	resp = mustWrite(t, e, e.upsert("LastName", false, false, rec("LastName", "A", "Title", "x")))
	require.Equal(t, writeback.ClassNotFound, resp.Results[0].Err.Class, "not an external ID field")
}

func TestBatchUpsertAllOrNoneRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	id := e.srv.Seed("Contact", map[string]any{"LastName": "Old", "Ext_Id__c": "E-1"})
	resp := mustWrite(t, e, e.upsert("Ext_Id__c", true, true,
		rec("Ext_Id__c", "E-1", "Title", "changed"),
		rec("Ext_Id__c", "E-2"), // a create without its required LastName
	))
	require.Equal(t, writeback.ClassRolledBack, resp.Results[0].Err.Class)
	require.Equal(t, writeback.ClassInvalid, resp.Results[1].Err.Class)
	got, _ := e.srv.Record("Contact", id)
	require.Nil(t, got["Title"], "rolled back")
	require.Equal(t, 1, e.srv.Count("Contact"))

	resp = mustWrite(t, e, e.upsert("Ext_Id__c", true, true, rec("Ext_Id__c", "E-1", "Title", "changed"), rec("Ext_Id__c", "E-2", "LastName", "New")))
	require.Equal(t, id, resp.Results[0].ID)
	require.False(t, resp.Results[0].Created)
	require.True(t, resp.Results[1].Created)
	calls := e.srv.CallsTo(http.MethodPatch, "/composite/sobjects/Contact/Ext_Id__c")
	require.Len(t, calls, 2)
	require.JSONEq(t, `{"allOrNone":true,"records":[{"attributes":{"type":"Contact"},"Ext_Id__c":"E-1","Title":"changed"},{"attributes":{"type":"Contact"},"Ext_Id__c":"E-2","LastName":"New"}]}`, string(calls[1].Body))

	found, err := e.p.ReadByKey(t.Context(), &writeback.ReadRequest{Connection: writeback.Connection{InstanceURL: e.srv.URL}, TokenSource: e.ts,
		Object: "Contact", Key: "Ext_Id__c", IDs: []string{"E-1", "e-2", "E-3"}, Fields: []string{"Title", "MobilePhone"}})
	require.NoError(t, err)
	require.Equal(t, map[string]writeback.KeyedRecord{
		"E-1": {ID: id, Fields: map[string]any{"Title": "changed"}},
		"e-2": {ID: resp.Results[1].ID, Fields: map[string]any{}},
	}, found)
}
