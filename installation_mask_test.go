package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
	"github.com/writebackhq/writeback/store/memstore"
)

// TestUpdateInstallationSettingPaths sets one setting at a time through the
// paths the documentation promises; everything else stays as it was.
func TestUpdateInstallationSettingPaths(t *testing.T) {
	t.Parallel()
	const contacts = "config.content.write.objects.contacts"
	tests := []struct {
		name   string
		update *writeback.Installation
		path   string
		want   func(in *writeback.Installation)
	}{
		{
			name:   "deletionSettings, absent from the update: deletion off",
			update: &writeback.Installation{},
			path:   contacts + ".deletionSettings",
			want: func(in *writeback.Installation) {
				o := in.Config.Write.Objects["contacts"]
				o.DeletionSettings = nil
				in.Config.Write.Objects["contacts"] = o
			},
		},
		{
			name: "deletionSettings.enabled",
			update: &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {DeletionSettings: &writeback.DeletionSettings{Enabled: false}},
			}}}},
			path: contacts + ".deletionSettings.enabled",
			want: func(in *writeback.Installation) {
				o := in.Config.Write.Objects["contacts"]
				o.DeletionSettings = &writeback.DeletionSettings{Enabled: false}
				in.Config.Write.Objects["contacts"] = o
			},
		},
		{
			name: "one field's writeOnUpdate",
			update: &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {SelectedFieldSettings: map[string]writeback.FieldSetting{"score": {WriteOnUpdate: writeback.WriteOnUpdateAlways}}},
			}}}},
			path: contacts + ".selectedFieldSettings.score.writeOnUpdate",
			want: func(in *writeback.Installation) {
				s := in.Config.Write.Objects["contacts"].SelectedFieldSettings["score"]
				s.WriteOnUpdate = writeback.WriteOnUpdateAlways // the default stays
				in.Config.Write.Objects["contacts"].SelectedFieldSettings["score"] = s
			},
		},
		{
			name: "one field's default, on a field without settings",
			update: &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {SelectedFieldSettings: map[string]writeback.FieldSetting{"region": {Default: writeback.StringDefault("EU")}}},
			}}}},
			path: contacts + ".selectedFieldSettings.region.default",
			want: func(in *writeback.Installation) {
				in.Config.Write.Objects["contacts"].SelectedFieldSettings["region"] = writeback.FieldSetting{Default: writeback.StringDefault("EU")}
			},
		},
		{
			name:   "one field's settings, removed",
			update: &writeback.Installation{},
			path:   contacts + ".selectedFieldSettings.ratio",
			want: func(in *writeback.Installation) {
				delete(in.Config.Write.Objects["contacts"].SelectedFieldSettings, "ratio")
			},
		},
		{
			name:   "removeUnmappedFields",
			update: &writeback.Installation{},
			path:   contacts + ".removeUnmappedFields",
			want: func(in *writeback.Installation) {
				o := in.Config.Write.Objects["contacts"]
				o.RemoveUnmappedFields = false
				in.Config.Write.Objects["contacts"] = o
			},
		},
		{
			name: "one read mapping",
			update: &writeback.Installation{Config: writeback.InstallationConfig{Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
				"contacts": {SelectedFieldMappings: map[string]string{"phoneNumber": "phone"}},
			}}}},
			path: "config.content.read.objects.contacts.selectedFieldMappings.phoneNumber",
			want: func(in *writeback.Installation) {
				in.Config.Read.Objects["contacts"].SelectedFieldMappings["phoneNumber"] = "phone"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := setup(t, installWorld()).w
			before, err := w.CreateInstallation(ctx, validInstallation("g"))
			require.NoError(t, err)
			want, err := w.Installation(ctx, before.ID)
			require.NoError(t, err)
			got, err := w.UpdateInstallation(ctx, before.ID, tt.update, []string{tt.path})
			require.NoError(t, err)
			tt.want(want)
			require.Equal(t, want.Config, got.Config)
			require.Equal(t, int64(2), got.Revision)
			requireStored(t, w, got)
		})
	}
}

// TestUpdateInstallationDeletionSettingsPathDisablesDeletes is the case of
// the hosted API's documentation: the mask path of an object's
// deletionSettings turns deletion off, and deletes are refused.
func TestUpdateInstallationDeletionSettingsPathDisablesDeletes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	inst, err := b.w.UpdateInstallation(ctx, b.crm.ID, &writeback.Installation{}, []string{"config.content.write.objects.contacts.deletionSettings"})
	require.NoError(t, err)
	require.Nil(t, inst.Config.Write.Objects["contacts"].DeletionSettings)
	_, err = b.w.Delete(ctx, crmTarget("contacts"), "101", nil)
	require.ErrorIs(t, err, writeback.ErrDeletionDisabled)
}

// TestUpdateInstallationRefusesPathsItDoesNotApply: a path that names no
// object of the integration, no setting, or a setting of an object the
// installation lacks is refused with an error naming it; nothing changes.
func TestUpdateInstallationRefusesPathsItDoesNotApply(t *testing.T) {
	t.Parallel()
	for path, reason := range map[string]string{
		"config.content.write.objects.contcts":                             `names no write object of integration "crm" (write objects: contacts, companies)`,
		"config.content.write.objects.contcts.deletionSettings":            `names no write object`,
		"config.content.write.objects.contacts.deletionSetings":            `unknown setting "deletionSetings"`,
		"config.content.write.objects.contacts.selectedFieldSettings":      "",
		"config.content.write.objects.companies.deletionSettings":          `the installation has no write object "companies"`,
		"config.content.read.objects.companies":                            `names no read object`,
		"config.content.read.objects.contacts.selectedFieldSettings.phone": `unknown setting`,
		"config.content.subscribe.objects":                                 `unknown path`,
		"config.content.write.objects.contacts.selectedFieldSettings.":     `unknown setting`,
	} {
		ctx := t.Context()
		w := setup(t, installWorld()).w
		before, err := w.CreateInstallation(ctx, validInstallation("g"))
		require.NoError(t, err)
		_, err = w.UpdateInstallation(ctx, before.ID, &writeback.Installation{}, []string{path})
		if reason == "" {
			require.NoError(t, err, path)
			continue
		}
		var ve *writeback.ValidationError
		require.True(t, errors.As(err, &ve), "%s: %v", path, err)
		require.ErrorIs(t, err, writeback.ErrInvalidInstallation)
		require.Equal(t, "updateMask[0]", ve.Field)
		require.Contains(t, ve.Reason, path)
		require.Contains(t, ve.Reason, reason)
		requireStored(t, w, before)
	}
}

// TestConcurrentInstallationUpdatesOfDifferentSettingsAllApply runs two
// updaters against one installation, each changing its own setting many
// times: every update applies.
func TestConcurrentInstallationUpdatesOfDifferentSettingsAllApply(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) store.Interface{
		"memstore": func(*testing.T) store.Interface { return memstore.New() },
		"boltstore": func(t *testing.T) store.Interface {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "w.db"), nil)
			require.NoError(t, err)
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := setup(t, installWorld(), withStore(open(t))).w
			inst, err := w.CreateInstallation(ctx, validInstallation("g"))
			require.NoError(t, err)
			const updates = 40
			var wg sync.WaitGroup
			for _, field := range []string{"a", "b"} {
				wg.Go(func() {
					for i := range updates {
						up := &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
							"contacts": {SelectedFieldSettings: map[string]writeback.FieldSetting{field: {Default: writeback.IntegerDefault(int64(i))}}},
						}}}}
						path := fmt.Sprintf("config.content.write.objects.contacts.selectedFieldSettings.%s", field)
						if _, err := w.UpdateInstallation(ctx, inst.ID, up, []string{path}); err != nil {
							t.Errorf("%s update %d: %v", field, i, err)
							return
						}
						patch := fmt.Sprintf(`[{"op":"add","path":"/selectedFieldMappings/%s","value":"p%d"}]`, field, i)
						if _, err := w.PatchInstallationObject(ctx, inst.ID, writeback.PatchRead, "contacts", []byte(patch)); err != nil {
							t.Errorf("%s patch %d: %v", field, i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			got, err := w.Installation(ctx, inst.ID)
			require.NoError(t, err)
			require.Equal(t, int64(1+4*updates), got.Revision, "every update stored")
			for _, field := range []string{"a", "b"} {
				require.Equal(t, int64(updates-1), *got.Config.Write.Objects["contacts"].SelectedFieldSettings[field].Default.IntegerValue)
				require.Equal(t, fmt.Sprintf("p%d", updates-1), got.Config.Read.Objects["contacts"].SelectedFieldMappings[field])
			}
		})
	}
}

// TestConcurrentInstallationUpdateOfTheSameSettingConflicts: a change
// that lands between an update's read and its write and changes the same
// setting to another value fails the update with a ConflictError naming
// the setting; the same value does not conflict.
func TestConcurrentInstallationUpdateOfTheSameSettingConflicts(t *testing.T) {
	t.Parallel()
	const path = "config.content.write.objects.contacts.selectedFieldSettings.score.writeOnUpdate"
	setScore := func(rule writeback.WriteOnUpdate) *writeback.Installation {
		return &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {SelectedFieldSettings: map[string]writeback.FieldSetting{"score": {WriteOnUpdate: rule}}},
		}}}}
	}
	for _, theirs := range []writeback.WriteOnUpdate{writeback.WriteOnUpdateIfEmpty, writeback.WriteOnUpdateAlways} {
		ctx := t.Context()
		rs := &racingStore{Interface: memstore.New()}
		w := setup(t, installWorld(), withStore(rs)).w
		inst, err := w.CreateInstallation(ctx, validInstallation("g"))
		require.NoError(t, err)
		rs.race = func() {
			_, err := w.UpdateInstallation(context.WithoutCancel(ctx), inst.ID, setScore(theirs), []string{path})
			require.NoError(t, err)
		}
		got, err := w.UpdateInstallation(ctx, inst.ID, setScore(writeback.WriteOnUpdateAlways), []string{path})
		if theirs == writeback.WriteOnUpdateAlways {
			require.NoError(t, err, "the other change made the same change")
			require.Equal(t, writeback.WriteOnUpdateAlways, got.Config.Write.Objects["contacts"].SelectedFieldSettings["score"].WriteOnUpdate)
			continue
		}
		var ce *writeback.ConflictError
		require.ErrorAs(t, err, &ce)
		require.ErrorIs(t, err, writeback.ErrConflict)
		require.Equal(t, path, ce.Path)
		require.Equal(t, int64(2), ce.Revision)
		stored, err := w.Installation(ctx, inst.ID)
		require.NoError(t, err)
		require.Equal(t, theirs, stored.Config.Write.Objects["contacts"].SelectedFieldSettings["score"].WriteOnUpdate, "theirs stays")
	}
}
