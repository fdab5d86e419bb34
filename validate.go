package writeback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// plan is a validated and transformed write, ready to run now or later. It
// is what an async job stores, so it holds only data: no credentials.
type plan struct {
	InstallationID string    `json:"installationId"`
	Integration    string    `json:"integration"`
	GroupRef       string    `json:"groupRef"`
	Object         string    `json:"object"`
	ProviderObject string    `json:"providerObject"`
	Provider       string    `json:"provider"`
	Type           WriteType `json:"type"`
	Batch          bool      `json:"batch,omitempty"`
	AllOrNone      bool      `json:"allOrNone,omitempty"`
	// Records are the mapped records, with provider field names.
	Records []Record `json:"records"`
	// IfEmpty lists, per record, the provider fields written only if the
	// record's current value is empty.
	IfEmpty [][]string `json:"ifEmpty,omitempty"`
	Headers []Header   `json:"headers,omitempty"`
}

// needsRead reports whether the plan has ifEmpty fields to check.
func (p *plan) needsRead() bool {
	for _, f := range p.IfEmpty {
		if len(f) > 0 {
			return true
		}
	}
	return false
}

// target is what a request resolved to.
type target struct {
	integration *Integration
	inst        *Installation
	object      resolvedObject
	provider    Provider
}

// prepare validates a write and transforms its records, sending and storing
// nothing. batch selects the batch endpoint.
func (w *Writer) prepare(ctx context.Context, t Target, typ WriteType, records []Record, batch bool, opts *WriteOpts) (*plan, *target, error) {
	if opts == nil {
		opts = &WriteOpts{}
	}
	if err := validateOpts(typ, batch, opts); err != nil {
		return nil, nil, err
	}
	tg, err := w.resolveTarget(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	caps := tg.provider.Capabilities()
	if batch {
		if caps.MaxBatchSize == 0 {
			return nil, nil, invalid(ErrUnsupported, "batch", "provider %s does not support batches", tg.provider.Name())
		}
		limit := min(MaxBatchSize, caps.MaxBatchSize)
		if len(records) == 0 || len(records) > limit {
			return nil, nil, invalid(ErrBatchSize, "batch", "%d records; a batch holds 1 to %d", len(records), limit)
		}
	}
	if typ == WriteTypeDelete {
		if !caps.Delete {
			return nil, nil, invalid(ErrUnsupported, "type", "provider %s does not support deletes", tg.provider.Name())
		}
		if ds := tg.object.config.DeletionSettings; ds == nil || !ds.Enabled {
			return nil, nil, invalid(ErrDeletionDisabled, "object", "deletion is not enabled for %q in this installation", t.Object)
		}
	}
	if err := validateHeaders(opts.Headers, caps, tg.provider.Name()); err != nil {
		return nil, nil, err
	}

	p := &plan{
		InstallationID: tg.inst.ID,
		Integration:    tg.integration.Name,
		GroupRef:       tg.inst.GroupRef,
		Object:         t.Object,
		ProviderObject: tg.object.spec.ObjectName,
		Provider:       tg.provider.Name(),
		Type:           typ,
		Batch:          batch,
		AllOrNone:      batch && opts.BatchPolicy == BatchAllOrNothing,
		Records:        make([]Record, len(records)),
		Headers:        append([]Header(nil), opts.Headers...),
	}
	seen := make(map[string]int, len(records))
	for i, rec := range records {
		field := "record"
		if batch {
			field = fmt.Sprintf("batch[%d]", i)
		}
		if err := validateRecord(field, typ, rec, caps, tg.provider.Name()); err != nil {
			return nil, nil, err
		}
		if rec.ID != "" {
			if j, dup := seen[rec.ID]; dup {
				return nil, nil, invalid(ErrInvalidRecord, field+".id", "duplicate id %q (also batch[%d])", rec.ID, j)
			}
			seen[rec.ID] = i
		}
		if typ == WriteTypeDelete {
			p.Records[i] = Record{ID: rec.ID}
			continue
		}
		fields, ifEmpty := transform(typ, rec.Fields, tg.object.config.SelectedFieldSettings, tg.object.mapping)
		if len(fields) == 0 {
			return nil, nil, invalid(ErrEmptyRecord, field+".fields", "no field is left to write after the installation's rules")
		}
		p.Records[i] = Record{ID: rec.ID, Fields: fields, Associations: append([]Association(nil), rec.Associations...)}
		if len(ifEmpty) > 0 {
			if p.IfEmpty == nil {
				p.IfEmpty = make([][]string, len(records))
			}
			p.IfEmpty[i] = ifEmpty
		}
	}
	return p, tg, nil
}

// resolveTarget finds the integration, installation, write object and
// provider a request names.
func (w *Writer) resolveTarget(ctx context.Context, t Target) (*target, error) {
	in, ok := w.manifest.Integration(t.Integration)
	if !ok {
		return nil, invalid(ErrUnknownIntegration, "integration", "no integration %q in the manifest", t.Integration)
	}
	if t.GroupRef == "" {
		return nil, invalid(ErrUnknownInstallation, "groupRef", "required")
	}
	inst, err := w.InstallationByGroup(ctx, t.Integration, t.GroupRef)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid(ErrUnknownInstallation, "groupRef", "no installation of %q for groupRef %q", t.Integration, t.GroupRef)
	}
	if err != nil {
		return nil, err
	}
	obj, err := resolveObject(in, inst, t.Object)
	if err != nil {
		return nil, err
	}
	if !obj.enabled {
		return nil, invalid(ErrObjectNotEnabled, "object", "%q is not enabled for write in this installation", t.Object)
	}
	prov, ok := w.providers[in.Provider]
	if !ok {
		// NewWriter checks every integration's provider, so this is a bug.
		return nil, fmt.Errorf("writeback: no provider %q", in.Provider)
	}
	return &target{integration: in, inst: inst, object: obj, provider: prov}, nil
}

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
	case WriteTypeUpdate, WriteTypeDelete:
		if strings.TrimSpace(rec.ID) == "" {
			return invalid(ErrMissingID, field+".id", "required for %s", typ)
		}
		if strings.ContainsAny(rec.ID, "/?#\r\n") {
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
	for name, v := range rec.Fields {
		if strings.TrimSpace(name) == "" {
			return invalid(ErrInvalidRecord, field+".fields", "empty field name")
		}
		if _, err := json.Marshal(v); err != nil {
			return invalid(ErrInvalidRecord, field+".fields."+name, "value does not encode as JSON: %v", err)
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

// deniedHeaders can never be set by a pass-through header: credentials,
// content negotiation and framing, and hop-by-hop headers (RFC 9110 §7.6.1).
// Any Proxy-* header is denied too.
var deniedHeaders = map[string]bool{
	"Accept":            true,
	"Accept-Encoding":   true,
	"Authorization":     true,
	"Connection":        true,
	"Content-Encoding":  true,
	"Content-Length":    true,
	"Content-Type":      true,
	"Cookie":            true,
	"Expect":            true,
	"Host":              true,
	"Keep-Alive":        true,
	"Set-Cookie":        true,
	"Te":                true,
	"Trailer":           true,
	"Transfer-Encoding": true,
	"Upgrade":           true,
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
// token and not one that carries credentials, frames the message or belongs
// to one connection (Authorization, Cookie, Host, Content-Length,
// Content-Type, Transfer-Encoding, hop-by-hop and Proxy-* headers, ...), and
// no value may hold a control character such as CR or LF. The error is a
// [*ValidationError] wrapping [ErrInvalidHeader]. The engine calls it before
// anything is sent; adapters call it again before they set a header.
func ValidateHeaders(hs []Header) error {
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
