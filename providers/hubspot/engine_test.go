package hubspot_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

// The tests in this file run the Writer on the HubSpot adapter and its
// simulator, for what the engine does with the adapter's answers: field
// errors named as the application names the fields, and the provider
// calls of every attempt in the operation.

// mappedManifest has contacts whose write inherits the read mapping:
// stage is lifecyclestage, and leadStatus is whatever the installation
// maps it to.
const mappedManifest = `
specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          destination: contactsWebhook
          requiredFields:
            - fieldName: email
          optionalFields:
            - mapToName: stage
              fieldName: lifecyclestage
            - mapToName: leadStatus
    write:
      objects:
        - objectName: contacts
          inheritMapping: true
`

// mappedWriter returns a started Writer on the simulator, with one
// installation mapping leadStatus to hs_lead_status.
func mappedWriter(t *testing.T, srv *hubspottest.Server, cfg hubspot.Config) (*writeback.Writer, writeback.Target) {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(mappedManifest))
	require.NoError(t, err)
	cfg.BaseURL, cfg.HTTPClient = srv.URL, srv.Client()
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:        m,
		Providers:       []writeback.Provider{hubspot.New(cfg)},
		Store:           memstore.New(),
		TokenSourceFunc: providertest.StaticTokens(hubspottest.DefaultToken),
	})
	require.NoError(t, err)
	_, err = w.CreateInstallation(t.Context(), &writeback.Installation{
		Integration: "crm", GroupRef: "g1",
		Config: writeback.InstallationConfig{
			Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
				"contacts": {ObjectName: "contacts", SelectedFieldMappings: map[string]string{"leadStatus": "hs_lead_status"}},
			}},
			Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{"contacts": {ObjectName: "contacts"}}},
		},
	})
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, w.Stop(context.Background())) })
	return w, writeback.Target{Integration: "crm", GroupRef: "g1", Object: "contacts"}
}

// wait waits for an operation to end, polling under a deadline.
func wait(t *testing.T, w *writeback.Writer, id string) *writeback.Operation {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	op, err := w.Wait(ctx, id)
	require.NoError(t, err)
	return op
}

// fieldCodes returns a field error's code by the application's field
// name, checking that each keeps its provider name too.
func fieldCodes(t *testing.T, perr *writeback.ProviderError, provider map[string]string) map[string]string {
	t.Helper()
	require.NotNil(t, perr)
	out := map[string]string{}
	for _, f := range perr.FieldErrors {
		require.Equal(t, provider[f.Field], f.ProviderField, "field %q", f.Field)
		out[f.Field] = f.Code
	}
	return out
}

// TestFieldErrorsInTheAppsNames checks that the fields HubSpot rejects
// are named as the application names them, through the installation's
// mapping, with HubSpot's names kept: in a sync write's error, in its
// stored operation, in an async write and in an auto-batch group.
func TestFieldErrorsInTheAppsNames(t *testing.T) {
	t.Parallel()
	srv := hubspottest.NewServer(hubspottest.Options{})
	t.Cleanup(srv.Close)
	w, target := mappedWriter(t, srv, hubspot.Config{})
	names := map[string]string{"stage": "lifecyclestage", "leadStatus": "hs_lead_status", "shoe_size": "shoe_size"}
	want := map[string]string{"stage": "INVALID_OPTION", "leadStatus": "INVALID_OPTION", "shoe_size": "PROPERTY_DOESNT_EXIST"}
	bad := writeback.Record{Fields: map[string]any{"email": "a@example.com", "stage": "friend", "leadStatus": "MAYBE", "shoe_size": 42}}

	// Sync: the error returned, and the operation stored.
	res, err := w.Create(t.Context(), target, bad, nil)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassInvalid, perr.Class)
	require.Equal(t, want, fieldCodes(t, perr, names))
	require.Contains(t, perr.Error(), "stage (lifecyclestage) INVALID_OPTION")
	op, err := w.Operation(t.Context(), res.OperationID)
	require.NoError(t, err)
	require.Equal(t, want, fieldCodes(t, op.Results[0].Err, names))

	// Async.
	res, err = w.Create(t.Context(), target, bad, &writeback.WriteOpts{Mode: writeback.ModeAsync})
	require.NoError(t, err)
	op = wait(t, w, res.OperationID)
	require.Equal(t, writeback.OperationFailure, op.Status)
	require.Equal(t, want, fieldCodes(t, op.Results[0].Err, names))

	// Auto-batch: a full group, one record rejected per record (207).
	const badIndex = 7
	var id string
	for i := range hubspot.MaxBatchSize {
		rec := writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("g%d@example.com", i), "stage": "lead"}}
		if i == badIndex {
			rec.Fields["stage"] = "friend"
		}
		res, err := w.Create(t.Context(), target, rec, &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Hour}})
		require.NoError(t, err)
		id = res.OperationID
	}
	op = wait(t, w, id)
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.Len(t, op.SuccessfulRecordIDs, hubspot.MaxBatchSize-1)
	require.Equal(t, map[string]string{"stage": "INVALID_OPTION"}, fieldCodes(t, op.Results[badIndex].Err, names))
}

// TestCallsOfEachAttemptInTheOperation checks that the calls the adapter
// resent within one engine attempt show in the operation: three 503s then
// a success are one attempt, four calls, listed on attempt 1's log line,
// in sync and async mode alike.
func TestCallsOfEachAttemptInTheOperation(t *testing.T) {
	t.Parallel()
	srv := hubspottest.NewServer(hubspottest.Options{})
	t.Cleanup(srv.Close)
	w, target := mappedWriter(t, srv, hubspot.Config{MaxAttempts: 4})
	for i, opts := range []*writeback.WriteOpts{nil, {Mode: writeback.ModeAsync}} {
		srv.InjectFault(hubspottest.Fault{Status: http.StatusServiceUnavailable, Times: 3})
		res, err := w.Create(t.Context(), target, writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("r%d@example.com", i)}}, opts)
		require.NoError(t, err)
		op := wait(t, w, res.OperationID)
		require.Equal(t, writeback.OperationSuccess, op.Status, "%s", op.Summary)
		require.Equal(t, 1, op.Attempts)
		require.Equal(t, 4, op.ProviderCalls)
		var lines []writeback.LogEntry
		for _, l := range op.Logs {
			if len(l.Calls) > 0 {
				lines = append(lines, l)
			}
		}
		require.Len(t, lines, 1, "one line for the one attempt")
		require.Equal(t, []int{503, 503, 503, 201}, statuses(lines[0].Calls))
		for k, c := range lines[0].Calls {
			require.Equal(t, http.MethodPost, c.Method)
			require.Equal(t, "/crm/v3/objects/contacts", c.Path)
			if k > 0 {
				require.Positive(t, c.Wait, "a resend waits")
			}
		}
		require.Regexp(t, `^attempt 1: 4 provider calls: POST /crm/v3/objects/contacts 503, 503 after \S+, 503 after \S+, 201 after \S+$`, lines[0].Message)
	}
}
