package writeback

import (
	"context"
	"errors"
	"fmt"
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
	// Key is an upsert's key: the provider field that identifies its
	// records, whose value every record carries in its fields.
	Key string `json:"key,omitempty"`
	// Updates holds, for an upsert, each record's fields as an update
	// writes them (Records hold them as a create does); IfEmpty applies
	// to them.
	Updates []map[string]any `json:"updates,omitempty"`

	// omitValues is [Retention.OmitValues] when the write was accepted;
	// its operation keeps it.
	omitValues bool
}

// needsRead reports whether the plan reads before writing: ifEmpty
// fields to check, or an upsert's records to look up by key.
func (p *plan) needsRead() bool {
	if p.Key != "" {
		return true
	}
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
	inst        *Installation // shared: never modified
	object      resolvedObject
	provider    Provider
}

// prepared is an accepted write: its plan and what only the accepting
// call needs.
type prepared struct {
	*plan
	target *target
	// input is the caller's records, validated and normalised, with the
	// names the caller used: what an idempotency key stands for. Kept
	// only for a write with a key.
	input []Record
	// stripped lists, per record, the application fields not written
	// because the installation leaves them unmapped.
	stripped [][]string
}

// prepare validates a write and transforms its records, sending and storing
// nothing. batch selects the batch endpoint.
func (w *Writer) prepare(ctx context.Context, t Target, typ WriteType, records []Record, batch bool, opts *WriteOpts) (*prepared, error) {
	if opts == nil {
		opts = &WriteOpts{}
	}
	if err := validateOpts(typ, batch, opts); err != nil {
		return nil, err
	}
	tg, err := w.resolveTarget(ctx, t)
	if err != nil {
		return nil, err
	}
	caps := tg.provider.Capabilities()
	if batch {
		if caps.MaxBatchSize == 0 {
			return nil, invalid(ErrUnsupported, "batch", "provider %s does not support batches", tg.provider.Name())
		}
		limit := min(MaxBatchSize, caps.MaxBatchSize)
		if len(records) == 0 || len(records) > limit {
			return nil, invalid(ErrBatchSize, "batch", "%d records; a batch holds 1 to %d", len(records), limit)
		}
	}
	if typ == WriteTypeDelete {
		if !caps.Delete {
			return nil, invalid(ErrUnsupported, "type", "provider %s does not support deletes", tg.provider.Name())
		}
		if ds := tg.object.config.DeletionSettings; ds == nil || !ds.Enabled {
			return nil, invalid(ErrDeletionDisabled, "object", "deletion is not enabled for %q in this installation", t.Object)
		}
	}
	if err := validateHeaders(opts.Headers, caps, tg.provider.Name()); err != nil {
		return nil, err
	}
	var key upsertKey
	if typ == WriteTypeUpsert {
		if key, err = resolveUpsertKey(tg, opts); err != nil {
			return nil, err
		}
		if batch && opts.BatchPolicy == BatchAllOrNothing && !caps.AtomicBatchUpdate {
			return nil, invalid(ErrUnsupported, "batchPolicy", "provider %s cannot upsert a batch all-or-nothing: use BatchPartial", tg.provider.Name())
		}
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
		Key:            key.provider,
		omitValues:     w.cfg.Retention.OmitValues,
	}
	if typ == WriteTypeUpsert {
		p.Updates = make([]map[string]any, len(records))
	}
	pr := &prepared{plan: p, target: tg}
	if opts.IdempotencyKey != "" {
		pr.input = make([]Record, len(records))
	}
	checker, _ := tg.provider.(RecordChecker)
	var refused []*ValidationError
	var seen map[string]int
	if len(records) > 1 {
		seen = make(map[string]int, len(records))
	}
	for i, rec := range records {
		field := "record"
		if batch {
			field = fmt.Sprintf("batch[%d]", i)
		}
		if err := validateRecord(field, typ, rec, caps, tg.provider.Name()); err != nil {
			return nil, err
		}
		if rec.ID != "" && seen != nil {
			if j, dup := seen[rec.ID]; dup {
				return nil, invalid(ErrInvalidRecord, field+".id", "duplicate id %q (also batch[%d])", rec.ID, j)
			}
			seen[rec.ID] = i
		}
		in, err := w.normalizeRecord(field, rec)
		if err != nil {
			return nil, err
		}
		if pr.input != nil {
			pr.input[i] = in
		}
		switch typ {
		case WriteTypeDelete:
			p.Records[i] = Record{ID: rec.ID}
		case WriteTypeUpsert:
			if err := pr.planUpsert(i, field, in, key, seen); err != nil {
				return nil, err
			}
		default:
			fields, ifEmpty, stripped := transform(typ, in.Fields, tg.object.config.SelectedFieldSettings, tg.object.mapping)
			p.Records[i] = Record{ID: rec.ID, Fields: fields, Associations: in.Associations}
			if len(ifEmpty) > 0 {
				if p.IfEmpty == nil {
					p.IfEmpty = make([][]string, len(records))
				}
				p.IfEmpty[i] = ifEmpty
			}
			if len(stripped) > 0 {
				if pr.stripped == nil {
					pr.stripped = make([][]string, len(records))
				}
				pr.stripped[i] = stripped
			}
		}
		if checker != nil {
			if err := checkRecord(checker, p, p.Records[i], field); err != nil {
				refused = append(refused, err)
			}
		}
	}
	if len(refused) > 0 {
		return nil, refusedRecords(refused)
	}
	return pr, nil
}

// checkRecord asks the adapter whether it would refuse a planned record,
// returning its answer as a [*ValidationError] located in the request
// (field is "record" or "batch[i]"), or nil.
func checkRecord(c RecordChecker, p *plan, rec Record, field string) *ValidationError {
	err := c.CheckRecord(p.ProviderObject, p.Type, rec)
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		f := field
		if ve.Field != "" {
			f += "." + ve.Field
		}
		return &ValidationError{Field: f, Reason: fmt.Sprintf("%s refuses it: %s", p.Provider, ve.Reason), Err: ve.Err}
	}
	return invalid(ErrInvalidRecord, field, "%s refuses it: %v", p.Provider, err)
}

// refusedRecords is the error of a write whose records the adapter
// refuses: the first record's error, naming every other record refused.
func refusedRecords(refused []*ValidationError) error {
	first := *refused[0]
	if len(refused) > 1 {
		others := make([]string, len(refused)-1)
		for i, ve := range refused[1:] {
			others[i] = ve.Field
		}
		first.Reason += fmt.Sprintf(" (%d records refused; also %s)", len(refused), strings.Join(others, ", "))
	}
	return &first
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
	cached, err := w.forWrite(ctx, t.Integration, t.GroupRef)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid(ErrUnknownInstallation, "groupRef", "no installation of %q for groupRef %q", t.Integration, t.GroupRef)
	}
	if err != nil {
		return nil, err
	}
	inst := cached.inst
	obj, err := cached.object(in, t.Object)
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

// subset returns the plan narrowed to the records at the given indexes,
// or the plan itself when they are all of its records.
func (p *plan) subset(idx []int) *plan {
	if len(idx) == len(p.Records) {
		return p
	}
	sp := *p
	sp.Records = make([]Record, len(idx))
	if p.IfEmpty != nil {
		sp.IfEmpty = make([][]string, len(idx))
	}
	if p.Updates != nil {
		sp.Updates = make([]map[string]any, len(idx))
	}
	for j, i := range idx {
		sp.Records[j] = p.Records[i]
		if p.IfEmpty != nil {
			sp.IfEmpty[j] = p.IfEmpty[i]
		}
		if p.Updates != nil {
			sp.Updates[j] = p.Updates[i]
		}
	}
	return &sp
}

// providerRequest builds the request for a plan's records, without
// credentials.
func (p *plan) providerRequest(inst *Installation, records []Record) *ProviderRequest {
	return &ProviderRequest{
		InstallationID: p.InstallationID,
		Connection:     inst.Connection,
		Object:         p.ProviderObject,
		Type:           p.Type,
		Key:            p.Key,
		Batch:          p.Batch,
		AllOrNone:      p.AllOrNone,
		Records:        records,
		Headers:        p.Headers,
	}
}

// newOperation returns the in-progress operation of a plan.
func (p *plan) newOperation(id string, mode Mode, now time.Time) *Operation {
	return &Operation{
		ID:             id,
		InstallationID: p.InstallationID,
		Integration:    p.Integration,
		GroupRef:       p.GroupRef,
		Object:         p.Object,
		Type:           p.Type,
		Mode:           mode,
		Status:         OperationInProgress,
		CreatedAt:      now,
		UpdatedAt:      now,
		omitValues:     p.omitValues,
	}
}

// failAll returns the outcome of a plan whose records all failed with the
// same error. Failed creates have no ID.
func (p *plan) failAll(perr *ProviderError) *outcome {
	all := make([]int, len(p.Records))
	for i := range all {
		all[i] = i
	}
	return p.failSome(all, perr)
}

// failSome returns the outcome of a plan whose records at the indexes idx
// failed with perr, which failed the call as a whole (nil for none): the
// others were not sent, and are unchanged. With no index, nothing failed.
func (p *plan) failSome(idx []int, perr *ProviderError) *outcome {
	out := &outcome{Results: make([]RecordResult, len(p.Records)), AllOrNone: p.AllOrNone}
	if len(idx) > 0 {
		out.Err = perr
	}
	for i, r := range p.Records {
		out.Results[i] = RecordResult{ID: r.ID, Unchanged: true}
		if p.Type == WriteTypeCreate {
			out.Results[i].ID = ""
		}
	}
	for _, i := range idx {
		out.Results[i] = RecordResult{ID: p.Records[i].ID, Err: perr}
		if p.Type == WriteTypeCreate {
			out.Results[i].ID = ""
		}
	}
	return out
}

// strippedLogs returns the log lines that name the fields of the request
// not written because the installation leaves them unmapped.
func (pr *prepared) strippedLogs(now time.Time) []LogEntry {
	var out []LogEntry
	for i, names := range pr.stripped {
		if len(names) == 0 {
			continue
		}
		rec := "the record"
		if pr.Batch {
			rec = fmt.Sprintf("record %d", i)
		}
		out = append(out, LogEntry{Time: now, Severity: SeverityWarn,
			Message: fmt.Sprintf("%s: %s not written: the installation leaves them unmapped", rec, strings.Join(names, ", "))})
	}
	return out
}
