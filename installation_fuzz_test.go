package writeback_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// FuzzPatchInstallationObject checks that PatchInstallationObject never
// panics, that a failed patch leaves the stored installation unchanged, and
// that a successful one stores an installation that validates again.
func FuzzPatchInstallationObject(f *testing.F) {
	for _, seed := range []struct {
		section, object, patch string
	}{
		{"write", "companies", `[{"op":"add","path":"/deletionSettings","value":{"enabled":true}}]`},
		{"write", "contacts", `[{"op":"replace","path":"/selectedFieldSettings/score/writeOnUpdate","value":"ifEmpty"}]`},
		{"write", "contacts", `[{"op":"copy","from":"/selectedFieldSettings/score","path":"/selectedFieldSettings/s2"},{"op":"move","from":"/selectedFieldSettings/ratio","path":"/selectedFieldSettings/r2"}]`},
		{"write", "contacts", `[{"op":"test","path":"/objectName","value":"contacts"},{"op":"remove","path":"/selectedFieldSettings"}]`},
		{"write", "contacts", `[{"op":"add","path":"/selectedFieldSettings/x","value":{"default":{"numberValue":1e308,"integerValue":1}}}]`},
		{"write", "contacts", `[{"op":"remove","path":""}]`},
		{"write", "deals", `[{"op":"add","path":"/removeUnmappedFields","value":true}]`},
		{"read", "contacts", `[{"op":"add","path":"/selectedFieldMappings/a~1b","value":"x"}]`},
		{"read", "contacts", `[{"op":"replace","path":"/objectName","value":null}]`},
		{"subscribe", "contacts", `[]`},
	} {
		f.Add(seed.section, seed.object, []byte(seed.patch))
	}
	f.Fuzz(func(t *testing.T, section, object string, patch []byte) {
		ctx := t.Context()
		w := setup(t, installWorld()).w
		before, err := w.CreateInstallation(ctx, validInstallation("g"))
		require.NoError(t, err)

		got, err := w.PatchInstallationObject(ctx, before.ID, writeback.PatchSection(section), object, patch)
		stored, serr := w.Installation(ctx, before.ID)
		require.NoError(t, serr)
		if err != nil {
			require.Nil(t, got)
			require.ErrorIs(t, err, writeback.ErrInvalidInstallation)
			require.Equal(t, before, stored, "a failed patch changes nothing")
			return
		}
		require.Equal(t, got, stored)
		require.Equal(t, before.Revision+1, got.Revision)

		// The result validates: storing it whole again succeeds and changes
		// nothing but the revision.
		again, err := w.UpdateInstallation(ctx, got.ID, got, []string{"connection", "config.content.write.objects", "config.content.read.objects"})
		require.NoError(t, err)
		require.Equal(t, got.Connection, again.Connection)
		require.Equal(t, got.Config, again.Config)
	})
}
