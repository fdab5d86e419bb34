package writeback

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/stretchr/testify/require"
)

// mappingIntegration is a Salesforce-like integration: account inherits the
// read mapping and can be named "company"; touchpoints__c has no mapping;
// lead has a read object mapped to "prospect" but does not inherit it.
func mappingIntegration() *Integration {
	return &Integration{
		Name:     "crm",
		Provider: "salesforce",
		Read: &ReadSpec{Objects: []ReadObjectSpec{
			{
				ObjectName: "account",
				MapToName:  "company",
				RequiredFields: []FieldSpec{
					{FieldName: "Name"},
					{MapToName: "owner"},
				},
				OptionalFields: []FieldSpec{
					{FieldName: "Phone", MapToName: "phone"},
					{MapToName: "customSource"},
					{MapToName: "industry"},
					{FieldName: "Website"},
				},
			},
			{ObjectName: "lead", MapToName: "prospect"},
		}},
		Write: &WriteSpec{Objects: []WriteObjectSpec{
			{ObjectName: "account", InheritMapping: true},
			{ObjectName: "touchpoints__c"},
			{ObjectName: "lead"},
		}},
	}
}

// mappingInstallation enables account and touchpoints__c (not lead) and maps
// customSource, phone, an extra field, and Website (which is not mappable).
func mappingInstallation() *Installation {
	return &Installation{
		Integration: "crm",
		GroupRef:    "g1",
		Config: InstallationConfig{
			Write: WriteConfig{Objects: map[string]WriteObject{
				"account": {
					ObjectName:           "account",
					RemoveUnmappedFields: true,
					DeletionSettings:     &DeletionSettings{Enabled: true},
				},
				"touchpoints__c": {ObjectName: "touchpoints__c"},
			}},
			Read: ReadConfig{Objects: map[string]ReadObject{
				"account": {ObjectName: "account", SelectedFieldMappings: map[string]string{
					"customSource": "myCustomSource",
					"phone":        "MobilePhone",
					"extra":        "Extra__c",
					"Website":      "Elsewhere__c",
				}},
			}},
		},
	}
}

func mappingPtr[T any](v T) *T { return &v }

func TestResolveObject(t *testing.T) {
	t.Parallel()
	accountMapping := objectMapping{
		inherit: true,
		fields: map[string]string{
			"Name":         "Name",
			"Website":      "Website",
			"phone":        "MobilePhone",
			"customSource": "myCustomSource",
			"extra":        "Extra__c",
		},
		unmapped:       map[string]bool{"owner": true, "industry": true},
		removeUnmapped: true,
	}
	tests := []struct {
		name        string
		object      string
		inst        func(*Installation)
		wantObject  string
		wantEnabled bool
		wantMapping objectMapping
		wantErr     error
	}{
		{name: "by object name", object: "account", wantObject: "account", wantEnabled: true, wantMapping: accountMapping},
		{name: "by read object's mapToName", object: "company", wantObject: "account", wantEnabled: true, wantMapping: accountMapping},
		{name: "without inheritMapping", object: "touchpoints__c", wantObject: "touchpoints__c", wantEnabled: true},
		{name: "not enabled", object: "lead", wantObject: "lead"},
		{name: "mapToName without inheritMapping", object: "prospect", wantErr: ErrUnknownObject},
		{name: "unknown", object: "opportunity", wantErr: ErrUnknownObject},
		{name: "empty name", object: "", wantErr: ErrUnknownObject},
		{name: "names are case-sensitive", object: "Account", wantErr: ErrUnknownObject},
		{
			name:   "no selected mappings",
			object: "account",
			inst: func(inst *Installation) {
				inst.Config.Read.Objects = nil
				o := inst.Config.Write.Objects["account"]
				o.RemoveUnmappedFields = false
				inst.Config.Write.Objects["account"] = o
			},
			wantObject:  "account",
			wantEnabled: true,
			wantMapping: objectMapping{
				inherit:  true,
				fields:   map[string]string{"Name": "Name", "Website": "Website", "phone": "Phone"},
				unmapped: map[string]bool{"owner": true, "customSource": true, "industry": true},
			},
		},
		{
			name:   "required mapToName-only field mapped",
			object: "account",
			inst: func(inst *Installation) {
				inst.Config.Read.Objects["account"].SelectedFieldMappings["owner"] = "OwnerId"
			},
			wantObject:  "account",
			wantEnabled: true,
			wantMapping: objectMapping{
				inherit: true,
				fields: map[string]string{
					"Name": "Name", "Website": "Website", "phone": "MobilePhone",
					"customSource": "myCustomSource", "extra": "Extra__c", "owner": "OwnerId",
				},
				unmapped:       map[string]bool{"industry": true},
				removeUnmapped: true,
			},
		},
		{
			name:   "enabled by mapToName when only the write config has the object",
			object: "company",
			inst: func(inst *Installation) {
				inst.Config.Write.Objects = map[string]WriteObject{"account": {ObjectName: "account"}}
				inst.Config.Read.Objects = nil
			},
			wantObject:  "account",
			wantEnabled: true,
			wantMapping: objectMapping{
				inherit:  true,
				fields:   map[string]string{"Name": "Name", "Website": "Website", "phone": "Phone"},
				unmapped: map[string]bool{"owner": true, "customSource": true, "industry": true},
			},
		},
		{
			name:   "no write config",
			object: "company",
			inst: func(inst *Installation) {
				inst.Config.Write.Objects = nil
			},
			wantObject: "account",
			wantMapping: objectMapping{
				inherit: true,
				fields: map[string]string{
					"Name": "Name", "Website": "Website", "phone": "MobilePhone",
					"customSource": "myCustomSource", "extra": "Extra__c",
				},
				unmapped: map[string]bool{"owner": true, "industry": true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inst := mappingInstallation()
			if tt.inst != nil {
				tt.inst(inst)
			}
			got, err := resolveObject(mappingIntegration(), inst, tt.object)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, "object", ve.Field)
				require.Equal(t, resolvedObject{}, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantObject, got.spec.ObjectName)
			require.Equal(t, tt.wantEnabled, got.enabled)
			if tt.wantEnabled {
				require.Equal(t, inst.Config.Write.Objects[tt.wantObject], got.config)
			}
			require.Equal(t, tt.wantMapping, got.mapping)
		})
	}
}

func TestResolveObjectWithoutSections(t *testing.T) {
	t.Parallel()
	for _, in := range []*Integration{
		nil,
		{Name: "none", Provider: "hubspot"},
		{Name: "readonly", Provider: "hubspot", Read: &ReadSpec{Objects: []ReadObjectSpec{{ObjectName: "contacts", MapToName: "people"}}}},
	} {
		for _, name := range []string{"contacts", "people"} {
			_, err := resolveObject(in, mappingInstallation(), name)
			require.ErrorIs(t, err, ErrUnknownObject)
		}
	}
	got, err := resolveObject(mappingIntegration(), nil, "company")
	require.NoError(t, err)
	require.False(t, got.enabled)
	require.Equal(t, "account", got.spec.ObjectName)
	require.Equal(t, map[string]string{"Name": "Name", "Website": "Website", "phone": "Phone"}, got.mapping.fields)
}

func TestResolveObjectPrefersObjectName(t *testing.T) {
	t.Parallel()
	// "company" is the mapToName of account and also a write object's name.
	in := mappingIntegration()
	in.Write.Objects = append(in.Write.Objects, WriteObjectSpec{ObjectName: "company"})
	got, err := resolveObject(in, mappingInstallation(), "company")
	require.NoError(t, err)
	require.Equal(t, "company", got.spec.ObjectName)
	require.False(t, got.mapping.inherit)
}

func TestInheritMappingPrecedence(t *testing.T) {
	t.Parallel()
	// A mapToName beats a fieldName-only field of the same name, mapped or
	// not; a selected mapping to "" counts as none.
	read := ReadObjectSpec{
		ObjectName:     "contacts",
		RequiredFields: []FieldSpec{{FieldName: "email"}, {FieldName: "phone"}},
		OptionalFields: []FieldSpec{{MapToName: "email"}, {MapToName: "phone", FieldName: "mobilephone"}, {MapToName: "region"}},
	}
	m := inheritMapping(read, map[string]string{"region": "", "extra": ""})
	require.Equal(t, map[string]string{"phone": "mobilephone"}, m.fields)
	require.Equal(t, map[string]bool{"email": true, "region": true}, m.unmapped)
}

func TestTransform(t *testing.T) {
	t.Parallel()
	// spec is the combined example of the write API: customSource is mapped
	// to myCustomSource, defaults to "myApp", and is written on create only.
	spec := objectMapping{
		inherit:  true,
		fields:   map[string]string{"customSource": "myCustomSource", "name": "Name"},
		unmapped: map[string]bool{"industry": true},
	}
	specSettings := map[string]FieldSetting{
		"customSource": {
			Default:       &DefaultValue{StringValue: mappingPtr("myApp")},
			WriteOnCreate: WriteOnCreateAlways,
			WriteOnUpdate: WriteOnUpdateNever,
		},
	}
	removing := spec
	removing.removeUnmapped = true
	tests := []struct {
		name        string
		typ         WriteType
		fields      map[string]any
		settings    map[string]FieldSetting
		mapping     objectMapping
		want        map[string]any
		wantIfEmpty []string
	}{
		{
			name:     "spec example: create without the field writes the default",
			typ:      WriteTypeCreate,
			fields:   map[string]any{"name": "Acme"},
			settings: specSettings,
			mapping:  spec,
			want:     map[string]any{"Name": "Acme", "myCustomSource": "myApp"},
		},
		{
			name:     "spec example: create with the field writes the request's value",
			typ:      WriteTypeCreate,
			fields:   map[string]any{"name": "Acme", "customSource": "x"},
			settings: specSettings,
			mapping:  spec,
			want:     map[string]any{"Name": "Acme", "myCustomSource": "x"},
		},
		{
			name:     "spec example: update never writes the field",
			typ:      WriteTypeUpdate,
			fields:   map[string]any{"name": "Acme", "customSource": "x"},
			settings: specSettings,
			mapping:  spec,
			want:     map[string]any{"Name": "Acme"},
		},
		{
			name:     "spec example: update never writes the default",
			typ:      WriteTypeUpdate,
			fields:   map[string]any{"name": "Acme"},
			settings: specSettings,
			mapping:  spec,
			want:     map[string]any{"Name": "Acme"},
		},
		{
			name:   "without mapping names pass through",
			typ:    WriteTypeCreate,
			fields: map[string]any{"customSource": "x", "industry": "tech"},
			settings: map[string]FieldSetting{
				"region": {Default: &DefaultValue{StringValue: mappingPtr("EMEA")}},
			},
			want: map[string]any{"customSource": "x", "industry": "tech", "region": "EMEA"},
		},
		{
			name:   "a present key is not missing, even nil or empty",
			typ:    WriteTypeCreate,
			fields: map[string]any{"a": nil, "b": "", "c": 0},
			settings: map[string]FieldSetting{
				"a": {Default: &DefaultValue{StringValue: mappingPtr("da")}},
				"b": {Default: &DefaultValue{StringValue: mappingPtr("db")}},
				"c": {Default: &DefaultValue{IntegerValue: mappingPtr[int64](7)}},
			},
			want: map[string]any{"a": nil, "b": "", "c": 0},
		},
		{
			name: "defaults of every type",
			typ:  WriteTypeCreate,
			settings: map[string]FieldSetting{
				"s": {Default: &DefaultValue{StringValue: mappingPtr("")}},
				"i": {Default: &DefaultValue{IntegerValue: mappingPtr[int64](-3)}},
				"b": {Default: &DefaultValue{BooleanValue: mappingPtr(false)}},
				"n": {Default: &DefaultValue{NumberValue: mappingPtr(2.5)}},
				"x": {WriteOnCreate: WriteOnCreateAlways},
			},
			want: map[string]any{"s": "", "i": json.Number("-3"), "b": false, "n": json.Number("2.5")},
		},
		{
			name:   "a default with two values is ignored",
			typ:    WriteTypeCreate,
			fields: map[string]any{"a": 1},
			settings: map[string]FieldSetting{
				"b": {Default: &DefaultValue{StringValue: mappingPtr("x"), BooleanValue: mappingPtr(true)}},
			},
			want: map[string]any{"a": 1},
		},
		{
			name:   "defaults apply to updates",
			typ:    WriteTypeUpdate,
			fields: map[string]any{"a": 1},
			settings: map[string]FieldSetting{
				"region": {Default: &DefaultValue{StringValue: mappingPtr("EMEA")}, WriteOnCreate: WriteOnCreateNever},
			},
			want: map[string]any{"a": 1, "region": "EMEA"},
		},
		{
			name:   "writeOnCreate never drops the field and its default on create",
			typ:    WriteTypeCreate,
			fields: map[string]any{"a": 1, "b": 2},
			settings: map[string]FieldSetting{
				"a": {WriteOnCreate: WriteOnCreateNever, WriteOnUpdate: WriteOnUpdateNever},
				"c": {Default: &DefaultValue{BooleanValue: mappingPtr(true)}, WriteOnCreate: WriteOnCreateNever},
			},
			want: map[string]any{"b": 2},
		},
		{
			name:   "writeOnUpdate never drops the field on update only",
			typ:    WriteTypeUpdate,
			fields: map[string]any{"a": 1, "b": 2},
			settings: map[string]FieldSetting{
				"a": {WriteOnUpdate: WriteOnUpdateNever},
				"b": {WriteOnCreate: WriteOnCreateNever},
			},
			want: map[string]any{"b": 2},
		},
		{
			name:   "explicit always writes",
			typ:    WriteTypeUpdate,
			fields: map[string]any{"a": 1},
			settings: map[string]FieldSetting{
				"a": {WriteOnCreate: WriteOnCreateAlways, WriteOnUpdate: WriteOnUpdateAlways},
			},
			want: map[string]any{"a": 1},
		},
		{
			name:   "ifEmpty on update lists provider names, sorted",
			typ:    WriteTypeUpdate,
			fields: map[string]any{"name": "Acme", "customSource": "x", "zeta": 1},
			settings: map[string]FieldSetting{
				"zeta":         {WriteOnUpdate: WriteOnUpdateIfEmpty},
				"customSource": {WriteOnUpdate: WriteOnUpdateIfEmpty},
				"region":       {Default: &DefaultValue{StringValue: mappingPtr("EMEA")}, WriteOnUpdate: WriteOnUpdateIfEmpty},
				"name":         {WriteOnUpdate: WriteOnUpdateAlways},
			},
			mapping:     objectMapping{inherit: true, fields: map[string]string{"customSource": "myCustomSource", "name": "Name"}},
			want:        map[string]any{"Name": "Acme", "myCustomSource": "x", "zeta": 1, "region": "EMEA"},
			wantIfEmpty: []string{"myCustomSource", "region", "zeta"},
		},
		{
			name:   "ifEmpty does not apply to creates",
			typ:    WriteTypeCreate,
			fields: map[string]any{"a": 1},
			settings: map[string]FieldSetting{
				"a": {WriteOnUpdate: WriteOnUpdateIfEmpty},
			},
			want: map[string]any{"a": 1},
		},
		{
			name:   "ifEmpty of a stripped field is not listed",
			typ:    WriteTypeUpdate,
			fields: map[string]any{"name": "Acme", "industry": "tech"},
			settings: map[string]FieldSetting{
				"industry": {WriteOnUpdate: WriteOnUpdateIfEmpty},
			},
			mapping: spec,
			want:    map[string]any{"Name": "Acme"},
		},
		{
			name:   "an unmapped optional field is stripped, with its default",
			typ:    WriteTypeCreate,
			fields: map[string]any{"name": "Acme", "industry": "tech", "other": 1},
			settings: map[string]FieldSetting{
				"industry": {Default: &DefaultValue{StringValue: mappingPtr("none")}},
			},
			mapping: spec,
			want:    map[string]any{"Name": "Acme", "other": 1},
		},
		{
			name:     "removeUnmapped strips every field without a mapping",
			typ:      WriteTypeCreate,
			fields:   map[string]any{"name": "Acme", "industry": "tech", "other": 1, "Name": "raw"},
			settings: specSettings,
			mapping:  removing,
			want:     map[string]any{"Name": "Acme", "myCustomSource": "myApp"},
		},
		{
			name: "removeUnmapped strips defaults without a mapping",
			typ:  WriteTypeUpdate,
			settings: map[string]FieldSetting{
				"region": {Default: &DefaultValue{StringValue: mappingPtr("EMEA")}},
				"name":   {Default: &DefaultValue{StringValue: mappingPtr("n/a")}},
			},
			mapping: removing,
			want:    map[string]any{"Name": "n/a"},
		},
		{
			name:    "a mapped field beats one passed through under the same name",
			typ:     WriteTypeCreate,
			fields:  map[string]any{"name": "mapped", "Name": "raw"},
			mapping: spec,
			want:    map[string]any{"Name": "mapped"},
		},
		{
			name:    "of two fields mapped to one provider field the first name wins",
			typ:     WriteTypeCreate,
			fields:  map[string]any{"b": "from b", "a": "from a", "c": "from c"},
			mapping: objectMapping{inherit: true, fields: map[string]string{"a": "X", "b": "X", "c": "X"}},
			want:    map[string]any{"X": "from a"},
		},
		{
			name:   "the winner's rule decides ifEmpty",
			typ:    WriteTypeUpdate,
			fields: map[string]any{"b": "from b", "a": "from a"},
			settings: map[string]FieldSetting{
				"b": {WriteOnUpdate: WriteOnUpdateIfEmpty},
				"a": {WriteOnUpdate: WriteOnUpdateNever},
			},
			mapping:     objectMapping{inherit: true, fields: map[string]string{"a": "X", "b": "X"}},
			want:        map[string]any{"X": "from b"},
			wantIfEmpty: []string{"X"},
		},
		{
			name:   "nothing left",
			typ:    WriteTypeUpdate,
			fields: map[string]any{"customSource": "x"},
			settings: map[string]FieldSetting{
				"customSource": {WriteOnUpdate: WriteOnUpdateNever},
			},
			mapping: spec,
			want:    map[string]any{},
		},
		{
			name: "nil fields and settings",
			typ:  WriteTypeCreate,
			want: nil, // nothing to write
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := maps.Clone(tt.fields)
			got, ifEmpty, _ := transform(tt.typ, tt.fields, tt.settings, tt.mapping)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wantIfEmpty, ifEmpty)
			require.Equal(t, in, tt.fields, "the input was modified")
		})
	}
}

func TestTransformReturnsANewMap(t *testing.T) {
	t.Parallel()
	fields := map[string]any{"a": 1}
	settings := map[string]FieldSetting{"b": {Default: IntegerDefault(2)}}
	out, _, _ := transform(WriteTypeCreate, fields, settings, objectMapping{})
	out["c"] = 3
	delete(out, "a")
	require.Equal(t, map[string]any{"a": 1}, fields, "with rules, the result is a new map")
}

func TestApplyIfEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		current map[string]any
		want    map[string]any
	}{
		{name: "missing record", current: nil, want: map[string]any{"a": "new", "b": "new", "c": "keep"}},
		{name: "field absent", current: map[string]any{"other": "x"}, want: map[string]any{"a": "new", "b": "new", "c": "keep"}},
		{name: "nil and empty", current: map[string]any{"a": nil, "b": ""}, want: map[string]any{"a": "new", "b": "new", "c": "keep"}},
		{name: "set", current: map[string]any{"a": "old", "b": "", "c": "old"}, want: map[string]any{"b": "new", "c": "keep"}},
		{name: "zero values are set", current: map[string]any{"a": 0.0, "b": false}, want: map[string]any{"c": "keep"}},
		{name: "whitespace is set", current: map[string]any{"a": " "}, want: map[string]any{"b": "new", "c": "keep"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fields := map[string]any{"a": "new", "b": "new", "c": "keep"}
			applyIfEmpty(fields, []string{"a", "b", "missing"}, tt.current)
			require.Equal(t, tt.want, fields)
		})
	}
}

func TestDefaultValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d      *DefaultValue
		want   any
		wantOK bool
	}{
		{d: nil},
		{d: &DefaultValue{}},
		{d: &DefaultValue{StringValue: mappingPtr("s")}, want: "s", wantOK: true},
		{d: &DefaultValue{IntegerValue: mappingPtr[int64](1 << 60)}, want: json.Number("1152921504606846976"), wantOK: true},
		{d: &DefaultValue{BooleanValue: mappingPtr(true)}, want: true, wantOK: true},
		{d: &DefaultValue{NumberValue: mappingPtr(0.5)}, want: json.Number("0.5"), wantOK: true},
		{d: &DefaultValue{StringValue: mappingPtr("s"), NumberValue: mappingPtr(0.5)}},
		{d: &DefaultValue{IntegerValue: mappingPtr[int64](1), BooleanValue: mappingPtr(false)}},
	}
	for _, tt := range tests {
		got, ok := tt.d.value()
		require.Equal(t, tt.wantOK, ok)
		require.Equal(t, tt.want, got)
	}
}

// TestWritePathMapping runs a request through resolveObject, transform and
// applyIfEmpty with the installation of the write API's combined example.
func TestWritePathMapping(t *testing.T) {
	t.Parallel()
	in := &Integration{
		Name:     "hubspot-leads",
		Provider: "hubspot",
		Read: &ReadSpec{Objects: []ReadObjectSpec{{
			ObjectName:     "contacts",
			MapToName:      "lead",
			RequiredFields: []FieldSpec{{FieldName: "email"}},
			OptionalFields: []FieldSpec{{MapToName: "customSource"}, {MapToName: "region"}, {MapToName: "rating"}},
		}}},
		Write: &WriteSpec{Objects: []WriteObjectSpec{{ObjectName: "contacts", InheritMapping: true}}},
	}
	inst := &Installation{Integration: "hubspot-leads", GroupRef: "g", Config: InstallationConfig{
		Write: WriteConfig{Objects: map[string]WriteObject{"contacts": {
			ObjectName: "contacts",
			SelectedFieldSettings: map[string]FieldSetting{
				"customSource": {Default: &DefaultValue{StringValue: mappingPtr("myApp")}, WriteOnCreate: WriteOnCreateAlways, WriteOnUpdate: WriteOnUpdateNever},
				"region":       {Default: &DefaultValue{StringValue: mappingPtr("EMEA")}, WriteOnUpdate: WriteOnUpdateIfEmpty},
			},
		}}},
		Read: ReadConfig{Objects: map[string]ReadObject{"contacts": {
			ObjectName:            "contacts",
			SelectedFieldMappings: map[string]string{"customSource": "myCustomSource", "region": "hs_region"},
		}}},
	}}
	obj, err := resolveObject(in, inst, "lead")
	require.NoError(t, err)
	require.True(t, obj.enabled)
	require.Equal(t, "contacts", obj.spec.ObjectName)

	created, ifEmpty, _ := transform(WriteTypeCreate, map[string]any{"email": "a@b.c", "rating": 5}, obj.config.SelectedFieldSettings, obj.mapping)
	require.Equal(t, map[string]any{"email": "a@b.c", "myCustomSource": "myApp", "hs_region": "EMEA"}, created)
	require.Empty(t, ifEmpty)

	for _, tt := range []struct {
		name    string
		current map[string]any
		want    map[string]any
	}{
		{name: "region unset", current: map[string]any{"hs_region": nil}, want: map[string]any{"email": "x@y.z", "hs_region": "APAC"}},
		{name: "region empty", current: map[string]any{"hs_region": ""}, want: map[string]any{"email": "x@y.z", "hs_region": "APAC"}},
		{name: "region set", current: map[string]any{"hs_region": "EMEA"}, want: map[string]any{"email": "x@y.z"}},
		{name: "record missing", current: nil, want: map[string]any{"email": "x@y.z", "hs_region": "APAC"}},
	} {
		updated, ifEmpty, _ := transform(WriteTypeUpdate, map[string]any{"email": "x@y.z", "customSource": "x", "region": "APAC"}, obj.config.SelectedFieldSettings, obj.mapping)
		require.Equal(t, []string{"hs_region"}, ifEmpty, tt.name)
		applyIfEmpty(updated, ifEmpty, tt.current)
		require.Equal(t, tt.want, updated, tt.name)
	}
}
