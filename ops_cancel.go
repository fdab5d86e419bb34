package writeback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Cancel cancels an unfinished async operation: one queued, or waiting for
// a retry, or an auto-batch group still filling. It returns the operation
// as it is after the call.
//
// If no attempt is running, the operation ends at once with status
// [OperationCanceled]: its records get a [ClassCanceled] error, except
// those an earlier attempt already wrote, which keep their results, and
// [Writer.Wait] and [Config.OnComplete] report it. If an attempt is in
// flight, Cancel records the request and returns the operation still in
// progress: the attempt finishes and its outcome is kept; if it leaves
// records to retry, there is no retry and the operation ends canceled
// instead. An attempt that writes everything ends the operation in success:
// the cancel came too late.
//
// The records of an auto-batch group share its master operation, so
// canceling cancels the whole group, every record that joined so far;
// later writes open a new group. One record of a group cannot be canceled
// on its own: the handle of one ([Result.MemberID]) fails with
// [ErrCannotCancel].
//
// Cancel of a finished operation, or of a sync write (which finishes with
// its call), fails with a [*ValidationError] wrapping [ErrCannotCancel];
// an unknown ID with [ErrNotFound]. A canceled operation can be sent again
// with [Writer.Retry].
func (w *Writer) Cancel(ctx context.Context, id string) (*Operation, error) {
	if master, _, ok := splitMemberID(id); ok {
		return nil, invalid(ErrCannotCancel, "id", "%s is one record of the auto-batch group %s, which is canceled whole: cancel %s", id, master, master)
	}
	for range maxStateTries {
		op, done, err := w.tryCancel(ctx, id)
		if done || err != nil {
			return op, err
		}
	}
	return nil, fmt.Errorf("writeback: cancel operation %s: it kept changing while canceling: %w", id, ErrConflict)
}

// maxStateTries bounds how often Cancel and Retry read an operation again
// after it changed under them.
const maxStateTries = 10

// tryCancel makes one attempt at Cancel; done false means the operation
// changed meanwhile and the caller should look again.
func (w *Writer) tryCancel(ctx context.Context, id string) (*Operation, bool, error) {
	rec, err := w.store.Operation(ctx, id)
	if err != nil {
		return nil, true, storeError(fmt.Sprintf("operation %q", id), err)
	}
	op, _, err := decodeOperation(rec)
	if err != nil {
		return nil, true, err
	}
	if op.Status.Terminal() {
		return op, true, invalid(ErrCannotCancel, "id", "operation %s is %s: only an unfinished operation can be canceled", id, op.Status)
	}
	job, err := w.store.Job(ctx, id)
	if errors.Is(err, ErrNotFound) {
		if op.Mode == ModeSync && op.Deadline.IsZero() {
			return op, true, invalid(ErrCannotCancel, "id", "operation %s is a synchronous write: it finishes with its call", id)
		}
		return nil, false, nil // finished meanwhile
	}
	if err != nil {
		return nil, true, storeError(fmt.Sprintf("cancel operation %q", id), err)
	}
	now := w.now()
	final, members, err := w.canceledOperation(ctx, op, job, now)
	if err != nil {
		return nil, true, err
	}
	finalRec, err := final.record()
	if err != nil {
		return nil, true, err
	}
	removed, err := w.store.Cancel(ctx, store.CancelRequest{Op: finalRec, Prev: rec.Data, Members: members, Now: now})
	switch {
	case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, true, storeError(fmt.Sprintf("cancel operation %q", id), err)
	case !removed:
		w.log.Info("writeback: cancel requested; the attempt in flight finishes first", "operation", id)
		return op, true, nil
	}
	w.completed(final.op)
	return final.op, true, nil
}

// finished is a terminal operation with what its stored record keeps for
// a retry.
type finished struct {
	op     *Operation
	plan   *plan
	window time.Duration
}

// record encodes f for the store.
func (f finished) record() (store.Operation, error) {
	return encodeFinished(f.op, f.plan, f.window)
}

// canceledOperation returns op canceled at now, as a job not running makes
// it: records an earlier attempt settled keep their results, the others
// are canceled. For a group it also returns the number of members it read.
func (w *Writer) canceledOperation(ctx context.Context, op *Operation, job store.Job, now time.Time) (finished, int, error) {
	const why = "canceled by request"
	if job.Group != "" {
		r, err := w.loadGroup(ctx, job)
		if err != nil {
			return finished{}, 0, err
		}
		r.op.UpdatedAt = now
		return r.canceled(now, why), len(r.members), nil
	}
	cp := *op
	payload, err := decodeJob(job.ID, job.Payload)
	if err != nil {
		cp.canceled(nil, now, why)
		return finished{op: &cp}, 0, nil
	}
	p := payload.Plan
	cp.canceled(cancelResults(p, op.Results, pendingRecords(p, op, payload.Retry), op.lastError()), now, why)
	return finished{op: &cp, plan: p, window: payload.window(op)}, 0, nil
}

// cancelClaimed ends a claimed plain job as canceled: out is the outcome
// of the attempt just made, or nil when none was (the job was claimed with
// a cancel request). It stores the operation and reports its completion.
func (w *Writer) cancelClaimed(ctx context.Context, op *Operation, payload jobPayload, out *outcome, job store.Job) {
	now := w.now()
	p := payload.Plan
	why := "canceled by request before this attempt"
	results, pending := op.Results, pendingRecords(p, op, payload.Retry)
	if out != nil {
		why = fmt.Sprintf("canceled by request during attempt %d: no retry", op.Attempts)
		results, pending = out.Results, pendingRecords(p, &Operation{Results: out.Results}, nil)
	}
	op.canceled(cancelResults(p, results, pending, op.lastError()), now, why)
	w.finishJob(ctx, op, job)
}

// cancelResults returns the results of a canceled plan: those of base,
// except the records pending, which get a [ClassCanceled] error carrying
// their last error (their own in base, or else last), if any. A base of
// another length than the plan's holds nothing.
func cancelResults(p *plan, base []RecordResult, pending []int, last *ProviderError) []RecordResult {
	out := make([]RecordResult, len(p.Records))
	if len(base) == len(p.Records) {
		copy(out, base)
	}
	for _, i := range pending {
		last := last
		if len(base) == len(p.Records) && base[i].Err != nil {
			last = base[i].Err
		}
		out[i] = RecordResult{ID: p.Records[i].ID, Err: canceledError(p.Provider, i, last)}
		if p.Type == WriteTypeCreate {
			out[i].ID = ""
		}
	}
	return out
}

// canceledError is the error of record i, not written because its
// operation was canceled; last is the error of its last attempt, if any.
func canceledError(provider string, i int, last *ProviderError) *ProviderError {
	msg := "canceled before it was written"
	if last != nil && last.Class != ClassCanceled {
		msg += "; its last attempt failed: " + last.Error()
	} else if last != nil {
		msg = last.Message
	}
	return &ProviderError{Provider: provider, Class: ClassCanceled, Message: msg, RecordIndex: i}
}

// lastError returns the error of the operation's latest log entry that
// has one, or nil.
func (o *Operation) lastError() *ProviderError {
	for i := len(o.Logs) - 1; i >= 0; i-- {
		if o.Logs[i].Error != nil {
			return o.Logs[i].Error
		}
	}
	return nil
}

// canceled records that the operation was canceled at now, with one
// result per record; why says how.
func (o *Operation) canceled(results []RecordResult, now time.Time, why string) {
	o.Status = OperationCanceled
	o.Results = results
	o.SuccessfulRecordIDs = nil
	for _, r := range results {
		if r.Success() && r.ID != "" {
			o.SuccessfulRecordIDs = append(o.SuccessfulRecordIDs, r.ID)
		}
	}
	o.UpdatedAt = now
	ok := o.SuccessCount()
	switch {
	case len(results) == 0:
		o.Summary = "canceled"
	case ok > 0:
		o.Summary = fmt.Sprintf("canceled: %d of %d records not written (%d written before the cancel)", len(results)-ok, len(results), ok)
	default:
		o.Summary = fmt.Sprintf("canceled: %d of %d records not written", len(results), len(results))
	}
	o.Logs = append(o.Logs, LogEntry{Time: now, Severity: SeverityWarn, Message: why + "; " + o.Summary})
}

// canceled ends the group's run as canceled at now: members without a
// final result are canceled, except creates an interrupted run may have
// sent, which are reported as unknown outcomes.
func (r *groupRun) canceled(now time.Time, why string) finished {
	st := r.state
	if len(st.Results) != len(r.members) {
		st.Results = make([]*RecordResult, len(r.members))
	}
	r.recoverInFlight(now)
	last := r.retry
	if last == nil {
		last = r.op.lastError()
	}
	for _, i := range st.pending() {
		r.final(i, RecordResult{Err: canceledError(r.spec.Provider, i, last)})
	}
	results := make([]RecordResult, len(st.Results))
	for i, res := range st.Results {
		results[i] = *res
	}
	r.op.canceled(results, now, why)
	return finished{op: r.op, plan: r.retryPlan(), window: r.spec.RetryDeadline}
}

// cancelRun ends a claimed group whose cancel was requested: it stores the
// master operation as canceled, removes the job and reports the
// completion.
func (r *groupRun) cancelRun(ctx context.Context, why string) error {
	f := r.canceled(r.w.now(), why)
	rec, err := f.record()
	if err != nil {
		return err
	}
	if err := r.w.store.Complete(ctx, rec, r.w.async.lease(r.job)); err != nil {
		return fmt.Errorf("writeback: cancel auto-batch group %s: %w", r.op.ID, err)
	}
	r.w.completed(r.op)
	return nil
}

// retryPlan returns the group as one plan: a partial batch of its members
// in join order, as they joined (before the ifEmpty rules were applied).
func (r *groupRun) retryPlan() *plan {
	idx := make([]int, len(r.members))
	for i := range idx {
		idx[i] = i
	}
	p := r.plan(idx)
	for i, m := range r.members {
		p.Records[i] = m.Record
		if len(m.IfEmpty) > 0 {
			if p.IfEmpty == nil {
				p.IfEmpty = make([][]string, len(r.members))
			}
			p.IfEmpty[i] = slices.Clone(m.IfEmpty)
		}
	}
	return p
}

// window returns the length of the retry window of the operation a job
// runs: the retry's, or the one the write asked for.
func (p jobPayload) window(op *Operation) time.Duration {
	if p.Retry != nil {
		return p.Retry.Window
	}
	return p.Deadline.Sub(op.CreatedAt)
}

// cancelReleased ends as canceled a claimed job that the stopping Writer
// did not start and whose cancel was requested meanwhile.
func (w *Writer) cancelReleased(ctx context.Context, job store.Job) error {
	if job.Group != "" {
		r, err := w.loadGroup(ctx, job)
		if err != nil {
			return err
		}
		return r.cancelRun(ctx, "canceled by request before this run")
	}
	rec, err := w.store.Operation(ctx, job.ID)
	if err != nil {
		return err
	}
	op, _, err := decodeOperation(rec)
	if err != nil {
		return err
	}
	payload, err := decodeJob(job.ID, job.Payload)
	if err != nil {
		return err
	}
	w.cancelClaimed(ctx, op, payload, nil, job)
	return nil
}
