package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/store"
)

// queueState is where an unfinished operation is in the queue.
type queueState struct {
	// State is queued, retrying, in_flight or interrupted.
	State string `json:"state"`
	// At is when it is due, or when its lease ends while in flight.
	At time.Time `json:"at"`
	// Claims counts the times it was taken from the queue.
	Claims int `json:"claims"`
	// CancelRequested reports a cancel waiting for the attempt in flight.
	CancelRequested bool `json:"cancelRequested,omitempty"`
}

// describe says what a queue state means, for people.
func (q *queueState) describe(now time.Time) string {
	var s string
	switch q.State {
	case "in_flight":
		s = "an attempt is in flight; its lease ends " + when(q.At, now)
	case "interrupted":
		s = "an attempt was cut off (its writer stopped or crashed); it runs again, due since " + when(q.At, now)
	case "retrying":
		s = "waiting for its next attempt, due " + when(q.At, now)
	default:
		s = "queued, due " + when(q.At, now)
	}
	if q.CancelRequested {
		s += "; a cancel is requested"
	}
	return s
}

// stateOf reads the queue state of a job at now.
func stateOf(job store.Job, now time.Time) *queueState {
	q := &queueState{State: "queued", At: job.RunAt, Claims: job.Attempts, CancelRequested: job.CancelRequested}
	switch {
	case job.Leased && job.RunAt.After(now):
		q.State = "in_flight"
	case job.Leased:
		q.State = "interrupted"
	case job.Attempts > 0:
		q.State = "retrying"
	}
	return q
}

// show is "ops show ID".
func (c *cli) show(args []string) error {
	id, err := c.oneID("ops show", args)
	if err != nil {
		return err
	}
	s, err := c.open()
	if err != nil {
		return err
	}
	defer s.close()
	op, err := s.w.Operation(c.ctx, id)
	if err != nil {
		return err
	}
	now := time.Now()
	var q *queueState
	if !op.Status.Terminal() {
		job, err := s.st.Job(c.ctx, id)
		switch {
		case err == nil:
			q = stateOf(job, now)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if c.json {
		return c.printJSON(struct {
			*writeback.Operation
			Queue *queueState `json:"queue,omitempty"`
		}{op, q})
	}
	printOperation(c.stdout, op, q, now)
	return nil
}

// printOperation prints an operation for people.
func printOperation(w io.Writer, op *writeback.Operation, q *queueState, now time.Time) {
	kind := fmt.Sprintf("%s, %s", op.Type, op.Mode)
	if op.AutoBatch {
		kind += ", auto-batch group"
	}
	t := newTable(w, "Operation", op.ID)
	t.row("Status", string(op.Status))
	t.row("Summary", summary(op))
	t.row("Integration", fmt.Sprintf("%s, groupRef %s (installation %s)", op.Integration, op.GroupRef, op.InstallationID))
	t.row("Object", op.Object)
	t.row("Write", kind)
	t.row("Created", when(op.CreatedAt, now))
	t.row("Updated", when(op.UpdatedAt, now))
	attempts := strconv.Itoa(op.Attempts)
	if !op.LastAttempt.IsZero() {
		attempts += ", the last " + when(op.LastAttempt, now)
	}
	t.row("Attempts", attempts)
	if op.ProviderCalls > 0 {
		t.row("Provider calls", strconv.Itoa(op.ProviderCalls))
	}
	if !op.Deadline.IsZero() {
		t.row("Retries until", when(op.Deadline, now))
	}
	if q != nil {
		t.row("Queue", q.describe(now))
	}
	if len(op.Results) > 0 {
		t.row("Records", fmt.Sprintf("%d written, %d not written", op.SuccessCount(), op.FailureCount()))
	}
	if c := op.Compensation; c != nil {
		t.row("Compensation", fmt.Sprintf("%d restored, %d not restored", len(c.Restored), len(c.Unrestored)))
	}
	_ = t.flush()

	if len(op.Results) > 0 {
		fmt.Fprintln(w, "\nResults")
		rt := newTable(w, "#", "RESULT", "RECORD ID", "CLASS", "HTTP", "CODE", "CORRELATION ID", "MESSAGE")
		for i, r := range op.Results {
			result := "written"
			if r.AlreadyDeleted {
				result = "already deleted"
			}
			if e := r.Err; e != nil {
				rt.row(strconv.Itoa(i), "failed", r.ID, string(e.Class), status(e.StatusCode), e.Code, e.CorrelationID, clip(e.Message, 100))
				continue
			}
			rt.row(strconv.Itoa(i), result, r.ID, "", "", "", "", "")
		}
		_ = rt.flush()
		for i, r := range op.Results {
			if r.Err != nil && (len(r.Err.FieldErrors) > 0 || len(r.Err.Fields) > 0) {
				fmt.Fprintf(w, "  record %d fields: %s\n", i, fields(r.Err))
			}
		}
	}
	if len(op.Logs) > 0 {
		fmt.Fprintln(w, "\nLog")
		for _, l := range op.Logs {
			fmt.Fprintf(w, "  %s  %-5s  %s\n", stamp(l.Time), l.Severity, l.Message)
			if e := l.Error; e != nil {
				fmt.Fprintf(w, "      error: %s\n", e.Error())
				var extra []string
				if e.CorrelationID != "" {
					extra = append(extra, "correlation ID "+e.CorrelationID)
				}
				if e.RetryAfter > 0 {
					extra = append(extra, "the provider asked to wait "+e.RetryAfter.String())
				}
				if len(extra) > 0 {
					fmt.Fprintf(w, "      %s\n", strings.Join(extra, "; "))
				}
				for _, call := range e.Calls {
					fmt.Fprintf(w, "      call: %s\n", describeCall(call))
				}
			}
			for _, call := range l.Calls {
				fmt.Fprintf(w, "      call: %s\n", describeCall(call))
			}
		}
	}
}

// status formats an HTTP status, empty for none.
func status(code int) string {
	if code == 0 {
		return ""
	}
	return strconv.Itoa(code)
}

// fields lists what a provider found wrong with a record's fields.
func fields(e *writeback.ProviderError) string {
	if len(e.FieldErrors) == 0 {
		return strings.Join(e.Fields, ", ")
	}
	out := make([]string, len(e.FieldErrors))
	for i, f := range e.FieldErrors {
		out[i] = f.String()
	}
	return strings.Join(out, "; ")
}

// describeCall formats one provider call of an error.
func describeCall(c writeback.ProviderCall) string {
	s := fmt.Sprintf("%s %s", c.Method, c.Path)
	if c.Status != 0 {
		s += " " + strconv.Itoa(c.Status)
	} else {
		s += " (no answer)"
	}
	if c.Wait > 0 {
		s += fmt.Sprintf(", waited %s for the rate limit or a resend", c.Wait.Round(time.Millisecond))
	}
	if c.Duration > 0 {
		s += fmt.Sprintf(", took %s", c.Duration.Round(time.Millisecond))
	}
	return s
}
