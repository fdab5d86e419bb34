package writeback

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/writebackhq/writeback/store"
)

// runGroup writes a claimed auto-batch group. Errors of the store leave the
// job leased: it is due again when the lease expires.
func (w *Writer) runGroup(ctx context.Context, job store.Job) {
	err := w.flushGroup(ctx, job)
	switch {
	case irreparable(err):
		w.settleDamaged(context.WithoutCancel(ctx), job, err)
	case err != nil:
		// The lease brings the group back once the store answers again.
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
	// sess reaches the provider for every call of the run.
	sess *session
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
	if job.CancelRequested {
		return r.cancelRun(sctx, "canceled by request before this run")
	}
	if op.Deadline.IsZero() {
		// The retry window starts with the first flush.
		op.Deadline = now.Add(r.spec.RetryDeadline)
	}
	r.recoverInFlight(now)
	pending := st.pending()
	if op.Attempts == 0 {
		op.Logs = append(op.Logs, r.strippedLogs(now)...)
	}
	if len(pending) > 0 {
		if op.Attempts == 0 {
			flushAt := r.spec.OpenedAt.Add(r.spec.MaxDelay)
			w.tel.flushed(ctx, r.spec.Provider, n, r.capacity(), now.Sub(flushAt))
		}
		op.Attempts++
		actx, endAttempt := w.tel.attempt(ctx, r.plan(pending), op.ID, op.Attempts, true)
		defer func() { endAttempt(r.retry) }()
		ctx = actx
		op.LastAttempt = now
		op.Summary = fmt.Sprintf("writing %d records", n)
		op.Logs = append(op.Logs, LogEntry{Time: now, Severity: SeverityInfo,
			Message: fmt.Sprintf("attempt %d: writing %d of %d records", op.Attempts, len(pending), n)})
		r.writePending(ctx, pending)
		if r.sess != nil {
			op.logCalls(op.Attempts, r.sess.calls, w.now())
			op.logNotes(r.sess.notes, w.now())
		}
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
			w.tel.retry(ctx, r.spec.Provider, r.retry)
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
	op.finish(&outcome{Results: results}, end) // a partial batch
	rec, err := encodeFinished(op, r.retryPlan(), r.spec.RetryDeadline)
	if err != nil {
		return err
	}
	if err := w.persist(sctx, func(ctx context.Context) error { return w.store.Complete(ctx, rec, w.async.lease(job)) }); err != nil {
		return fmt.Errorf("writeback: complete auto-batch group %s: %w", job.ID, err)
	}
	w.tel.done(sctx, op, job.Provider)
	w.completed(op)
	return nil
}

// recoverInFlight settles the members of a provider call that an earlier
// run made without recording the answer: a create may have happened, so it
// is reported as an unknown outcome rather than sent again.
func (r *groupRun) recoverInFlight(now time.Time) {
	st := r.state
	maybeSent := st.InFlight
	if r.spec.Type != WriteTypeCreate || len(maybeSent) == 0 {
		st.InFlight = nil
		return
	}
	if r.w.hasUpsertKey(r.plan(nil)) {
		// Looked up by key once the run has a session (resolveInFlight);
		// they stay in flight until then, so that they are never sent
		// unresolved.
		return
	}
	r.unknownInFlight(now, maybeSent)
}

// unknownInFlight reports the members of an interrupted create batch,
// maybeSent, as unknown outcomes, and clears the batch.
func (r *groupRun) unknownInFlight(now time.Time, maybeSent []int) {
	st := r.state
	st.InFlight = nil
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

// writePending opens the run's provider session, applies the ifEmpty
// rules of the pending members with one provider read, then writes them in
// as few batches as it can: a record ID appears once per batch, so two
// updates of one record go out one after the other, in join order.
func (r *groupRun) writePending(ctx context.Context, pending []int) {
	if pending = r.settleUnchanged(pending); len(pending) == 0 {
		return
	}
	s, perr := r.w.connect(ctx, r.spec.scope(), nil, attemptTimeout)
	if perr != nil {
		if ctx.Err() != nil {
			r.stopped = true
			return
		}
		r.unsent(pending, perr)
		return
	}
	r.sess = s
	if len(r.state.InFlight) > 0 {
		if !r.resolveInFlight(ctx) {
			return
		}
		pending = slices.DeleteFunc(pending, func(i int) bool { return r.state.Results[i] != nil })
	}
	pending = r.settleRefused(pending)
	send := r.current(ctx, pending)
	for k, round := range rounds(send, r.records, r.spec.Key) {
		if r.halted() {
			return
		}
		if k > 0 && r.spec.Key != "" {
			// An earlier round may have created the record: read again,
			// so that the rules of what the upsert will do apply.
			if round = r.current(ctx, round); len(round) == 0 {
				continue
			}
		}
		r.write(ctx, round)
	}
}

// settleUnchanged settles the members idx the installation's rules left
// with nothing to write: unchanged, with no provider call. It returns the
// others.
func (r *groupRun) settleUnchanged(idx []int) []int {
	out := idx[:0:0]
	for _, i := range idx {
		if rec := r.records[i]; len(rec.Fields) == 0 {
			r.final(i, RecordResult{ID: rec.ID, Unchanged: true})
			continue
		}
		out = append(out, i)
	}
	return out
}

// settleRefused settles, without a provider call, the members idx the
// adapter refuses ([RecordChecker]): they fail as the provider would have
// failed them, alone. It returns the others.
func (r *groupRun) settleRefused(idx []int) []int {
	checker, ok := r.sess.prov.(RecordChecker)
	if !ok {
		return idx
	}
	out := idx[:0:0]
	for _, i := range idx {
		if err := checker.CheckRecord(r.spec.ProviderObject, r.spec.Type, r.records[i]); err != nil {
			r.final(i, RecordResult{Err: &ProviderError{Provider: r.spec.Provider, Class: ClassInvalid, RecordIndex: i,
				Message: fmt.Sprintf("refused before sending: %v", err), Err: err}})
			continue
		}
		out = append(out, i)
	}
	return out
}

// strippedLogs returns the log lines that name the members' fields not
// written because the installation leaves them unmapped.
func (r *groupRun) strippedLogs(now time.Time) []LogEntry {
	var out []LogEntry
	for i, m := range r.members {
		if len(m.Stripped) > 0 {
			out = append(out, LogEntry{Time: now, Severity: SeverityWarn,
				Message: fmt.Sprintf("record %d: %s not written: the installation leaves them unmapped", i, strings.Join(m.Stripped, ", "))})
		}
	}
	return out
}

// unsent settles the members idx after a failure that wrote nothing (a
// read, or no session): a retryable one waits for the next attempt, any
// other is their final result.
func (r *groupRun) unsent(idx []int, perr *ProviderError) {
	if retryable(WriteTypeUpdate, perr) {
		r.retry = perr
		return
	}
	r.fail(idx, perr)
}

// current applies the ifEmpty rules of the members idx, settles those
// left with nothing to write, and returns the others.
func (r *groupRun) current(ctx context.Context, idx []int) []int {
	p := r.plan(idx)
	if p.Key != "" {
		// An upsert decides again, from the members as planned.
		p.Updates = make([]map[string]any, len(idx))
		for j, i := range idx {
			p.Records[j] = r.members[i].Record
			p.Updates[j] = r.members[i].Update
		}
	}
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
	records, send, err := r.sess.current(ctx, p)
	if err != nil {
		r.unsent(idx, asProviderError(p.Provider, err))
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
			r.final(i, RecordResult{ID: records[j].ID, Unchanged: true})
		}
	}
	return out
}

// rounds splits members into batches in which no record ID (for an
// upsert, no value of its key field) repeats, keeping join order.
func rounds(idx []int, records []Record, key string) [][]int {
	var out [][]int
	seen := map[string]int{}
	for _, i := range idx {
		k := 0
		id := records[i].ID
		if key != "" {
			id, _ = keyValue(records[i].Fields[key])
		}
		if id != "" {
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
		Key:            r.spec.Key,
	}
	for j, i := range idx {
		p.Records[j] = r.records[i]
	}
	return p
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
	var out *outcome
	if p.Key != "" {
		// The group's read by key already chose each record's fields.
		out = r.sess.write(ctx, p, p.Records, allIndexes(len(idx)))
	} else {
		out = r.sess.run(ctx, p)
	}
	r.state.InFlight = nil
	if out.Err == nil && len(idx) > 1 {
		out.Err = sharedRejection(out.Results)
	}
	return out
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

// fail gives the members idx the same final error.
func (r *groupRun) fail(idx []int, perr *ProviderError) {
	for _, i := range idx {
		r.final(i, RecordResult{Err: perr})
	}
}

// resolveInFlight looks up by key the members of a create batch a crash
// interrupted after it may have been sent: a member found was written
// (success, with the ID found), one not found stays pending and is sent
// again in this run. Without a key, or for members without a key value,
// the outcome stays unknown. A retryable failure of the lookup keeps them
// in flight for the next attempt; it reports false then.
func (r *groupRun) resolveInFlight(ctx context.Context) bool {
	st := r.state
	inFlight := slices.DeleteFunc(slices.Clone(st.InFlight), func(i int) bool { return st.Results[i] != nil })
	p := r.plan(allIndexes(len(r.members)))
	key := r.sess.createKey(p)
	now := r.w.now()
	if key == "" || len(inFlight) == 0 {
		r.unknownInFlight(now, inFlight)
		return true
	}
	without := slices.DeleteFunc(slices.Clone(inFlight), func(i int) bool {
		_, ok := keyValue(p.Records[i].Fields[key])
		return ok // those with a key value are looked up
	})
	found, err := r.sess.lookUpRetrying(ctx, p, key, inFlight)
	if err != nil {
		perr := asProviderError(p.Provider, err)
		if perr.Retryable() {
			r.retry = perr
			return false
		}
		r.unknownInFlight(now, inFlight)
		return true
	}
	again := 0
	for _, i := range inFlight {
		if id, ok := found[i]; ok {
			r.final(i, RecordResult{ID: id})
			v, _ := keyValue(p.Records[i].Fields[key])
			r.op.Logs = append(r.op.Logs, LogEntry{Time: now, Severity: SeverityInfo,
				Message: fmt.Sprintf("record %d: an interrupted attempt may have created it; found by %s %q as record %s: written", i, key, v, id)})
		} else if !slices.Contains(without, i) {
			again++
		}
	}
	if again > 0 {
		r.op.Logs = append(r.op.Logs, LogEntry{Time: now, Severity: SeverityInfo,
			Message: fmt.Sprintf("%d records an interrupted attempt may have created were not found by %s: sent again", again, key)})
	}
	r.unknownInFlight(now, without)
	return true
}

// allIndexes returns 0 to n-1.
func allIndexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// halted reports whether the run must not make another provider call.
func (r *groupRun) halted() bool { return r.err != nil || r.stopped || r.retry != nil }

// capacity returns the provider's batch limit: the size at which a group
// is sealed.
func (r *groupRun) capacity() int {
	if p, ok := r.w.providers[r.spec.Provider]; ok {
		return min(MaxBatchSize, p.Capabilities().MaxBatchSize)
	}
	return MaxBatchSize
}
