package writeback

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Manifest is an amp.yaml-style document: the integrations an application
// offers, with the objects each reads and writes. Build one in Go or parse
// one with [ParseManifest].
type Manifest struct {
	// SpecVersion is the manifest format version, e.g. "1.0.0".
	SpecVersion string `yaml:"specVersion" json:"specVersion"`
	// Integrations are the integrations; names are unique.
	Integrations []Integration `yaml:"integrations" json:"integrations"`

	// ignored are the keys of the parsed document writeback does not act on.
	ignored []IgnoredKey
}

// IgnoredKey is a part of a manifest that writeback accepts but does not
// act on, such as a read object's schedule: the amp.yaml schema has it for
// reading, proxying or subscribing, which writeback does not do.
type IgnoredKey struct {
	// Path locates it, such as "integrations[0].read.objects[1].schedule".
	Path string
	// Line is its line in the parsed document; 0 when the manifest was
	// not parsed, or the line is not known.
	Line int
	// Reason says why it has no effect.
	Reason string
}

// ignoredManifestKeys are the keys of the amp.yaml schema that writeback
// accepts and does not act on, by the type of the value they appear in,
// with the reason. Their content is not checked.
var ignoredManifestKeys = map[reflect.Type]map[string]string{
	reflect.TypeFor[Integration](): {
		"module":    "modules select provider APIs for reading and proxying",
		"proxy":     "writeback does not proxy requests",
		"subscribe": "writeback does not subscribe to events",
	},
	reflect.TypeFor[ReadObjectSpec](): {
		"schedule":           "writeback does not read",
		"backfill":           "writeback does not read",
		"delivery":           "writeback does not read",
		"optionalFieldsAuto": "writeback does not read",
		"mapToDisplayName":   "a display name for people",
	},
	reflect.TypeFor[FieldSpec](): {
		"default": "a read default; write defaults are installation settings",
		"prompt":  "a prompt for people",
	},
	reflect.TypeFor[WriteObjectSpec](): {
		"valueDefaults": "which fields take defaults is up to each installation's settings",
		"displayName":   "a display name for people",
	},
}

// Ignored lists the parts of the manifest writeback accepts but does not
// act on: keys of the amp.yaml schema for reading, proxying or subscribing
// (parsed manifests only), and write objects with inheritMapping but no
// read object to inherit from. [NewWriter] logs them once.
func (m *Manifest) Ignored() []IgnoredKey {
	if m == nil {
		return nil
	}
	out := slices.Clone(m.ignored)
	for _, k := range m.inheritWithoutRead() {
		if !slices.ContainsFunc(out, func(o IgnoredKey) bool { return o.Path == k.Path }) {
			out = append(out, k)
		}
	}
	return out
}

// inheritWithoutRead lists the write objects with inheritMapping but no
// read object of the same name. Such an object has no mapping: its fields
// are written under the names the application sends.
func (m *Manifest) inheritWithoutRead() []IgnoredKey {
	var out []IgnoredKey
	for i, in := range m.Integrations {
		if in.Write == nil {
			continue
		}
		for j, o := range in.Write.Objects {
			if _, ok := in.ReadObject(o.ObjectName); o.InheritMapping && !ok {
				out = append(out, IgnoredKey{
					Path:   fmt.Sprintf("integrations[%d].write.objects[%d].inheritMapping", i, j),
					Reason: fmt.Sprintf("no read object %q to inherit a mapping from: fields are written under the names the application sends", o.ObjectName),
				})
			}
		}
	}
	return out
}

// Integration is one integration of a manifest: a provider and the objects
// read from and written to it.
type Integration struct {
	// Name identifies the integration: [a-z0-9-_], at most 64 characters.
	Name string `yaml:"name" json:"name"`
	// DisplayName is shown to people; optional, at most 100 characters.
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Provider is the provider's name, e.g. "hubspot" or "salesforce".
	Provider string `yaml:"provider" json:"provider"`
	// Read lists the objects read, whose mappings write objects can inherit.
	Read *ReadSpec `yaml:"read,omitempty" json:"read,omitempty"`
	// Write lists the objects that can be written.
	Write *WriteSpec `yaml:"write,omitempty" json:"write,omitempty"`
}

// ReadSpec is the read section of an integration.
type ReadSpec struct {
	// Objects are the read objects; object names are unique.
	Objects []ReadObjectSpec `yaml:"objects" json:"objects"`
}

// ReadObjectSpec is one read object, with the fields customers map.
type ReadObjectSpec struct {
	// ObjectName is the provider object name, e.g. "contacts" or "Account".
	ObjectName string `yaml:"objectName" json:"objectName"`
	// Destination is where read records are delivered; unused by writes.
	Destination string `yaml:"destination,omitempty" json:"destination,omitempty"`
	// MapToName is the application's name for the object (object mapping),
	// e.g. "company" for Salesforce "account". With inheritMapping a write
	// can name the object either way.
	MapToName string `yaml:"mapToName,omitempty" json:"mapToName,omitempty"`
	// RequiredFields are always read.
	RequiredFields []FieldSpec `yaml:"requiredFields,omitempty" json:"requiredFields,omitempty"`
	// OptionalFields are read if the customer selects (or maps) them.
	OptionalFields []FieldSpec `yaml:"optionalFields,omitempty" json:"optionalFields,omitempty"`
}

// FieldSpec is one field of a read object.
//
// With FieldName alone the field keeps its provider name. With MapToName
// alone the customer picks the provider field (the installation's
// selectedFieldMappings). With both, the field is mapped to FieldName unless
// the installation maps it elsewhere.
type FieldSpec struct {
	// FieldName is the provider field name.
	FieldName string `yaml:"fieldName,omitempty" json:"fieldName,omitempty"`
	// MapToName is the application's name for the field.
	MapToName string `yaml:"mapToName,omitempty" json:"mapToName,omitempty"`
	// MapToDisplayName is shown to the customer when mapping.
	MapToDisplayName string `yaml:"mapToDisplayName,omitempty" json:"mapToDisplayName,omitempty"`
}

// WriteSpec is the write section of an integration.
type WriteSpec struct {
	// Objects are the write objects; object names are unique.
	Objects []WriteObjectSpec `yaml:"objects" json:"objects"`
}

// WriteObjectSpec is one write object.
type WriteObjectSpec struct {
	// ObjectName is the provider object name (case-sensitive), e.g.
	// "contacts", "Account" or "touchpoints__c". Required.
	ObjectName string `yaml:"objectName" json:"objectName"`
	// InheritMapping makes writes use the read object's field and object
	// mappings: the application sends mapped names and the engine writes the
	// customer's fields. Default false. Without a read object of the same
	// name there is no mapping to inherit: fields are written under the
	// names the application sends, removeUnmappedFields cannot be set, and
	// [Manifest.Ignored] lists the option.
	InheritMapping bool `yaml:"inheritMapping,omitempty" json:"inheritMapping,omitempty"`
	// UpsertKey names the field [Writer.Upsert] identifies records by, as
	// the application sends it: a field the provider holds unique values
	// in (HubSpot: a property with unique values, such as a contact's
	// email; Salesforce: an external ID field). The installation's
	// mapping renames it like any field. Optional: without it, upserts
	// of the object must name their key ([WriteOpts.UpsertKey]).
	UpsertKey string `yaml:"upsertKey,omitempty" json:"upsertKey,omitempty"`
}

// Limits on manifest names, checked by [Manifest.Validate].
const (
	maxIntegrationName = 64
	maxDisplayName     = 100
	maxManifestName    = 256
)

var (
	integrationNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)
	providerNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	yamlLineRE        = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	typeErrorLineRE   = regexp.MustCompile(`^line (\d+): (.*)$`)
)

// ParseManifest parses an amp.yaml-style manifest and validates it with
// [Manifest.Validate].
//
// It accepts the documented amp.yaml schema. Keys writeback does not act
// on (a read object's schedule, backfill or delivery, an integration's
// proxy, subscribe or module, a write object's valueDefaults, ...) are
// accepted without checking their content and listed by
// [Manifest.Ignored]. Any other key is an error, as is a value of the
// wrong type, a duplicate key or a second YAML document. Every error is a
// [*ValidationError] wrapping [ErrInvalidManifest]. For a YAML syntax
// error or a value of the wrong type its Field is the line, such as "line
// 3"; otherwise Field locates the bad value, such as
// "integrations[1].write.objects[0].objectName", and Reason ends with its
// line where the value is in the document.
//
// Empty lists of fields (requiredFields: []) parse as absent, so a parsed
// manifest marshals back to YAML that parses to an equal manifest (less
// the ignored keys).
func ParseManifest(data []byte) (*Manifest, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, invalid(ErrInvalidManifest, "", "empty document")
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, invalid(ErrInvalidManifest, fmt.Sprintf("line %d", extra.Line), "more than one YAML document")
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	// The walk checks every key, including those reached through aliases
	// and merge keys, so the decode can ignore the ignored keys.
	var walk manifestWalk
	if err := walk.check(doc, reflect.TypeFor[Manifest](), "", 0); err != nil {
		return nil, err
	}
	var m Manifest
	if err := doc.Decode(&m); err != nil {
		return nil, yamlError(err)
	}
	m.normalize()
	if err := m.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			if line := lineOf(doc, ve.Field); line > 0 {
				ve.Reason = fmt.Sprintf("%s (line %d)", ve.Reason, line)
			}
		}
		return nil, err
	}
	m.ignored = walk.ignored
	for _, k := range m.inheritWithoutRead() {
		k.Line = lineOf(doc, k.Path)
		m.ignored = append(m.ignored, k)
	}
	return &m, nil
}

// yamlError turns an error of the YAML package into a [*ValidationError].
func yamlError(err error) *ValidationError {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		if m := typeErrorLineRE.FindStringSubmatch(te.Errors[0]); m != nil {
			return invalid(ErrInvalidManifest, "line "+m[1], "%s", m[2])
		}
		return invalid(ErrInvalidManifest, "", "%s", te.Errors[0])
	}
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return invalid(ErrInvalidManifest, "line "+m[1], "%s", m[2])
	}
	return invalid(ErrInvalidManifest, "", "%s", strings.TrimPrefix(msg, "yaml: "))
}

// maxYAMLDepth bounds the nesting the walk follows, aliases included.
const maxYAMLDepth = 64

// manifestWalk checks a manifest's node tree against the types it decodes
// into, and collects the keys it ignores.
type manifestWalk struct {
	ignored []IgnoredKey
}

// check checks that n has the shape of type t: mappings for structs, with
// only the keys the struct's yaml tags name or [ignoredManifestKeys]
// lists, and sequences for slices, following aliases and merge keys.
// Scalars are left to the decoder.
func (mw *manifestWalk) check(n *yaml.Node, t reflect.Type, path string, depth int) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > maxYAMLDepth {
		return invalid(ErrInvalidManifest, path, "nested too deeply at line %d", n.Line)
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil
		}
		return mw.check(n.Alias, t, path, depth+1)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return invalid(ErrInvalidManifest, path, "expected a mapping at line %d", n.Line)
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				// A merge key (<<) brings the keys of a mapping, or of a
				// sequence of mappings.
				merged := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					merged = v.Content
				}
				for _, m := range merged {
					if err := mw.check(m, t, path, depth+1); err != nil {
						return err
					}
				}
				continue
			}
			if reason, ok := ignoredManifestKeys[t][k.Value]; ok && k.Kind == yaml.ScalarNode {
				mw.ignored = append(mw.ignored, IgnoredKey{Path: joinPath(path, k.Value), Line: k.Line, Reason: reason})
				continue
			}
			ft, ok := fields[k.Value]
			if !ok || k.Kind != yaml.ScalarNode {
				return invalid(ErrInvalidManifest, joinPath(path, k.Value), "unknown field at line %d", k.Line)
			}
			if err := mw.check(v, ft, joinPath(path, k.Value), depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return invalid(ErrInvalidManifest, path, "expected a sequence at line %d", n.Line)
		}
		for i, c := range n.Content {
			if err := mw.check(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// yamlFields maps the yaml keys of struct type t to the types of its fields.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

// joinPath appends a key to a dotted path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lineOf returns the line of the value a [ValidationError.Field] path such
// as "integrations[1].write.objects[0].objectName" locates in the node tree,
// or of the closest enclosing value when the path ends at a missing key;
// 0 when the path does not lead anywhere.
func lineOf(n *yaml.Node, path string) int {
	line := n.Line
	if path == "" {
		return line
	}
	for seg := range strings.SplitSeq(path, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		n, line = next, next.Line
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			if !ok || err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			n, line = n.Content[i], n.Content[i].Line
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return line
}

// normalize makes empty field lists nil, the form they marshal back from.
func (m *Manifest) normalize() {
	for i := range m.Integrations {
		in := &m.Integrations[i]
		if in.Read == nil {
			continue
		}
		for j := range in.Read.Objects {
			o := &in.Read.Objects[j]
			if len(o.RequiredFields) == 0 {
				o.RequiredFields = nil
			}
			if len(o.OptionalFields) == 0 {
				o.OptionalFields = nil
			}
		}
	}
}

// Validate checks a manifest:
//
//   - specVersion is required;
//   - there is at least one integration, and integration names are unique
//     and match [a-z0-9-_]{1,64};
//   - displayName has at most 100 characters;
//   - provider is required: a lower-case name such as "hubspot" (whether an
//     adapter exists for it is checked by [NewWriter]);
//   - a read or write section lists at least one object, and object names
//     are required, plain names (letters, digits, underscores and
//     hyphens) and unique within the section; a read object's mapToName
//     does not collide with another read object's name or mapToName;
//   - each field of a read object has a fieldName or a mapToName, and
//     mapToName values are unique within the object.
//
// Names (objectName, fieldName, mapToName) have at most 256 characters and
// no control characters. A write object with inheritMapping needs no read
// object: see [WriteObjectSpec.InheritMapping]. Errors are [*ValidationError] values wrapping
// [ErrInvalidManifest], whose Field locates the problem, such as
// "integrations[1].write.objects[0].objectName".
func (m *Manifest) Validate() error {
	if m == nil {
		return invalid(ErrInvalidManifest, "", "manifest is nil")
	}
	if err := checkText(m.SpecVersion, 32); err != "" {
		return invalid(ErrInvalidManifest, "specVersion", "%s", err)
	}
	if len(m.Integrations) == 0 {
		return invalid(ErrInvalidManifest, "integrations", "at least one integration is required")
	}
	names := make(map[string]int, len(m.Integrations))
	for i := range m.Integrations {
		in := &m.Integrations[i]
		p := fmt.Sprintf("integrations[%d]", i)
		if in.Name == "" {
			return invalid(ErrInvalidManifest, p+".name", "required")
		}
		if !integrationNameRE.MatchString(in.Name) {
			return invalid(ErrInvalidManifest, p+".name", "must match [a-z0-9-_] with at most %d characters", maxIntegrationName)
		}
		if j, ok := names[in.Name]; ok {
			return invalid(ErrInvalidManifest, p+".name", "duplicate integration %q (also integrations[%d])", in.Name, j)
		}
		names[in.Name] = i
		if utf8.RuneCountInString(in.DisplayName) > maxDisplayName || !utf8.ValidString(in.DisplayName) {
			return invalid(ErrInvalidManifest, p+".displayName", "must be valid text of at most %d characters", maxDisplayName)
		}
		if in.Provider == "" {
			return invalid(ErrInvalidManifest, p+".provider", "required")
		}
		if !providerNameRE.MatchString(in.Provider) {
			return invalid(ErrInvalidManifest, p+".provider", "must be a lower-case provider name such as \"hubspot\"")
		}
		if err := in.validateRead(p + ".read"); err != nil {
			return err
		}
		if err := in.validateWrite(p + ".write"); err != nil {
			return err
		}
	}
	return nil
}

// validateRead checks an integration's read section.
func (in *Integration) validateRead(p string) error {
	if in.Read == nil {
		return nil
	}
	if len(in.Read.Objects) == 0 {
		return invalid(ErrInvalidManifest, p+".objects", "at least one object is required")
	}
	// objects maps object names and object mapToNames to the index of the
	// object that uses them.
	objects := make(map[string]int, 2*len(in.Read.Objects))
	for i := range in.Read.Objects {
		o := &in.Read.Objects[i]
		op := fmt.Sprintf("%s.objects[%d]", p, i)
		if err := checkObjectName(o.ObjectName); err != "" {
			return invalid(ErrInvalidManifest, op+".objectName", "%s", err)
		}
		if j, ok := objects[o.ObjectName]; ok {
			return invalid(ErrInvalidManifest, op+".objectName", "duplicate object %q (also objects[%d])", o.ObjectName, j)
		}
		objects[o.ObjectName] = i
	}
	for i := range in.Read.Objects {
		o := &in.Read.Objects[i]
		op := fmt.Sprintf("%s.objects[%d]", p, i)
		if o.MapToName != "" && o.MapToName != o.ObjectName {
			if err := checkText(o.MapToName, maxManifestName); err != "" {
				return invalid(ErrInvalidManifest, op+".mapToName", "%s", err)
			}
			if j, ok := objects[o.MapToName]; ok {
				return invalid(ErrInvalidManifest, op+".mapToName", "%q is already the name of objects[%d]", o.MapToName, j)
			}
			objects[o.MapToName] = i
		}
		if o.Destination != "" {
			if err := checkText(o.Destination, maxManifestName); err != "" {
				return invalid(ErrInvalidManifest, op+".destination", "%s", err)
			}
		}
		mapped := map[string]string{}
		for _, list := range []struct {
			name   string
			fields []FieldSpec
		}{{"requiredFields", o.RequiredFields}, {"optionalFields", o.OptionalFields}} {
			for k, f := range list.fields {
				fp := fmt.Sprintf("%s.%s[%d]", op, list.name, k)
				if f.FieldName == "" && f.MapToName == "" {
					return invalid(ErrInvalidManifest, fp, "fieldName or mapToName is required")
				}
				if f.FieldName != "" {
					if err := checkText(f.FieldName, maxManifestName); err != "" {
						return invalid(ErrInvalidManifest, fp+".fieldName", "%s", err)
					}
				}
				if f.MapToDisplayName != "" {
					if err := checkText(f.MapToDisplayName, maxManifestName); err != "" {
						return invalid(ErrInvalidManifest, fp+".mapToDisplayName", "%s", err)
					}
				}
				if f.MapToName == "" {
					continue
				}
				if err := checkText(f.MapToName, maxManifestName); err != "" {
					return invalid(ErrInvalidManifest, fp+".mapToName", "%s", err)
				}
				if prev, ok := mapped[f.MapToName]; ok {
					return invalid(ErrInvalidManifest, fp+".mapToName", "duplicate mapToName %q (also %s)", f.MapToName, prev)
				}
				mapped[f.MapToName] = fmt.Sprintf("%s[%d]", list.name, k)
			}
		}
	}
	return nil
}

// validateWrite checks an integration's write section.
func (in *Integration) validateWrite(p string) error {
	if in.Write == nil {
		return nil
	}
	if len(in.Write.Objects) == 0 {
		return invalid(ErrInvalidManifest, p+".objects", "at least one object is required")
	}
	seen := make(map[string]int, len(in.Write.Objects))
	for i, o := range in.Write.Objects {
		op := fmt.Sprintf("%s.objects[%d]", p, i)
		if err := checkObjectName(o.ObjectName); err != "" {
			return invalid(ErrInvalidManifest, op+".objectName", "%s", err)
		}
		if j, ok := seen[o.ObjectName]; ok {
			return invalid(ErrInvalidManifest, op+".objectName", "duplicate object %q (also objects[%d])", o.ObjectName, j)
		}
		seen[o.ObjectName] = i
		if o.UpsertKey != "" {
			if err := checkText(o.UpsertKey, maxManifestName); err != "" {
				return invalid(ErrInvalidManifest, op+".upsertKey", "%s", err)
			}
		}
	}
	return nil
}

// objectNameRE matches a plain object name: a provider object's API name
// (contacts, Account, touchpoints__c) or type ID (2-1234567).
var objectNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)

// checkObjectName returns why s is not an acceptable object name, or "":
// it is a plain name, with letters, digits, underscores and hyphens only
// (no path such as "../x" or "contacts/1"), of at most 256 characters.
func checkObjectName(s string) string {
	if reason := checkText(s, maxManifestName); reason != "" {
		return reason
	}
	if !objectNameRE.MatchString(s) {
		return fmt.Sprintf("%q is not a plain object name (letters, digits, underscores and hyphens)", s)
	}
	return ""
}

// checkText returns why s is not an acceptable name, or "": it must be
// non-empty, not blank, valid UTF-8 without control characters or
// bidirectional formatting characters (which make text read differently
// from what it holds), of at most max characters.
func checkText(s string, maxLen int) string {
	switch {
	case s == "":
		return "required"
	case strings.TrimSpace(s) == "":
		return "blank"
	case !utf8.ValidString(s):
		return "not valid UTF-8"
	case utf8.RuneCountInString(s) > maxLen:
		return fmt.Sprintf("longer than %d characters", maxLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "contains a control character"
	case strings.ContainsFunc(s, bidiControl):
		return "contains a bidirectional formatting character"
	}
	return ""
}

// bidiControl reports the Unicode bidirectional formatting characters:
// marks, embeddings, overrides and isolates.
func bidiControl(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// Integration returns the integration with the given name, and whether
// there is one. The pointer refers into m.
func (m *Manifest) Integration(name string) (*Integration, bool) {
	if m == nil {
		return nil, false
	}
	for i := range m.Integrations {
		if m.Integrations[i].Name == name {
			return &m.Integrations[i], true
		}
	}
	return nil, false
}

// WriteObject returns the write object whose ObjectName is name (compared
// exactly, not through a read object's mapToName), and whether there is one.
func (in *Integration) WriteObject(name string) (WriteObjectSpec, bool) {
	if in == nil || in.Write == nil {
		return WriteObjectSpec{}, false
	}
	for _, o := range in.Write.Objects {
		if o.ObjectName == name {
			return o, true
		}
	}
	return WriteObjectSpec{}, false
}

// ReadObject returns the read object whose ObjectName is name (compared
// exactly, not with its mapToName), and whether there is one. Its field
// slices are shared with the manifest and must not be modified.
func (in *Integration) ReadObject(name string) (ReadObjectSpec, bool) {
	if in == nil || in.Read == nil {
		return ReadObjectSpec{}, false
	}
	for _, o := range in.Read.Objects {
		if o.ObjectName == name {
			return o, true
		}
	}
	return ReadObjectSpec{}, false
}
