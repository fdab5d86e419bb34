package salesforce_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// TestRowLockIsResent checks that an answer whose only errors are
// UNABLE_TO_LOCK_ROW (nothing was written) is sent again within the call,
// while a partial batch where other records were written is not.
func TestRowLockIsResent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	id := e.srv.Seed("Account", map[string]any{"Name": "Acme"})
	e.srv.InjectFault(salesforcetest.Fault{LockRow: true})
	resp := mustWrite(t, e, e.write("Account", writeback.WriteTypeUpdate, false, withID(id, rec("Name", "New"))))
	require.True(t, resp.Results[0].Success(), "%v", resp.Results[0].Err)
	require.Len(t, resp.Calls, 2)
	require.Equal(t, []int{400, 204}, []int{resp.Calls[0].Status, resp.Calls[1].Status})
	vals, _ := e.srv.Record("Account", id)
	require.Equal(t, "New", vals["Name"])

	// All-or-nothing: the lock rolled back the other record, so nothing
	// was written and the batch is sent again.
	e.srv.InjectFault(salesforcetest.Fault{LockRow: true, Records: []int{1}})
	req := e.write("Account", writeback.WriteTypeCreate, true, rec("Name", "A"), rec("Name", "B"))
	req.AllOrNone = true
	resp = mustWrite(t, e, req)
	require.True(t, resp.Results[0].Success())
	require.True(t, resp.Results[1].Success())
	require.Len(t, resp.Calls, 2)
	require.Equal(t, 3, e.srv.Count("Account"))

	// Partial: record 0 was written; resending would write it twice.
	e.srv.InjectFault(salesforcetest.Fault{LockRow: true, Records: []int{1}})
	resp = mustWrite(t, e, e.write("Account", writeback.WriteTypeCreate, true, rec("Name", "C"), rec("Name", "D")))
	require.True(t, resp.Results[0].Success())
	require.Equal(t, "UNABLE_TO_LOCK_ROW", resp.Results[1].Err.Code)
	require.Len(t, resp.Calls, 1)
	require.Equal(t, 4, e.srv.Count("Account"))
}

// TestFieldErrorsPerField checks that Salesforce's per-error fields and
// codes are kept per field.
func TestFieldErrorsPerField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	resp := mustWrite(t, e, e.write("Contact", writeback.WriteTypeCreate, true, rec("FirstName", "A")))
	perr := resp.Results[0].Err
	require.NotNil(t, perr)
	require.Equal(t, 200, perr.StatusCode, "the Collections call's status")
	require.Equal(t, []writeback.FieldError{{ProviderField: "LastName", Code: "REQUIRED_FIELD_MISSING", Message: perr.FieldErrors[0].Message}}, perr.FieldErrors)
	require.NotEmpty(t, perr.FieldErrors[0].Message)
	require.Contains(t, perr.Error(), "LastName REQUIRED_FIELD_MISSING")
}
