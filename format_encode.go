package writeback

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The accept path of an async write encodes two records, its operation as
// accepted and its job's payload, for every write. These appenders encode
// them without reflection, byte for byte as encoding/json does (the stored
// format is the same; format_encode_test.go checks it), and give up
// (returning false) on anything they do not know, which is then encoded by
// encoding/json.

// appendAcceptedOperation appends the stored form of an operation just
// accepted: no results, no group progress, logs without errors or calls. It reports
// false for any other operation. Every field of Operation must be handled
// here (TestAppendersKnowEveryField).
func appendAcceptedOperation(b []byte, o *Operation) ([]byte, bool) {
	if len(o.Results) > 0 || len(o.SuccessfulRecordIDs) > 0 || o.Compensation != nil || o.Group != "" {
		return b, false
	}
	mode, err := o.Mode.MarshalText()
	if err != nil {
		return b, false
	}
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, formatVersion, 10)
	b = appendField(b, "id", o.ID)
	b = appendField(b, "installationId", o.InstallationID)
	b = appendField(b, "integration", o.Integration)
	b = appendField(b, "groupRef", o.GroupRef)
	b = appendField(b, "object", o.Object)
	b = appendField(b, "type", string(o.Type))
	b = appendField(b, "mode", string(mode))
	if o.AutoBatch {
		b = append(b, `,"autoBatch":true`...)
	}
	b = appendField(b, "status", string(o.Status))
	if o.Summary != "" {
		b = appendField(b, "summary", o.Summary)
	}
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(o.Attempts), 10)
	if o.ProviderCalls != 0 {
		b = append(b, `,"providerCalls":`...)
		b = strconv.AppendInt(b, int64(o.ProviderCalls), 10)
	}
	var ok bool
	if !o.LastAttempt.IsZero() {
		if b, ok = appendTimeField(b, "lastAttempt", o.LastAttempt); !ok {
			return b, false
		}
	}
	if !o.Deadline.IsZero() {
		if b, ok = appendTimeField(b, "deadline", o.Deadline); !ok {
			return b, false
		}
	}
	if b, ok = appendTimeField(b, "createTime", o.CreatedAt); !ok {
		return b, false
	}
	if b, ok = appendTimeField(b, "updateTime", o.UpdatedAt); !ok {
		return b, false
	}
	if len(o.Logs) > 0 {
		b = append(b, `,"logs":[`...)
		for i, l := range o.Logs {
			if l.Error != nil || len(l.Calls) > 0 {
				return b, false
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timestamp":`...)
			if b, ok = appendTime(b, l.Time); !ok {
				return b, false
			}
			b = appendField(b, "severity", string(l.Severity))
			b = appendField(b, "message", l.Message)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if o.sendClaim != 0 {
		b = append(b, `,"sendClaim":`...)
		b = strconv.AppendInt(b, int64(o.sendClaim), 10)
	}
	return append(b, '}'), true
}

// appendJobPayload appends the stored form of a plain async job's payload.
// It reports false for a plan it does not know how to encode (one with
// associations, or values not in their normal form), and for the payload
// of a retry.
func appendJobPayload(b []byte, p jobPayload) ([]byte, bool) {
	pl := p.Plan
	if pl == nil || p.Retry != nil || pl.Key != "" {
		return b, false // a retry's and an upsert's payloads are left to encoding/json
	}
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, formatVersion, 10)
	b = append(b, `,"plan":{"installationId":`...)
	b = appendString(b, pl.InstallationID)
	b = appendField(b, "integration", pl.Integration)
	b = appendField(b, "groupRef", pl.GroupRef)
	b = appendField(b, "object", pl.Object)
	b = appendField(b, "providerObject", pl.ProviderObject)
	b = appendField(b, "provider", pl.Provider)
	b = appendField(b, "type", string(pl.Type))
	if pl.Batch {
		b = append(b, `,"batch":true`...)
	}
	if pl.AllOrNone {
		b = append(b, `,"allOrNone":true`...)
	}
	b = append(b, `,"records":`...)
	if pl.Records == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range pl.Records {
			if len(r.Associations) > 0 {
				return b, false
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			first := true
			if r.ID != "" {
				b = append(b, `"id":`...)
				b = appendString(b, r.ID)
				first = false
			}
			if len(r.Fields) > 0 {
				if !first {
					b = append(b, ',')
				}
				b = append(b, `"fields":`...)
				var ok bool
				if b, ok = appendValue(b, r.Fields, 0); !ok {
					return b, false
				}
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(pl.IfEmpty) > 0 {
		b = append(b, `,"ifEmpty":[`...)
		for i, names := range pl.IfEmpty {
			if i > 0 {
				b = append(b, ',')
			}
			if names == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '[')
			for j, n := range names {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, n)
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	if len(pl.Headers) > 0 {
		b = append(b, `,"headers":[`...)
		for i, h := range pl.Headers {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = appendString(b, h.Key)
			b = appendField(b, "value", h.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `},"deadline":`...)
	b, ok := appendTime(b, p.Deadline)
	if !ok {
		return b, false
	}
	return append(b, '}'), true
}

// appendValue appends a field value in its normal form (see values.go),
// as encoding/json encodes it. It reports false for any other value.
func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	if depth > maxValueDepth {
		return b, false
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		return strconv.AppendBool(b, x), true
	case string:
		if !utf8.ValidString(x) {
			return b, false
		}
		return appendString(b, x), true
	case json.Number:
		if !validNumber(string(x)) {
			return b, false
		}
		return append(b, x...), true
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValue(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		var keys [8]string
		sorted := keys[:0]
		for k := range x {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		b = append(b, '{')
		for i, k := range sorted {
			if !utf8.ValidString(k) {
				return b, false
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var ok bool
			if b, ok = appendValue(b, x[k], depth+1); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	return b, false
}

// appendField appends ,"name":"value".
func appendField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

// appendTimeField appends ,"name":time.
func appendTimeField(b []byte, name string, t time.Time) ([]byte, bool) {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendTime(b, t)
}

// appendTime appends a time as time.Time.MarshalJSON does, reporting
// false for a year it would refuse.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y >= 10000 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

const hexDigits = "0123456789abcdef"

// Masks for plainRun's test of 8 bytes at a time.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainRun returns the index of the first byte of s at or after i that is
// not plain ASCII encoding/json writes as it is: a control character, '"',
// '\\', '<', '>', '&', or a byte of a multi-byte character (len(s) when
// there is none). It tests 8 bytes at a time.
func plainRun(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		quote, backslash := x^('"'*ones), x^('\\'*ones)
		lt, gt, amp := x^('<'*ones), x^('>'*ones), x^('&'*ones)
		special := x | (x-0x20*ones)&^x | // non-ASCII, or below 0x20
			(quote-ones)&^quote | (backslash-ones)&^backslash |
			(lt-ones)&^lt | (gt-ones)&^gt | (amp-ones)&^amp
		if special&highs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || escapeSize[c] != 0 {
			return i
		}
	}
	return i
}

// appendString appends a string quoted and escaped as encoding/json
// escapes it: HTML characters included, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		i = plainRun(s, i)
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if escapeSize[c] == 0 {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
