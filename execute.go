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
	// Err is set when the call failed as a whole; every record sent
	// carries it too.
	Err *ProviderError
	// AllOrNone reports an all-or-nothing batch: it succeeds only if
	// every record that needed writing was written.
	AllOrNone bool
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
	// tel traces and counts the provider calls.
	tel *telemetry
	// beforeSend is passed to the adapter as ProviderRequest.BeforeSend
	// (set by an async create's attempt; see Writer.runJob).
	beforeSend func(ctx context.Context) error
	// notes are warnings about the session's writes for the
	// operation's log, such as an upsert's record written by someone
	// else between its read and its write.
	notes []string
}

// scope is what a write is for: enough to open its session and to check,
// when it runs later, that it is still allowed.
type scope struct {
	installationID string
	integration    string
	object         string // the write object's name as the request gave it
	provider       string
}

// scope returns the scope of a plan.
func (p *plan) scope() scope {
	return scope{installationID: p.InstallationID, integration: p.Integration, object: p.Object, provider: p.Provider}
}

// Codes of the errors of queued writes that are no longer allowed when they
// run ([ProviderError.Code]; nothing was sent).
const (
	// CodeInstallationDeleted: the installation was deleted after the
	// write was accepted.
	CodeInstallationDeleted = "INSTALLATION_DELETED"
	// CodeIntegrationRemoved: the integration is no longer in the
	// Writer's manifest.
	CodeIntegrationRemoved = "INTEGRATION_REMOVED"
	// CodeObjectDisabled: the object is no longer a write object of the
	// integration, or the installation no longer enables it for write.
	CodeObjectDisabled = "OBJECT_DISABLED"
)

// connect opens the session of an attempt of a write for sc. inst is the
// installation when the caller has it at hand (a sync write, just
// validated), and nil to load it (queued work, which runs later): the
// write must then still be allowed, by the manifest and by the
// installation as it is now. It fails with a [*ProviderError]: not_found
// (Code INSTALLATION_DELETED) for an installation deleted since the write
// was accepted, invalid (INTEGRATION_REMOVED or OBJECT_DISABLED) for an
// integration or object no longer enabled, auth for credentials the
// application's resolver refused, and unavailable for a store that failed
// to answer (the attempt can be made later).
func (w *Writer) connect(ctx context.Context, sc scope, inst *Installation, timeout time.Duration) (*session, *ProviderError) {
	fail := func(class ErrorClass, code string, err error, format string, args ...any) (*session, *ProviderError) {
		return nil, &ProviderError{Provider: sc.provider, Class: class, Code: code, Message: fmt.Sprintf(format, args...), RecordIndex: NoRecord, Err: err}
	}
	prov, ok := w.providers[sc.provider]
	if !ok {
		return fail(ClassInternal, "", nil, "no provider %q in this writer's config", sc.provider)
	}
	if inst == nil {
		var err error
		inst, err = w.Installation(ctx, sc.installationID)
		switch {
		case errors.Is(err, ErrNotFound):
			return fail(ClassNotFound, CodeInstallationDeleted, err, "installation %s was deleted after the write was accepted; nothing was sent", sc.installationID)
		case err != nil:
			return fail(ClassUnavailable, "", err, "load installation %s: %v", sc.installationID, err)
		}
		in, ok := w.manifest.Integration(sc.integration)
		if !ok {
			return fail(ClassInvalid, CodeIntegrationRemoved, nil, "integration %q is no longer in the manifest; nothing was sent", sc.integration)
		}
		obj, err := resolveObject(in, inst, sc.object)
		if err != nil {
			return fail(ClassInvalid, CodeObjectDisabled, err, "%q is no longer a write object of integration %q; nothing was sent", sc.object, sc.integration)
		}
		if !obj.enabled {
			return fail(ClassInvalid, CodeObjectDisabled, nil, "%q is no longer enabled for write in installation %s; nothing was sent", sc.object, sc.installationID)
		}
	}
	ts, err := w.cfg.TokenSourceFunc(ctx, cloneInstallation(inst)) // the application's copy
	if err != nil {
		return fail(ClassAuth, "", err, "the application's token source refused installation %s (%s); nothing was sent", sc.installationID, tokenErrorKind(err))
	}
	return &session{prov: prov, inst: inst, ts: ts, manifest: w.manifest, timeout: timeout, tel: w.tel}, nil
}

// tokenErrorKind describes an error of the application's token source
// without its text, which may quote a secret: a context error by name,
// anything else by its type. (The error itself stays on the returned
// [ProviderError]'s Err, which is never stored.)
func tokenErrorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "context deadline exceeded"
	case errors.Is(err, context.Canceled):
		return "context canceled"
	}
	return fmt.Sprintf("error of type %T", err)
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
		return s.outcome(p, p.failSome(p.toWrite(), asProviderError(p.Provider, err)))
	}
	return s.write(ctx, p, records, send)
}

// toWrite returns the indexes of the plan's records that have something to
// write before any ifEmpty rule is applied: all of them but those the
// rules already left empty.
func (p *plan) toWrite() []int {
	send := make([]int, 0, len(p.Records))
	for i, r := range p.Records {
		if p.Type == WriteTypeDelete || len(r.Fields) > 0 {
			send = append(send, i)
		}
	}
	return send
}

// current applies the plan's ifEmpty rules with one provider read,
// returning the records to write and the indexes of those with something
// left to send.
func (s *session) current(ctx context.Context, p *plan) ([]Record, []int, error) {
	if p.Key != "" {
		return s.currentByKey(ctx, p)
	}
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
		rctx, endCall := s.tel.call(rctx, "read", p, len(ids))
		current, err := s.prov.Read(rctx, &ReadRequest{
			InstallationID: p.InstallationID, Connection: s.inst.Connection, TokenSource: s.ts,
			Object: p.ProviderObject, IDs: ids, Fields: slices.Sorted(maps.Keys(fieldSet)),
		})
		cancel()
		if err != nil {
			perr := asProviderError(p.Provider, err)
			s.calls = append(s.calls, perr.Calls...)
			endCall(perr, perr.Calls)
			return nil, nil, err
		}
		endCall(nil, nil)
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
// returns the outcome of the whole plan: records not sent are unchanged,
// the others get the provider's answer. The calls the adapter made are
// added to the session's, and field errors are named as the application
// names the fields (see outcome).
func (s *session) write(ctx context.Context, p *plan, records []Record, send []int) *outcome {
	out := s.send(ctx, p, records, send)
	if p.Key != "" {
		s.upsertNotes(p, records, out)
	}
	if p.Type == WriteTypeCreate {
		out = s.resolveUnknown(ctx, p, records, out)
	}
	return out
}

// send is write, without an upsert's notes.
func (s *session) send(ctx context.Context, p *plan, records []Record, send []int) *outcome {
	if len(send) == 0 {
		return p.failSome(nil, nil)
	}
	sent := make([]Record, len(send))
	for j, i := range send {
		sent[j] = records[i]
		if p.Key != "" {
			sent[j].ID = "" // an upsert is identified by its key
		}
	}
	req := p.providerRequest(s.inst, sent)
	req.TokenSource = s.ts
	req.BeforeSend = s.beforeSend
	wctx, cancel := s.bound(ctx)
	wctx, endCall := s.tel.call(wctx, "write", p, len(sent))
	resp, err := s.prov.Write(wctx, req)
	cancel()
	if err != nil {
		perr := asProviderError(p.Provider, err)
		endCall(perr, perr.Calls)
		s.calls = append(s.calls, perr.Calls...)
		return s.outcome(p, p.failSome(send, perr))
	}
	if resp == nil || len(resp.Results) != len(sent) {
		n := 0
		var calls []ProviderCall
		if resp != nil {
			n = len(resp.Results)
			calls = resp.Calls
			s.calls = append(s.calls, calls...)
		}
		perr := &ProviderError{Provider: p.Provider, Class: ClassInternal, RecordIndex: NoRecord,
			Message: fmt.Sprintf("provider returned %d results for %d records", n, len(sent))}
		endCall(perr, calls)
		return p.failSome(send, perr)
	}
	s.calls = append(s.calls, resp.Calls...)
	out := p.failSome(nil, nil)
	var cause *ProviderError // the call's error, if every record sent failed
	allFailed := true
	for j, i := range send {
		r := resp.Results[j]
		if r.Err != nil {
			e := *r.Err
			e.RecordIndex = i
			r.Err = &e
			if cause == nil || cause.Class == ClassRolledBack {
				cause = r.Err
			}
		} else {
			allFailed = false
		}
		out.Results[i] = r
	}
	if !allFailed {
		cause = nil
	}
	endCall(cause, resp.Calls)
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
	var ve *ValidationError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The adapter did not say whether the request was sent.
		class = ClassUnknownOutcome
	case errors.As(err, &ve), errors.Is(err, ErrUnsupported):
		// The adapter refused the input before sending it.
		class = ClassInvalid
	}
	return &ProviderError{Provider: provider, Class: class, Message: err.Error(), RecordIndex: NoRecord, Err: err}
}

// cutOff marks the outcome of a sync write whose caller's context ended
// (cause is its cause): a whole-call failure is reported as
// [ClassCanceled], wrapping cause, except a create that may have been sent,
// which stays [ClassUnknownOutcome].
func (out *outcome) cutOff(p *plan, cause error) {
	if out.Err == nil || out.Err.Class == ClassUnknownOutcome {
		return
	}
	perr := &ProviderError{
		Provider: p.Provider, Class: ClassCanceled, StatusCode: out.Err.StatusCode, Code: out.Err.Code,
		Message:     fmt.Sprintf("the caller's context ended before the write completed (%v): %s", cause, out.Err.Message),
		RecordIndex: NoRecord, Calls: out.Err.Calls, Err: cause,
	}
	out.Err = perr
	for i := range out.Results {
		if out.Results[i].Err != nil && out.Results[i].Err.RecordIndex == NoRecord {
			out.Results[i].Err = perr
		}
	}
}
