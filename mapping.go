package writeback

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// This file holds the pure part of the write path: finding the write object
// a request names, resolving its field mapping for an installation, and
// turning a record's fields (as the application sends them) into the
// provider fields to write.
//
// For each record, in order:
//
//  1. defaults fill the fields missing from the request (a key present in
//     the request, even with a nil or empty value, is not missing);
//  2. the overwrite rule for the write type decides whether each field,
//     from the request or from a default, is written;
//  3. with inheritMapping, fields are renamed through the inherited read
//     mapping, mapped fields the customer left unmapped are stripped, and
//     with removeUnmappedFields every field without a mapping is stripped.
//
// Field settings are keyed by the names the application sends.

// resolvedObject is a write object resolved for one installation.
type resolvedObject struct {
	spec    WriteObjectSpec // the manifest write object
	config  WriteObject     // the installation's settings for it
	enabled bool            // present in the installation's write config
	mapping objectMapping
}

// objectMapping is the resolved field mapping of one write object.
type objectMapping struct {
	inherit        bool              // the write object inherits the read mapping
	fields         map[string]string // app field name -> provider field name
	unmapped       map[string]bool   // app names of mapped fields the customer left unmapped (always stripped)
	removeUnmapped bool              // strip every field without a mapping
}

// resolveObject finds the write object a request names and resolves its
// settings and mapping for the installation.
//
// The name is matched first against the write objects' names (the provider
// object names), exactly; failing that, against the mapToName of a read
// object whose write object has inheritMapping (object mapping, e.g.
// "company" for "account"). An integration without such a write object
// gives a [*ValidationError] wrapping [ErrUnknownObject] for field
// "object". A write object absent from the installation's write config
// resolves with enabled false; the caller reports [ErrObjectNotEnabled].
func resolveObject(in *Integration, inst *Installation, name string) (resolvedObject, error) {
	spec, ok := findWriteObject(in, name)
	if !ok {
		integration, valid := "", []string{}
		if in != nil {
			integration = in.Name
			valid = writeObjectNames(in)
		}
		return resolvedObject{}, invalid(ErrUnknownObject, "object", "%q is not a write object of integration %q (write objects: %s)",
			name, integration, strings.Join(valid, ", "))
	}
	r := resolvedObject{spec: spec}
	if inst != nil {
		r.config, r.enabled = inst.Config.Write.Objects[spec.ObjectName]
	}
	if spec.InheritMapping {
		var selected map[string]string
		if inst != nil {
			selected = inst.Config.Read.Objects[spec.ObjectName].SelectedFieldMappings
		}
		read, _ := in.ReadObject(spec.ObjectName)
		r.mapping = inheritMapping(read, selected)
		r.mapping.removeUnmapped = r.config.RemoveUnmappedFields
	}
	return r, nil
}

// writeObjectNames lists the names a write can give the write objects of
// in: their object names, and the mapToName of the read objects whose
// write object inherits their mapping.
func writeObjectNames(in *Integration) []string {
	var out []string
	if in.Write != nil {
		for _, o := range in.Write.Objects {
			out = append(out, o.ObjectName)
			if r, ok := in.ReadObject(o.ObjectName); ok && o.InheritMapping && r.MapToName != "" && r.MapToName != o.ObjectName {
				out = append(out, r.MapToName)
			}
		}
	}
	return out
}

// findWriteObject returns the write object of in named name, either by its
// object name or, with inheritMapping, by its read object's mapToName.
func findWriteObject(in *Integration, name string) (WriteObjectSpec, bool) {
	if spec, ok := in.WriteObject(name); ok {
		return spec, true
	}
	if in == nil || in.Read == nil || name == "" {
		return WriteObjectSpec{}, false
	}
	for _, o := range in.Read.Objects {
		if o.MapToName != name {
			continue
		}
		if spec, ok := in.WriteObject(o.ObjectName); ok && spec.InheritMapping {
			return spec, true
		}
	}
	return WriteObjectSpec{}, false
}

// inheritMapping resolves the field mapping a write object inherits from
// its read object, given the installation's selectedFieldMappings for that
// object (mapToName -> provider field).
//
// For each required and optional field of the read object:
//
//   - fieldName alone: the field is written under its own name;
//   - mapToName and fieldName: mapToName is written to the installation's
//     mapping for it if there is one, else to fieldName;
//   - mapToName alone: mapToName is written to the installation's mapping
//     for it; without one the customer left the field unmapped and it is
//     stripped from writes. This holds for required fields too: there is
//     no provider field to write them to.
//
// A mapToName takes precedence over a fieldName-only field of the same
// name. Installation mappings for names the read object does not define
// (fields the customer mapped beyond the manifest) are mappings as well;
// they cannot remap a fieldName-only field, which the customer does not map.
func inheritMapping(read ReadObjectSpec, selected map[string]string) objectMapping {
	m := objectMapping{
		inherit:  true,
		fields:   make(map[string]string, len(read.RequiredFields)+len(read.OptionalFields)+len(selected)),
		unmapped: map[string]bool{},
	}
	specs := slices.Concat(read.RequiredFields, read.OptionalFields)
	for _, f := range specs {
		if f.MapToName == "" && f.FieldName != "" {
			m.fields[f.FieldName] = f.FieldName
		}
	}
	for _, f := range specs {
		if f.MapToName == "" {
			continue
		}
		switch to := selected[f.MapToName]; {
		case to != "":
			m.fields[f.MapToName] = to
		case f.FieldName != "":
			m.fields[f.MapToName] = f.FieldName
		default:
			delete(m.fields, f.MapToName)
			m.unmapped[f.MapToName] = true
		}
	}
	for from, to := range selected {
		if _, known := m.fields[from]; known || m.unmapped[from] || to == "" {
			continue
		}
		m.fields[from] = to
	}
	return m
}

// appNames inverts the mapping: the application's name of each provider
// field a field is written to. When several application fields are
// written to one provider field, the name transform lets win when a
// record has them all (the first in order) stands for them. Nil without
// inheritMapping, where fields keep their names.
func (m objectMapping) appNames() map[string]string {
	if !m.inherit {
		return nil
	}
	out := make(map[string]string, len(m.fields))
	for app, to := range m.fields {
		if prev, ok := out[to]; !ok || app < prev {
			out[to] = app
		}
	}
	return out
}

// resolve returns the provider name of an application field, whether the
// mapping renamed it, and false when the mapping strips it.
func (m objectMapping) resolve(app string) (to string, mapped, ok bool) {
	if !m.inherit {
		return app, false, true
	}
	if m.unmapped[app] {
		return "", false, false
	}
	if p, ok := m.fields[app]; ok {
		return p, true, true
	}
	return app, false, !m.removeUnmapped
}

// transform applies defaults, the overwrite rules for typ, and the mapping
// to one record's fields (application names). It returns the provider
// fields to write (fields is not modified; values are shared; when no rule
// and no mapping apply, the result is fields itself, and neither may be
// modified afterwards),
// the provider field names among them that must be written only if
// currently empty (ifEmpty on update), sorted, and the application names
// of the request's fields stripped because the customer left them
// unmapped (or, with removeUnmappedFields, because they have no mapping),
// sorted.
//
// A default fills a field the request lacks: it is not applied when the
// request has the field under its application name, nor when the request
// has a field that is written to the same provider field (say, the
// provider's own name): the caller's value wins.
//
// When two fields end up with the same provider name, a field renamed by
// the mapping beats one passed through under its own name, and otherwise
// the field whose application name sorts first wins, so the result does
// not depend on map order.
func transform(typ WriteType, fields map[string]any, settings map[string]FieldSetting, m objectMapping) (out map[string]any, ifEmpty []string, stripped []string) {
	if len(settings) == 0 && !m.inherit {
		// No rules and no mapping: every field as it is.
		return fields, nil, nil
	}
	type source struct {
		app     string
		mapped  bool
		ifEmpty bool
	}
	out = make(map[string]any, len(fields)+len(settings))
	from := make(map[string]source, len(fields)+len(settings))
	resolve := m.resolve
	put := func(app string, v any) {
		s, ok := settings[app]
		if ok && !written(typ, s) {
			return
		}
		to, mapped, _ := resolve(app)
		if prev, ok := from[to]; ok && (prev.mapped && !mapped || prev.mapped == mapped && prev.app < app) {
			return
		}
		out[to] = v
		from[to] = source{app: app, mapped: mapped, ifEmpty: typ == WriteTypeUpdate && s.WriteOnUpdate == WriteOnUpdateIfEmpty}
	}
	var sent map[string]bool // provider names the request writes to
	for app, v := range fields {
		to, _, ok := resolve(app)
		if !ok {
			stripped = append(stripped, app)
			continue
		}
		if len(settings) > 0 {
			if sent == nil {
				sent = make(map[string]bool, len(fields))
			}
			sent[to] = true
		}
		put(app, v)
	}
	for app, s := range settings {
		if _, present := fields[app]; present {
			continue
		}
		v, ok := s.Default.value()
		if !ok {
			continue
		}
		if to, _, ok := resolve(app); !ok || sent[to] {
			continue
		}
		put(app, v)
	}
	for to, s := range from {
		if s.ifEmpty {
			ifEmpty = append(ifEmpty, to)
		}
	}
	slices.Sort(ifEmpty)
	slices.Sort(stripped)
	return out, ifEmpty, stripped
}

// written reports whether a field with setting s is written by a write of
// type typ. Empty rules mean always; ifEmpty is decided later, against the
// record's current values.
func written(typ WriteType, s FieldSetting) bool {
	switch typ {
	case WriteTypeCreate:
		return s.WriteOnCreate != WriteOnCreateNever
	case WriteTypeUpdate:
		return s.WriteOnUpdate != WriteOnUpdateNever
	}
	return true
}

// applyIfEmpty removes from fields each ifEmpty field whose current value is
// set: present, not nil and not the empty string. current is keyed by
// provider field names; a nil current map means the record has no values.
func applyIfEmpty(fields map[string]any, ifEmpty []string, current map[string]any) {
	for _, name := range ifEmpty {
		if v, ok := current[name]; ok && v != nil && v != "" {
			delete(fields, name)
		}
	}
}

// value returns the value of a default in its normal form (a string, a
// bool or a json.Number) and whether exactly one of its fields is set. A
// nil default has no value.
func (d *DefaultValue) value() (any, bool) {
	if d == nil {
		return nil, false
	}
	var (
		v any
		n int
	)
	if d.StringValue != nil {
		v, n = *d.StringValue, n+1
	}
	if d.IntegerValue != nil {
		v, n = json.Number(strconv.FormatInt(*d.IntegerValue, 10)), n+1
	}
	if d.BooleanValue != nil {
		v, n = *d.BooleanValue, n+1
	}
	if d.NumberValue != nil {
		num, err := floatNumber(*d.NumberValue, 64)
		if err != nil {
			return nil, false
		}
		v, n = num, n+1
	}
	if n != 1 {
		return nil, false
	}
	return v, true
}
