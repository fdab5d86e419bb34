package writeback

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/writebackhq/writeback/store"
)

// submitAsync stores an async write durably, with its idempotency key if
// any, and returns its operation in progress; the dispatcher runs it. Async
// writes are accepted whenever the Writer is not stopped: before Start they
// wait in the store and run once it is started (like river's insert-only
// client); after Stop they fail with [ErrStopped].
func (w *Writer) submitAsync(ctx context.Context, pr *prepared, opts *WriteOpts, key *store.IdempotencyKey) (*Result, error) {
	if !w.async.accepting() {
		return nil, fmt.Errorf("%w: async writes are refused", ErrStopped)
	}
	if opts.AutoBatch != nil {
		return w.submitAutoBatch(ctx, pr, opts, key)
	}
	p := pr.plan
	now := w.now()
	op := p.newOperation(newID(now), ModeAsync, now)
	deadline := opts.RetryDeadline
	if deadline == 0 {
		deadline = DefaultRetryDeadline
	}
	op.Deadline = now.Add(deadline)
	op.Logs = append(pr.strippedLogs(now), LogEntry{Time: now, Severity: SeverityInfo, Message: "accepted; queued for asynchronous execution"})
	rec, err := encodeOperation(op, nil)
	if err != nil {
		return nil, err
	}
	payload, err := encodeJob(jobPayload{Plan: p, Deadline: op.Deadline})
	if err != nil {
		return nil, err
	}
	job := store.Job{ID: op.ID, InstallationID: p.InstallationID, Provider: p.Provider, RunAt: now, Payload: payload}
	if key != nil {
		key.OperationID = op.ID
	}
	if err := w.store.Enqueue(ctx, rec, job, key, now); err != nil {
		var kerr *store.KeyExistsError
		if key != nil && errors.As(err, &kerr) {
			// A concurrent twin with the same key won: it is the write.
			return w.replayExisting(ctx, key, kerr.Existing)
		}
		return nil, storeError("queue async write", err)
	}
	w.async.notify()
	return op.result(), nil
}

// runJob executes one claimed plain async job: one attempt, then the outcome
// is stored, completing the operation or rescheduling it for a retry (see
// nextAttempt). A claimed job always gets its attempt, even past its
// deadline (say, when no Writer ran until then); only a retry needs the
// deadline ahead.
//
// Claims are counted twice: by the queue (job.Attempts, incremented by every
// claim) and by the operation record (Attempts, stored with every outcome).
// A claim the record does not account for was interrupted by a crash before
// its outcome was stored. An interrupted update is simply repeated. A
// create records durably the claim about to send (markSending) before its
// request leaves: in the adapter, after any wait for rate limits, when it
// has [Capabilities.BeforeSend], otherwise before the provider call. An
// interrupted claim that recorded it may have reached the provider, so
// the create is not resent but reported as an unknown outcome
// ([ClassUnknownOutcome]), unless the object has an upsert key: then its
// records are looked up by key, those found succeed and the others are
// sent again; one that did not record it sent nothing, and the create is
// sent now.
func (w *Writer) runJob(ctx context.Context, job store.Job) {
	// Store writes outlive ctx: an outcome, once known, is always saved.
	sctx := context.WithoutCancel(ctx)
	rec, err := w.store.Operation(sctx, job.ID)
	var op *Operation
	if err == nil {
		op, _, err = decodeOperation(rec)
	}
	if irreparable(err) {
		w.settleDamaged(sctx, job, err)
		return
	}
	if err != nil {
		// The lease brings the job back once the store answers again.
		w.log.Error("writeback: load queued operation", "operation", job.ID, "err", err)
		return
	}
	first, _ := w.async.claims(job.ID, job.Attempts)
	if op.Status.Terminal() {
		// Completed without its job removed, which no path does: drop the
		// job; the completion was reported when it was stored.
		if err := w.store.Complete(sctx, rec, w.async.lease(job)); err != nil {
			w.log.Error("writeback: complete operation", "operation", job.ID, "err", err)
		}
		return
	}
	payload, err := decodeJob(job.ID, job.Payload)
	if err != nil && !irreparable(err) {
		// A newer format: leave it for a writeback that reads it.
		w.log.Error("writeback: load queued operation", "operation", job.ID, "err", err)
		return
	}
	if err != nil {
		now := w.now()
		op.Attempts = first
		op.abandon(&ProviderError{Provider: job.Provider, Class: ClassInternal, Message: err.Error(), RecordIndex: NoRecord}, now)
		w.finishJob(sctx, op, job)
		return
	}
	p := payload.Plan

	start := w.now()
	var inDoubt *ProviderError // an interrupted create to look up by key
	if interrupted := first - 1 - op.Attempts; interrupted > 0 {
		msg := fmt.Sprintf("attempt %d was interrupted before its outcome was saved", first-1)
		if interrupted > 1 {
			msg = fmt.Sprintf("attempts %d to %d were interrupted before their outcome was saved", op.Attempts+1, first-1)
		}
		switch {
		case p.Type != WriteTypeCreate:
			op.Logs = append(op.Logs, LogEntry{Time: start, Severity: SeverityWarn, Message: msg + "; trying again"})
		case op.sendClaim > op.Attempts && w.hasUpsertKey(p):
			// The request may have been sent: look the records up by
			// key, and send again only those not found.
			inDoubt = &ProviderError{
				Provider: p.Provider, Class: ClassUnknownOutcome, RecordIndex: NoRecord,
				Message: msg + "; the create may or may not have been written, and its records could not be looked up by key",
			}
			op.Attempts = first - 1
			op.Logs = append(op.Logs, LogEntry{Time: start, Severity: SeverityWarn, Message: msg + "; the create may have been written: looking its records up by key"})
		case op.sendClaim > op.Attempts:
			// The request may have been sent: resending could write the
			// records twice. Report them instead.
			perr := &ProviderError{
				Provider: p.Provider, Class: ClassUnknownOutcome, RecordIndex: NoRecord,
				Message: msg + "; the create may or may not have been written, so it is not resent",
			}
			pending := pendingRecords(p, op, payload.Retry)
			op.Attempts = first - 1
			op.LastAttempt = start
			op.finish(mergeOutcome(p, op, pending, p.subset(pending).failAll(perr)), start)
			w.finishJob(sctx, op, job)
			return
		default:
			// None of them reached the provider: account for them, so
			// that they are not mistaken for sends later.
			msg = fmt.Sprintf("attempt %d was interrupted before it sent anything; sending now", first-1)
			if interrupted > 1 {
				msg = fmt.Sprintf("attempts %d to %d were interrupted before they sent anything; sending now", op.Attempts+1, first-1)
			}
			op.Attempts = first - 1
			op.Logs = append(op.Logs, LogEntry{Time: start, Severity: SeverityWarn, Message: msg})
		}
	}
	if job.CancelRequested {
		w.cancelClaimed(sctx, op, payload, nil, job)
		return
	}

	if ctx.Err() != nil {
		// Stopping: the attempt has not started, so it runs after the next Start.
		w.release(job)
		return
	}
	actx, endAttempt := w.tel.attempt(ctx, p, op.ID, op.Attempts+1, false)
	var attemptErr *ProviderError
	defer func() { endAttempt(attemptErr) }()
	// A partial batch retries only the records that failed retryably.
	pending := pendingRecords(p, op, payload.Retry)
	sub := p.subset(pending)
	var subOut *outcome
	var calls []ProviderCall
	var notes []string
	if s, perr := w.connect(actx, p.scope(), nil, attemptTimeout); perr != nil {
		if ctx.Err() != nil {
			// Stopping before anything was sent: run it after the next Start.
			w.release(job)
			return
		}
		subOut = sub.failSome(sub.toWrite(), perr)
	} else {
		records, send, err := s.current(actx, sub)
		// A create records that it is about to be sent: in the adapter,
		// after its waits (rate limits, token), when it can; otherwise
		// before the call. If it cannot, or the Writer is stopping, it is
		// not sent and the attempt ends here.
		var marked, unsent, canceled bool
		if err == nil && p.Type == WriteTypeCreate && len(send) > 0 {
			mark := func(context.Context) error {
				marked, canceled = w.markSending(sctx, op, job)
				if !marked || ctx.Err() != nil {
					unsent = true
					return errNotSent
				}
				return nil
			}
			if s.prov.Capabilities().BeforeSend {
				s.beforeSend = mark
			} else {
				_ = mark(ctx)
			}
		}
		switch {
		case err != nil:
			subOut = sub.failSome(sub.toWrite(), asProviderError(p.Provider, err))
		case !unsent && inDoubt != nil:
			subOut = s.resolveUnknown(actx, sub, records, sub.failSome(send, inDoubt))
		case !unsent:
			subOut = s.write(actx, sub, records, send)
		}
		if unsent {
			switch {
			case canceled:
				// A cancel came before the send: nothing was sent.
				w.cancelClaimed(sctx, op, payload, nil, job)
			case marked:
				// Stopping: nothing was sent; run it after the next Start.
				w.release(job)
			}
			return
		}
		calls, notes = s.calls, s.notes
	}
	out := mergeOutcome(p, op, pending, subOut)
	end := w.now()
	_, latest := w.async.claims(job.ID, job.Attempts)
	op.Attempts = latest
	op.LastAttempt = start
	op.UpdatedAt = end
	op.logCalls(op.Attempts, calls, end)
	op.logNotes(notes, end)

	perr := retryError(p, out)
	attemptErr = perr
	if perr == nil {
		op.finish(out, end)
		w.finishJob(sctx, op, job)
		return
	}
	runAt, retry := nextAttempt(p.Type, perr, op.Attempts, end, payload.Deadline)
	if retry {
		w.tel.retry(ctx, p.Provider, perr)
		if !p.AllOrNone && len(p.Records) > 1 {
			op.Results = out.Results // progress: what succeeded is not sent again
		}
		op.Logs = append(op.Logs, LogEntry{
			Time: end, Severity: SeverityWarn, Error: perr,
			Message: fmt.Sprintf("attempt %d failed; next attempt at %s (in %s)", op.Attempts, runAt.UTC().Format(time.RFC3339), runAt.Sub(end).Round(time.Millisecond)),
		})
		rec, err := encodeOperation(op, nil)
		if err == nil {
			err = w.persist(sctx, func(ctx context.Context) error { return w.store.Reschedule(ctx, rec, w.async.lease(job), runAt) })
		}
		if errors.Is(err, store.ErrCancelRequested) {
			op.Logs[len(op.Logs)-1].Message = fmt.Sprintf("attempt %d failed; it is not retried: a cancel was requested", op.Attempts)
			w.cancelClaimed(sctx, op, payload, out, job)
			return
		}
		if err != nil {
			w.log.Error("writeback: reschedule operation", "operation", op.ID, "err", err)
		}
		return
	}
	switch {
	case perr.Class == ClassUnknownOutcome && p.Type == WriteTypeCreate:
		op.Logs = append(op.Logs, LogEntry{Time: end, Severity: SeverityError, Error: perr,
			Message: fmt.Sprintf("attempt %d: the create may or may not have been written; it is not resent", op.Attempts)})
	case retryable(p.Type, perr):
		op.Logs = append(op.Logs, LogEntry{Time: end, Severity: SeverityError, Error: perr,
			Message: fmt.Sprintf("attempt %d failed and the retry deadline %s has passed; giving up", op.Attempts, payload.Deadline.UTC().Format(time.RFC3339))})
	}
	op.finish(out, end)
	w.finishJob(sctx, op, job)
}

// errNotSent is what an async create's BeforeSend returns when the create
// must not be sent after all.
var errNotSent = errors.New("writeback: the create was not sent: the writer is stopping, or its lease or store failed")

// markSending records durably, before a create's request leaves, that the
// job's latest claim is about to send, so that a restart after a crash
// knows the create may have been written. The record goes with a renewal
// of the lease (a heartbeat, through the store's group commit), which also
// fences it: a claim whose lease was lost records nothing and must not
// send. A store that fails for a while is asked again (persist). It
// reports whether the create may be sent; when not, the job is left to
// whoever holds it, or to its lease's end, unless a cancel was requested
// (canceled): the caller then ends the job as canceled.
func (w *Writer) markSending(ctx context.Context, op *Operation, job store.Job) (ok, canceled bool) {
	lease := w.async.lease(job)
	op.sendClaim = lease.Attempt
	rec, err := encodeOperation(op, nil)
	if err == nil {
		err = w.persist(ctx, func(ctx context.Context) error {
			return w.store.Renew(ctx, rec, lease, w.now().Add(w.async.leaseTime))
		})
	}
	switch {
	case errors.Is(err, store.ErrCancelRequested):
		return false, true
	case errors.Is(err, store.ErrLeaseLost):
		w.log.Warn("writeback: create not sent: its lease was lost", "operation", op.ID, "err", err)
		return false, false
	case err != nil:
		w.log.Error("writeback: record a create about to be sent", "operation", op.ID, "err", err)
		return false, false
	}
	return true, false
}

// finishJob stores a terminal operation, removes its job and reports the
// completion. An operation with records not written keeps the job's plan,
// for [Writer.Retry].
func (w *Writer) finishJob(ctx context.Context, op *Operation, job store.Job) {
	f := finished{op: op}
	if op.Status != OperationSuccess || op.FailureCount() > 0 {
		if payload, err := decodeJob(job.ID, job.Payload); err == nil {
			f.plan, f.window = payload.Plan, payload.window(op)
		}
	}
	rec, err := f.record()
	if err == nil {
		err = w.persist(ctx, func(ctx context.Context) error { return w.store.Complete(ctx, rec, w.async.lease(job)) })
	}
	if err != nil {
		w.log.Error("writeback: complete operation", "operation", op.ID, "err", err)
		return
	}
	w.tel.done(ctx, op, job.Provider)
	w.completed(op)
}

// settleDamaged fails the operation of a claimed job whose stored records
// cannot be read (cause), so that one damaged entry never holds up the
// queue: the job is completed with a new failed record of its operation,
// and the store keeps the damaged one where it can (boltstore's
// quarantine).
func (w *Writer) settleDamaged(ctx context.Context, job store.Job, cause error) {
	now := w.now()
	op := &Operation{ID: job.ID, InstallationID: job.InstallationID, Mode: ModeAsync, AutoBatch: job.Group != "", Attempts: job.Attempts, CreatedAt: now}
	op.abandon(&ProviderError{Provider: job.Provider, Class: ClassInternal, RecordIndex: NoRecord,
		Message: "the write's stored records are damaged, so it cannot run: " + cause.Error()}, now)
	w.log.Error("writeback: damaged operation failed", "operation", job.ID, "err", cause)
	w.finishJob(ctx, op, job)
}

// pendingRecords returns the indexes of the plan's records the next attempt
// sends: all of them, unless an earlier attempt of a partial batch stored
// its results, in which case only those that failed retryably. Until a
// retried operation records an attempt, they are those its retry names.
func pendingRecords(p *plan, op *Operation, retry *retryStart) []int {
	if retry != nil && op.Attempts == retry.Attempts {
		return retry.Records
	}
	all := make([]int, 0, len(p.Records))
	progress := !p.AllOrNone && len(p.Records) > 1 && len(op.Results) == len(p.Records)
	for i := range p.Records {
		if !progress || (op.Results[i].Err != nil && retryable(p.Type, op.Results[i].Err)) {
			all = append(all, i)
		}
	}
	return all
}

// mergeOutcome places the outcome of the pending records into the results
// an earlier attempt stored, giving the outcome of the whole plan.
func mergeOutcome(p *plan, op *Operation, pending []int, sub *outcome) *outcome {
	if len(pending) == len(p.Records) {
		return sub
	}
	out := &outcome{Results: append([]RecordResult(nil), op.Results...), Compensation: sub.Compensation, AllOrNone: sub.AllOrNone}
	for j, i := range pending {
		r := sub.Results[j]
		if r.Err != nil && r.Err.RecordIndex != NoRecord {
			e := *r.Err
			e.RecordIndex = i
			r.Err = &e
		}
		out.Results[i] = r
	}
	return out
}
