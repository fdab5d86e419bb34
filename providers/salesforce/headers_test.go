package salesforce_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

func TestHeadersPassThrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	id := e.srv.Seed("Contact", map[string]any{"LastName": "A"})
	callOpts := writeback.Header{Key: "Sforce-Call-Options", Value: "client=writeback-test"}

	// Assignment rules run on API creates unless Sforce-Auto-Assign says FALSE.
	withRules := mustWrite(t, e, e.write("Lead", writeback.WriteTypeCreate, false, rec("LastName", "L", "Company", "C")))
	req := e.write("Lead", writeback.WriteTypeCreate, false, rec("LastName", "M", "Company", "C"))
	req.Headers = []writeback.Header{{Key: "sforce-auto-assign", Value: "FALSE"}, callOpts}
	withoutRules := mustWrite(t, e, req)
	lead1, _ := e.srv.Record("Lead", withRules.Results[0].ID)
	lead2, _ := e.srv.Record("Lead", withoutRules.Results[0].ID)
	require.Equal(t, salesforcetest.AssignmentQueueID, lead1["OwnerId"])
	require.Equal(t, salesforcetest.UserID, lead2["OwnerId"])

	// A duplicate rule set to alert lets the save through with allowSave=true.
	e.srv.Seed("Contact", map[string]any{"LastName": "Dup", "Email": "dup@example.com"})
	dupReq := e.write("Contact", writeback.WriteTypeCreate, true, rec("LastName", "Dup2", "Email", "dup@example.com"))
	resp := mustWrite(t, e, dupReq)
	require.Equal(t, writeback.ClassConflict, resp.Results[0].Err.Class)
	dupReq.Headers = []writeback.Header{{Key: "Sforce-Duplicate-Rule-Header", Value: "allowSave=true; includeRecordDetails=false"}}
	resp = mustWrite(t, e, dupReq)
	require.True(t, resp.Results[0].Success())

	// Headers go with updates, deletes and batches too.
	for _, r := range []*writeback.ProviderRequest{
		e.write("Contact", writeback.WriteTypeUpdate, false, withID(id, rec("Title", "T"))),
		e.write("Contact", writeback.WriteTypeUpdate, true, withID(id, rec("Title", "U"))),
		e.write("Contact", writeback.WriteTypeDelete, false, writeback.Record{ID: id}),
	} {
		r.Headers = []writeback.Header{callOpts}
		before := e.srv.CallCount()
		mustWrite(t, e, r)
		c := e.srv.Calls()[before]
		require.Equal(t, []string{"client=writeback-test"}, c.Header.Values("Sforce-Call-Options"), "%s %s", c.Method, c.Path)
	}
	require.Equal(t, []string{"FALSE"}, e.srv.HeaderValues("Sforce-Auto-Assign"))
}

func TestHeadersNeverOverrideTheCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	bad := []writeback.Header{
		{Key: "Authorization", Value: "Bearer stolen"},
		{Key: "authorization", Value: "Bearer stolen"},
		{Key: "Content-Type", Value: "text/plain"},
		{Key: "Host", Value: "evil.example"},
		{Key: "Cookie", Value: "sid=stolen"},
		{Key: "Transfer-Encoding", Value: "chunked"},
		{Key: "Proxy-Authorization", Value: "Basic x"},
		{Key: "Sforce-Call-Options", Value: "client=x\r\nAuthorization: Bearer stolen"},
		{Key: "Bad Name", Value: "x"},
		{Key: "", Value: "x"},
	}
	for _, h := range bad {
		req := e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A"))
		req.Headers = []writeback.Header{{Key: "Sforce-Auto-Assign", Value: "FALSE"}, h}
		_, err := e.p.Write(t.Context(), req)
		require.ErrorIs(t, err, writeback.ErrInvalidHeader, "%q", h.Key)
		require.Equal(t, writeback.ClassInvalid, perr(t, err).Class)
		_, err = e.p.EncodeWrite(req)
		require.ErrorIs(t, err, writeback.ErrInvalidHeader)
	}
	require.Zero(t, e.srv.CallCount(), "nothing was sent")

	// A good write carries the token source's bearer token, never a header's.
	req := e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A"))
	mustWrite(t, e, req)
	for _, c := range e.srv.Calls() {
		require.Equal(t, "Bearer "+mustToken(t, e), c.Header.Get("Authorization"))
		require.Equal(t, "application/json", c.Header.Get("Content-Type"))
		require.Equal(t, http.MethodPost, c.Method)
	}
}
