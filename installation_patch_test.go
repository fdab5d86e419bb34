package writeback_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

func TestPatchInstallationObject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		section writeback.PatchSection
		object  string
		patch   string
		want    func(in *writeback.Installation)
	}{
		{
			name: "enable deletion on an object not yet enabled", section: writeback.PatchWrite, object: "companies",
			patch: `[{"op":"add","path":"/deletionSettings","value":{"enabled":true}}]`,
			want: func(in *writeback.Installation) {
				in.Config.Write.Objects["companies"] = writeback.WriteObject{ObjectName: "companies", DeletionSettings: &writeback.DeletionSettings{Enabled: true}}
			},
		},
		{
			name: "replace a rule", section: writeback.PatchWrite, object: "contacts",
			patch: `[{"op":"replace","path":"/selectedFieldSettings/score/writeOnUpdate","value":"always"}]`,
			want: func(in *writeback.Installation) {
				s := in.Config.Write.Objects["contacts"].SelectedFieldSettings["score"]
				s.WriteOnUpdate = writeback.WriteOnUpdateAlways
				in.Config.Write.Objects["contacts"].SelectedFieldSettings["score"] = s
			},
		},
		{
			name: "disable deletion", section: writeback.PatchWrite, object: "contacts",
			patch: `[{"op":"remove","path":"/deletionSettings"}]`,
			want: func(in *writeback.Installation) {
				o := in.Config.Write.Objects["contacts"]
				o.DeletionSettings = nil
				in.Config.Write.Objects["contacts"] = o
			},
		},
		{
			name: "test then add", section: writeback.PatchWrite, object: "contacts",
			patch: `[{"op":"test","path":"/objectName","value":"contacts"},{"op":"add","path":"/selectedFieldSettings/vip","value":{"default":{"booleanValue":true},"writeOnCreate":"always"}}]`,
			want: func(in *writeback.Installation) {
				in.Config.Write.Objects["contacts"].SelectedFieldSettings["vip"] = writeback.FieldSetting{
					Default: &writeback.DefaultValue{BooleanValue: ptr(true)}, WriteOnCreate: writeback.WriteOnCreateAlways,
				}
			},
		},
		{
			name: "copy and move", section: writeback.PatchWrite, object: "contacts",
			patch: `[{"op":"copy","from":"/selectedFieldSettings/score","path":"/selectedFieldSettings/score2"},{"op":"move","from":"/selectedFieldSettings/ratio","path":"/selectedFieldSettings/ratio2"}]`,
			want: func(in *writeback.Installation) {
				fs := in.Config.Write.Objects["contacts"].SelectedFieldSettings
				fs["score2"] = fs["score"]
				fs["ratio2"] = fs["ratio"]
				delete(fs, "ratio")
			},
		},
		{
			name: "remove the object name, which defaults to the key", section: writeback.PatchWrite, object: "contacts",
			patch: `[{"op":"remove","path":"/objectName"}]`,
			want:  func(*writeback.Installation) {},
		},
		{
			name: "map a field", section: writeback.PatchRead, object: "contacts",
			patch: `[{"op":"replace","path":"/selectedFieldMappings/phoneNumber","value":"phone"}]`,
			want: func(in *writeback.Installation) {
				in.Config.Read.Objects["contacts"].SelectedFieldMappings["phoneNumber"] = "phone"
			},
		},
		{
			name: "escaped path", section: writeback.PatchRead, object: "contacts",
			patch: `[{"op":"add","path":"/selectedFieldMappings/a~1b~0c","value":"x"}]`,
			want: func(in *writeback.Installation) {
				in.Config.Read.Objects["contacts"].SelectedFieldMappings["a/b~c"] = "x"
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

			want, err := w.Installation(ctx, before.ID) // a copy of the old state...
			require.NoError(t, err)
			got, err := w.PatchInstallationObject(ctx, before.ID, tt.section, tt.object, []byte(tt.patch))
			require.NoError(t, err)
			tt.want(want) // ...changed as expected
			want.Revision = 2
			want.UpdatedAt = got.UpdatedAt
			require.Equal(t, want, got)
			require.True(t, got.UpdatedAt.After(before.UpdatedAt))
			requireStored(t, w, got)
		})
	}
}

func TestPatchInstallationObjectFreshReadObject(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := setup(t, installWorld()).w
	in := validInstallation("g")
	in.Config.Read.Objects = nil
	before, err := w.CreateInstallation(ctx, in)
	require.NoError(t, err)

	got, err := w.PatchInstallationObject(ctx, before.ID, writeback.PatchRead, "contacts",
		[]byte(`[{"op":"add","path":"/selectedFieldMappings","value":{"phoneNumber":"mobilephone"}}]`))
	require.NoError(t, err)
	require.Equal(t, map[string]writeback.ReadObject{
		"contacts": {ObjectName: "contacts", SelectedFieldMappings: map[string]string{"phoneNumber": "mobilephone"}},
	}, got.Config.Read.Objects)
}

func TestPatchInstallationObjectInvalid(t *testing.T) {
	t.Parallel()
	bigOps := "[" + strings.Repeat(`{"op":"test","path":"/objectName","value":"contacts"},`, writeback.MaxPatchOps) + `{"op":"remove","path":"/deletionSettings"}]`
	tests := []struct {
		name    string
		section writeback.PatchSection
		object  string
		patch   string
		field   string
	}{
		{"unknown section", "subscribe", "contacts", `[{"op":"remove","path":"/deletionSettings"}]`, "section"},
		{"no object", writeback.PatchWrite, "", `[{"op":"remove","path":"/deletionSettings"}]`, "object"},
		{"empty patch", writeback.PatchWrite, "contacts", ``, "patch"},
		{"null patch", writeback.PatchWrite, "contacts", `null`, "patch"},
		{"not JSON", writeback.PatchWrite, "contacts", `[{"op":`, "patch"},
		{"not a list", writeback.PatchWrite, "contacts", `{"op":"remove","path":"/deletionSettings"}`, "patch"},
		{"no operations", writeback.PatchWrite, "contacts", `[]`, "patch"},
		{"too many operations", writeback.PatchWrite, "contacts", bigOps, "patch"},
		{"too large", writeback.PatchWrite, "contacts", `[{"op":"add","path":"/x","value":"` + strings.Repeat("x", writeback.MaxPatchSize) + `"}]`, "patch"},
		{"unknown op", writeback.PatchWrite, "contacts", `[{"op":"merge","path":"/deletionSettings","value":{}}]`, "patch[0].op"},
		{"op not a string", writeback.PatchWrite, "contacts", `[{"op":1,"path":"/deletionSettings"}]`, "patch[0].op"},
		{"missing op", writeback.PatchWrite, "contacts", `[{"path":"/deletionSettings"}]`, "patch[0].op"},
		{"missing path", writeback.PatchWrite, "contacts", `[{"op":"remove"}]`, "patch[0].path"},
		{"remove the whole object", writeback.PatchWrite, "contacts", `[{"op":"remove","path":""}]`, "patch[0].path"},
		{"replace the whole object", writeback.PatchWrite, "contacts", `[{"op":"test","path":"/objectName","value":"contacts"},{"op":"replace","path":"","value":{}}]`, "patch[1].path"},
		{"move without from", writeback.PatchWrite, "contacts", `[{"op":"move","path":"/x"}]`, "patch[0].from"},
		{"remove a missing key", writeback.PatchWrite, "contacts", `[{"op":"remove","path":"/selectedFieldSettings/nope"}]`, "patch"},
		{"add under a missing parent", writeback.PatchWrite, "companies", `[{"op":"add","path":"/selectedFieldSettings/x","value":{}}]`, "patch"},
		{"path without slash", writeback.PatchWrite, "contacts", `[{"op":"add","path":"deletionSettings","value":{"enabled":true}}]`, "patch"},
		{"test without value", writeback.PatchWrite, "contacts", `[{"op":"test","path":""}]`, "patch[0].value"},
		{"test of the whole object against null", writeback.PatchWrite, "contacts", `[{"op":"test","path":"","value":null}]`, "patch"},
		{"add without value", writeback.PatchWrite, "contacts", `[{"op":"add","path":"/deletionSettings"}]`, "patch[0].value"},
		{"failing test", writeback.PatchWrite, "contacts", `[{"op":"test","path":"/objectName","value":"companies"},{"op":"remove","path":"/deletionSettings"}]`, "patch"},
		{"later operation fails", writeback.PatchWrite, "contacts", `[{"op":"remove","path":"/deletionSettings"},{"op":"remove","path":"/deletionSettings"}]`, "patch"},
		{"unknown field", writeback.PatchWrite, "contacts", `[{"op":"add","path":"/enabled","value":true}]`, "config.content.write.objects.contacts"},
		{"unknown nested field", writeback.PatchWrite, "contacts", `[{"op":"add","path":"/deletionSettings/allowed","value":true}]`, "config.content.write.objects.contacts"},
		{"inheritMapping is a manifest field", writeback.PatchWrite, "contacts", `[{"op":"add","path":"/inheritMapping","value":true}]`, "config.content.write.objects.contacts"},
		{"wrong type", writeback.PatchWrite, "contacts", `[{"op":"replace","path":"/deletionSettings","value":"yes"}]`, "config.content.write.objects.contacts"},
		{"integer default not an integer", writeback.PatchWrite, "contacts", `[{"op":"replace","path":"/selectedFieldSettings/score/default/integerValue","value":1.5}]`, "config.content.write.objects.contacts"},
		{"invalid enum", writeback.PatchWrite, "contacts", `[{"op":"replace","path":"/selectedFieldSettings/score/writeOnUpdate","value":"sometimes"}]`,
			"config.content.write.objects.contacts.selectedFieldSettings.score.writeOnUpdate"},
		{"two default values", writeback.PatchWrite, "contacts", `[{"op":"add","path":"/selectedFieldSettings/score/default/stringValue","value":"7"}]`,
			"config.content.write.objects.contacts.selectedFieldSettings.score.default"},
		{"rename the object", writeback.PatchWrite, "contacts", `[{"op":"replace","path":"/objectName","value":"companies"}]`, "config.content.write.objects.contacts.objectName"},
		{"removeUnmappedFields without inheritMapping", writeback.PatchWrite, "companies", `[{"op":"add","path":"/removeUnmappedFields","value":true}]`,
			"config.content.write.objects.companies.removeUnmappedFields"},
		{"object not in the manifest", writeback.PatchWrite, "deals", `[{"op":"add","path":"/deletionSettings","value":{"enabled":true}}]`, "config.content.write.objects.deals"},
		{"read object not in the manifest", writeback.PatchRead, "companies", `[{"op":"add","path":"/destination","value":"d"}]`, "config.content.read.objects.companies"},
		{"empty mapping", writeback.PatchRead, "contacts", `[{"op":"replace","path":"/selectedFieldMappings/phoneNumber","value":""}]`,
			"config.content.read.objects.contacts.selectedFieldMappings.phoneNumber"},
		{"read field in a write object", writeback.PatchWrite, "contacts", `[{"op":"add","path":"/selectedFieldMappings","value":{}}]`, "config.content.write.objects.contacts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := setup(t, installWorld()).w
			before, err := w.CreateInstallation(ctx, validInstallation("g"))
			require.NoError(t, err)

			got, err := w.PatchInstallationObject(ctx, before.ID, tt.section, tt.object, []byte(tt.patch))
			require.Nil(t, got)
			require.ErrorIs(t, err, writeback.ErrInvalidInstallation)
			var ve *writeback.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field, "error: %v", err)
			requireStored(t, w, before)
		})
	}
}

func TestPatchInstallationObjectIfEmptyNeedsProviderSupport(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := setup(t, installWorld()).w
	before, err := w.CreateInstallation(ctx, &writeback.Installation{Integration: "sf", GroupRef: "g"})
	require.NoError(t, err)

	for _, rule := range []string{"ifEmpty", "never"} {
		patch := fmt.Sprintf(`[{"op":"add","path":"/selectedFieldSettings","value":{"Name":{"writeOnUpdate":%q}}}]`, rule)
		got, err := w.PatchInstallationObject(ctx, before.ID, writeback.PatchWrite, "Account", []byte(patch))
		if rule == "ifEmpty" {
			require.ErrorIs(t, err, writeback.ErrInvalidInstallation, "Salesforce fake without IfEmpty")
			requireStored(t, w, before)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, writeback.WriteOnUpdateNever, got.Config.Write.Objects["Account"].SelectedFieldSettings["Name"].WriteOnUpdate)
	}
}
