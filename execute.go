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

// attemptTimeout bounds each provider call of queued work. It is shorter
// than the lease, so a job is never claimed again while it runs.
const attemptTimeout = 2 * time.Minute

// session is one attempt's access to a provider for an installation: the
// adapter, the installation as it is now and its credentials, resolved
// once and used for every provider call of the attempt (the ifEmpty read
// and the write; an auto-batch group's run makes several writes). Every
// mode makes its provider calls through a session.
type session struct {
	prov Provider
	inst *Installation
	ts   oauth2.TokenSource
	// manifest resolves the installation's field mapping, to name fields
	// in errors as the application does.
	manifest *Manifest
	// timeout bounds each provider call; zero leaves it to the caller's
	// ctx (a sync write).
	timeout time.Duration
	// calls lists the HTTP requests the adapter reported for the
	// session's writes (and failed reads), in order, resends included:
	// the attempt's calls, for the operation log.
	calls []ProviderCall
	// beforeSend is passed to the adapter as ProviderRequest.BeforeSend
	// (set by an async create's attempt; see Writer.runJob).
	beforeSend func(ctx context.Context) error
}

// connect opens the session of an attempt for the installation id with
// the named provider. inst is the installation when the caller has it at
// hand (a sync write, just validated), and nil to load it (queued work,
// which runs later). It fails with a [*ProviderError]: not_found for an
// installation deleted since the write was accepted, auth for credentials
// the application's resolver refused, and unavailable for a store that
// failed to answer (the attempt can be made later).
func (w *Writer) connect(ctx context.Context, id, provider string, inst *Installation, timeout time.Duration) (*session, *ProviderError) {
	fail := func(class ErrorClass, err error, format string, args ...any) (*session, *ProviderError) {
		return nil, &ProviderError{Provider: provider, Class: class, Message: fmt.Sprintf(format, args...), RecordIndex: NoRecord, Err: err}
	}
	prov, ok := w.providers[provider]
	if !ok {
		return fail(ClassInternal, nil, "no provider %q in this writer's config", provider)
	}
	if inst == nil {
		var err error
		inst, err = w.Installation(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			return fail(ClassNotFound, err, "installation %s no longer exists", id)
		case err != nil:
			return fail(ClassUnavailable, err, "load installation %s: %v", id, err)
		}
	}
	ts, err := w.cfg.TokenSourceFunc(ctx, inst)
	if err != nil {
		return fail(ClassAuth, err, "token source: %v", err)
	}
	return &session{prov: prov, inst: inst, ts: ts, manifest: w.manifest, timeout: timeout}, nil
}

// bound returns ctx limited to one provider call.
func (s *session) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// run runs a plan once: it reads current values for ifEmpty rules (one
// read for the whole plan), leaves records with nothing left to write
// unchanged, and writes the rest in one provider call.
func (s *session) run(ctx context.Context, p *plan) *outcome {
	records, send, err := s.current(ctx, p)
	if err != nil {
		return s.outcome(p, p.failAll(asProviderError(p.Provider, err)))
	}
	return s.write(ctx, p, records, send)
}

// current applies the plan's ifEmpty rules with one provider read,
// returning the records to write and the indexes of those with something
// left to send.
func (s *session) current(ctx context.Context, p *plan) ([]Record, []int, error) {
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
		rctx, cancel := s.bound(ctx)
		current, err := s.prov.Read(rctx, &ReadRequest{
			InstallationID: p.InstallationID, Connection: s.inst.Connection, TokenSource: s.ts,
			Object: p.ProviderObject, IDs: ids, Fields: slices.Sorted(maps.Keys(fieldSet)),
		})
		cancel()
		if err != nil {
			var perr *ProviderError
			if errors.As(err, &perr) {
				s.calls = append(s.calls, perr.Calls...)
			}
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

// write sends the records at the indexes send in one provider call and
// returns the outcome of the whole plan: records not sent succeed
// unchanged, the others get the provider's answer. The calls the adapter
// made are added to the session's, and field errors are named as the
// application names the fields (see outcome).
func (s *session) write(ctx context.Context, p *plan, records []Record, send []int) *outcome {
	out := &outcome{Results: make([]RecordResult, len(p.Records))}
	for i, r := range p.Records {
		out.Results[i] = RecordResult{ID: r.ID} // unchanged records succeed as they are
	}
	if len(send) == 0 {
		return out
	}
	sent := make([]Record, len(send))
	for j, i := range send {
		sent[j] = records[i]
	}
	req := p.providerRequest(s.inst, sent)
	req.TokenSource = s.ts
	req.BeforeSend = s.beforeSend
	wctx, cancel := s.bound(ctx)
	resp, err := s.prov.Write(wctx, req)
	cancel()
	if err != nil {
		perr := asProviderError(p.Provider, err)
		s.calls = append(s.calls, perr.Calls...)
		return s.outcome(p, p.failAll(perr))
	}
	if resp != nil {
		s.calls = append(s.calls, resp.Calls...)
	}
	if resp == nil || len(resp.Results) != len(sent) {
		n := 0
		if resp != nil {
			n = len(resp.Results)
		}
		return p.failAll(&ProviderError{Provider: p.Provider, Class: ClassInternal, RecordIndex: NoRecord,
			Message: fmt.Sprintf("provider returned %d results for %d records", n, len(sent))})
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
	return s.outcome(p, out)
}

// outcome completes the outcome of a provider call for the plan p: every
// field error gets the application's name of its field
// ([FieldError.Field]) through the installation's mapping as it is now,
// the inverse of the rename the write went through; a field no mapping
// renames keeps its provider name. Sync, async and auto-batch outcomes all
// pass here.
func (s *session) outcome(p *plan, out *outcome) *outcome {
	var names map[string]string
	resolved := false
	name := func(e *ProviderError) {
		if e == nil || len(e.FieldErrors) == 0 {
			return
		}
		if !resolved {
			names, resolved = s.appFieldNames(p), true
		}
		fe := slices.Clone(e.FieldErrors)
		for i := range fe {
			if fe[i].Field != "" || fe[i].ProviderField == "" {
				continue
			}
			fe[i].Field = fe[i].ProviderField
			if app, ok := names[fe[i].ProviderField]; ok {
				fe[i].Field = app
			}
		}
		e.FieldErrors = fe
	}
	name(out.Err)
	for i := range out.Results {
		name(out.Results[i].Err)
	}
	if out.Compensation != nil {
		for i := range out.Compensation.Unrestored {
			name(out.Compensation.Unrestored[i].Err)
		}
	}
	return out
}

// appFieldNames returns the application's name of each provider field the
// mapping of the plan's object renames in the session's installation, or
// nil when none is.
func (s *session) appFieldNames(p *plan) map[string]string {
	in, ok := s.manifest.Integration(p.Integration)
	if !ok {
		return nil
	}
	obj, err := resolveObject(in, s.inst, p.Object)
	if err != nil {
		return nil
	}
	return obj.mapping.appNames()
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
