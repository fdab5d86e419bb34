package salesforce_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

func TestProviderDescribesItself(t *testing.T) {
	t.Parallel()
	p := salesforce.New(salesforce.Config{})
	require.Equal(t, "salesforce", p.Name())
	require.Equal(t, "v62.0", p.APIVersion())
	require.Equal(t, writeback.Capabilities{
		MaxBatchSize: 100, Delete: true, Headers: true, IfEmpty: true, AtomicBatchUpdate: true, BeforeSend: true, Upsert: true,
	}, p.Capabilities())
	require.Equal(t, "v61.0", salesforce.New(salesforce.Config{APIVersion: "61.0"}).APIVersion())
}

// sentCall is what the simulator received, reduced to what a test checks.
type sentCall struct {
	Method, Path, Query, Body string
}

func TestWriteSendsExactRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	id1 := e.srv.Seed("Contact", map[string]any{"LastName": "One"})
	id2 := e.srv.Seed("Contact", map[string]any{"LastName": "Two"})
	base := "/services/data/v62.0"

	cases := []struct {
		name string
		req  *writeback.ProviderRequest
		want sentCall
	}{
		{
			name: "single create",
			req:  e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "Doe", "Email", "jd@example.com", "HasOptedOutOfEmail", true)),
			want: sentCall{http.MethodPost, base + "/sobjects/Contact", "", `{"Email":"jd@example.com","HasOptedOutOfEmail":true,"LastName":"Doe"}`},
		},
		{
			name: "single update",
			req:  e.write("Contact", writeback.WriteTypeUpdate, false, withID(id1, rec("Title", "CTO", "Department", nil))),
			want: sentCall{http.MethodPatch, base + "/sobjects/Contact/" + id1, "", `{"Department":null,"Title":"CTO"}`},
		},
		{
			name: "batch create",
			req:  e.write("Contact", writeback.WriteTypeCreate, true, rec("LastName", "A"), rec("LastName", "B", "FirstName", "Bea")),
			want: sentCall{http.MethodPost, base + "/composite/sobjects", "",
				`{"allOrNone":false,"records":[{"attributes":{"type":"Contact"},"LastName":"A"},{"attributes":{"type":"Contact"},"FirstName":"Bea","LastName":"B"}]}`},
		},
		{
			name: "batch update",
			req: func() *writeback.ProviderRequest {
				r := e.write("Contact", writeback.WriteTypeUpdate, true, withID(id1, rec("Title", "VP")), withID(id2, rec("Title", "CEO")))
				r.AllOrNone = true
				return r
			}(),
			want: sentCall{http.MethodPatch, base + "/composite/sobjects", "",
				`{"allOrNone":true,"records":[{"attributes":{"type":"Contact"},"id":"` + id1 + `","Title":"VP"},{"attributes":{"type":"Contact"},"id":"` + id2 + `","Title":"CEO"}]}`},
		},
		{
			name: "single delete",
			req:  e.write("Contact", writeback.WriteTypeDelete, false, writeback.Record{ID: id2}),
			want: sentCall{http.MethodDelete, base + "/sobjects/Contact/" + id2, "", ""},
		},
	}
	for _, tc := range cases {
		before := e.srv.CallCount()
		resp := mustWrite(t, e, tc.req)
		for i, r := range resp.Results {
			require.Nil(t, r.Err, "%s: record %d", tc.name, i)
			require.NotEmpty(t, r.ID, tc.name)
		}
		calls := e.srv.Calls()[before:]
		require.Len(t, calls, 1, tc.name)
		c := calls[0]
		require.Equal(t, tc.want, sentCall{c.Method, c.Path, c.Query, string(c.Body)}, tc.name)
		require.Equal(t, "Bearer "+mustToken(t, e), c.Header.Get("Authorization"), tc.name)
		if tc.want.Body != "" {
			require.Equal(t, "application/json", c.Header.Get("Content-Type"), tc.name)
		}
	}

	// The writes took effect as the results say.
	got, ok := e.srv.Record("Contact", id1)
	require.True(t, ok)
	require.Equal(t, "VP", got["Title"])
	_, ok = e.srv.Record("Contact", id2)
	require.False(t, ok, "deleted")
	require.Equal(t, 4, e.srv.Count("Contact"))
}

// mustToken returns the provider's current access token.
func mustToken(t *testing.T, e *env) string {
	t.Helper()
	tok, err := e.ts.Token()
	require.NoError(t, err)
	return tok.AccessToken
}

func TestWriteResultsCarryIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})

	resp := mustWrite(t, e, e.write("Lead", writeback.WriteTypeCreate, false, rec("LastName", "Lee", "Company", "Acme")))
	id := resp.Results[0].ID
	require.Len(t, id, 18)
	require.Equal(t, "00Q", id[:3], "Lead key prefix")
	stored, ok := e.srv.Record("Lead", id)
	require.True(t, ok)
	require.Equal(t, "Open - Not Contacted", stored["Status"], "default applied by the org")

	batch := mustWrite(t, e, e.write("Account", writeback.WriteTypeCreate, true, rec("Name", "A"), rec("Name", "B")))
	for _, r := range batch.Results {
		require.Equal(t, "001", r.ID[:3])
		_, ok := e.srv.Record("Account", r.ID)
		require.True(t, ok)
	}

	upd := mustWrite(t, e, e.write("Lead", writeback.WriteTypeUpdate, true, withID(id, rec("Title", "CFO"))))
	require.Equal(t, id, upd.Results[0].ID)
}

func TestBatchAllOrNone(t *testing.T) {
	t.Parallel()

	t.Run("create all or nothing rolls back", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		req := e.write("Contact", writeback.WriteTypeCreate, true, rec("LastName", "A"), rec("FirstName", "NoLast"), rec("LastName", "C"))
		req.AllOrNone = true
		resp := mustWrite(t, e, req)

		bad := resp.Results[1].Err
		require.NotNil(t, bad)
		require.Equal(t, writeback.ClassInvalid, bad.Class)
		require.Equal(t, "REQUIRED_FIELD_MISSING", bad.Code)
		require.Equal(t, []string{"LastName"}, bad.Fields)
		require.Equal(t, 1, bad.RecordIndex)
		for _, i := range []int{0, 2} {
			rb := resp.Results[i].Err
			require.NotNil(t, rb, "record %d", i)
			require.Equal(t, writeback.ClassRolledBack, rb.Class)
			require.Equal(t, "ALL_OR_NONE_OPERATION_ROLLED_BACK", rb.Code)
			require.Equal(t, i, rb.RecordIndex)
			require.False(t, rb.Retryable())
		}
		require.Zero(t, e.srv.Count("Contact"), "nothing written")
	})

	t.Run("create partial writes the valid records", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		req := e.write("Contact", writeback.WriteTypeCreate, true, rec("LastName", "A"), rec("FirstName", "NoLast"), rec("LastName", "C"))
		resp := mustWrite(t, e, req)
		require.True(t, resp.Results[0].Success())
		require.Equal(t, writeback.ClassInvalid, resp.Results[1].Err.Class)
		require.True(t, resp.Results[2].Success())
		require.Equal(t, 2, e.srv.Count("Contact"))
		require.Len(t, e.srv.CallsTo(http.MethodPost, "/composite/sobjects"), 1, "one call for the batch")
	})

	t.Run("update all or nothing leaves records unchanged", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		a := e.srv.Seed("Contact", map[string]any{"LastName": "A", "Title": "before"})
		b := e.srv.Seed("Contact", map[string]any{"LastName": "B", "Title": "before"})
		missing := "003000000000000AAA"
		req := e.write("Contact", writeback.WriteTypeUpdate, true,
			withID(a, rec("Title", "after")), withID(missing, rec("Title", "after")), withID(b, rec("Title", "after")))
		req.AllOrNone = true
		resp := mustWrite(t, e, req)
		require.Equal(t, writeback.ClassNotFound, resp.Results[1].Err.Class)
		require.Equal(t, writeback.ClassRolledBack, resp.Results[0].Err.Class)
		require.Equal(t, writeback.ClassRolledBack, resp.Results[2].Err.Class)
		for _, id := range []string{a, b} {
			got, _ := e.srv.Record("Contact", id)
			require.Equal(t, "before", got["Title"])
		}

		req.AllOrNone = false
		resp = mustWrite(t, e, req)
		require.True(t, resp.Results[0].Success())
		require.Equal(t, writeback.ClassNotFound, resp.Results[1].Err.Class)
		require.True(t, resp.Results[2].Success())
		got, _ := e.srv.Record("Contact", b)
		require.Equal(t, "after", got["Title"])
	})
}

func TestEncodeWriteMatchesWhatWriteSends(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	id := e.srv.Seed("Account", map[string]any{"Name": "Acme"})
	reqs := []*writeback.ProviderRequest{
		e.write("Account", writeback.WriteTypeCreate, false, rec("Name", "New", "NumberOfEmployees", 12)),
		e.write("Account", writeback.WriteTypeUpdate, false, withID(id, rec("Website", "https://acme.example"))),
		e.write("Account", writeback.WriteTypeCreate, true, rec("Name", "B1"), rec("Name", "B2")),
		e.write("Account", writeback.WriteTypeDelete, false, writeback.Record{ID: id}),
	}
	for _, req := range reqs {
		req.Headers = []writeback.Header{{Key: "Sforce-Call-Options", Value: "client=writeback-test"}}
		enc, err := e.p.EncodeWrite(req)
		require.NoError(t, err)
		require.Len(t, enc, 1)
		before := e.srv.CallCount()
		require.Equal(t, before, e.srv.CallCount(), "EncodeWrite sends nothing")
		mustWrite(t, e, req)
		c := e.srv.Calls()[before]
		require.Equal(t, c.Method, enc[0].Method)
		require.Equal(t, e.srv.URL+c.Path, enc[0].URL)
		require.Equal(t, map[string]string{"Sforce-Call-Options": "client=writeback-test"}, enc[0].Header)
		if len(c.Body) == 0 {
			require.Nil(t, enc[0].Body)
		} else {
			require.JSONEq(t, string(c.Body), string(enc[0].Body))
			require.True(t, json.Valid(enc[0].Body))
		}
	}
}

func TestWriteRefusesBadInputWithoutSending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	id := e.srv.Seed("Contact", map[string]any{"LastName": "A"})
	cases := []struct {
		name     string
		req      *writeback.ProviderRequest
		sentinel error
	}{
		{"no instance url", func() *writeback.ProviderRequest {
			r := e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A"))
			r.Connection.InstanceURL = ""
			return r
		}(), writeback.ErrInvalidInstallation},
		{"plain http to a remote host", func() *writeback.ProviderRequest {
			r := e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A"))
			r.Connection.InstanceURL = "http://example.my.salesforce.com"
			return r
		}(), writeback.ErrInvalidInstallation},
		{"object with a slash", e.write("Contact/../Account", writeback.WriteTypeCreate, false, rec("LastName", "A")), writeback.ErrUnknownObject},
		{"id with a path", e.write("Contact", writeback.WriteTypeUpdate, false, withID("../../x", rec("LastName", "A"))), writeback.ErrInvalidRecord},
		{"update without id", e.write("Contact", writeback.WriteTypeUpdate, false, rec("LastName", "A")), writeback.ErrMissingID},
		{"create with id", e.write("Contact", writeback.WriteTypeCreate, true, withID(id, rec("LastName", "A"))), writeback.ErrMissingID},
		{"update setting Id", e.write("Contact", writeback.WriteTypeUpdate, true, withID(id, rec("Id", id))), writeback.ErrInvalidRecord},
		{"attributes field", e.write("Contact", writeback.WriteTypeCreate, false, rec("attributes", map[string]any{"type": "Lead"})), writeback.ErrInvalidRecord},
		{"unencodable value", e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", func() {})), writeback.ErrInvalidRecord},
		{"batch delete", e.write("Contact", writeback.WriteTypeDelete, true, writeback.Record{ID: id}), writeback.ErrUnsupported},
		{"two records without batch", e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A"), rec("LastName", "B")), writeback.ErrBatchSize},
		{"associations", e.write("Contact", writeback.WriteTypeCreate, false, writeback.Record{
			Fields: map[string]any{"LastName": "A"}, Associations: []writeback.Association{{To: id}},
		}), writeback.ErrUnsupported},
	}
	for _, tc := range cases {
		_, err := e.p.Write(t.Context(), tc.req)
		pe := perr(t, err)
		require.Equal(t, writeback.ClassInvalid, pe.Class, tc.name)
		require.ErrorIs(t, err, tc.sentinel, tc.name)
		var ve *writeback.ValidationError
		require.ErrorAs(t, err, &ve, tc.name)
		_, err = e.p.EncodeWrite(tc.req)
		require.ErrorIs(t, err, tc.sentinel, tc.name)
	}
	require.Zero(t, e.srv.CallCount(), "nothing was sent")

	for _, v := range []string{"latest", "v41.0", "62", "v62.1"} {
		bad := salesforce.New(salesforce.Config{APIVersion: v})
		_, err := bad.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		require.ErrorIs(t, err, writeback.ErrInvalidConfig, v)
		_, err = bad.Read(t.Context(), e.read("Contact", []string{id}, "LastName"))
		require.ErrorIs(t, err, writeback.ErrInvalidConfig, v)
	}
	require.Zero(t, e.srv.CallCount())
}
