package writeback

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/writebackhq/writeback/store"
)

// newOperation returns the in-progress operation of a plan.
func (p *plan) newOperation(id string, mode Mode, now time.Time) *Operation {
	return &Operation{
		ID:             id,
		InstallationID: p.InstallationID,
		Integration:    p.Integration,
		GroupRef:       p.GroupRef,
		Object:         p.Object,
		Type:           p.Type,
		Mode:           mode,
		Status:         OperationInProgress,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
}

// finish records a terminal outcome on the operation.
func (o *Operation) finish(out *outcome, now time.Time) {
	o.Results = out.Results
	o.Compensation = out.Compensation
	o.SuccessfulRecordIDs = nil
	for _, r := range out.Results {
		if r.Success() && r.ID != "" {
			o.SuccessfulRecordIDs = append(o.SuccessfulRecordIDs, r.ID)
		}
	}
	ok, failed := o.SuccessCount(), o.FailureCount()
	if ok > 0 {
		o.Status = OperationSuccess
	} else {
		o.Status = OperationFailure
	}
	o.UpdatedAt = now
	cause := o.cause()
	switch {
	case len(o.Results) == 1 && !o.AutoBatch && ok == 1:
		o.Summary = fmt.Sprintf("%s %s record %s", pastTense(o.Type), o.Object, o.Results[0].ID)
	case len(o.Results) == 1 && !o.AutoBatch:
		o.Summary = fmt.Sprintf("[%s] error writing to provider: %v", o.Object, cause)
	case ok > 0:
		o.Summary = fmt.Sprintf("batch write completed (%d succeeded, %d failed)", ok, failed)
	default:
		o.Summary = fmt.Sprintf("batch write failed (0 succeeded, %d failed): %v", failed, cause)
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
	}
	return string(t)
}

// encodeOperation encodes an operation for the store.
func encodeOperation(o *Operation) (store.Operation, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return store.Operation{}, fmt.Errorf("writeback: encode operation %s: %w", o.ID, err)
	}
	return store.Operation{ID: o.ID, InstallationID: o.InstallationID, Data: data}, nil
}

// decodeOperation decodes a stored operation.
func decodeOperation(rec store.Operation) (*Operation, error) {
	var o Operation
	if err := json.Unmarshal(rec.Data, &o); err != nil {
		return nil, fmt.Errorf("writeback: decode operation %s: %w", rec.ID, err)
	}
	return &o, nil
}

// Operation returns the operation with the given ID, or an error wrapping
// [ErrNotFound].
func (w *Writer) Operation(ctx context.Context, id string) (*Operation, error) {
	rec, err := w.store.Operation(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("writeback: operation %q: %w", id, err)
	}
	return decodeOperation(rec)
}

// OperationPage is one page of an installation's operations.
type OperationPage struct {
	// Operations are in creation order.
	Operations []*Operation
	// NextPageToken fetches the next page; empty when Done.
	NextPageToken string
	// Done reports the last page.
	Done bool
}

// Limits of [Writer.Operations] pages.
const (
	// DefaultPageSize is the page size used when none is given.
	DefaultPageSize = 200
	// MaxPageSize is the largest page size.
	MaxPageSize = 1000
)

// Operations lists an installation's operations, oldest first, a page at a
// time: pass the previous page's NextPageToken to continue. pageSize 0 means
// [DefaultPageSize]; at most [MaxPageSize].
func (w *Writer) Operations(ctx context.Context, installationID, pageToken string, pageSize int) (*OperationPage, error) {
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}
	if pageSize < 0 || pageSize > MaxPageSize {
		return nil, invalid(ErrInvalidOptions, "pageSize", "%d is outside 1 to %d", pageSize, MaxPageSize)
	}
	recs, err := w.store.Operations(ctx, installationID, pageToken, pageSize+1)
	if err != nil {
		return nil, fmt.Errorf("writeback: list operations: %w", err)
	}
	page := &OperationPage{Done: len(recs) <= pageSize}
	if !page.Done {
		recs = recs[:pageSize]
	}
	for _, rec := range recs {
		op, err := decodeOperation(rec)
		if err != nil {
			return nil, err
		}
		page.Operations = append(page.Operations, op)
	}
	if !page.Done {
		page.NextPageToken = recs[len(recs)-1].ID
	}
	return page, nil
}
