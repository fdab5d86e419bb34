package writeback

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// Field values are normalised once, when a write is accepted, so that the
// provider receives the same request whether the write runs now, later
// from the queue, in an auto-batch group or only in a dry run.
//
// What encoding/json can encode is accepted, and arrives at the adapter
// (and in [ProviderRequest] and [DryRunResult]) in one of these forms:
//
//	nil                 nil (clears the field)
//	bool                bool
//	string              string (valid UTF-8)
//	json.Number         every number: Go integers exactly (int64 and
//	                    uint64 too, beyond float64's 2^53), floats as
//	                    encoding/json writes them, json.Number as given
//	[]any               slices and arrays, elements normalised
//	map[string]any      maps and structs, as encoding/json encodes them
//
// time.Time becomes a string in UTC with milliseconds,
// "2006-01-02T15:04:05.000Z", the datetime form both HubSpot and
// Salesforce accept (a time inside a struct is encoded by encoding/json).
// Named types and pointers are reduced to what they hold; a type with its
// own MarshalJSON or MarshalText is encoded with it. []byte becomes base64
// text, as in encoding/json. Values encoding/json refuses (channels,
// functions, complex numbers, NaN, ±Inf) and strings that are not valid
// UTF-8 are refused with a [*ValidationError] naming the field.

// maxValueDepth bounds the nesting of a value, which also stops a value
// that contains itself.
const maxValueDepth = 32

// timeFormat is how a time.Time is sent.
const timeFormat = "2006-01-02T15:04:05.000Z"

var (
	timeType          = reflect.TypeFor[time.Time]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// valueError is why a value cannot be sent, with the path below the field
// where the problem is (such as "[2]" or ".street").
type valueError struct {
	path   string
	reason string
}

func (e *valueError) Error() string { return e.reason }

// normalizeValue returns v in its normal form, or why it cannot be sent.
func normalizeValue(v any) (any, error) {
	// The common cases first, without reflection.
	// Values already in their normal form are returned as they are, in
	// the caller's interface value (boxing them again would allocate).
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if !utf8.ValidString(x) {
			return nil, &valueError{reason: "a string that is not valid UTF-8"}
		}
		return v, nil
	case bool:
		return v, nil
	case json.Number:
		if !validNumber(string(x)) {
			return nil, &valueError{reason: fmt.Sprintf("json.Number %q is not a number", string(x))}
		}
		return v, nil
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case int32:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case float64:
		return floatNumber(x, 64)
	case time.Time:
		return x.UTC().Format(timeFormat), nil
	}
	return normalizeReflect(reflect.ValueOf(v), 0)
}

// normalizeReflect normalises any other value, by its kind.
func normalizeReflect(rv reflect.Value, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, &valueError{reason: fmt.Sprintf("nested more than %d levels deep", maxValueDepth)}
	}
	for rv.IsValid() && (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) {
		if rv.IsNil() {
			return nil, nil
		}
		if t := rv.Type(); t.Kind() == reflect.Pointer && t.Elem() != timeType && !marshals(t.Elem()) && marshals(t) {
			// Marshal methods on the pointer receiver only.
			return normalizeJSON(rv.Interface())
		}
		rv = rv.Elem()
		if depth++; depth > maxValueDepth {
			return nil, &valueError{reason: fmt.Sprintf("nested more than %d levels deep", maxValueDepth)}
		}
	}
	if !rv.IsValid() {
		return nil, nil
	}
	t := rv.Type()
	if t == timeType {
		return rv.Interface().(time.Time).UTC().Format(timeFormat), nil
	}
	if marshals(t) {
		return normalizeJSON(rv.Interface())
	}
	switch t.Kind() {
	case reflect.String:
		s := rv.String()
		if !utf8.ValidString(s) {
			return nil, &valueError{reason: "a string that is not valid UTF-8"}
		}
		return s, nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return json.Number(strconv.FormatUint(rv.Uint(), 10)), nil
	case reflect.Float32:
		return floatNumber(rv.Float(), 32)
	case reflect.Float64:
		return floatNumber(rv.Float(), 64)
	case reflect.Slice:
		if rv.IsNil() {
			return nil, nil
		}
		if t.Elem().Kind() == reflect.Uint8 && !marshals(reflect.PointerTo(t.Elem())) {
			return base64.StdEncoding.EncodeToString(rv.Bytes()), nil
		}
		fallthrough
	case reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			e, err := normalizeReflect(rv.Index(i), depth+1)
			if err != nil {
				return nil, prefixValueError(err, fmt.Sprintf("[%d]", i))
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		if rv.IsNil() {
			return nil, nil
		}
		if t.Key().Kind() != reflect.String {
			return normalizeJSON(rv.Interface())
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			if !utf8.ValidString(k) {
				return nil, &valueError{reason: "a map key that is not valid UTF-8"}
			}
			e, err := normalizeReflect(iter.Value(), depth+1)
			if err != nil {
				return nil, prefixValueError(err, "."+k)
			}
			out[k] = e
		}
		return out, nil
	case reflect.Struct:
		return normalizeJSON(rv.Interface())
	}
	return nil, &valueError{reason: fmt.Sprintf("a %s is not a JSON value", t)}
}

// marshals reports whether encoding/json encodes values of type t with
// their own MarshalJSON or MarshalText.
func marshals(t reflect.Type) bool {
	return t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType)
}

// normalizeJSON normalises a value through encoding/json: its encoding,
// decoded with exact numbers.
func normalizeJSON(v any) (any, error) {
	// encoding/json would replace invalid UTF-8 with U+FFFD: refuse it.
	if path, ok := invalidUTF8(reflect.ValueOf(v), 0); ok {
		return nil, &valueError{path: path, reason: "a string that is not valid UTF-8"}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, &valueError{reason: fmt.Sprintf("a %T does not encode as JSON: %v", v, err)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, &valueError{reason: fmt.Sprintf("a %T does not encode as JSON: %v", v, err)}
	}
	return out, nil
}

// invalidUTF8 looks for a string that is not valid UTF-8 where
// encoding/json would encode it itself (not through a type's own
// MarshalJSON or MarshalText), and returns its path.
func invalidUTF8(rv reflect.Value, depth int) (string, bool) {
	if !rv.IsValid() || depth > maxValueDepth {
		return "", false
	}
	if depth > 0 && marshals(rv.Type()) {
		return "", false
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return "", false
		}
		return invalidUTF8(rv.Elem(), depth+1)
	case reflect.String:
		return "", !utf8.ValidString(rv.String())
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return "", false // base64
		}
		for i := range rv.Len() {
			if p, bad := invalidUTF8(rv.Index(i), depth+1); bad {
				return fmt.Sprintf("[%d]%s", i, p), true
			}
		}
	case reflect.Map:
		iter := rv.MapRange()
		for iter.Next() {
			k := fmt.Sprint(iter.Key().Interface())
			if !utf8.ValidString(k) {
				return "", true
			}
			if p, bad := invalidUTF8(iter.Value(), depth+1); bad {
				return "." + k + p, true
			}
		}
	case reflect.Struct:
		t := rv.Type()
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				if p, bad := invalidUTF8(rv.Field(i), depth+1); bad {
					return "." + f.Name + p, true
				}
			}
		}
	}
	return "", false
}

// prefixValueError adds a step to the path of a value error.
func prefixValueError(err error, step string) error {
	if ve, ok := err.(*valueError); ok {
		return &valueError{path: step + ve.path, reason: ve.reason}
	}
	return err
}

// floatNumber formats a float as encoding/json does.
func floatNumber(f float64, bits int) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &valueError{reason: fmt.Sprintf("%v is not a number JSON can hold", f)}
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b := strconv.AppendFloat(make([]byte, 0, 24), f, format, -1, bits)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return json.Number(b), nil
}

// validNumber reports whether s is a JSON number.
func validNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
	}
	digits := func() int {
		n := 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		s = s[n:]
		return n
	}
	switch {
	case s == "":
		return false
	case s[0] == '0':
		s = s[1:]
	case s[0] >= '1' && s[0] <= '9':
		digits()
	default:
		return false
	}
	if s != "" && s[0] == '.' {
		s = s[1:]
		if digits() == 0 {
			return false
		}
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s != "" && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		if digits() == 0 {
			return false
		}
	}
	return s == ""
}

// normalizeRecord returns a copy of a caller's record with its field
// values in their normal form, checking their sizes against the
// Writer's limits. field locates the record ("record" or "batch[i]").
func (w *Writer) normalizeRecord(field string, rec Record) (Record, error) {
	out := Record{ID: rec.ID, Associations: rec.Associations}
	if len(rec.Associations) > 0 {
		out.Associations = append([]Association(nil), rec.Associations...)
	}
	if rec.Fields == nil {
		return out, nil
	}
	out.Fields = make(map[string]any, len(rec.Fields))
	size := 2 // {}
	for name, v := range rec.Fields {
		nv, err := normalizeValue(v)
		if err != nil {
			ve, _ := err.(*valueError)
			if ve == nil {
				ve = &valueError{reason: err.Error()}
			}
			return Record{}, invalid(ErrInvalidRecord, field+".fields."+name+ve.path, "cannot be sent: %s", ve.reason)
		}
		n := jsonSize(nv)
		if n > w.cfg.MaxValueSize {
			return Record{}, invalid(ErrTooLarge, field+".fields."+name, "the value is %d bytes encoded; the limit is %d", n, w.cfg.MaxValueSize)
		}
		size += jsonSize(name) + 1 + n + 1
		out.Fields[name] = nv
	}
	if size-1 > w.cfg.MaxRecordSize {
		return Record{}, invalid(ErrTooLarge, field+".fields", "the record is %d bytes encoded; the limit is %d", size-1, w.cfg.MaxRecordSize)
	}
	return out, nil
}

// escapeSize is the extra length encoding/json's escape of each ASCII byte
// adds: 1 for \", \\, \n, \r, \t, \b and \f, 5 for \u00XX (other control
// characters, and <, > and & which it escapes for HTML).
var escapeSize = func() (t [128]uint8) {
	for c := range 0x20 {
		t[c] = 5
	}
	for _, c := range "\"\\\n\r\t\b\f" {
		t[c] = 1
	}
	for _, c := range "<>&" {
		t[c] = 5
	}
	return t
}()

// stringSize returns the length of a valid UTF-8 string encoded by
// encoding/json, quotes included.
func stringSize(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		if i = plainRun(s, i); i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			n += int(escapeSize[c])
			continue
		}
		// U+2028 and U+2029 (E2 80 A8/A9) are escaped as \u2028, \u2029.
		if c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
			n += 3
			i += 2
		}
	}
	return n
}

// jsonSize returns the length of a normalised value encoded by
// encoding/json.
func jsonSize(v any) int {
	switch x := v.(type) {
	case nil:
		return 4
	case bool:
		if x {
			return 4
		}
		return 5
	case json.Number:
		return len(x)
	case string:
		return stringSize(x)
	case []any:
		n := 2
		for i, e := range x {
			if i > 0 {
				n++
			}
			n += jsonSize(e)
		}
		return n
	case map[string]any:
		n := 2
		for k, e := range x {
			n += jsonSize(k) + 1 + jsonSize(e) + 1
		}
		if len(x) > 0 {
			n--
		}
		return n
	}
	data, _ := json.Marshal(v)
	return len(data)
}
