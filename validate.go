package writeback

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// validateOpts checks the options of a write of type typ.
func validateOpts(typ WriteType, batch bool, o *WriteOpts) error {
	if !typ.Valid() {
		return invalid(ErrInvalidOptions, "type", "unknown write type %q", typ)
	}
	if o.Mode != ModeSync && o.Mode != ModeAsync {
		return invalid(ErrInvalidOptions, "mode", "unknown mode %d", o.Mode)
	}
	if o.BatchPolicy != BatchAllOrNothing && o.BatchPolicy != BatchPartial {
		return invalid(ErrInvalidOptions, "batchPolicy", "unknown batch policy %d", o.BatchPolicy)
	}
	if o.BatchPolicy != BatchAllOrNothing && !batch {
		return invalid(ErrInvalidOptions, "batchPolicy", "applies to batches only")
	}
	if o.UpsertKey != "" && typ != WriteTypeUpsert {
		return invalid(ErrInvalidOptions, "upsertKey", "applies to upserts only")
	}
	if typ == WriteTypeDelete && batch {
		return invalid(ErrUnsupported, "type", "deletes cannot be batched")
	}
	async := o.Mode == ModeAsync && typ != WriteTypeDelete
	if o.RetryDeadline != 0 {
		if !async {
			return invalid(ErrInvalidOptions, "retryDeadline", "applies to async writes only")
		}
		if err := validateDeadline("retryDeadline", o.RetryDeadline); err != nil {
			return err
		}
	}
	if o.AutoBatch != nil {
		switch {
		case typ == WriteTypeDelete:
			return invalid(ErrUnsupported, "autoBatch", "deletes cannot be auto-batched")
		case batch:
			return invalid(ErrUnsupported, "autoBatch", "batches cannot be auto-batched")
		case !async:
			return invalid(ErrInvalidOptions, "autoBatch", "needs async mode")
		case o.AutoBatch.MaxDelay < MinAutoBatchDelay || o.AutoBatch.MaxDelay > MaxAutoBatchDelay:
			return invalid(ErrInvalidOptions, "autoBatch.maxDelay", "%v is outside %v to %v", o.AutoBatch.MaxDelay, MinAutoBatchDelay, MaxAutoBatchDelay)
		}
		if o.AutoBatch.RetryDeadline != 0 {
			if err := validateDeadline("autoBatch.retryDeadline", o.AutoBatch.RetryDeadline); err != nil {
				return err
			}
		}
	}
	if len(o.IdempotencyKey) > 256 {
		return invalid(ErrInvalidOptions, "idempotencyKey", "longer than 256 bytes")
	}
	if !utf8.ValidString(o.IdempotencyKey) || strings.ContainsFunc(o.IdempotencyKey, unicode.IsControl) {
		return invalid(ErrInvalidOptions, "idempotencyKey", "must be valid UTF-8 without control characters")
	}
	return nil
}

func validateDeadline(field string, d time.Duration) error {
	if d < MinRetryDeadline || d > MaxRetryDeadline {
		return invalid(ErrInvalidOptions, field, "%v is outside %v to %v", d, MinRetryDeadline, MaxRetryDeadline)
	}
	return nil
}

// validateRecord checks one record of a write.
func validateRecord(field string, typ WriteType, rec Record, caps Capabilities, provider string) error {
	switch typ {
	case WriteTypeCreate:
		if rec.ID != "" {
			return invalid(ErrInvalidRecord, field+".id", "a create must not carry an id")
		}
	case WriteTypeUpsert:
		if rec.ID != "" {
			return invalid(ErrInvalidRecord, field+".id", "an upsert is identified by its key field, not an id")
		}
	case WriteTypeUpdate, WriteTypeDelete:
		if strings.TrimSpace(rec.ID) == "" {
			return invalid(ErrMissingID, field+".id", "required for %s", typ)
		}
		if strings.ContainsAny(rec.ID, "/?#\r\n") || !utf8.ValidString(rec.ID) {
			return invalid(ErrInvalidRecord, field+".id", "contains a character not allowed in an id")
		}
	}
	if typ == WriteTypeDelete {
		if len(rec.Fields) > 0 {
			return invalid(ErrInvalidRecord, field+".fields", "a delete takes only an id")
		}
		if len(rec.Associations) > 0 {
			return invalid(ErrInvalidRecord, field+".associations", "a delete takes only an id")
		}
		return nil
	}
	if len(rec.Fields) == 0 {
		return invalid(ErrEmptyRecord, field+".fields", "no fields")
	}
	for name := range rec.Fields {
		if strings.TrimSpace(name) == "" {
			return invalid(ErrInvalidRecord, field+".fields", "empty field name")
		}
		if !utf8.ValidString(name) {
			return invalid(ErrInvalidRecord, field+".fields", "field name %q is not valid UTF-8", name)
		}
	}
	if len(rec.Associations) > 0 {
		if !caps.Associations {
			return invalid(ErrUnsupported, field+".associations", "provider %s does not support associations", provider)
		}
		if typ != WriteTypeCreate {
			return invalid(ErrUnsupported, field+".associations", "associations can be set on create only")
		}
		for i, a := range rec.Associations {
			af := fmt.Sprintf("%s.associations[%d]", field, i)
			if strings.TrimSpace(a.To) == "" {
				return invalid(ErrInvalidRecord, af+".to", "required")
			}
			if len(a.Types) == 0 {
				return invalid(ErrInvalidRecord, af+".types", "at least one type is required")
			}
			for j, at := range a.Types {
				switch at.Category {
				case "HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED":
				default:
					return invalid(ErrInvalidRecord, fmt.Sprintf("%s.types[%d].associationCategory", af, j), "unknown category %q", at.Category)
				}
				if at.TypeID <= 0 {
					return invalid(ErrInvalidRecord, fmt.Sprintf("%s.types[%d].associationTypeId", af, j), "must be positive")
				}
			}
		}
	}
	return nil
}

// Limits on pass-through headers.
const (
	// MaxHeaders is the most pass-through headers a write may carry.
	MaxHeaders = 50
	// MaxHeaderBytes bounds the pass-through headers' names and values
	// together, in bytes.
	MaxHeaderBytes = 8 << 10
)

// deniedHeaders can never be set by a pass-through header: credentials,
// content negotiation and framing, hop-by-hop headers (RFC 9110 §7.6.1),
// and the method overrides some servers honour, which would turn a write
// into another method. Any Proxy-* header is denied too.
var deniedHeaders = map[string]bool{
	"X-Http-Method-Override": true,
	"X-Http-Method":          true,
	"X-Method-Override":      true,
	"Accept":                 true,
	"Accept-Encoding":        true,
	"Authorization":          true,
	"Connection":             true,
	"Content-Encoding":       true,
	"Content-Length":         true,
	"Content-Type":           true,
	"Cookie":                 true,
	"Expect":                 true,
	"Host":                   true,
	"Keep-Alive":             true,
	"Set-Cookie":             true,
	"Te":                     true,
	"Trailer":                true,
	"Transfer-Encoding":      true,
	"Upgrade":                true,
}

// validateHeaders checks pass-through headers against the provider's
// capabilities, then with [ValidateHeaders].
func validateHeaders(hs []Header, caps Capabilities, provider string) error {
	if len(hs) == 0 {
		return nil
	}
	if !caps.Headers {
		return invalid(ErrUnsupported, "headers", "provider %s does not support pass-through headers", provider)
	}
	return ValidateHeaders(hs)
}

// ValidateHeaders checks pass-through headers: each name must be an RFC 9110
// token and not one that carries credentials, frames the message, belongs
// to one connection or overrides the method (Authorization, Cookie, Host,
// Content-Length, Content-Type, Transfer-Encoding, hop-by-hop and Proxy-*
// headers, X-HTTP-Method-Override, ...), and each value must be valid
// UTF-8 without a control character such as CR or LF. The error is a
// [*ValidationError] wrapping [ErrInvalidHeader], or [ErrTooLarge] for more
// than [MaxHeaders] headers or more than [MaxHeaderBytes] of names and
// values. The engine calls it before anything is sent; adapters call it
// again before they set a header.
func ValidateHeaders(hs []Header) error {
	if len(hs) > MaxHeaders {
		return invalid(ErrTooLarge, "headers", "%d headers; at most %d", len(hs), MaxHeaders)
	}
	size := 0
	for _, h := range hs {
		size += len(h.Key) + len(h.Value)
	}
	if size > MaxHeaderBytes {
		return invalid(ErrTooLarge, "headers", "%d bytes of names and values; at most %d", size, MaxHeaderBytes)
	}
	for i, h := range hs {
		field := fmt.Sprintf("headers[%d]", i)
		if !validHeaderName(h.Key) {
			return invalid(ErrInvalidHeader, field+".key", "%q is not a valid header name", h.Key)
		}
		name := http.CanonicalHeaderKey(h.Key)
		if deniedHeaders[name] || strings.HasPrefix(name, "Proxy-") {
			return invalid(ErrInvalidHeader, field+".key", "%s cannot be passed through", name)
		}
		for i := 0; i < len(h.Value); i++ {
			if c := h.Value[i]; (c < ' ' && c != '\t') || c == 0x7f {
				return invalid(ErrInvalidHeader, field+".value", "contains a control character")
			}
		}
		if !utf8.ValidString(h.Value) {
			return invalid(ErrInvalidHeader, field+".value", "not valid UTF-8")
		}
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
