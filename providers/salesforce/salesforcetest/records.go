package salesforcetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// objectState is an object's schema and records.
type objectState struct {
	schema  Object
	fields  map[string]*Field // by lower-case name
	records map[string]*record
	order   []string
}

// record is one stored record.
type record struct {
	id       string
	values   map[string]any // by field API name; system fields apart from OwnerId are computed
	deleted  bool
	created  time.Time
	modified time.Time
}

// newObjectState returns the state of a schema-checked object.
func newObjectState(o Object) *objectState {
	st := &objectState{schema: o, fields: map[string]*Field{}, records: map[string]*record{}}
	for i := range o.Fields {
		f := &st.schema.Fields[i]
		st.fields[strings.ToLower(f.Name)] = f
	}
	return st
}

// field returns the field named name, case-insensitively, or nil.
func (o *objectState) field(name string) *Field {
	return o.fields[strings.ToLower(name)]
}

// change is one applied change, for rolling back an all-or-nothing request.
type change struct {
	o       *objectState
	r       *record
	created bool
	before  *record // copy before an update or delete
}

// undo rolls changes back, newest first.
func undo(changes []change) {
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		if c.created {
			delete(c.o.records, c.r.id)
			c.o.order = slices.DeleteFunc(c.o.order, func(id string) bool { return id == c.r.id })
			continue
		}
		*c.r = *c.before
	}
}

// snapshot returns a copy of r.
func snapshot(r *record) *record {
	cp := *r
	cp.values = maps.Clone(r.values)
	return &cp
}

// writeContext is what a write request says beyond its records.
type writeContext struct {
	allowSave  bool // Sforce-Duplicate-Rule-Header allowSave=true
	autoAssign bool // Sforce-Auto-Assign is not FALSE
}

// newWriteContext reads the write headers of a request.
func newWriteContext(h map[string][]string) writeContext {
	wc := writeContext{autoAssign: true}
	for _, v := range h["Sforce-Duplicate-Rule-Header"] {
		for part := range strings.SplitSeq(v, ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.EqualFold(strings.TrimSpace(k), "allowSave") && strings.EqualFold(strings.TrimSpace(val), "true") {
				wc.allowSave = true
			}
		}
	}
	for _, v := range h["Sforce-Auto-Assign"] {
		if strings.EqualFold(strings.TrimSpace(v), "false") {
			wc.autoAssign = false
		}
	}
	return wc
}

// decode converts the JSON fields of one record to field API names and
// typed values. skip names keys that are not fields (attributes, the id of
// a Collections update). An unknown field or a value that cannot be read
// fails the whole request, as Salesforce's deserializer does.
func (o *objectState) decode(raw map[string]any, skip func(key string) bool) (map[string]any, *sfError) {
	out := make(map[string]any, len(raw))
	keys := slices.Sorted(maps.Keys(raw))
	for _, k := range keys {
		if skip != nil && skip(k) {
			continue
		}
		f := o.field(k)
		if f == nil {
			return nil, &sfError{code: "INVALID_FIELD", message: fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.schema.Name)}
		}
		v, err := convert(f, raw[k])
		if err != nil {
			return nil, err
		}
		out[f.Name] = v
	}
	return out, nil
}

// convert reads a JSON value (decoded with UseNumber) as a value of f.
func convert(f *Field, v any) (any, *sfError) {
	if v == nil {
		return nil, nil
	}
	bad := func() (any, *sfError) {
		return nil, &sfError{code: "JSON_PARSER_ERROR", message: fmt.Sprintf(
			"Cannot deserialize instance of %s from %s value %s or request may be missing a required field", javaType(f.Type), jsonToken(v), shortJSON(v))}
	}
	switch {
	case f.Type.textual(), f.Type == TypeReference, f.Type == TypeID:
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return x.String(), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		return bad()
	case f.Type == TypeDouble, f.Type == TypeCurrency:
		var s string
		switch x := v.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = strings.TrimSpace(x)
		default:
			return bad()
		}
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad()
		}
		return n, nil
	case f.Type == TypeInt:
		var s string
		switch x := v.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = strings.TrimSpace(x)
		default:
			return bad()
		}
		if n, err := strconv.ParseInt(s, 10, 32); err == nil {
			return n, nil
		}
		if fl, err := strconv.ParseFloat(s, 64); err == nil && fl == float64(int64(fl)) && fl >= -1<<31 && fl < 1<<31 {
			return int64(fl), nil
		}
		return bad()
	case f.Type == TypeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return bad()
	case f.Type == TypeDate:
		if s, ok := v.(string); ok {
			if _, err := time.Parse("2006-01-02", s); err == nil {
				return s, nil
			}
		}
		return bad()
	case f.Type == TypeDateTime:
		if s, ok := v.(string); ok {
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700"} {
				if t, err := time.Parse(layout, s); err == nil {
					return formatTime(t), nil
				}
			}
		}
		return bad()
	}
	return v, nil
}

// javaType names a field type as Salesforce's deserializer errors do.
func javaType(t FieldType) string {
	switch t {
	case TypeDouble, TypeCurrency:
		return "double"
	case TypeInt:
		return "int"
	case TypeBoolean:
		return "boolean"
	case TypeDate:
		return "date"
	case TypeDateTime:
		return "datetime"
	}
	return "string"
}

// jsonToken names the JSON token of v.
func jsonToken(v any) string {
	switch v.(type) {
	case string:
		return "VALUE_STRING"
	case json.Number:
		return "VALUE_NUMBER_INT"
	case bool:
		return "VALUE_TRUE"
	case map[string]any:
		return "START_OBJECT"
	case []any:
		return "START_ARRAY"
	}
	return "VALUE_NULL"
}

// shortJSON prints v for an error message.
func shortJSON(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// emailRE is the shape Salesforce accepts for email fields.
var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s.]+$`)

// checkLocked checks one record about to be created (existing nil) or
// updated, and returns its errors. Salesforce reports field errors first,
// then validation rules, then unique values, then duplicate rules.
func (s *Server) checkLocked(o *objectState, vals map[string]any, existing *record, wc writeContext) []sfError {
	var errs []sfError
	var readOnly []string
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		if f := o.field(name); f.ReadOnly {
			readOnly = append(readOnly, f.Name)
		}
	}
	if len(readOnly) > 0 {
		errs = append(errs, sfError{
			code:    "INVALID_FIELD_FOR_INSERT_UPDATE",
			message: fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", strings.Join(readOnly, ", ")),
			fields:  readOnly,
		})
	}
	merged := o.merged(vals, existing)
	var missing []string
	for i := range o.schema.Fields {
		f := &o.schema.Fields[i]
		if !f.Required {
			continue
		}
		v, given := vals[f.Name]
		if existing == nil {
			v, given = merged[f.Name], true
		}
		if given && blank(v) {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, sfError{
			code:    "REQUIRED_FIELD_MISSING",
			message: fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")),
			fields:  missing,
		})
	}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		f := o.field(name)
		if e := s.checkValueLocked(f, vals[name]); e != nil {
			errs = append(errs, *e)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, rule := range o.schema.ValidationRules {
		if rule.Fails != nil && rule.Fails(maps.Clone(merged)) {
			e := sfError{code: "FIELD_CUSTOM_VALIDATION_EXCEPTION", message: rule.Message}
			if rule.Field != "" {
				e.fields = []string{rule.Field}
			}
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	self := ""
	if existing != nil {
		self = existing.id
	}
	for i := range o.schema.Fields {
		f := &o.schema.Fields[i]
		v, ok := vals[f.Name]
		if !f.Unique || !ok || blank(v) {
			continue
		}
		if other := o.find(self, func(r map[string]any) bool { return equalFold(r[f.Name], v) }); other != "" {
			return []sfError{{
				code:    "DUPLICATE_VALUE",
				message: fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", f.Name, other),
			}}
		}
	}
	for _, rule := range o.schema.DuplicateRules {
		if !rule.Block && wc.allowSave {
			continue
		}
		if other := o.findDuplicate(self, merged, rule); other != "" {
			return []sfError{o.duplicateError(rule, other)}
		}
	}
	return nil
}

// checkValueLocked checks one value against its field's type rules.
func (s *Server) checkValueLocked(f *Field, v any) *sfError {
	if v == nil {
		return nil
	}
	str, _ := v.(string)
	switch {
	case f.Type.textual():
		if n := utf8.RuneCountInString(str); n > f.maxLength() {
			return &sfError{
				code:    "STRING_TOO_LONG",
				message: fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.label(), truncate(str, 80), f.maxLength()),
				fields:  []string{f.Name},
			}
		}
		if f.Type == TypeEmail && str != "" && !emailRE.MatchString(str) {
			return &sfError{code: "INVALID_EMAIL_ADDRESS", message: fmt.Sprintf("%s: invalid email address: %s", f.label(), str), fields: []string{f.Name}}
		}
		if f.Type == TypePicklist && len(f.Picklist) > 0 && str != "" && !slices.Contains(f.Picklist, str) {
			return &sfError{
				code:    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
				message: fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.label(), str),
				fields:  []string{f.Name},
			}
		}
	case f.Type == TypeID:
		if _, ok := canonicalID(str); !ok {
			return &sfError{code: "MALFORMED_ID", message: fmt.Sprintf("%s: id value of incorrect type: %s", f.label(), str), fields: []string{f.Name}}
		}
	case f.Type == TypeReference:
		if str == "" {
			return nil
		}
		id, ok := canonicalID(str)
		if !ok {
			return &sfError{code: "MALFORMED_ID", message: fmt.Sprintf("%s: id value of incorrect type: %s", f.label(), str), fields: []string{f.Name}}
		}
		target := s.objects[strings.ToLower(f.ReferenceTo)]
		if target == nil || id[:3] != target.schema.KeyPrefix {
			return &sfError{code: "FIELD_INTEGRITY_EXCEPTION", message: fmt.Sprintf("%s: id value of incorrect type: %s", f.label(), str), fields: []string{f.Name}}
		}
		if r := target.records[id]; r == nil {
			return &sfError{code: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id", fields: []string{f.Name}}
		} else if r.deleted {
			return &sfError{code: "ENTITY_IS_DELETED", message: "entity is deleted", fields: []string{f.Name}}
		}
	}
	return nil
}

// merged returns the values a record would have after the write.
func (o *objectState) merged(vals map[string]any, existing *record) map[string]any {
	out := map[string]any{}
	if existing != nil {
		maps.Copy(out, existing.values)
	} else {
		for i := range o.schema.Fields {
			f := &o.schema.Fields[i]
			if f.Default != nil {
				out[f.Name] = f.Default
			}
		}
	}
	maps.Copy(out, vals)
	return out
}

// find returns the ID of the first live record other than self for which
// match is true, or "".
func (o *objectState) find(self string, match func(map[string]any) bool) string {
	for _, id := range o.order {
		r := o.records[id]
		if id == self || r.deleted {
			continue
		}
		if match(r.values) {
			return id
		}
	}
	return ""
}

// findDuplicate returns the ID of a live record matching merged under rule.
func (o *objectState) findDuplicate(self string, merged map[string]any, rule DuplicateRule) string {
	if len(rule.Fields) == 0 {
		return ""
	}
	for _, name := range rule.Fields {
		if blank(merged[o.canonical(name)]) {
			return ""
		}
	}
	return o.find(self, func(r map[string]any) bool {
		for _, name := range rule.Fields {
			n := o.canonical(name)
			if !equalFold(r[n], merged[n]) {
				return false
			}
		}
		return true
	})
}

// canonical returns a field's API name as the schema spells it.
func (o *objectState) canonical(name string) string {
	if f := o.field(name); f != nil {
		return f.Name
	}
	return name
}

// duplicateError builds DUPLICATES_DETECTED with its duplicateResult.
func (o *objectState) duplicateError(rule DuplicateRule, match string) sfError {
	msg := rule.Message
	if msg == "" {
		msg = "Use one of these records?"
	}
	return sfError{
		code:    "DUPLICATES_DETECTED",
		message: msg,
		duplicate: map[string]any{
			"allowSave":               !rule.Block,
			"duplicateRule":           rule.Name,
			"duplicateRuleEntityType": o.schema.Name,
			"errorMessage":            msg,
			"matchResults": []any{map[string]any{
				"entityType":  o.schema.Name,
				"errors":      []any{},
				"matchEngine": "ExactMatchEngine",
				"matchRecords": []any{map[string]any{
					"additionalInformation": []any{},
					"fieldDiffs":            []any{},
					"matchConfidence":       100.0,
					"record": map[string]any{
						"attributes": map[string]any{"type": o.schema.Name, "url": "/services/data/v" + formatVersion(MaxAPIVersion) + "/sobjects/" + o.schema.Name + "/" + match},
						"Id":         match,
					},
				}},
				"rule":    rule.MatchRule,
				"size":    1,
				"success": true,
			}},
		},
	}
}

// insertLocked stores a new record with defaults and returns its ID.
func (s *Server) insertLocked(o *objectState, vals map[string]any, autoAssign bool) string {
	s.seq++
	id := newRecordID(o.schema.KeyPrefix, s.seq)
	now := s.now()
	values := o.merged(vals, nil)
	if _, ok := values["OwnerId"]; !ok {
		values["OwnerId"] = UserID
		if o.schema.AutoAssign && autoAssign {
			values["OwnerId"] = AssignmentQueueID
		}
	}
	for k, v := range values {
		if f := o.field(k); f != nil && f.Type == TypeReference {
			if str, ok := v.(string); ok && str != "" {
				values[k], _ = canonicalID(str)
			}
		}
	}
	o.records[id] = &record{id: id, values: values, created: now, modified: now}
	o.order = append(o.order, id)
	return id
}

// updateLocked applies vals to r.
func (s *Server) updateLocked(o *objectState, r *record, vals map[string]any) {
	for k, v := range vals {
		if f := o.field(k); f != nil && f.Type == TypeReference {
			if str, ok := v.(string); ok && str != "" {
				v, _ = canonicalID(str)
			}
		}
		if v == nil {
			delete(r.values, k)
			continue
		}
		r.values[k] = v
	}
	r.modified = s.now()
}

// lookup resolves a record ID of o: the record, or the error Salesforce
// gives for it in a Collections result.
func (o *objectState) lookup(id string) (*record, *sfError) {
	cid, ok := canonicalID(id)
	if !ok || cid[:3] != o.schema.KeyPrefix {
		return nil, &sfError{code: "MALFORMED_ID", message: fmt.Sprintf("%s ID: id value of incorrect type: %s", o.schema.Name, id), fields: []string{"Id"}}
	}
	r := o.records[cid]
	switch {
	case r == nil:
		return nil, &sfError{code: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id"}
	case r.deleted:
		return nil, &sfError{code: "ENTITY_IS_DELETED", message: "entity is deleted"}
	}
	return r, nil
}

// lockError is UNABLE_TO_LOCK_ROW for a record.
func lockError(id string) sfError {
	if id == "" {
		return sfError{code: "UNABLE_TO_LOCK_ROW", message: "unable to obtain exclusive access to this record"}
	}
	return sfError{code: "UNABLE_TO_LOCK_ROW", message: "unable to obtain exclusive access to this record or 1 records: " + id}
}

// blank reports a missing, null or empty value.
func blank(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

// equalFold compares two values, strings case-insensitively.
func equalFold(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return strings.EqualFold(strings.TrimSpace(as), strings.TrimSpace(bs))
	}
	return a == b
}

// truncate shortens s to n runes.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}
