package opspage

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/writebackhq/writeback"
)

// sinceChoices are the creation-time filters the list offers, by their
// query value.
var sinceChoices = []struct {
	Value, Label string
	Span         time.Duration
}{
	{"15m", "last 15 minutes", 15 * time.Minute},
	{"1h", "last hour", time.Hour},
	{"24h", "last 24 hours", 24 * time.Hour},
	{"7d", "last 7 days", 7 * 24 * time.Hour},
	{"30d", "last 30 days", 30 * 24 * time.Hour},
	{"all", "any time", 0},
}

// defaultSince is the list's creation-time filter when none is given.
const defaultSince = "24h"

// pageSizes are the list's page sizes.
var pageSizes = []int{ListPageSize, 200, writeback.MaxPageSize}

// listView is the operations list's data.
type listView struct {
	// Filter is the form's values as given.
	Filter listFilter
	Page   *writeback.OperationPage
	// Next is the query of the next page; empty on the last.
	Next template.URL
	// First reports the first page.
	First bool
	// Error says why a filter was refused.
	Error string

	Statuses   []writeback.OperationStatus
	Types      []writeback.WriteType
	SinceItems []sinceItem
	Sizes      []int
}

// sinceItem is one choice of the creation-time filter.
type sinceItem struct{ Value, Label string }

// listFilter is the list's query.
type listFilter struct {
	Status, Type, Integration, GroupRef, Installation, Object, Since, Page string
	Size                                                                   int
}

// Query returns the filter as a query string, with the page token
// replaced by token.
func (f listFilter) Query(token string) template.URL {
	q := url.Values{}
	for k, v := range map[string]string{
		"status": f.Status, "type": f.Type, "integration": f.Integration, "groupRef": f.GroupRef,
		"installation": f.Installation, "object": f.Object, "since": f.Since, "page": token,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Size != ListPageSize {
		q.Set("size", strconv.Itoa(f.Size))
	}
	return template.URL(q.Encode())
}

// operations is GET /operations: operations by filter, a page at a time.
func (h *Handler) operations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := listFilter{
		Status: q.Get("status"), Type: q.Get("type"), Integration: q.Get("integration"), GroupRef: q.Get("groupRef"),
		Installation: q.Get("installation"), Object: q.Get("object"), Since: q.Get("since"), Page: q.Get("page"), Size: ListPageSize,
	}
	v := &listView{
		Filter: f, First: f.Page == "",
		Statuses: []writeback.OperationStatus{writeback.OperationInProgress, writeback.OperationSuccess, writeback.OperationFailure, writeback.OperationCanceled},
		Types:    []writeback.WriteType{writeback.WriteTypeCreate, writeback.WriteTypeUpdate, writeback.WriteTypeDelete},
		Sizes:    pageSizes,
	}
	for _, c := range sinceChoices {
		v.SinceItems = append(v.SinceItems, sinceItem{c.Value, c.Label})
	}
	params := &writeback.OperationListParams{
		InstallationID: f.Installation, Integration: f.Integration, GroupRef: f.GroupRef, Object: f.Object,
		Type: writeback.WriteType(f.Type), Status: writeback.OperationStatus(f.Status), PageToken: f.Page,
	}
	if f.Since == "" {
		f.Since = defaultSince
	}
	known := false
	for _, c := range sinceChoices {
		if c.Value == f.Since {
			known = true
			if c.Span > 0 {
				params.Since = time.Now().Add(-c.Span)
			}
		}
	}
	if s := q.Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > writeback.MaxPageSize {
			v.Error = "The page size must be a number from 1 to " + strconv.Itoa(writeback.MaxPageSize) + "."
		}
		f.Size = n
	}
	params.PageSize = f.Size
	v.Filter = f
	if !known {
		v.Error = "Unknown creation time filter: choose one in the list."
	}
	if v.Error != "" {
		h.render(w, r, http.StatusBadRequest, "operations", "Operations", v)
		return
	}
	page, err := h.w.Operations(r.Context(), params)
	var ve *writeback.ValidationError
	if errors.As(err, &ve) {
		v.Error = "Bad filter: " + ve.Field + ": " + ve.Reason + "."
		h.render(w, r, http.StatusBadRequest, "operations", "Operations", v)
		return
	}
	if err != nil {
		h.storeFailed(w, r, "operations", err)
		return
	}
	v.Page = page
	if !page.Done && page.NextPageToken != "" {
		v.Next = f.Query(page.NextPageToken)
	}
	h.render(w, r, http.StatusOK, "operations", "Operations", v)
}

// operationView is an operation's page data.
type operationView struct {
	Op *writeback.Operation
	// Entry is where an unfinished async operation stands in the queue.
	Entry *writeback.QueueEntry
	// Notice is the message an action left.
	Notice string
	// CanCancel and CanRetry offer the actions, with the form token.
	CanCancel, CanRetry bool
	Token               string
}

// operation is GET /operations/{id}: one operation in full.
func (h *Handler) operation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	op, err := h.w.Operation(ctx, id)
	if err != nil {
		h.storeFailed(w, r, "operation "+id, err)
		return
	}
	v := &operationView{Op: op, Notice: notices[r.URL.Query().Get("done")]}
	if !op.Status.Terminal() {
		q, err := h.w.QueueEntry(ctx, id)
		switch {
		case err == nil:
			v.Entry = q
		case !errors.Is(err, writeback.ErrNotFound):
			h.storeFailed(w, r, "queue entry", err)
			return
		}
	}
	if h.opts.Actions {
		v.CanCancel = v.Entry != nil && !v.Entry.CancelRequested
		v.CanRetry = op.Status.Terminal() && (op.Status != writeback.OperationSuccess || op.FailureCount() > 0)
		if v.CanCancel || v.CanRetry {
			v.Token = h.csrf.token(w, r)
		}
	}
	h.render(w, r, http.StatusOK, "operation", "Operation "+op.ID, v)
}
