package writeback_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/boltstore"
)

// TestSurvivesReopen checks that installations and operations written
// through one Writer are there for a new Writer on the reopened bbolt file.
func TestSurvivesReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "writeback.db")
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	open := func() (*writeback.Writer, *boltstore.Store) {
		st, err := boltstore.Open(path, nil)
		require.NoError(t, err)
		return setup(t, withManifest(exampleManifest), withProviders(fake), withStore(st), withInstallations()).w, st
	}

	w, st := open()
	inst, err := w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "hubspot-crm",
		GroupRef:    "cust-42",
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {ObjectName: "contacts", DeletionSettings: &writeback.DeletionSettings{Enabled: true}},
		}}},
	})
	require.NoError(t, err)
	target := writeback.Target{Integration: "hubspot-crm", GroupRef: "cust-42", Object: "contacts"}
	res, err := w.Create(ctx, target, writeback.Record{Fields: map[string]any{"email": "a@x.com"}}, nil)
	require.NoError(t, err)
	require.NoError(t, st.Close())

	w, st = open()
	defer func() { require.NoError(t, st.Close()) }()
	got, err := w.InstallationByGroup(ctx, "hubspot-crm", "cust-42")
	require.NoError(t, err)
	require.Equal(t, inst.ID, got.ID)
	require.Equal(t, inst.Config, got.Config)
	op, err := w.Operation(ctx, res.OperationID)
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, op.Status)
	require.Equal(t, res.Records[0].ID, op.Results[0].ID)

	// The reopened Writer writes through the stored installation.
	_, err = w.Delete(ctx, target, res.Records[0].ID, nil)
	require.NoError(t, err)
	require.Equal(t, 0, fake.Count("contacts"))
}
