package salesforce_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

func TestReadFetchesCurrentValuesInOneCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	a := e.srv.Seed("Contact", map[string]any{"LastName": "A", "Email": "a@example.com"})
	b := e.srv.Seed("Contact", map[string]any{"LastName": "B", "Title": "CTO"})
	gone := e.srv.Seed("Contact", map[string]any{"LastName": "Gone"})
	mustWrite(t, e, e.write("Contact", writeback.WriteTypeDelete, false, writeback.Record{ID: gone}))
	missing := "003000000000000AAA"
	before := e.srv.CallCount()

	got, err := e.p.Read(t.Context(), e.read("Contact", []string{a, b[:15], gone, missing}, "email", "Title"))
	require.NoError(t, err)
	require.Equal(t, map[string]map[string]any{
		a:      {"email": "a@example.com", "Title": nil},
		b[:15]: {"email": nil, "Title": "CTO"},
	}, got)

	calls := e.srv.Calls()[before:]
	require.Len(t, calls, 1)
	require.Equal(t, http.MethodPost, calls[0].Method)
	require.Equal(t, "/services/data/v62.0/composite/sobjects/Contact", calls[0].Path)
	require.JSONEq(t, `{"ids":["`+a+`","`+b[:15]+`","`+gone+`","`+missing+`"],"fields":["Id","email","Title"]}`, string(calls[0].Body))

	empty, err := e.p.Read(t.Context(), e.read("Contact", nil, "Email"))
	require.NoError(t, err)
	require.Empty(t, empty)
	require.Len(t, e.srv.Calls(), before+1, "no call for no ids")
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	id := e.srv.Seed("Contact", map[string]any{"LastName": "A"})

	_, err := e.p.Read(t.Context(), e.read("Contact", []string{id}, "Nope__c"))
	pe := perr(t, err)
	require.Equal(t, writeback.ClassInvalid, pe.Class)
	require.Equal(t, "INVALID_FIELD", pe.Code)
	require.Equal(t, []string{"Nope__c"}, pe.Fields)

	_, err = e.p.Read(t.Context(), e.read("Nope", []string{id}, "Name"))
	require.Equal(t, writeback.ClassNotFound, perr(t, err).Class)

	e.srv.InjectFault(salesforcetest.Fault{DropAfterProcessing: true})
	got, err := e.p.Read(t.Context(), e.read("Contact", []string{id}, "LastName"))
	require.NoError(t, err, "a read is resent after a lost answer")
	require.Equal(t, "A", got[id]["LastName"])

	req := e.read("Contact", []string{id}, "LastName")
	req.Connection.InstanceURL = ""
	_, err = e.p.Read(t.Context(), req)
	require.ErrorIs(t, err, writeback.ErrInvalidInstallation)
}
