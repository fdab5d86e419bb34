package writeback

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzNames is the small name space the fuzz target draws application and
// provider field names from, so that names collide often.
var fuzzNames = []string{"a", "b", "c", "d", "e", "f", "g", ""}

// fuzzName picks a name from fuzzNames.
func fuzzName(b byte) string { return fuzzNames[int(b)%len(fuzzNames)] }

// fuzzFields decodes request fields: each byte names a field and picks its
// value. Tagged values ("in:" + name) let the properties trace where an
// output value came from; nil, "" and 0 are present but untraceable.
func fuzzFields(data []byte) map[string]any {
	if len(data) == 0 {
		return nil
	}
	fields := map[string]any{}
	for _, b := range data {
		name := fuzzName(b)
		switch b >> 6 {
		case 0:
			fields[name] = "in:" + name
		case 1:
			fields[name] = nil
		case 2:
			fields[name] = ""
		default:
			fields[name] = 0
		}
	}
	return fields
}

// fuzzSettings decodes field settings from byte pairs: a name, then the
// rules and the kind of default. String defaults are tagged "d:" + name.
func fuzzSettings(data []byte) map[string]FieldSetting {
	if len(data) == 0 {
		return nil
	}
	settings := map[string]FieldSetting{}
	for i := 0; i+1 < len(data); i += 2 {
		name, b := fuzzName(data[i]), data[i+1]
		s := FieldSetting{
			WriteOnCreate: []WriteOnCreate{"", WriteOnCreateAlways, WriteOnCreateNever, WriteOnCreateAlways}[b&3],
			WriteOnUpdate: []WriteOnUpdate{"", WriteOnUpdateAlways, WriteOnUpdateNever, WriteOnUpdateIfEmpty}[b>>2&3],
		}
		switch b >> 4 & 7 {
		case 1, 2:
			s.Default = &DefaultValue{StringValue: mappingPtr("d:" + name)}
		case 3:
			s.Default = &DefaultValue{IntegerValue: mappingPtr(int64(b))}
		case 4:
			s.Default = &DefaultValue{BooleanValue: mappingPtr(b&1 == 1)}
		case 5:
			s.Default = &DefaultValue{NumberValue: mappingPtr(float64(b) / 2)}
		case 6:
			// Invalid: two values. Installation validation rejects it; the
			// mapping must not panic on it.
			s.Default = &DefaultValue{StringValue: mappingPtr("d:" + name), IntegerValue: mappingPtr(int64(b))}
		}
		settings[name] = s
	}
	return settings
}

// fuzzMapping decodes a read object and the installation's selected field
// mappings from byte triples and resolves them with inheritMapping.
func fuzzMapping(data []byte, removeUnmapped bool) (objectMapping, ReadObjectSpec, map[string]string) {
	read := ReadObjectSpec{ObjectName: "object"}
	selected := map[string]string{}
	used := map[string]bool{}
	for i := 0; i+2 < len(data); i += 3 {
		kind, x, y := data[i], fuzzName(data[i+1]), fuzzName(data[i+2])
		var f FieldSpec
		switch kind & 3 {
		case 0:
			f = FieldSpec{FieldName: x}
		case 1:
			f = FieldSpec{MapToName: x}
		case 2:
			f = FieldSpec{MapToName: x, FieldName: y}
		default:
			selected[x] = y
			continue
		}
		// A manifest defines a field at most once per mapToName.
		if f.FieldName == "" && f.MapToName == "" || f.MapToName != "" && used[f.MapToName] {
			continue
		}
		used[f.MapToName] = true
		if kind&4 == 0 {
			read.RequiredFields = append(read.RequiredFields, f)
		} else {
			read.OptionalFields = append(read.OptionalFields, f)
		}
	}
	m := inheritMapping(read, selected)
	m.removeUnmapped = removeUnmapped
	return m, read, selected
}

// FuzzTransform checks the properties of transform over generated
// requests, field settings and inherited mappings: it never panics or
// modifies its input; defaults only fill missing keys; a field whose rule
// for the write type is never is not written; every field that is written
// lands under its mapped provider name; unmapped fields, and with
// removeUnmapped every field without a mapping, are stripped; and ifEmpty
// lists, sorted, the written provider fields whose rule is ifEmpty.
func FuzzTransform(f *testing.F) {
	// The write API's combined example: customSource (b) mapped by the
	// customer to a provider field (c), with a default, written on create
	// only: a create without it, a create with it, an update with it.
	f.Add(uint8(0), []byte{0x00}, []byte{0x01, 0x19}, []byte{0x01, 0x01, 0x00, 0x03, 0x01, 0x02}, false, true)
	f.Add(uint8(0), []byte{0x00, 0x01}, []byte{0x01, 0x19}, []byte{0x01, 0x01, 0x00, 0x03, 0x01, 0x02}, false, true)
	f.Add(uint8(1), []byte{0x00, 0x01}, []byte{0x01, 0x19}, []byte{0x01, 0x01, 0x00, 0x03, 0x01, 0x02}, false, true)
	f.Add(uint8(1), []byte{0x00, 0x41, 0x82, 0xc3}, []byte{0x00, 0x0c, 0x04, 0x2c}, []byte{0x05, 0x04, 0x00, 0x03, 0x02, 0x03}, true, true)
	f.Add(uint8(0), []byte{0x00, 0x01, 0x02}, []byte{0x01, 0x02, 0x03, 0x61}, []byte{}, false, false)
	f.Add(uint8(2), []byte{}, []byte{0x05, 0x3d, 0x06, 0x50}, []byte{0x02, 0x00, 0x01, 0x02, 0x01, 0x01}, true, true)
	f.Fuzz(func(t *testing.T, typByte uint8, fieldData, settingData, mappingData []byte, removeUnmapped, inherit bool) {
		typ := []WriteType{WriteTypeCreate, WriteTypeUpdate, WriteTypeDelete, "other"}[typByte%4]
		fields := fuzzFields(fieldData)
		settings := fuzzSettings(settingData)
		var m objectMapping
		if inherit {
			var read ReadObjectSpec
			var selected map[string]string
			m, read, selected = fuzzMapping(mappingData, removeUnmapped)
			checkInheritedMapping(t, m, read, selected)
		}
		in := maps.Clone(fields)

		out, ifEmpty, _ := transform(typ, fields, settings, m)

		require.Equal(t, in, fields, "the input was modified")
		require.NotNil(t, out)
		require.True(t, slices.IsSorted(ifEmpty), "ifEmpty %v is not sorted", ifEmpty)
		require.Len(t, slices.Compact(slices.Clone(ifEmpty)), len(ifEmpty), "ifEmpty %v has duplicates", ifEmpty)

		// sent reports whether app field name is written by typ, and where.
		sent := func(app string) (string, bool) {
			if !written(typ, settings[app]) {
				return "", false
			}
			if !m.inherit {
				return app, true
			}
			if m.unmapped[app] {
				return "", false
			}
			if p, ok := m.fields[app]; ok {
				return p, true
			}
			return app, !m.removeUnmapped
		}
		// source is the application field a tagged value came from, and
		// whether it came from a default.
		source := func(v any) (app string, isDefault, tagged bool) {
			s, ok := v.(string)
			if !ok {
				return "", false, false
			}
			if app, ok := strings.CutPrefix(s, "in:"); ok {
				return app, false, true
			}
			if app, ok := strings.CutPrefix(s, "d:"); ok {
				return app, true, true
			}
			return "", false, false
		}

		for p, v := range out {
			if m.inherit && m.removeUnmapped {
				require.True(t, slices.Contains(slices.Collect(maps.Values(m.fields)), p), "%q is not a mapped provider name", p)
			}
			app, isDefault, tagged := source(v)
			if !tagged {
				continue
			}
			if isDefault {
				_, present := fields[app]
				require.False(t, present, "the default of %q replaced the request's value", app)
				d, _ := settings[app].Default.value()
				require.Equal(t, "d:"+app, d, "%q got a default it does not have", app)
			} else {
				require.Equal(t, v, fields[app], "%q does not hold the request's value", app)
			}
			require.False(t, m.unmapped[app], "unmapped field %q was written", app)
			to, ok := sent(app)
			require.True(t, ok, "%q was written but its rule or mapping strips it", app)
			require.Equal(t, to, p, "%q was written to %q, not to its provider name", app, p)
		}

		// The output has exactly the provider names of the fields that are
		// written, from the request or a default (two fields with one
		// provider name give one key): nothing stripped by a rule or the
		// mapping appears, whatever its value.
		want := map[string]bool{}
		for app := range fields {
			if p, ok := sent(app); ok {
				want[p] = true
			}
		}
		for app, s := range settings {
			if _, present := fields[app]; present {
				continue
			}
			if _, ok := s.Default.value(); !ok {
				continue
			}
			if p, ok := sent(app); ok {
				want[p] = true
			}
		}
		require.ElementsMatch(t, slices.Collect(maps.Keys(want)), slices.Collect(maps.Keys(out)))

		// ifEmpty names written fields of updates whose winning source has
		// the ifEmpty rule.
		if typ != WriteTypeUpdate {
			require.Empty(t, ifEmpty)
		}
		for _, p := range ifEmpty {
			require.Contains(t, out, p)
		}
		for p, v := range out {
			app, _, tagged := source(v)
			if !tagged {
				continue
			}
			want := typ == WriteTypeUpdate && settings[app].WriteOnUpdate == WriteOnUpdateIfEmpty
			require.Equal(t, want, slices.Contains(ifEmpty, p), "ifEmpty of %q (from %q)", p, app)
		}

		// applyIfEmpty keeps ifEmpty fields only against empty values.
		current := map[string]any{}
		for i, p := range ifEmpty {
			current[p] = []any{nil, "", "set", 0}[i%4]
		}
		after := maps.Clone(out)
		applyIfEmpty(after, ifEmpty, current)
		for p := range out {
			cur, isIfEmpty := current[p]
			_, kept := after[p]
			require.Equal(t, !isIfEmpty || cur == nil || cur == "", kept, "field %q with current value %v", p, cur)
		}
	})
}

// checkInheritedMapping checks an inherited mapping against the read object
// and selected mappings it was resolved from.
func checkInheritedMapping(t *testing.T, m objectMapping, read ReadObjectSpec, selected map[string]string) {
	t.Helper()
	require.True(t, m.inherit)
	for app := range m.unmapped {
		require.NotContains(t, m.fields, app, "%q is both mapped and unmapped", app)
		require.Empty(t, selected[app], "%q is unmapped but the customer mapped it", app)
	}
	for _, f := range slices.Concat(read.RequiredFields, read.OptionalFields) {
		switch {
		case f.MapToName == "":
			continue
		case selected[f.MapToName] != "":
			require.Equal(t, selected[f.MapToName], m.fields[f.MapToName])
		case f.FieldName != "":
			require.Equal(t, f.FieldName, m.fields[f.MapToName])
		default:
			require.True(t, m.unmapped[f.MapToName], "%q has no mapping but is not unmapped", f.MapToName)
		}
	}
	for app, p := range m.fields {
		require.NotEmpty(t, p, "%q maps to an empty name", app)
	}
	for app, p := range selected {
		if p != "" && !m.unmapped[app] {
			require.Contains(t, m.fields, app, "the customer's mapping of %q is lost", app)
		}
	}
}
