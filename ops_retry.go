package writeback

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Retry sends a finished operation's unwritten records again: a failed or
// canceled operation, or a success with failed records (a partial batch or
// an auto-batch group). It queues a new attempt, due now, with a fresh
// retry deadline as long as the write's own (1 h for a sync write), on the
// same operation: the operation is in progress again, its log says so, and
// a started Writer runs it like any async write, retrying retryable
// failures until the new deadline. It returns the operation as queued.
//
// The records written before keep their results and are not sent again.
// A batch that was all-or-nothing is sent again whole. Creates whose
// outcome is unknown ([ClassUnknownOutcome]) are never sent again: they
// may exist at the provider, so look there first and write them anew if
// they do not. An auto-batch group is sent as one partial batch of its
// unwritten records; it is retried by its master operation's ID, not by
// one record's handle ([Result.MemberID], which fails with
// [ErrCannotRetry]).
//
// Retry fails with a [*ValidationError] wrapping [ErrCannotRetry] when
// there is nothing it may send: the operation is unfinished or fully
// written, its only unwritten records have an unknown outcome, or it was
// stored without its records ([Retention.OmitValues], or by a writeback
// before the records were kept), and with [ErrNotFound] for an unknown ID.
func (w *Writer) Retry(ctx context.Context, id string) (*Operation, error) {
	if master, _, ok := splitMemberID(id); ok {
		return nil, invalid(ErrCannotRetry, "id", "%s is one record of the auto-batch group %s, which is retried whole: retry %s", id, master, master)
	}
	for range maxStateTries {
		op, err := w.tryRetry(ctx, id)
		if !errors.Is(err, errChanged) {
			return op, err
		}
	}
	return nil, fmt.Errorf("writeback: retry operation %s: it kept changing while retrying: %w", id, ErrConflict)
}

// errChanged reports an operation that changed while Retry looked at it.
var errChanged = errors.New("changed")

// tryRetry makes one attempt at Retry.
func (w *Writer) tryRetry(ctx context.Context, id string) (*Operation, error) {
	rec, err := w.store.Operation(ctx, id)
	if err != nil {
		return nil, storeError(fmt.Sprintf("operation %q", id), err)
	}
	s, err := decodeStored(rec)
	if err != nil {
		return nil, err
	}
	op := s.Operation
	cannot := func(format string, args ...any) (*Operation, error) {
		return op, invalid(ErrCannotRetry, "id", "operation %s %s", id, fmt.Sprintf(format, args...))
	}
	switch {
	case !op.Status.Terminal():
		return cannot("is in progress: it is still being written or retried")
	case op.Status == OperationSuccess && op.FailureCount() == 0:
		return cannot("wrote every record: there is nothing to retry")
	case s.OmitValues:
		return cannot("was stored without field values (Retention.OmitValues): its records were not kept, so it cannot be sent again")
	case s.Retry == nil:
		return cannot("kept no copy of its records (stored by an earlier version of writeback), so it cannot be sent again")
	}
	p := s.Retry.Plan
	resend, unknown := retryRecords(p, op.Results)
	if len(resend) == 0 {
		if len(unknown) > 0 {
			return cannot("has no record to send again: the %d records not written are creates whose outcome is unknown; look for them at the provider and write them anew if they are not there", len(unknown))
		}
		return cannot("has no record to send again")
	}
	seen := map[string]int{}
	for _, i := range resend {
		if rid := p.Records[i].ID; rid != "" {
			if j, dup := seen[rid]; dup {
				return cannot("updates record %s twice (records %d and %d): one batch cannot carry both; write them anew", rid, j, i)
			}
			seen[rid] = i
		}
	}

	now := w.now()
	window := min(max(s.Retry.Window, MinRetryDeadline), MaxRetryDeadline)
	next := *op
	next.Status = OperationInProgress
	next.Deadline = now.Add(window)
	next.UpdatedAt = now
	next.Summary = fmt.Sprintf("retry requested: %d of %d records are sent again", len(resend), len(p.Records))
	if len(resend) == len(p.Records) {
		next.Results, next.SuccessfulRecordIDs, next.Compensation = nil, nil, nil
	}
	next.Logs = append(append([]LogEntry(nil), op.Logs...), LogEntry{Time: now, Severity: SeverityInfo,
		Message: fmt.Sprintf("%s; retries until %s", next.Summary, next.Deadline.UTC().Format(time.RFC3339))})
	nextRec, err := encodeOperation(&next, nil)
	if err != nil {
		return nil, err
	}
	payload, err := encodeJob(jobPayload{Plan: p, Deadline: next.Deadline, Retry: &retryStart{Attempts: op.Attempts, Records: resend, Window: window}})
	if err != nil {
		return nil, err
	}
	job := store.Job{ID: id, InstallationID: p.InstallationID, Provider: p.Provider, RunAt: now, Attempts: op.Attempts, Payload: payload}
	err = w.store.Requeue(ctx, store.RequeueRequest{Op: nextRec, Prev: rec.Data, Job: job})
	switch {
	case errors.Is(err, ErrConflict):
		return nil, errChanged
	case err != nil:
		return nil, storeError(fmt.Sprintf("retry operation %q", id), err)
	}
	w.async.notify()
	return &next, nil
}

// retryRecords returns the indexes of the records a retry sends and of
// those it must not (creates whose outcome is unknown). A batch that is
// not partial is sent whole or not at all.
func retryRecords(p *plan, results []RecordResult) (resend, unknown []int) {
	all := make([]int, len(p.Records))
	for i := range all {
		all[i] = i
	}
	if len(results) != len(p.Records) {
		return all, nil
	}
	for i, r := range results {
		switch {
		case r.Err == nil:
		case r.Err.Class == ClassUnknownOutcome && p.Type == WriteTypeCreate:
			unknown = append(unknown, i)
		default:
			resend = append(resend, i)
		}
	}
	if partial := !p.AllOrNone && len(p.Records) > 1; !partial {
		if len(unknown) > 0 {
			return nil, unknown
		}
		return all, nil
	}
	return resend, unknown
}
