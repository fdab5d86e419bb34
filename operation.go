package writeback

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OperationStatus is the state of an [Operation].
type OperationStatus string

// The operation statuses, as in the hosted Operations API.
const (
	// OperationInProgress: queued, accumulating (auto-batch), executing or
	// waiting to retry.
	OperationInProgress OperationStatus = "in_progress"
	// OperationSuccess: the write completed. A batch may still have failed
	// records: read Results and SuccessfulRecordIDs.
	OperationSuccess OperationStatus = "success"
	// OperationFailure: the write failed, e.g. a non-retryable error or the
	// retry deadline passed.
	OperationFailure OperationStatus = "failure"
	// OperationCanceled: [Writer.Cancel] stopped the write before it
	// finished. Records written before keep their results; the others
	// carry a [ClassCanceled] error. The hosted API has no such status.
	OperationCanceled OperationStatus = "canceled"
)

// Terminal reports whether the status is final: success, failure or
// canceled.
func (s OperationStatus) Terminal() bool {
	return s == OperationSuccess || s == OperationFailure || s == OperationCanceled
}

// Operation is the durable record of one write: a sync or async single
// write, a batch, or an auto-batch group's master operation. It is a
// snapshot read from the store, with nothing running behind it.
type Operation struct {
	// ID identifies the operation; IDs are time-ordered.
	ID string `json:"id"`
	// InstallationID is the installation written for.
	InstallationID string `json:"installationId"`
	// Integration is the manifest integration name.
	Integration string `json:"integration"`
	// GroupRef is the installation's groupRef.
	GroupRef string `json:"groupRef"`
	// Object is the write object's name as the request gave it.
	Object string `json:"object"`
	// Type is create, update or delete.
	Type WriteType `json:"type"`
	// Mode is sync or async.
	Mode Mode `json:"mode"`
	// AutoBatch reports an auto-batch group's master operation, or the
	// view of one of its records.
	AutoBatch bool `json:"autoBatch,omitempty"`
	// Group is set on the view of one record of an auto-batch group, got
	// with the record's [Result.MemberID]: it is the group's master
	// operation ID, and ID is the member's handle.
	Group string `json:"group,omitempty"`
	// Status is in_progress, success, failure or canceled.
	Status OperationStatus `json:"status"`
	// Summary is a one-line account for people, e.g. "batch write
	// completed (3 succeeded, 1 failed)".
	Summary string `json:"summary,omitempty"`
	// Results holds one result per record, in request order (for an
	// auto-batch group, in join order). Empty while in progress, except
	// for an async partial batch waiting to retry the records that failed
	// retryably: it then holds the results so far.
	Results []RecordResult `json:"results,omitempty"`
	// SuccessfulRecordIDs lists the provider IDs of the records written.
	SuccessfulRecordIDs []string `json:"successfulRecordIds,omitempty"`
	// Compensation reports an emulated all-or-nothing batch that was undone.
	Compensation *Compensation `json:"compensation,omitempty"`
	// Attempts counts provider attempts.
	Attempts int `json:"attempts"`
	// ProviderCalls counts the HTTP requests sent to the provider over
	// every attempt, the adapter's resends within an attempt included:
	// one attempt may make several (a resend after a 503 or a short rate
	// limit, a read before the write). The log has a line per attempt
	// listing them.
	ProviderCalls int `json:"providerCalls,omitempty"`
	// LastAttempt is the time of the latest attempt.
	LastAttempt time.Time `json:"lastAttempt,omitzero"`
	// Deadline is when retries stop (async only).
	Deadline time.Time `json:"deadline,omitzero"`
	// CreatedAt is when the operation was accepted.
	CreatedAt time.Time `json:"createTime"`
	// UpdatedAt is when the operation last changed.
	UpdatedAt time.Time `json:"updateTime"`
	// Logs records what happened, oldest first.
	Logs []LogEntry `json:"logs,omitempty"`

	// sendClaim is, for a plain async create in progress, the latest claim
	// of its job (store.Job.Attempts) that recorded, before its provider
	// call, that it was about to send (see Writer.runJob); zero if none.
	// It is stored with the operation (format.go), never shown.
	sendClaim int
	// omitValues: stored without field values ([Retention.OmitValues]).
	omitValues bool
}

// SuccessCount returns the number of records written.
func (o *Operation) SuccessCount() int { return countWritten(o.Results) }

// UnchangedCount returns the number of records the installation's rules
// left with nothing to write, which were not sent.
func (o *Operation) UnchangedCount() int { return countUnchanged(o.Results) }

// FailureCount returns the number of records that failed.
func (o *Operation) FailureCount() int { return countFailed(o.Results) }

func countWritten(rs []RecordResult) int {
	n := 0
	for _, r := range rs {
		if r.Written() {
			n++
		}
	}
	return n
}

func countUnchanged(rs []RecordResult) int {
	n := 0
	for _, r := range rs {
		if r.Err == nil && r.Unchanged {
			n++
		}
	}
	return n
}

func countFailed(rs []RecordResult) int {
	n := 0
	for _, r := range rs {
		if r.Err != nil {
			n++
		}
	}
	return n
}

// finish records a terminal outcome on the operation.
//
// The operation succeeds when no record failed. When some did, it fails,
// except a partial batch (or an auto-batch group) that wrote at least one
// record. An all-or-nothing batch thus succeeds only if every record that
// needed writing was written; records the rules left unchanged are never
// counted as written.
func (o *Operation) finish(out *outcome, now time.Time) {
	o.sendClaim = 0
	o.Results = out.Results
	o.Compensation = out.Compensation
	o.SuccessfulRecordIDs = nil
	for _, r := range out.Results {
		if r.Written() && r.ID != "" {
			o.SuccessfulRecordIDs = append(o.SuccessfulRecordIDs, r.ID)
		}
	}
	written, unchanged, failed := o.SuccessCount(), o.UnchangedCount(), o.FailureCount()
	switch {
	case len(o.Results) > 0 && failed == 0:
		o.Status = OperationSuccess
	case failed > 0 && written > 0 && !out.AllOrNone:
		o.Status = OperationSuccess
	default:
		o.Status = OperationFailure
	}
	o.UpdatedAt = now
	cause := o.cause()
	single := len(o.Results) == 1 && !o.AutoBatch
	switch {
	case single && written == 1:
		o.Summary = fmt.Sprintf("%s %s record %s", pastTense(o.Type), o.Object, o.Results[0].ID)
	case single && unchanged == 1 && o.Results[0].ID != "":
		o.Summary = fmt.Sprintf("%s record %s unchanged: the installation's rules left nothing to write", o.Object, o.Results[0].ID)
	case single && unchanged == 1:
		o.Summary = fmt.Sprintf("%s record not created: the installation's rules left nothing to write", o.Object)
	case single:
		o.Summary = fmt.Sprintf("[%s] error writing to provider: %v", o.Object, cause)
	default:
		counts := fmt.Sprintf("%d succeeded, %d failed", written, failed)
		if rolled := countClass(o.Results, ClassRolledBack); rolled > 0 {
			counts += fmt.Sprintf(" (%d of them rolled back)", rolled)
		}
		if unchanged > 0 {
			counts += fmt.Sprintf(", %d unchanged", unchanged)
		}
		if o.Status == OperationSuccess {
			o.Summary = fmt.Sprintf("batch write completed (%s)", counts)
		} else {
			o.Summary = fmt.Sprintf("batch write failed (%s): %v", counts, cause)
		}
	}
	if o.Compensation != nil {
		o.Summary += fmt.Sprintf("; compensated: %d restored, %d not restored", len(o.Compensation.Restored), len(o.Compensation.Unrestored))
	}
	sev := SeverityInfo
	if o.Status == OperationFailure {
		sev = SeverityError
	} else if failed > 0 {
		sev = SeverityWarn
	}
	o.Logs = append(o.Logs, LogEntry{Time: now, Severity: sev, Message: o.Summary, Error: cause})
}

// countClass returns the number of results that failed with class c.
func countClass(rs []RecordResult, c ErrorClass) int {
	n := 0
	for _, r := range rs {
		if r.Err != nil && r.Err.Class == c {
			n++
		}
	}
	return n
}

// abandon fails an operation that cannot run at all, whose records have
// no results: perr says why.
func (o *Operation) abandon(perr *ProviderError, now time.Time) {
	o.Status = OperationFailure
	o.Summary = perr.Message
	o.UpdatedAt = now
	o.Logs = append(o.Logs, LogEntry{Time: now, Severity: SeverityError, Message: perr.Message, Error: perr})
}

// cause returns the error that best explains the failed records: the first
// that is not a rollback, or nil if every record succeeded.
func (o *Operation) cause() *ProviderError {
	var first *ProviderError
	for _, r := range o.Results {
		if r.Err == nil {
			continue
		}
		if r.Err.Class != ClassRolledBack {
			return r.Err
		}
		if first == nil {
			first = r.Err
		}
	}
	return first
}

// err returns the error a write call reports: the cause when the operation
// failed, nil otherwise.
func (o *Operation) err() error {
	if o.Status != OperationFailure {
		return nil
	}
	if c := o.cause(); c != nil {
		return c
	}
	return fmt.Errorf("writeback: operation %s failed: %s", o.ID, o.Summary)
}

// result returns the caller's view of the operation.
func (o *Operation) result() *Result {
	return &Result{
		OperationID:  o.ID,
		Status:       o.Status,
		Records:      o.Results,
		Compensation: o.Compensation,
	}
}

func pastTense(t WriteType) string {
	switch t {
	case WriteTypeCreate:
		return "created"
	case WriteTypeUpdate:
		return "updated"
	case WriteTypeDelete:
		return "deleted"
	case WriteTypeUpsert:
		return "upserted"
	}
	return string(t)
}

// Severity is a log entry's level.
type Severity string

// The severities.
const (
	SeverityDebug Severity = "DEBUG"
	SeverityInfo  Severity = "INFO"
	SeverityWarn  Severity = "WARN"
	SeverityError Severity = "ERROR"
)

// LogEntry is one line of an operation's log.
type LogEntry struct {
	// Time is when it happened.
	Time time.Time `json:"timestamp"`
	// Severity is the level.
	Severity Severity `json:"severity"`
	// Message says what happened.
	Message string `json:"message"`
	// Error is the error, if any.
	Error *ProviderError `json:"error,omitempty"`
	// Calls lists the provider calls an attempt made, on the line that
	// sums them up: method, path, status and wait, never bodies, headers
	// or credentials.
	Calls []ProviderCall `json:"calls,omitempty"`
}

// logNotes adds the warnings of an attempt's session to the log.
func (o *Operation) logNotes(notes []string, now time.Time) {
	for _, n := range notes {
		o.Logs = append(o.Logs, LogEntry{Time: now, Severity: SeverityWarn, Message: n})
	}
}

// logCalls records the provider calls of attempt: their number on
// ProviderCalls and one log line listing them, such as "attempt 1: 4
// provider calls: POST /crm/v3/objects/contacts 503, 503 after 1s, 503
// after 2s, 201 after 4s". An attempt that made no call logs nothing.
func (o *Operation) logCalls(attempt int, calls []ProviderCall, now time.Time) {
	if len(calls) == 0 {
		return
	}
	o.ProviderCalls += len(calls)
	var b strings.Builder
	fmt.Fprintf(&b, "attempt %d: %d provider call", attempt, len(calls))
	if len(calls) > 1 {
		b.WriteString("s")
	}
	for i, c := range calls {
		switch {
		case i == 0:
			b.WriteString(": ")
		case c.Method == calls[i-1].Method && c.Path == calls[i-1].Path:
			b.WriteString(", ")
		default:
			b.WriteString("; ")
		}
		if i == 0 || c.Method != calls[i-1].Method || c.Path != calls[i-1].Path {
			fmt.Fprintf(&b, "%s %s ", c.Method, c.Path)
		}
		if c.Status == 0 {
			b.WriteString("no answer")
		} else {
			fmt.Fprint(&b, c.Status)
		}
		if wait := c.Wait.Round(time.Millisecond); wait > 0 {
			fmt.Fprintf(&b, " after %s", wait)
		}
	}
	o.Logs = append(o.Logs, LogEntry{Time: now, Severity: SeverityInfo, Message: b.String(), Calls: slices.Clone(calls)})
}

// Operation returns the operation with the given ID, or an error wrapping
// [ErrNotFound].
//
// Given the [Result.MemberID] of an auto-batched write, it returns the
// group's operation narrowed to that record: ID is the member's handle,
// Group the master operation's ID, Status the record's own (in_progress
// while the group is not done, then success or failure for this record),
// and Results, once done, its one result.
func (w *Writer) Operation(ctx context.Context, id string) (*Operation, error) {
	master, member, isMember := splitMemberID(id)
	rec, err := w.store.Operation(ctx, master)
	if err != nil {
		return nil, storeError(fmt.Sprintf("operation %q", id), err)
	}
	op, group, err := decodeOperation(rec)
	if err != nil || !isMember {
		return op, err
	}
	return w.memberView(ctx, op, group, member, id)
}

// memberID returns the handle of member i of the group whose master
// operation is master.
func memberID(master string, i int) string { return master + ":" + strconv.Itoa(i) }

// splitMemberID splits a member handle into the master operation's ID and
// the member's position. An operation ID returns itself and false.
func splitMemberID(id string) (master string, member int, ok bool) {
	master, pos, found := strings.Cut(id, ":")
	if !found {
		return id, 0, false
	}
	n, err := strconv.Atoi(pos)
	if err != nil || n < 0 || strconv.Itoa(n) != pos {
		return id, 0, false
	}
	return master, n, true
}

// memberView narrows a group's master operation to member i.
func (w *Writer) memberView(ctx context.Context, op *Operation, group *groupState, i int, id string) (*Operation, error) {
	notFound := fmt.Errorf("writeback: operation %q: %w", id, ErrNotFound)
	if !op.AutoBatch {
		return nil, notFound
	}
	n := len(op.Results)
	switch {
	case op.Status.Terminal():
	case group != nil && len(group.Results) > 0:
		n = len(group.Results)
	default:
		members, err := w.store.Members(ctx, op.ID)
		if err != nil {
			return nil, storeError(fmt.Sprintf("operation %q", id), err)
		}
		n = len(members)
	}
	if i >= n {
		return nil, notFound
	}
	m := *op
	m.ID, m.Group = id, op.ID
	m.Results, m.SuccessfulRecordIDs, m.Compensation = nil, nil, nil
	if !op.Status.Terminal() {
		m.Summary = fmt.Sprintf("record %d of auto-batch group %s: %s", i, op.ID, op.Summary)
		return &m, nil
	}
	r := op.Results[i]
	m.Results = []RecordResult{r}
	m.Status = OperationSuccess
	switch {
	case r.Err != nil:
		m.Status = OperationFailure
		m.Summary = fmt.Sprintf("record %d of auto-batch group %s failed: %v", i, op.ID, r.Err)
	case r.Unchanged:
		m.Summary = fmt.Sprintf("record %d of auto-batch group %s unchanged: the installation's rules left nothing to write", i, op.ID)
	default:
		m.SuccessfulRecordIDs = []string{r.ID}
		m.Summary = fmt.Sprintf("record %d of auto-batch group %s: %s %s record %s", i, op.ID, pastTense(op.Type), op.Object, r.ID)
	}
	return &m, nil
}

// Wait waits until the operation with the given ID is terminal (success or
// failure) and returns it, or returns ctx's error if ctx ends first. It
// returns at once for an operation that is already terminal, such as any
// sync write's, and fails with an error wrapping [ErrNotFound] for an
// unknown ID. Given the [Result.MemberID] of an auto-batched write, it
// waits for the group and returns it narrowed to that record (see
// [Writer.Operation]).
//
// On a store of one process (boltstore, memstore), Wait is woken by the
// Writer that runs the operation, without polling the store, so an async
// operation completes only while that Writer is started (see
// [Writer.Start] and [Writer.Running]). On a store shared by several
// processes (pgstore), Wait sees an operation completed by any of them: a
// started Writer hears of it at once through the store's notifications,
// and Wait also looks again every [Config.PollInterval]. When ctx ends
// while this Writer has never been started, or is stopped, the error
// wraps [ErrNotStarted] or [ErrStopped] as well as ctx's error.
func (w *Writer) Wait(ctx context.Context, id string) (*Operation, error) {
	master, _, _ := splitMemberID(id)
	ch, remove := w.waits.add(master)
	defer remove()
	var poll <-chan time.Time // a shared store: look again now and then
	if d := w.pollBound(-1); d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		poll = t.C
	}
	for {
		// Registered before looking, so a completion in between is not missed.
		op, err := w.Operation(ctx, id)
		if err != nil {
			return nil, err
		}
		if op.Status.Terminal() {
			return op, nil
		}
		select {
		case <-ch:
			ch, remove = w.waits.add(master)
			defer remove()
		case <-poll:
		case <-ctx.Done():
			switch w.async.runState() {
			case stateIdle:
				return nil, fmt.Errorf("writeback: wait for operation %s: %w: %w", id, ErrNotStarted, ctx.Err())
			case stateStopped:
				return nil, fmt.Errorf("writeback: wait for operation %s: %w: %w", id, ErrStopped, ctx.Err())
			}
			return nil, ctx.Err()
		}
	}
}

// completed reports that an async operation reached a terminal status and
// was stored: it wakes [Writer.Wait] callers and calls [Config.OnComplete].
// Every path that completes an async or auto-batch operation calls it
// exactly once, after the store has the terminal record. OnComplete runs
// first, so it has run when Wait returns.
func (w *Writer) completed(op *Operation) {
	w.async.forget(op.ID)
	if w.cfg.OnComplete != nil {
		w.cfg.OnComplete(op)
	}
	w.waits.wake(op.ID)
}

// waiters tracks the callers of [Writer.Wait], by operation ID.
type waiters struct {
	mu sync.Mutex
	m  map[string][]chan struct{}
}

// add registers a waiter for an operation; the channel is closed when the
// operation completes in this Writer. remove undoes it.
func (ws *waiters) add(id string) (ch chan struct{}, remove func()) {
	ch = make(chan struct{})
	ws.mu.Lock()
	if ws.m == nil {
		ws.m = map[string][]chan struct{}{}
	}
	ws.m[id] = append(ws.m[id], ch)
	ws.mu.Unlock()
	return ch, func() {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		list := ws.m[id]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(ws.m, id)
		} else {
			ws.m[id] = list
		}
	}
}

// wakeAll closes every waiter channel: each caller looks again.
func (ws *waiters) wakeAll() {
	ws.mu.Lock()
	all := ws.m
	ws.m = nil
	ws.mu.Unlock()
	for _, list := range all {
		for _, ch := range list {
			close(ch)
		}
	}
}

// wake closes every waiter channel of an operation.
func (ws *waiters) wake(id string) {
	ws.mu.Lock()
	list := ws.m[id]
	delete(ws.m, id)
	ws.mu.Unlock()
	for _, ch := range list {
		close(ch)
	}
}
