package hubspot_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

const writerManifest = `
specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    write:
      objects:
        - objectName: contacts
`

// newWriter wires a Writer to the simulator, with phone written on update
// only when empty.
func newWriter(t *testing.T, srv *hubspottest.Server) (*writeback.Writer, writeback.Target) {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(writerManifest))
	require.NoError(t, err)
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:        m,
		Providers:       []writeback.Provider{hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client()})},
		Store:           memstore.New(),
		TokenSourceFunc: providertest.StaticTokens(hubspottest.DefaultToken),
	})
	require.NoError(t, err)
	_, err = w.CreateInstallation(t.Context(), &writeback.Installation{
		Integration: "crm", GroupRef: "g1",
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {ObjectName: "contacts", SelectedFieldSettings: map[string]writeback.FieldSetting{
				"phone": {WriteOnUpdate: writeback.WriteOnUpdateIfEmpty},
			}},
		}}},
	})
	require.NoError(t, err)
	return w, writeback.Target{Integration: "crm", GroupRef: "g1", Object: "contacts"}
}

// TestWriterIfEmptyOneReadPerBatch checks the ifEmpty rule end to end: one
// batch read for the batch, and phone written only where it was empty.
func TestWriterIfEmptyOneReadPerBatch(t *testing.T) {
	t.Parallel()
	srv := hubspottest.NewServer(hubspottest.Options{})
	t.Cleanup(srv.Close)
	w, target := newWriter(t, srv)
	a := srv.Seed("contacts", map[string]string{"email": "a@example.com", "phone": "111"})
	b := srv.Seed("contacts", map[string]string{"email": "b@example.com"})
	c := srv.Seed("contacts", map[string]string{"email": "c@example.com", "phone": ""})

	res, err := w.Batch(t.Context(), target, writeback.WriteTypeUpdate, []writeback.Record{
		{ID: a, Fields: map[string]any{"phone": "999", "firstname": "A"}},
		{ID: b, Fields: map[string]any{"phone": "999", "firstname": "B"}},
		{ID: c, Fields: map[string]any{"phone": "999", "firstname": "C"}},
	}, &writeback.WriteOpts{BatchPolicy: writeback.BatchPartial})
	require.NoError(t, err)
	require.Equal(t, 3, res.SuccessCount())
	require.Len(t, srv.CallsTo("POST", "/batch/read"), 1, "one read for the batch")
	require.Len(t, srv.CallsTo("POST", "/batch/update"), 1)
	want := map[string]string{a: "111", b: "999", c: "999"}
	for id, phone := range want {
		props, _ := srv.Record("contacts", id)
		require.Equal(t, phone, props["phone"], "record %s", id)
	}
}

// TestWriterCompensatedBatch checks that the Writer reports an emulated
// all-or-nothing batch update that HubSpot partly refused.
func TestWriterCompensatedBatch(t *testing.T) {
	t.Parallel()
	srv := hubspottest.NewServer(hubspottest.Options{})
	t.Cleanup(srv.Close)
	w, target := newWriter(t, srv)
	a := srv.Seed("contacts", map[string]string{"email": "a@example.com", "firstname": "A"})
	b := srv.Seed("contacts", map[string]string{"email": "b@example.com", "firstname": "B"})

	res, err := w.Batch(t.Context(), target, writeback.WriteTypeUpdate, []writeback.Record{
		{ID: a, Fields: map[string]any{"firstname": "A2"}},
		{ID: b, Fields: map[string]any{"email": "a@example.com"}},
	}, nil)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr, "the failed batch returns the failing record's error")
	require.Equal(t, writeback.ClassConflict, perr.Class)
	require.Equal(t, a, perr.ExistingID)
	require.NotNil(t, res)
	require.Zero(t, res.SuccessCount())
	require.NotNil(t, res.Compensation)
	require.Equal(t, []string{a}, res.Compensation.Restored)
	props, _ := srv.Record("contacts", a)
	require.Equal(t, "A", props["firstname"], "restored")
}
