package writeback_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// TestWritesSeeInstallationChangesAtOnce: a Writer that has written for
// an installation sees a change another Writer on the same store made, in
// its next write, and a deleted and recreated installation too.
func TestWritesSeeInstallationChangesAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	other := setup(t, withStore(b.store), withProviders(b.hub, b.sf)).w
	create := func() map[string]any {
		t.Helper()
		_, err := b.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "a@x.com"}}, nil)
		require.NoError(t, err)
		writes := b.hub.Writes()
		return writes[len(writes)-1].Records[0].Fields
	}
	require.Equal(t, "myApp", create()["myCustomSource"])

	up := &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
		"contacts": {SelectedFieldSettings: map[string]writeback.FieldSetting{"customSource": {Default: writeback.StringDefault("changed")}}},
	}}}}
	_, err := other.UpdateInstallation(ctx, b.crm.ID, up, []string{"config.content.write.objects.contacts.selectedFieldSettings.customSource"})
	require.NoError(t, err)
	require.Equal(t, "changed", create()["myCustomSource"], "the other Writer's change")

	inst, err := other.Installation(ctx, b.crm.ID)
	require.NoError(t, err)
	require.NoError(t, other.DeleteInstallation(ctx, b.crm.ID))
	inst.Config.Write.Objects["contacts"].SelectedFieldSettings["customSource"] = writeback.FieldSetting{Default: writeback.StringDefault("recreated")}
	_, err = other.CreateInstallation(ctx, inst)
	require.NoError(t, err)
	require.Equal(t, "recreated", create()["myCustomSource"], "a new installation, at revision 1 again")
}
