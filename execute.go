package writeback

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/oauth2"
)

// outcome is what running a plan once produced: one result per plan
// record, or an error about the whole call.
type outcome struct {
	Results      []RecordResult
	Compensation *Compensation
	// Err is set when the call failed as a whole; every result then
	// carries it too.
	Err *ProviderError
}

// attemptTimeout bounds one provider attempt of async work. It is shorter
// than the lease, so a job is never claimed again while it runs.
const attemptTimeout = 2 * time.Minute

// execute runs a plan once against its provider: it reads current values
// for ifEmpty rules (one read for the whole plan), drops records left with
// nothing to write, and writes the rest in one provider call. inst is the
// plan's installation when the caller has it at hand (a sync write, just
// validated), and nil to load it (queued work, which runs later).
func (w *Writer) execute(ctx context.Context, p *plan, inst *Installation) (*outcome, error) {
	if inst == nil {
		var err error
		if inst, err = w.Installation(ctx, p.InstallationID); err != nil {
			return nil, fmt.Errorf("load installation %s: %w", p.InstallationID, err)
		}
	}
	prov, ok := w.providers[p.Provider]
	if !ok {
		return nil, fmt.Errorf("writeback: no provider %q", p.Provider)
	}
	ts, err := w.cfg.TokenSource(ctx, inst)
	if err != nil {
		return w.failAll(p, &ProviderError{Provider: p.Provider, Class: ClassAuth, Message: "token source: " + err.Error(), RecordIndex: NoRecord, Err: err}), nil
	}

	records, send, err := w.applyCurrent(ctx, prov, inst, p, ts)
	if err != nil {
		return w.failAll(p, asProviderError(p.Provider, err)), nil
	}
	out := &outcome{Results: make([]RecordResult, len(p.Records))}
	for i, r := range p.Records {
		out.Results[i] = RecordResult{ID: r.ID} // unchanged records succeed as they are
	}
	if len(send) == 0 {
		return out, nil
	}
	sent := make([]Record, len(send))
	for j, i := range send {
		sent[j] = records[i]
	}
	req := p.providerRequest(inst, sent)
	req.TokenSource = ts
	resp, err := prov.Write(ctx, req)
	if err != nil {
		return w.failAll(p, asProviderError(p.Provider, err)), nil
	}
	if resp == nil || len(resp.Results) != len(sent) {
		n := 0
		if resp != nil {
			n = len(resp.Results)
		}
		return w.failAll(p, &ProviderError{Provider: p.Provider, Class: ClassInternal, RecordIndex: NoRecord,
			Message: fmt.Sprintf("provider returned %d results for %d records", n, len(sent))}), nil
	}
	for j, i := range send {
		r := resp.Results[j]
		if r.Err != nil {
			e := *r.Err
			e.RecordIndex = i
			r.Err = &e
		}
		out.Results[i] = r
	}
	out.Compensation = resp.Compensation
	return out, nil
}

// applyCurrent applies ifEmpty rules with one provider read, returning the
// records to write and the indexes of those with something left to send.
func (w *Writer) applyCurrent(ctx context.Context, prov Provider, inst *Installation, p *plan, ts oauth2.TokenSource) ([]Record, []int, error) {
	records := p.Records
	if p.needsRead() {
		var ids []string
		fieldSet := map[string]bool{}
		for i, f := range p.IfEmpty {
			if len(f) == 0 {
				continue
			}
			ids = append(ids, p.Records[i].ID)
			for _, name := range f {
				fieldSet[name] = true
			}
		}
		fields := slices.Sorted(maps.Keys(fieldSet))
		current, err := prov.Read(ctx, &ReadRequest{
			InstallationID: p.InstallationID, Connection: inst.Connection, TokenSource: ts,
			Object: p.ProviderObject, IDs: ids, Fields: fields,
		})
		if err != nil {
			return nil, nil, err
		}
		records = make([]Record, len(p.Records))
		for i, r := range p.Records {
			records[i] = r
			if i < len(p.IfEmpty) && len(p.IfEmpty[i]) > 0 {
				records[i].Fields = maps.Clone(r.Fields)
				applyIfEmpty(records[i].Fields, p.IfEmpty[i], current[r.ID])
			}
		}
	}
	send := make([]int, 0, len(records))
	for i, r := range records {
		if p.Type == WriteTypeDelete || len(r.Fields) > 0 {
			send = append(send, i)
		}
	}
	return records, send, nil
}

// failAll gives every record of a plan the same error.
func (w *Writer) failAll(p *plan, perr *ProviderError) *outcome {
	out := &outcome{Results: make([]RecordResult, len(p.Records)), Err: perr}
	for i, r := range p.Records {
		out.Results[i] = RecordResult{ID: r.ID, Err: perr}
	}
	if p.Type == WriteTypeCreate {
		for i := range out.Results {
			out.Results[i].ID = ""
		}
	}
	return out
}

// asProviderError classifies an error from a provider call.
func asProviderError(provider string, err error) *ProviderError {
	var perr *ProviderError
	if errors.As(err, &perr) {
		return perr
	}
	class := ClassInternal
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The adapter did not say whether the request was sent.
		class = ClassUnknownOutcome
	case errors.Is(err, ErrUnsupported):
		class = ClassInvalid
	}
	return &ProviderError{Provider: provider, Class: class, Message: err.Error(), RecordIndex: NoRecord, Err: err}
}
