package salesforce_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// TestDeleteOfADeletedRecordSucceeds checks that deleting a record that is
// already deleted (404 ENTITY_IS_DELETED) succeeds, flagged and logged,
// while an ID that names no record, or is malformed, stays an error.
func TestDeleteOfADeletedRecordSucceeds(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	id := e.srv.Seed("Contact", map[string]any{"LastName": "A"})
	resp := mustWrite(t, e, e.write("Contact", writeback.WriteTypeDelete, false, writeback.Record{ID: id}))
	require.True(t, resp.Results[0].Success())
	require.False(t, resp.Results[0].AlreadyDeleted)

	resp = mustWrite(t, e, e.write("Contact", writeback.WriteTypeDelete, false, writeback.Record{ID: id}))
	require.True(t, resp.Results[0].Success(), "%v", resp.Results[0].Err)
	require.True(t, resp.Results[0].AlreadyDeleted)
	require.Equal(t, id, resp.Results[0].ID)
	require.Equal(t, http.StatusNotFound, e.srv.Calls()[1].Status, "Salesforce answered ENTITY_IS_DELETED")
	require.Contains(t, logs.String(), "record already deleted")

	// A well-formed ID of no record of the object.
	never := "003000000000000AAA"
	resp = mustWrite(t, e, e.write("Contact", writeback.WriteTypeDelete, false, writeback.Record{ID: never}))
	require.NotNil(t, resp.Results[0].Err)
	require.False(t, resp.Results[0].AlreadyDeleted)
	// An ID of another object.
	acct := e.srv.Seed("Account", map[string]any{"Name": "Acme"})
	resp = mustWrite(t, e, e.write("Contact", writeback.WriteTypeDelete, false, writeback.Record{ID: acct}))
	require.NotNil(t, resp.Results[0].Err)
	require.False(t, resp.Results[0].AlreadyDeleted)
}
