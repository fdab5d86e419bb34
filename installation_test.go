package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
	"github.com/writebackhq/writeback/store/memstore"
)

// installManifest has a HubSpot integration with an inherited mapping and a
// Salesforce one.
const installManifest = `specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          optionalFields:
            - {fieldName: phone, mapToName: phoneNumber}
            - {mapToName: customSource}
    write:
      objects:
        - objectName: contacts
          inheritMapping: true
        - objectName: companies
  - name: sf
    provider: salesforce
    write:
      objects:
        - objectName: Account
`

// testClock is a clock that moves one second per reading.
type testClock struct{ n atomic.Int64 }

func (c *testClock) now() time.Time {
	return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(c.n.Add(1)) * time.Second)
}

// installWorld is the installation tests' world: installManifest, a
// HubSpot fake, a Salesforce fake with batches of 200, deletes and headers
// (no ifEmpty), a clock moving one second per reading, and no installation.
func installWorld() option {
	return func(s *writerSpec) {
		s.manifest = installManifest
		s.providers = []writeback.Provider{
			providertest.NewFake("hubspot", writeback.Capabilities{}),
			providertest.NewFake("salesforce", writeback.Capabilities{MaxBatchSize: 200, Delete: true, Headers: true}),
		}
		s.installations = nil
		s.now = (&testClock{}).now
	}
}

func ptr[T any](v T) *T { return &v }

// validInstallation returns a valid installation of crm for groupRef.
func validInstallation(groupRef string) *writeback.Installation {
	return &writeback.Installation{
		Integration: "crm",
		GroupRef:    groupRef,
		Connection:  writeback.Connection{ID: "conn-1"},
		Config: writeback.InstallationConfig{
			Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {
					DeletionSettings: &writeback.DeletionSettings{Enabled: true},
					SelectedFieldSettings: map[string]writeback.FieldSetting{
						"phoneNumber":  {WriteOnCreate: writeback.WriteOnCreateAlways, WriteOnUpdate: writeback.WriteOnUpdateIfEmpty},
						"customSource": {Default: &writeback.DefaultValue{StringValue: ptr("web")}},
						"score":        {Default: &writeback.DefaultValue{IntegerValue: ptr(int64(7))}, WriteOnUpdate: writeback.WriteOnUpdateNever},
						"ratio":        {Default: &writeback.DefaultValue{NumberValue: ptr(0.5)}},
						"active":       {Default: &writeback.DefaultValue{BooleanValue: ptr(false)}, WriteOnCreate: writeback.WriteOnCreateNever},
					},
					RemoveUnmappedFields: true,
				},
			}},
			Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
				"contacts": {SelectedFieldMappings: map[string]string{"phoneNumber": "mobilephone", "customSource": "hs_source"}},
			}},
		},
	}
}

// requireStored asserts that the stored installation id equals want.
func requireStored(t *testing.T, w *writeback.Writer, want *writeback.Installation) {
	t.Helper()
	got, err := w.Installation(t.Context(), want.ID)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestCreateInstallation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := setup(t, installWorld()).w

	in := validInstallation("group-1")
	in.ID = "ignored"
	in.Revision = 9
	got, err := w.CreateInstallation(ctx, in)
	require.NoError(t, err)

	require.NotEmpty(t, got.ID)
	require.NotEqual(t, "ignored", got.ID)
	require.Equal(t, int64(1), got.Revision)
	require.False(t, got.CreatedAt.IsZero())
	require.Equal(t, got.CreatedAt, got.UpdatedAt)
	require.Equal(t, "hubspot", got.Connection.Provider, "the provider is filled in")
	require.Equal(t, "contacts", got.Config.Write.Objects["contacts"].ObjectName, "object names are filled in")
	require.Equal(t, "contacts", got.Config.Read.Objects["contacts"].ObjectName)
	require.Empty(t, in.Connection.Provider, "the argument is not modified")

	// The settings survive storage.
	want := validInstallation("group-1")
	want.Connection.Provider = "hubspot"
	c := want.Config.Write.Objects["contacts"]
	c.ObjectName = "contacts"
	want.Config.Write.Objects["contacts"] = c
	r := want.Config.Read.Objects["contacts"]
	r.ObjectName = "contacts"
	want.Config.Read.Objects["contacts"] = r
	want.ID, want.Revision, want.CreatedAt, want.UpdatedAt = got.ID, 1, got.CreatedAt, got.UpdatedAt
	require.Equal(t, want, got)
	requireStored(t, w, want)

	byGroup, err := w.InstallationByGroup(ctx, "crm", "group-1")
	require.NoError(t, err)
	require.Equal(t, want, byGroup)

	// Neither the argument nor the result aliases what is stored.
	*in.Config.Write.Objects["contacts"].SelectedFieldSettings["customSource"].Default.StringValue = "changed"
	got.Config.Write.Objects["contacts"].SelectedFieldSettings["score"] = writeback.FieldSetting{}
	got.Config.Read.Objects["contacts"].SelectedFieldMappings["phoneNumber"] = "changed"
	requireStored(t, w, want)
}

func TestCreateInstallationConflict(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := setup(t, installWorld()).w

	first, err := w.CreateInstallation(ctx, validInstallation("g"))
	require.NoError(t, err)
	_, err = w.CreateInstallation(ctx, validInstallation("g"))
	require.ErrorIs(t, err, writeback.ErrConflict)

	// The same groupRef in another integration is another installation.
	other, err := w.CreateInstallation(ctx, &writeback.Installation{Integration: "sf", GroupRef: "g"})
	require.NoError(t, err)
	require.NotEqual(t, first.ID, other.ID)

	all, err := w.Installations(ctx, "")
	require.NoError(t, err)
	require.Len(t, all, 2)
	requireStored(t, w, first)
}

func TestCreateInstallationInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(in *writeback.Installation)
		err    error
		field  string
	}{
		{"unknown integration", func(in *writeback.Installation) { in.Integration = "erp" }, writeback.ErrUnknownIntegration, "integration"},
		{"empty groupRef", func(in *writeback.Installation) { in.GroupRef = "" }, writeback.ErrInvalidInstallation, "groupRef"},
		{"long groupRef", func(in *writeback.Installation) { in.GroupRef = strings.Repeat("g", 257) }, writeback.ErrInvalidInstallation, "groupRef"},
		{"groupRef with a newline", func(in *writeback.Installation) { in.GroupRef = "a\nb" }, writeback.ErrInvalidInstallation, "groupRef"},
		{"groupRef not UTF-8", func(in *writeback.Installation) { in.GroupRef = "a\xffb" }, writeback.ErrInvalidInstallation, "groupRef"},
		{"other provider", func(in *writeback.Installation) { in.Connection.Provider = "salesforce" }, writeback.ErrInvalidInstallation, "connection.provider"},
		{"connection ID with control character", func(in *writeback.Installation) { in.Connection.ID = "a\x00" }, writeback.ErrInvalidInstallation, "connection.id"},
		{"relative instance URL", func(in *writeback.Installation) { in.Connection.InstanceURL = "/services" }, writeback.ErrInvalidInstallation, "connection.instanceUrl"},
		{"http instance URL", func(in *writeback.Installation) { in.Connection.InstanceURL = "http://example.my.salesforce.com" }, writeback.ErrInvalidInstallation, "connection.instanceUrl"},
		{"ftp instance URL", func(in *writeback.Installation) { in.Connection.InstanceURL = "ftp://example.com" }, writeback.ErrInvalidInstallation, "connection.instanceUrl"},
		{"instance URL with credentials", func(in *writeback.Installation) {
			in.Connection.InstanceURL = "https://user:s3cret@example.my.salesforce.com"
		}, writeback.ErrInvalidInstallation, "connection.instanceUrl"},
		{"instance URL with a token in the query", func(in *writeback.Installation) {
			in.Connection.InstanceURL = "https://example.my.salesforce.com/?access_token=s3cret"
		}, writeback.ErrInvalidInstallation, "connection.instanceUrl"},
		{"instance URL with a fragment", func(in *writeback.Installation) { in.Connection.InstanceURL = "https://example.com/#s3cret" }, writeback.ErrInvalidInstallation, "connection.instanceUrl"},
		{"unknown write object", func(in *writeback.Installation) {
			in.Config.Write.Objects["deals"] = writeback.WriteObject{}
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.deals"},
		{"read object is not a write object", func(in *writeback.Installation) {
			in.Config.Write.Objects["Account"] = writeback.WriteObject{}
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.Account"},
		{"object name differs from key", func(in *writeback.Installation) {
			in.Config.Write.Objects["companies"] = writeback.WriteObject{ObjectName: "contacts"}
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.companies.objectName"},
		{"default without value", func(in *writeback.Installation) {
			setField(in, "x", writeback.FieldSetting{Default: &writeback.DefaultValue{}})
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.contacts.selectedFieldSettings.x.default"},
		{"default with two values", func(in *writeback.Installation) {
			setField(in, "x", writeback.FieldSetting{Default: &writeback.DefaultValue{StringValue: ptr("a"), BooleanValue: ptr(true)}})
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.contacts.selectedFieldSettings.x.default"},
		{"NaN default", func(in *writeback.Installation) {
			setField(in, "x", writeback.FieldSetting{Default: &writeback.DefaultValue{NumberValue: ptr(nan())}})
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.contacts.selectedFieldSettings.x.default.numberValue"},
		{"bad writeOnCreate", func(in *writeback.Installation) {
			setField(in, "x", writeback.FieldSetting{WriteOnCreate: "ifEmpty"})
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.contacts.selectedFieldSettings.x.writeOnCreate"},
		{"bad writeOnUpdate", func(in *writeback.Installation) {
			setField(in, "x", writeback.FieldSetting{WriteOnUpdate: "Always"})
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.contacts.selectedFieldSettings.x.writeOnUpdate"},
		{"empty field name", func(in *writeback.Installation) {
			setField(in, "", writeback.FieldSetting{})
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.contacts.selectedFieldSettings."},
		{"removeUnmappedFields without inheritMapping", func(in *writeback.Installation) {
			in.Config.Write.Objects["companies"] = writeback.WriteObject{RemoveUnmappedFields: true}
		}, writeback.ErrInvalidInstallation, "config.content.write.objects.companies.removeUnmappedFields"},
		{"unknown read object", func(in *writeback.Installation) {
			in.Config.Read.Objects["companies"] = writeback.ReadObject{}
		}, writeback.ErrInvalidInstallation, "config.content.read.objects.companies"},
		{"read object name differs from key", func(in *writeback.Installation) {
			in.Config.Read.Objects["contacts"] = writeback.ReadObject{ObjectName: "Contacts"}
		}, writeback.ErrInvalidInstallation, "config.content.read.objects.contacts.objectName"},
		{"empty mapping value", func(in *writeback.Installation) {
			in.Config.Read.Objects["contacts"].SelectedFieldMappings["phoneNumber"] = ""
		}, writeback.ErrInvalidInstallation, "config.content.read.objects.contacts.selectedFieldMappings.phoneNumber"},
		{"empty mapping key", func(in *writeback.Installation) {
			in.Config.Read.Objects["contacts"].SelectedFieldMappings[""] = "x"
		}, writeback.ErrInvalidInstallation, "config.content.read.objects.contacts.selectedFieldMappings."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := setup(t, installWorld()).w
			in := validInstallation("g")
			tt.change(in)
			got, err := w.CreateInstallation(ctx, in)
			require.Nil(t, got)
			require.ErrorIs(t, err, tt.err)
			var ve *writeback.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field, "error: %v", err)
			require.NotContains(t, err.Error(), "s3cret")

			all, err := w.Installations(ctx, "")
			require.NoError(t, err)
			require.Empty(t, all, "nothing is stored")
		})
	}
}

func TestCreateInstallationIfEmptyNeedsProviderSupport(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := setup(t, installWorld()).w
	in := &writeback.Installation{Integration: "sf", GroupRef: "g", Config: writeback.InstallationConfig{
		Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{"Account": {
			SelectedFieldSettings: map[string]writeback.FieldSetting{"Name": {WriteOnUpdate: writeback.WriteOnUpdateIfEmpty}},
		}}},
	}}
	_, err := w.CreateInstallation(ctx, in)
	require.ErrorIs(t, err, writeback.ErrInvalidInstallation)

	in.Config.Write.Objects["Account"].SelectedFieldSettings["Name"] = writeback.FieldSetting{WriteOnUpdate: writeback.WriteOnUpdateNever}
	_, err = w.CreateInstallation(ctx, in)
	require.NoError(t, err)
}

func TestCreateInstallationInstanceURL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := setup(t, installWorld()).w
	for i, u := range []string{
		"https://example.my.salesforce.com",
		"https://example.my.salesforce.com:8443/base",
		"http://127.0.0.1:34567",
		"http://localhost:8080",
		"http://[::1]:9000",
	} {
		in := &writeback.Installation{Integration: "sf", GroupRef: fmt.Sprint("g", i), Connection: writeback.Connection{InstanceURL: u}}
		got, err := w.CreateInstallation(ctx, in)
		require.NoError(t, err, u)
		require.Equal(t, u, got.Connection.InstanceURL)
	}
}

func setField(in *writeback.Installation, name string, s writeback.FieldSetting) {
	in.Config.Write.Objects["contacts"].SelectedFieldSettings[name] = s
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func TestInstallationLookups(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := setup(t, installWorld()).w

	a, err := w.CreateInstallation(ctx, validInstallation("a"))
	require.NoError(t, err)
	b, err := w.CreateInstallation(ctx, &writeback.Installation{Integration: "sf", GroupRef: "b"})
	require.NoError(t, err)
	c, err := w.CreateInstallation(ctx, validInstallation("c"))
	require.NoError(t, err)

	all, err := w.Installations(ctx, "")
	require.NoError(t, err)
	require.Equal(t, []*writeback.Installation{a, b, c}, all, "in creation order")
	crm, err := w.Installations(ctx, "crm")
	require.NoError(t, err)
	require.Equal(t, []*writeback.Installation{a, c}, crm)
	_, err = w.Installations(ctx, "erp")
	require.ErrorIs(t, err, writeback.ErrUnknownIntegration)

	_, err = w.Installation(ctx, "missing")
	require.ErrorIs(t, err, writeback.ErrNotFound)
	_, err = w.InstallationByGroup(ctx, "crm", "b")
	require.ErrorIs(t, err, writeback.ErrNotFound)
	require.ErrorIs(t, err, writeback.ErrUnknownInstallation)
	_, err = w.InstallationByGroup(ctx, "erp", "a")
	require.ErrorIs(t, err, writeback.ErrUnknownIntegration)

	require.NoError(t, w.DeleteInstallation(ctx, a.ID))
	require.ErrorIs(t, w.DeleteInstallation(ctx, a.ID), writeback.ErrNotFound)
	_, err = w.Installation(ctx, a.ID)
	require.ErrorIs(t, err, writeback.ErrNotFound)
	_, err = w.InstallationByGroup(ctx, "crm", "a")
	require.ErrorIs(t, err, writeback.ErrNotFound)
	crm, err = w.Installations(ctx, "crm")
	require.NoError(t, err)
	require.Equal(t, []*writeback.Installation{c}, crm)

	// The groupRef is free again.
	again, err := w.CreateInstallation(ctx, validInstallation("a"))
	require.NoError(t, err)
	require.NotEqual(t, a.ID, again.ID)

	_, err = w.UpdateInstallation(ctx, a.ID, validInstallation("a"), []string{"connection"})
	require.ErrorIs(t, err, writeback.ErrNotFound)
	_, err = w.PatchInstallationObject(ctx, a.ID, writeback.PatchWrite, "contacts", []byte(`[{"op":"remove","path":"/deletionSettings"}]`))
	require.ErrorIs(t, err, writeback.ErrNotFound)
}

func TestUpdateInstallation(t *testing.T) {
	t.Parallel()
	companies := writeback.WriteObject{ObjectName: "companies", DeletionSettings: &writeback.DeletionSettings{Enabled: true}}
	tests := []struct {
		name   string
		update *writeback.Installation
		mask   []string
		want   func(in *writeback.Installation)
	}{
		{
			name: "add one write object",
			update: &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"companies": {DeletionSettings: &writeback.DeletionSettings{Enabled: true}},
				"contacts":  {}, // not in the mask: ignored
			}}}},
			mask: []string{"config.content.write.objects.companies"},
			want: func(in *writeback.Installation) { in.Config.Write.Objects["companies"] = companies },
		},
		{
			name:   "remove one write object",
			update: &writeback.Installation{},
			mask:   []string{"config.content.write.objects.contacts"},
			want:   func(in *writeback.Installation) { delete(in.Config.Write.Objects, "contacts") },
		},
		{
			name: "replace every write object",
			update: &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"companies": {DeletionSettings: &writeback.DeletionSettings{Enabled: true}},
			}}}},
			mask: []string{"config.content.write.objects"},
			want: func(in *writeback.Installation) {
				in.Config.Write.Objects = map[string]writeback.WriteObject{"companies": companies}
			},
		},
		{
			name:   "disable every write object",
			update: &writeback.Installation{},
			mask:   []string{"config.content.write.objects"},
			want:   func(in *writeback.Installation) { in.Config.Write.Objects = nil },
		},
		{
			name: "replace one read object",
			update: &writeback.Installation{Config: writeback.InstallationConfig{Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
				"contacts": {SelectedFieldMappings: map[string]string{"phoneNumber": "phone"}},
			}}}},
			mask: []string{"config.content.read.objects.contacts"},
			want: func(in *writeback.Installation) {
				in.Config.Read.Objects["contacts"] = writeback.ReadObject{ObjectName: "contacts", SelectedFieldMappings: map[string]string{"phoneNumber": "phone"}}
			},
		},
		{
			name:   "remove every read object",
			update: &writeback.Installation{},
			mask:   []string{"config.content.read.objects"},
			want:   func(in *writeback.Installation) { in.Config.Read.Objects = nil },
		},
		{
			name:   "replace the connection",
			update: &writeback.Installation{Connection: writeback.Connection{ID: "conn-2", InstanceURL: "https://api.hubapi.com"}},
			mask:   []string{"connection"},
			want: func(in *writeback.Installation) {
				in.Connection = writeback.Connection{Provider: "hubspot", ID: "conn-2", InstanceURL: "https://api.hubapi.com"}
			},
		},
		{
			name: "several paths",
			update: &writeback.Installation{
				Connection: writeback.Connection{Provider: "hubspot"},
				Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
					"companies": {DeletionSettings: &writeback.DeletionSettings{Enabled: true}},
				}}},
			},
			mask: []string{"connection", "config.content.write.objects.companies", "config.content.write.objects.contacts", "config.content.read.objects.contacts"},
			want: func(in *writeback.Installation) {
				in.Connection = writeback.Connection{Provider: "hubspot"}
				in.Config.Write.Objects = map[string]writeback.WriteObject{"companies": companies}
				in.Config.Read.Objects = nil // an empty map is stored as none
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
			got, err := w.UpdateInstallation(ctx, before.ID, tt.update, tt.mask)
			require.NoError(t, err)
			tt.want(want) // ...changed as expected
			want.Revision = 2
			want.UpdatedAt = got.UpdatedAt
			require.Equal(t, want.Config, got.Config)
			require.Equal(t, want, got)
			require.Equal(t, before.CreatedAt, got.CreatedAt)
			require.True(t, got.UpdatedAt.After(before.UpdatedAt))
			requireStored(t, w, got)
		})
	}
}

func TestUpdateInstallationInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		update *writeback.Installation
		mask   []string
		err    error
		field  string
	}{
		{"nil update", nil, []string{"connection"}, writeback.ErrInvalidInstallation, "installation"},
		{"empty mask", &writeback.Installation{}, nil, writeback.ErrInvalidInstallation, "updateMask"},
		{"unknown path", &writeback.Installation{}, []string{"groupRef"}, writeback.ErrInvalidInstallation, "updateMask[0]"},
		{"hosted-only path", &writeback.Installation{}, []string{"config.content.write.objects", "config.createdBy"}, writeback.ErrInvalidInstallation, "updateMask[1]"},
		{"path without object name", &writeback.Installation{}, []string{"config.content.write.objects."}, writeback.ErrInvalidInstallation, "updateMask[0]"},
		{"partial path", &writeback.Installation{}, []string{"config.content.write"}, writeback.ErrInvalidInstallation, "updateMask[0]"},
		{"duplicate path", &writeback.Installation{}, []string{"connection", "connection"}, writeback.ErrInvalidInstallation, "updateMask[1]"},
		{"overlapping paths", &writeback.Installation{}, []string{"config.content.write.objects.contacts", "config.content.write.objects"}, writeback.ErrInvalidInstallation, "updateMask[1]"},
		{"unknown write object", &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"deals": {},
		}}}}, []string{"config.content.write.objects.deals"}, writeback.ErrInvalidInstallation, "updateMask[0]"},
		{"invalid enum", &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"companies": {SelectedFieldSettings: map[string]writeback.FieldSetting{"name": {WriteOnUpdate: "sometimes"}}},
		}}}}, []string{"config.content.write.objects"}, writeback.ErrInvalidInstallation, "config.content.write.objects.companies.selectedFieldSettings.name.writeOnUpdate"},
		{"removeUnmappedFields without inheritMapping", &writeback.Installation{Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"companies": {RemoveUnmappedFields: true},
		}}}}, []string{"config.content.write.objects.companies"}, writeback.ErrInvalidInstallation, "config.content.write.objects.companies.removeUnmappedFields"},
		{"unknown read object", &writeback.Installation{Config: writeback.InstallationConfig{Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
			"companies": {},
		}}}}, []string{"config.content.read.objects"}, writeback.ErrInvalidInstallation, "config.content.read.objects.companies"},
		{"other provider", &writeback.Installation{Connection: writeback.Connection{Provider: "salesforce"}}, []string{"connection"}, writeback.ErrInvalidInstallation, "connection.provider"},
		{"insecure instance URL", &writeback.Installation{Connection: writeback.Connection{InstanceURL: "http://example.com"}}, []string{"connection"}, writeback.ErrInvalidInstallation, "connection.instanceUrl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			w := setup(t, installWorld()).w
			before, err := w.CreateInstallation(ctx, validInstallation("g"))
			require.NoError(t, err)

			got, err := w.UpdateInstallation(ctx, before.ID, tt.update, tt.mask)
			require.Nil(t, got)
			require.ErrorIs(t, err, tt.err)
			var ve *writeback.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tt.field, ve.Field, "error: %v", err)
			requireStored(t, w, before)
		})
	}
}

// racingStore runs race once, just before the first ReplaceInstallation
// reaches the store, and can make every replace fail with a conflict.
type racingStore struct {
	store.Interface
	raced        atomic.Bool
	race         func()
	alwaysLosing bool
	replaces     atomic.Int64
}

func (s *racingStore) ReplaceInstallation(ctx context.Context, rec store.Installation) error {
	s.replaces.Add(1)
	if s.alwaysLosing {
		return fmt.Errorf("racing: %w", writeback.ErrConflict)
	}
	if s.race != nil && !s.raced.Swap(true) {
		s.race()
	}
	return s.Interface.ReplaceInstallation(ctx, rec)
}

func TestUpdateInstallationConcurrentChangeIsKept(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rs := &racingStore{Interface: memstore.New()}
	w := setup(t, installWorld(), withStore(rs)).w
	before, err := w.CreateInstallation(ctx, validInstallation("g"))
	require.NoError(t, err)

	// Another change lands between our read and our write.
	rs.race = func() {
		_, err := w.PatchInstallationObject(ctx, before.ID, writeback.PatchRead, "contacts",
			[]byte(`[{"op":"add","path":"/selectedFieldMappings/phoneNumber","value":"phone"}]`))
		require.NoError(t, err)
	}
	got, err := w.UpdateInstallation(ctx, before.ID, &writeback.Installation{Config: writeback.InstallationConfig{
		Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{"companies": {}}},
	}}, []string{"config.content.write.objects.companies"})
	require.NoError(t, err)
	require.Equal(t, int64(3), got.Revision)
	require.Contains(t, got.Config.Write.Objects, "companies", "our change")
	require.Equal(t, "phone", got.Config.Read.Objects["contacts"].SelectedFieldMappings["phoneNumber"], "their change")
	require.Contains(t, got.Config.Write.Objects, "contacts")
	requireStored(t, w, got)
	require.Equal(t, int64(3), rs.replaces.Load(), "ours, theirs, ours again")
}

func TestUpdateInstallationGivesUpOnEndlessConflicts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rs := &racingStore{Interface: memstore.New(), alwaysLosing: true}
	w := setup(t, installWorld(), withStore(rs)).w
	before, err := w.CreateInstallation(ctx, validInstallation("g"))
	require.NoError(t, err)

	_, err = w.UpdateInstallation(ctx, before.ID, &writeback.Installation{}, []string{"config.content.write.objects.contacts"})
	require.ErrorIs(t, err, writeback.ErrConflict)
	_, err = w.PatchInstallationObject(ctx, before.ID, writeback.PatchWrite, "contacts", []byte(`[{"op":"remove","path":"/deletionSettings"}]`))
	require.ErrorIs(t, err, writeback.ErrConflict)
	require.Greater(t, rs.replaces.Load(), int64(2), "it retried")
	requireStored(t, w, before)
}

func TestInstallationConcurrentPatches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	w := setup(t, installWorld()).w
	before, err := w.CreateInstallation(ctx, validInstallation("g"))
	require.NoError(t, err)

	const n = 6
	var (
		wg sync.WaitGroup
		ok [n]bool
	)
	for i := range n {
		wg.Go(func() {
			patch := fmt.Sprintf(`[{"op":"add","path":"/selectedFieldSettings/f%d","value":{"writeOnCreate":"never"}}]`, i)
			_, err := w.PatchInstallationObject(ctx, before.ID, writeback.PatchWrite, "contacts", []byte(patch))
			if err != nil && !errors.Is(err, writeback.ErrConflict) {
				t.Errorf("patch %d: %v", i, err)
			}
			ok[i] = err == nil
		})
	}
	wg.Wait()

	got, err := w.Installation(ctx, before.ID)
	require.NoError(t, err)
	applied := 0
	for i := range n {
		_, present := got.Config.Write.Objects["contacts"].SelectedFieldSettings[fmt.Sprint("f", i)]
		require.Equal(t, ok[i], present, "patch %d is stored exactly when it succeeded", i)
		if ok[i] {
			applied++
		}
	}
	require.Positive(t, applied)
	require.Equal(t, int64(1+applied), got.Revision)
}

func TestInstallationsSurviveReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "writeback.db")

	st, err := boltstore.Open(path, nil)
	require.NoError(t, err)
	w := setup(t, installWorld(), withStore(st)).w
	a, err := w.CreateInstallation(ctx, validInstallation("a"))
	require.NoError(t, err)
	b, err := w.CreateInstallation(ctx, &writeback.Installation{Integration: "sf", GroupRef: "b", Connection: writeback.Connection{InstanceURL: "https://example.my.salesforce.com"}})
	require.NoError(t, err)
	gone, err := w.CreateInstallation(ctx, validInstallation("gone"))
	require.NoError(t, err)
	a, err = w.PatchInstallationObject(ctx, a.ID, writeback.PatchWrite, "companies", []byte(`[{"op":"add","path":"/deletionSettings","value":{"enabled":true}}]`))
	require.NoError(t, err)
	require.NoError(t, w.DeleteInstallation(ctx, gone.ID))
	require.NoError(t, st.Close())

	st, err = boltstore.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	w = setup(t, installWorld(), withStore(st)).w
	all, err := w.Installations(ctx, "")
	require.NoError(t, err)
	require.Equal(t, []*writeback.Installation{a, b}, all)
	byGroup, err := w.InstallationByGroup(ctx, "crm", "a")
	require.NoError(t, err)
	require.Equal(t, a, byGroup)
	_, err = w.Installation(ctx, gone.ID)
	require.ErrorIs(t, err, writeback.ErrNotFound)

	// Revisions carry on where they were.
	a2, err := w.UpdateInstallation(ctx, a.ID, &writeback.Installation{}, []string{"config.content.write.objects.companies"})
	require.NoError(t, err)
	require.Equal(t, a.Revision+1, a2.Revision)
	require.NotContains(t, a2.Config.Write.Objects, "companies")
	_, err = w.CreateInstallation(ctx, validInstallation("a"))
	require.ErrorIs(t, err, writeback.ErrConflict, "the groupRef index survives too")
}
