package writeback

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// OperationListParams selects and pages the operations [Writer.Operations]
// lists. Every filter left zero keeps all operations; the filters given
// must all match.
type OperationListParams struct {
	// InstallationID keeps one installation's operations; empty lists
	// every installation's.
	InstallationID string
	// Integration keeps the operations of a manifest integration.
	Integration string
	// GroupRef keeps the operations of the installations with this
	// groupRef (with Integration, of one installation, even one deleted
	// since).
	GroupRef string
	// Object keeps the operations on a write object, named as the request
	// named it.
	Object string
	// Type keeps creates, updates or deletes.
	Type WriteType
	// Status keeps the operations with this status.
	Status OperationStatus
	// Since keeps the operations created at or after it, and Until those
	// created before it, to the millisecond; zero leaves that end open.
	// The creation time is read from the operation's time-ordered ID, so
	// a time range is read as a range of IDs.
	Since, Until time.Time
	// PageToken continues after the previous page's NextPageToken (pass
	// the same filters again); empty starts from the oldest operation.
	PageToken string
	// PageSize is the most operations a page holds: zero means
	// [DefaultPageSize], at most [MaxPageSize].
	PageSize int
}

// OperationPage is one page of operations.
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
	// MaxListScan is the most stored operations one [Writer.Operations]
	// call reads to fill a page. A page of a rare filter can come back
	// short, even empty, with a NextPageToken: the scan goes on from there.
	MaxListScan = 10_000
)

// Operations lists operations, oldest first, a page at a time: pass the
// page's NextPageToken in the next call's params to continue. The order is
// stable: operations created later come on later pages. A nil params lists
// every operation.
//
// Filters other than the installation and the time range are applied to
// the stored operations as they are read, at most [MaxListScan] of them per
// call, so a page may hold fewer than PageSize operations and still not be
// the last (Done false).
func (w *Writer) Operations(ctx context.Context, params *OperationListParams) (*OperationPage, error) {
	if params == nil {
		params = &OperationListParams{}
	}
	size := cmp.Or(params.PageSize, DefaultPageSize)
	if size < 0 || size > MaxPageSize {
		return nil, invalid(ErrInvalidOptions, "pageSize", "%d is outside 1 to %d", size, MaxPageSize)
	}
	switch params.Status {
	case "", OperationInProgress, OperationSuccess, OperationFailure, OperationCanceled:
	default:
		return nil, invalid(ErrInvalidOptions, "status", "unknown status %q", params.Status)
	}
	if params.Type != "" && !params.Type.Valid() {
		return nil, invalid(ErrInvalidOptions, "type", "unknown write type %q", params.Type)
	}
	if !params.Since.IsZero() && !params.Until.IsZero() && !params.Since.Before(params.Until) {
		return nil, invalid(ErrInvalidOptions, "since", "%s is not before until %s", params.Since.UTC().Format(time.RFC3339Nano), params.Until.UTC().Format(time.RFC3339Nano))
	}
	after := params.PageToken
	if !params.Since.IsZero() {
		after = max(after, idBound(params.Since))
	}
	until := ""
	if !params.Until.IsZero() {
		until = idBound(params.Until)
	}

	page := &OperationPage{}
	budget := MaxListScan
	for {
		n := min(size+1, budget)
		recs, err := w.store.Operations(ctx, params.InstallationID, after, n)
		if err != nil {
			return nil, storeError("list operations", err)
		}
		for _, rec := range recs {
			if until != "" && rec.ID >= until {
				page.Done = true
				return page, nil
			}
			budget--
			var sum opSummary
			if err := json.Unmarshal(rec.Data, &sum); err != nil {
				return nil, fmt.Errorf("writeback: decode operation %s: %w", rec.ID, err)
			}
			if sum.matches(params) {
				if len(page.Operations) == size {
					// One more exists: this page is full.
					page.NextPageToken = page.Operations[size-1].ID
					return page, nil
				}
				op, _, err := decodeOperation(rec)
				if err != nil {
					return nil, err
				}
				page.Operations = append(page.Operations, op)
			}
			after = rec.ID
		}
		if len(recs) < n {
			page.Done = true
			return page, nil
		}
		if budget == 0 {
			page.NextPageToken = after
			return page, nil
		}
	}
}

// opSummary is what the filters of a listing, and retention, read of a
// stored operation before decoding all of it.
type opSummary struct {
	V           int             `json:"v"`
	Integration string          `json:"integration"`
	GroupRef    string          `json:"groupRef"`
	Object      string          `json:"object"`
	Type        WriteType       `json:"type"`
	Status      OperationStatus `json:"status"`
	UpdatedAt   time.Time       `json:"updateTime"`
}

// matches reports whether the operation passes the filters of params
// other than its installation and time range.
func (s *opSummary) matches(p *OperationListParams) bool {
	return (p.Integration == "" || s.Integration == p.Integration) &&
		(p.GroupRef == "" || s.GroupRef == p.GroupRef) &&
		(p.Object == "" || s.Object == p.Object) &&
		(p.Type == "" || s.Type == p.Type) &&
		(p.Status == "" || s.Status == p.Status)
}

// idBound returns the smallest ID of the operations created at or after
// t's millisecond (newID's layout): it sorts after every ID of an earlier
// millisecond and before every ID of t's, and is no operation's ID.
func idBound(t time.Time) string {
	ms := max(t.UnixMilli(), 0)
	return fmt.Sprintf("%08x-%04x-0000-0000-000000000000", ms>>16&0xffffffff, ms&0xffff)
}
