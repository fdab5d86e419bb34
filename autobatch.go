package writeback

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Auto-batching: an async single create or update with [WriteOpts.AutoBatch]
// joins the open group of its (installation, object, write type, headers)
// through [Queue.Join], durably, and gets the group's master operation ID.
// The group is a job whose RunAt is its first record's time plus that
// record's MaxDelay; the member that fills it to the provider's batch limit
// seals it and makes it due at once. runGroup writes a claimed group as
// partial provider batches, isolating records the provider rejects, and
// retries retryable failures until the group's retry deadline.

// groupSpec is what every member of a group shares, stored as the group
// job's payload when the first member opens the group, with that member's
// policy.
type groupSpec struct {
	InstallationID string        `json:"installationId"`
	Integration    string        `json:"integration"`
	GroupRef       string        `json:"groupRef"`
	Object         string        `json:"object"`
	ProviderObject string        `json:"providerObject"`
	Provider       string        `json:"provider"`
	Type           WriteType     `json:"type"`
	Headers        []Header      `json:"headers,omitempty"`
	OpenedAt       time.Time     `json:"openedAt"`
	MaxDelay       time.Duration `json:"maxDelay"`
	RetryDeadline  time.Duration `json:"retryDeadline"`
}

// groupMember is one record of a group, stored when it joins.
type groupMember struct {
	Record   Record    `json:"record"`
	IfEmpty  []string  `json:"ifEmpty,omitempty"`
	JoinedAt time.Time `json:"joinedAt"`
}

// groupState is a group's progress while it is written, stored inside its
// master operation's record (decoding an [Operation] ignores it), so that a
// Writer restarted after a crash resumes where the crash left it.
//
// Every provider call of a create group is recorded in InFlight, with the
// results so far, before it is made. Update groups record nothing before
// their calls: an update interrupted by a crash is simply sent again.
type groupState struct {
	// Results holds each member's final result by join index; nil while
	// the member is pending.
	Results []*RecordResult `json:"results,omitempty"`
	// InFlight lists the members of a provider call whose answer was not
	// recorded yet. Found at the start of a run, it means the previous run
	// stopped mid-call: those creates may or may not exist at the provider.
	InFlight []int `json:"inFlight,omitempty"`
}

// groupOperation is how a master operation with its progress is stored.
type groupOperation struct {
	*Operation
	Group *groupState `json:"autoBatchGroup,omitempty"`
}

// groupKey returns the key of the group a single-record plan joins. Records
// of a group share installation, object and write type, and also their
// pass-through headers, since one provider call carries one set of headers:
// writes with different headers go to different groups.
func groupKey(p *plan) (string, error) {
	var hs string
	if len(p.Headers) > 0 {
		b, err := json.Marshal(p.Headers)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		hs = hex.EncodeToString(sum[:12])
	}
	b, err := json.Marshal([]string{p.InstallationID, p.Object, string(p.Type), hs})
	return string(b), err
}

// submitAutoBatch adds an async single write to the open group of its key,
// opening one if there is none, and returns the group's master operation in
// progress. The record is stored durably before it returns.
func (w *Writer) submitAutoBatch(ctx context.Context, p *plan, opts *WriteOpts, key *store.IdempotencyKey) (*Result, error) {
	if key != nil {
		return nil, invalid(ErrUnsupported, "idempotencyKey", "cannot be combined with auto-batching: the records of a group share one master operation")
	}
	if len(p.Records) != 1 {
		return nil, invalid(ErrUnsupported, "autoBatch", "applies to single-record writes only")
	}
	prov, ok := w.providers[p.Provider]
	if !ok {
		return nil, fmt.Errorf("writeback: no provider %q", p.Provider)
	}
	size := min(MaxBatchSize, prov.Capabilities().MaxBatchSize)
	if size <= 0 {
		return nil, invalid(ErrUnsupported, "autoBatch", "provider %s does not support batches", p.Provider)
	}
	group, err := groupKey(p)
	if err != nil {
		return nil, fmt.Errorf("writeback: auto-batch group key: %w", err)
	}

	pol := opts.AutoBatch
	now := w.now()
	id := newID(now)
	flushAt := now.Add(pol.MaxDelay)
	payload, err := json.Marshal(groupSpec{
		InstallationID: p.InstallationID,
		Integration:    p.Integration,
		GroupRef:       p.GroupRef,
		Object:         p.Object,
		ProviderObject: p.ProviderObject,
		Provider:       p.Provider,
		Type:           p.Type,
		Headers:        p.Headers,
		OpenedAt:       now,
		MaxDelay:       pol.MaxDelay,
		RetryDeadline:  cmp.Or(pol.RetryDeadline, DefaultRetryDeadline),
	})
	if err != nil {
		return nil, fmt.Errorf("writeback: encode auto-batch group: %w", err)
	}
	m := groupMember{Record: p.Records[0], JoinedAt: now}
	if len(p.IfEmpty) > 0 {
		m.IfEmpty = p.IfEmpty[0]
	}
	member, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("writeback: encode auto-batch record: %w", err)
	}
	op := p.newOperation(id, ModeAsync, now)
	op.AutoBatch = true
	op.Summary = fmt.Sprintf("accumulating records: the batch is written at %d records or at %s, whichever comes first",
		size, flushAt.UTC().Format(time.RFC3339Nano))
	op.Logs = []LogEntry{{Time: now, Severity: SeverityInfo, Message: op.Summary}}
	rec, err := encodeOperation(op)
	if err != nil {
		return nil, err
	}

	res, err := w.store.Join(ctx, store.JoinRequest{
		Group:        group,
		Member:       member,
		MaxSize:      size,
		Now:          now,
		NewOperation: rec,
		NewJob: store.Job{
			ID:             id,
			InstallationID: p.InstallationID,
			Provider:       p.Provider,
			Group:          group,
			RunAt:          flushAt,
			Payload:        payload,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("writeback: auto-batch: %w", err)
	}
	if res.Opened || res.Sealed {
		// A new flush time, or a group due now.
		w.async.notify()
	}
	return &Result{OperationID: res.JobID, Status: OperationInProgress}, nil
}

// runGroup writes a claimed auto-batch group. Errors of the store leave the
// job leased: it is due again when the lease expires.
func (w *Writer) runGroup(ctx context.Context, job store.Job) {
	if err := w.flushGroup(ctx, job); err != nil {
		w.log.Error("writeback: run auto-batch group", "operation", job.ID, "err", err)
	}
}

// groupRun is one run of a claimed group.
type groupRun struct {
	w       *Writer
	job     store.Job
	spec    groupSpec
	op      *Operation
	state   *groupState
	members []groupMember
	// records are the members' records after the ifEmpty rules.
	records []Record
	// retry is the latest retryable error; the members still pending wait
	// for the next attempt.
	retry *ProviderError
	// stopped reports that ctx ended before every member was written.
	stopped bool
	// searched reports that the run searched a failed batch for bad
	// records.
	searched bool
	// err is a store error that aborts the run.
	err error
}

// flushGroup runs a claimed group: it writes its pending members, then
// completes the master operation or schedules the next attempt.
func (w *Writer) flushGroup(ctx context.Context, job store.Job) error {
	// Store writes outlive ctx: progress, once made, is always saved.
	sctx := context.WithoutCancel(ctx)
	r, err := w.loadGroup(sctx, job)
	if err != nil {
		return err
	}
	now := w.now()
	op, st := r.op, r.state
	n := len(r.members)
	if len(st.Results) != n {
		st.Results = make([]*RecordResult, n)
	}
	if op.Deadline.IsZero() {
		// The retry window starts with the first flush.
		op.Deadline = now.Add(r.spec.RetryDeadline)
	}
	r.recoverInFlight(now)
	pending := st.pending()
	if len(pending) > 0 {
		op.Attempts++
		op.LastAttempt = now
		op.Summary = fmt.Sprintf("writing %d records", n)
		op.Logs = append(op.Logs, LogEntry{Time: now, Severity: SeverityInfo,
			Message: fmt.Sprintf("attempt %d: writing %d of %d records", op.Attempts, len(pending), n)})
		r.writePending(ctx, pending)
	}
	if r.err != nil {
		return r.err
	}
	pending = st.pending()
	end := w.now()
	switch {
	case len(pending) == 0:
	case r.stopped:
		// Stopping: keep the progress and run the rest at the next Start.
		return r.reschedule(sctx, end)
	case r.retry != nil:
		if at, ok := nextAttempt(r.spec.Type, r.retry, op.Attempts, end, op.Deadline); ok {
			op.Logs = append(op.Logs, LogEntry{Time: end, Severity: SeverityWarn, Error: r.retry,
				Message: fmt.Sprintf("%d records will be retried at %s", len(pending), at.UTC().Format(time.RFC3339Nano))})
			return r.reschedule(sctx, at)
		}
		op.Logs = append(op.Logs, LogEntry{Time: end, Severity: SeverityError, Error: r.retry,
			Message: fmt.Sprintf("%d records not written: retries stopped at %s", len(pending), op.Deadline.UTC().Format(time.RFC3339Nano))})
		for _, i := range pending {
			r.final(i, RecordResult{Err: r.retry})
		}
	default:
		return fmt.Errorf("writeback: auto-batch group %s: %d records left pending", job.ID, len(pending))
	}

	results := make([]RecordResult, n)
	for i, res := range st.Results {
		results[i] = *res
	}
	op.finish(&outcome{Results: results}, end)
	rec, err := encodeOperation(op)
	if err != nil {
		return err
	}
	if err := w.store.Complete(sctx, rec, w.async.lease(job)); err != nil {
		return fmt.Errorf("writeback: complete auto-batch group %s: %w", job.ID, err)
	}
	w.completed(op)
	return nil
}

// loadGroup reads a claimed group's master operation, spec and members.
func (w *Writer) loadGroup(ctx context.Context, job store.Job) (*groupRun, error) {
	r := &groupRun{w: w, job: job}
	if err := json.Unmarshal(job.Payload, &r.spec); err != nil {
		return nil, fmt.Errorf("writeback: decode auto-batch group %s: %w", job.ID, err)
	}
	rec, err := w.store.Operation(ctx, job.ID)
	if err != nil {
		return nil, fmt.Errorf("writeback: auto-batch group %s: %w", job.ID, err)
	}
	g := groupOperation{Operation: &Operation{}}
	if err := json.Unmarshal(rec.Data, &g); err != nil {
		return nil, fmt.Errorf("writeback: decode operation %s: %w", job.ID, err)
	}
	r.op, r.state = g.Operation, cmp.Or(g.Group, &groupState{})
	raw, err := w.store.Members(ctx, job.ID)
	if err != nil {
		return nil, fmt.Errorf("writeback: auto-batch group %s members: %w", job.ID, err)
	}
	r.members = make([]groupMember, len(raw))
	r.records = make([]Record, len(raw))
	for i, b := range raw {
		if err := json.Unmarshal(b, &r.members[i]); err != nil {
			return nil, fmt.Errorf("writeback: decode auto-batch group %s record %d: %w", job.ID, i, err)
		}
		r.records[i] = r.members[i].Record
	}
	return r, nil
}

// pending returns the members without a final result, in join order.
func (s *groupState) pending() []int {
	var out []int
	for i, res := range s.Results {
		if res == nil {
			out = append(out, i)
		}
	}
	return out
}

// recoverInFlight settles the members of a provider call that an earlier
// run made without recording the answer: a create may have happened, so it
// is reported as an unknown outcome rather than sent again.
func (r *groupRun) recoverInFlight(now time.Time) {
	st := r.state
	maybeSent := st.InFlight
	st.InFlight = nil
	if r.spec.Type != WriteTypeCreate {
		return
	}
	n := 0
	perr := &ProviderError{Provider: r.spec.Provider, Class: ClassUnknownOutcome, RecordIndex: NoRecord,
		Message: "the writer stopped while the batch may have been sent; the record may or may not have been created, so it is not sent again"}
	for _, i := range maybeSent {
		if st.Results[i] == nil {
			r.final(i, RecordResult{Err: perr})
			n++
		}
	}
	if n > 0 {
		r.op.Logs = append(r.op.Logs, LogEntry{Time: now, Severity: SeverityWarn, Error: perr,
			Message: fmt.Sprintf("%d records may have been created by an interrupted attempt; they are not sent again", n)})
	}
}

// final records a member's final result.
func (r *groupRun) final(i int, res RecordResult) {
	if res.Err != nil {
		e := *res.Err
		e.RecordIndex = i
		res.Err = &e
		if r.spec.Type == WriteTypeCreate {
			res.ID = ""
		} else {
			res.ID = r.members[i].Record.ID
		}
	}
	r.state.Results[i] = &res
}

// halted reports whether the run must not make another provider call.
func (r *groupRun) halted() bool { return r.err != nil || r.stopped || r.retry != nil }

// plan returns the plan of one partial provider batch of the members idx.
func (r *groupRun) plan(idx []int) *plan {
	p := &plan{
		InstallationID: r.spec.InstallationID,
		Integration:    r.spec.Integration,
		GroupRef:       r.spec.GroupRef,
		Object:         r.spec.Object,
		ProviderObject: r.spec.ProviderObject,
		Provider:       r.spec.Provider,
		Type:           r.spec.Type,
		Batch:          true,
		Records:        make([]Record, len(idx)),
		Headers:        r.spec.Headers,
	}
	for j, i := range idx {
		p.Records[j] = r.records[i]
	}
	return p
}

// writePending applies the ifEmpty rules of the pending members with one
// provider read, then writes them in as few batches as it can: a record ID
// appears once per batch, so two updates of one record go out one after
// the other, in join order.
func (r *groupRun) writePending(ctx context.Context, pending []int) {
	send := r.applyCurrent(ctx, pending)
	for _, round := range rounds(send, r.records) {
		if r.halted() {
			return
		}
		r.write(ctx, round)
	}
}

// applyCurrent applies the ifEmpty rules of the members idx, settles those
// left with nothing to write, and returns the others.
func (r *groupRun) applyCurrent(ctx context.Context, idx []int) []int {
	p := r.plan(idx)
	for j, i := range idx {
		if len(r.members[i].IfEmpty) > 0 {
			if p.IfEmpty == nil {
				p.IfEmpty = make([][]string, len(idx))
			}
			p.IfEmpty[j] = r.members[i].IfEmpty
		}
	}
	if !p.needsRead() {
		return idx
	}
	w := r.w
	inst, err := w.Installation(ctx, p.InstallationID)
	if errors.Is(err, ErrNotFound) {
		r.fail(idx, &ProviderError{Provider: p.Provider, Class: ClassNotFound, RecordIndex: NoRecord,
			Message: fmt.Sprintf("installation %s no longer exists", p.InstallationID)})
		return nil
	}
	if err != nil {
		r.err = fmt.Errorf("writeback: load installation %s: %w", p.InstallationID, err)
		return nil
	}
	ts, err := w.cfg.TokenSource(ctx, inst)
	if err != nil {
		r.fail(idx, &ProviderError{Provider: p.Provider, Class: ClassAuth, Message: "token source: " + err.Error(), RecordIndex: NoRecord, Err: err})
		return nil
	}
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	records, send, err := w.applyCurrent(actx, w.providers[p.Provider], inst, p, ts)
	cancel()
	if err != nil {
		perr := asProviderError(p.Provider, err)
		if retryable(WriteTypeUpdate, perr) {
			r.retry = perr // a read: nothing was written
		} else {
			r.fail(idx, perr)
		}
		return nil
	}
	out := make([]int, 0, len(send))
	sent := make(map[int]bool, len(send))
	for _, j := range send {
		sent[j] = true
		out = append(out, idx[j])
	}
	for j, i := range idx {
		r.records[i] = records[j]
		if !sent[j] {
			// Every field is already set: nothing to write.
			r.final(i, RecordResult{ID: records[j].ID})
		}
	}
	return out
}

// rounds splits members into batches in which no record ID repeats,
// keeping join order.
func rounds(idx []int, records []Record) [][]int {
	var out [][]int
	seen := map[string]int{}
	for _, i := range idx {
		k := 0
		if id := records[i].ID; id != "" {
			k = seen[id]
			seen[id]++
		}
		if k == len(out) {
			out = append(out, nil)
		}
		out[k] = append(out[k], i)
	}
	return out
}

// isolatable reports whether a failed batch may be split to find the
// records that made it fail: the provider rejected the input as a whole
// without saying which record was at fault.
func isolatable(perr *ProviderError) bool {
	if perr.RecordIndex != NoRecord {
		return false
	}
	switch perr.Class {
	case ClassInvalid, ClassConflict, ClassNotFound:
		return true
	}
	return false
}

// call sends the members idx as one partial provider batch, recording them
// as in flight first. It returns nil, and makes no call, once the run must
// stop.
func (r *groupRun) call(ctx context.Context, idx []int) *outcome {
	if r.halted() {
		return nil
	}
	if ctx.Err() != nil {
		r.stopped = true
		return nil
	}
	if r.spec.Type == WriteTypeCreate {
		r.state.InFlight = idx
		if err := r.save(context.WithoutCancel(ctx)); err != nil {
			r.err = err
			return nil
		}
	}
	p := r.plan(idx)
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	out, err := r.w.execute(actx, p, nil)
	cancel()
	if err != nil {
		out = r.w.failAll(p, asProviderError(p.Provider, err))
	}
	r.state.InFlight = nil
	if out.Err == nil && len(idx) > 1 {
		out.Err = sharedRejection(out.Results)
	}
	return out
}

// sharedRejection returns the error of a batch whose records all failed
// with one and the same error about the input, as a whole-batch error
// naming no record: that is how an adapter reports a batch the provider
// refused as a whole without saying which record was at fault (HubSpot's
// batch update, for one). It returns nil otherwise.
func sharedRejection(results []RecordResult) *ProviderError {
	first := results[0].Err
	if first == nil || !isolatable(&ProviderError{Class: first.Class, RecordIndex: NoRecord}) {
		return nil
	}
	for _, r := range results[1:] {
		e := r.Err
		if e == nil || e.Class != first.Class || e.StatusCode != first.StatusCode || e.Code != first.Code ||
			e.Message != first.Message || e.CorrelationID != first.CorrelationID || !slices.Equal(e.Fields, first.Fields) {
			return nil
		}
	}
	cp := *first
	cp.RecordIndex = NoRecord
	return &cp
}

// write writes the members idx as one batch and isolates the records that
// make it fail.
func (r *groupRun) write(ctx context.Context, idx []int) {
	out := r.call(ctx, idx)
	if out == nil {
		return
	}
	if out.Err != nil {
		r.reject(ctx, idx, out.Err)
		return
	}
	if again, _ := r.apply(idx, out); len(again) > 0 {
		r.write(ctx, again)
	}
}

// apply records the per-record results of a call the provider answered.
// It returns the members to send again at once (those rolled back because
// another record failed) and whether any record failed for good.
func (r *groupRun) apply(idx []int, out *outcome) (again []int, failed bool) {
	for j, i := range idx {
		res := out.Results[j]
		switch {
		case res.Err == nil:
			r.final(i, res)
		case res.Err.Class == ClassRolledBack:
			again = append(again, i)
		case retryable(r.spec.Type, res.Err):
			r.retry = res.Err
		default:
			failed = true
			r.final(i, res)
		}
	}
	if !failed && len(again) > 0 {
		// Rolled back with no record failing: nothing to send without.
		for _, i := range again {
			r.final(i, out.Results[slices.Index(idx, i)])
		}
		return nil, true
	}
	return again, failed
}

// reject handles a batch of the members idx that failed as a whole.
func (r *groupRun) reject(ctx context.Context, idx []int, perr *ProviderError) {
	switch {
	case retryable(r.spec.Type, perr):
		r.retry = perr
	case len(idx) > 1 && perr.RecordIndex >= 0 && perr.RecordIndex < len(idx):
		// The provider named the record at fault: write the others.
		r.final(idx[perr.RecordIndex], RecordResult{Err: perr})
		r.write(ctx, slices.Delete(slices.Clone(idx), perr.RecordIndex, perr.RecordIndex+1))
	case len(idx) > 1 && isolatable(perr):
		r.isolate(ctx, idx, perr)
	default:
		r.fail(idx, perr)
	}
}

// fail gives the members idx the same final error.
func (r *groupRun) fail(idx []int, perr *ProviderError) {
	for _, i := range idx {
		r.final(i, RecordResult{Err: perr})
	}
}

// isolate finds the records that make a batch fail as a whole (perr, with
// no record named) by bisection, writing the others.
//
// The first search of a run expects few bad records. It sends one half: if
// that half is written, the fault is in the other, which is split in turn
// without being sent again; if it fails, the search goes on in it and the
// other half is set aside, to be sent once, together, at the end. One bad
// record among n costs ceil(log2 n) + 1 calls after the failed batch. A
// record found by elimination gets the error of the smallest failed batch
// that held it. If the records set aside fail too, there are several bad
// records, and later searches of the run test both halves of every failing
// set (see split), which costs at most two calls per record searched.
func (r *groupRun) isolate(ctx context.Context, s []int, perr *ProviderError) {
	if r.searched {
		r.split(ctx, s, perr)
		return
	}
	r.searched = true
	var untested []int
	for len(s) > 1 {
		left, right := s[:len(s)/2], s[len(s)/2:]
		out := r.call(ctx, left)
		if out == nil {
			return
		}
		if out.Err == nil {
			again, failed := r.apply(left, out)
			untested = append(untested, again...)
			if failed {
				// The provider named bad records in this half after all;
				// the other half is not known to fail.
				untested = append(untested, right...)
				s = nil
				break
			}
			s = right
			continue
		}
		untested = append(untested, right...)
		if !isolatable(out.Err) {
			r.reject(ctx, left, out.Err)
			s = nil
			break
		}
		s, perr = left, out.Err
	}
	if len(s) == 1 {
		r.final(s[0], RecordResult{Err: perr})
	}
	if len(untested) > 0 {
		r.write(ctx, untested)
	}
}

// split finds the bad records of s, which failed as a whole with perr, by
// testing both halves of every failing set.
func (r *groupRun) split(ctx context.Context, s []int, perr *ProviderError) {
	if len(s) == 1 {
		r.final(s[0], RecordResult{Err: perr})
		return
	}
	for _, half := range [][]int{s[:len(s)/2], s[len(s)/2:]} {
		out := r.call(ctx, half)
		switch {
		case out == nil:
			return
		case out.Err == nil:
			if again, _ := r.apply(half, out); len(again) > 0 {
				r.write(ctx, again)
			}
		case isolatable(out.Err) && len(half) > 1:
			r.split(ctx, half, out.Err)
		default:
			r.reject(ctx, half, out.Err)
		}
	}
}

// save stores the master operation with the group's progress.
func (r *groupRun) save(ctx context.Context) error {
	data, err := json.Marshal(groupOperation{Operation: r.op, Group: r.state})
	if err != nil {
		return fmt.Errorf("writeback: encode operation %s: %w", r.op.ID, err)
	}
	rec := store.Operation{ID: r.op.ID, InstallationID: r.op.InstallationID, Data: data}
	if err := r.w.store.UpdateOperation(ctx, rec); err != nil {
		return fmt.Errorf("writeback: save auto-batch group %s: %w", r.op.ID, err)
	}
	return nil
}

// reschedule stores the group's progress and makes its job due at at.
func (r *groupRun) reschedule(ctx context.Context, at time.Time) error {
	r.op.UpdatedAt = r.w.now()
	data, err := json.Marshal(groupOperation{Operation: r.op, Group: r.state})
	if err != nil {
		return fmt.Errorf("writeback: encode operation %s: %w", r.op.ID, err)
	}
	rec := store.Operation{ID: r.op.ID, InstallationID: r.op.InstallationID, Data: data}
	if err := r.w.store.Reschedule(ctx, rec, r.w.async.lease(r.job), at); err != nil {
		return fmt.Errorf("writeback: reschedule auto-batch group %s: %w", r.op.ID, err)
	}
	return nil
}

// releaseGroup gives back a claimed group that was not started because the
// Writer is stopping: it is due again at once, so the next Start runs it.
// Its master operation is stored back as it is, with the group's progress.
func (w *Writer) releaseGroup(job store.Job) {
	ctx := context.Background()
	rec, err := w.store.Operation(ctx, job.ID)
	if err == nil {
		err = w.store.Reschedule(ctx, rec, w.async.lease(job), w.now())
	}
	if err != nil && !errors.Is(err, store.ErrLeaseLost) {
		w.log.Error("writeback: release auto-batch group", "operation", job.ID, "err", err)
	}
}
