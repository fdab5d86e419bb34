package opspage

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/writebackhq/writeback"
)

// overviewView is the queue overview's data.
type overviewView struct {
	Stats *writeback.QueueStats
	// Total sums the providers' counts; OldestDue is the earliest of
	// theirs.
	Total writeback.ProviderQueue
	// Waiting lists the unfinished operations whose last attempt met a
	// rate limit or a quota, soonest due first; WaitingMore counts those
	// left out.
	Waiting     []waitingRow
	WaitingMore int
	// WaitingPartial reports that more unfinished operations exist than
	// were looked at.
	WaitingPartial bool
	Recent         recentView
	// Names names the installations of the attempts in flight:
	// "integration · groupRef" by ID.
	Names map[string]string
}

func (v *overviewView) now() time.Time { return v.Stats.At }

// waitingRow is an operation waiting on a provider's limit.
type waitingRow struct {
	Op *writeback.Operation
	// Err is the error of its last attempt.
	Err *writeback.ProviderError
	// Entry is where it stands in the queue; nil if it left the queue
	// meanwhile.
	Entry *writeback.QueueEntry
}

// recentView sums up the operations created in the last [RecentWindow].
type recentView struct {
	Since time.Time
	// Read counts the operations read; Capped reports that there were more
	// than [RecentLimit], the newest of which are left out.
	Read   int
	Capped bool
	// Statuses counts them by status, in a fixed order.
	Statuses []statusCount
	// Integrations sums up calls and limits per integration.
	Integrations []integrationRow
	// Failures lists the newest failed operations, newest first.
	Failures []*writeback.Operation
}

// statusCount is the number of operations with a status.
type statusCount struct {
	Status writeback.OperationStatus
	N      int
}

// integrationRow is an integration's recent provider traffic.
type integrationRow struct {
	Integration, Provider string
	// Operations and Failed count operations; Calls the HTTP requests
	// sent, Throttled those answered 429, Limited the operations whose
	// last error was a rate limit or quota.
	Operations, Failed, Calls, Throttled, Limited int
	// Waited sums the time calls waited before they were sent: for room
	// in the rate window, or before a resend.
	Waited time.Duration
	// installation is one of its operations' installation, which names
	// the provider.
	installation string
}

// shownFailures and shownWaiting bound the overview's lists.
const (
	shownFailures = 10
	shownWaiting  = 20
)

// overview is GET /: the queue at a glance.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := h.w.QueueStats(ctx)
	if err != nil {
		h.storeFailed(w, r, "queue stats", err)
		return
	}
	v := &overviewView{Stats: st}
	for _, p := range st.Providers {
		t := &v.Total
		t.Queued += p.Queued
		t.OpenGroups += p.OpenGroups
		t.Retrying += p.Retrying
		t.InFlight += p.InFlight
		t.Interrupted += p.Interrupted
		t.Due += p.Due
		if !p.OldestDue.IsZero() && (t.OldestDue.IsZero() || p.OldestDue.Before(t.OldestDue)) {
			t.OldestDue = p.OldestDue
		}
	}
	v.Names = map[string]string{}
	for _, f := range st.InFlight {
		if _, ok := v.Names[f.InstallationID]; ok {
			continue
		}
		v.Names[f.InstallationID] = ""
		if inst, err := h.w.Installation(ctx, f.InstallationID); err == nil {
			v.Names[f.InstallationID] = inst.Integration + " · " + inst.GroupRef
		}
	}
	if v.Total.Retrying > 0 {
		if err := h.waiting(ctx, v); err != nil {
			h.storeFailed(w, r, "operations", err)
			return
		}
	}
	if err := h.recent(ctx, &v.Recent, st.At); err != nil {
		h.storeFailed(w, r, "operations", err)
		return
	}
	h.render(w, r, http.StatusOK, "overview", "Queue", v)
}

// waiting finds the unfinished operations whose last attempt met a rate
// limit or a quota.
func (h *Handler) waiting(ctx context.Context, v *overviewView) error {
	page, err := h.w.Operations(ctx, &writeback.OperationListParams{
		Status: writeback.OperationInProgress, Since: v.Stats.At.Add(-WaitingWindow), PageSize: writeback.MaxPageSize,
	})
	if err != nil {
		return err
	}
	v.WaitingPartial = !page.Done
	for _, op := range page.Operations {
		e := lastError(op)
		if e == nil || (e.Class != writeback.ClassRateLimited && e.Class != writeback.ClassQuota) {
			continue
		}
		v.Waiting = append(v.Waiting, waitingRow{Op: op, Err: e})
	}
	if len(v.Waiting) > shownWaiting {
		v.WaitingMore = len(v.Waiting) - shownWaiting
		v.Waiting = v.Waiting[:shownWaiting]
	}
	for i := range v.Waiting {
		row := &v.Waiting[i]
		q, err := h.w.QueueEntry(ctx, row.Op.ID)
		if err == nil {
			row.Entry = q
		}
	}
	slices.SortStableFunc(v.Waiting, func(a, b waitingRow) int { return due(a).Compare(due(b)) })
	return nil
}

// due is when a waiting operation's next attempt may start.
func due(r waitingRow) time.Time {
	if r.Entry != nil {
		return r.Entry.At
	}
	return r.Op.LastAttempt.Add(r.Err.RetryAfter)
}

// lastError returns the error of the latest log line that has one.
func lastError(op *writeback.Operation) *writeback.ProviderError {
	for i := len(op.Logs) - 1; i >= 0; i-- {
		if op.Logs[i].Error != nil {
			return op.Logs[i].Error
		}
	}
	return nil
}

// recent sums up the operations created in the last RecentWindow before
// now, reading at most RecentLimit of them.
func (h *Handler) recent(ctx context.Context, v *recentView, now time.Time) error {
	v.Since = now.Add(-RecentWindow)
	counts := map[writeback.OperationStatus]int{}
	rows := map[string]*integrationRow{}
	params := &writeback.OperationListParams{Since: v.Since, PageSize: min(writeback.MaxPageSize, RecentLimit)}
	for {
		page, err := h.w.Operations(ctx, params)
		if err != nil {
			return err
		}
		for _, op := range page.Operations {
			if v.Read == RecentLimit {
				v.Capped = true
				break
			}
			v.Read++
			counts[op.Status]++
			row := rows[op.Integration]
			if row == nil {
				row = &integrationRow{Integration: op.Integration, installation: op.InstallationID}
				rows[op.Integration] = row
			}
			row.Operations++
			if op.Status == writeback.OperationFailure {
				row.Failed++
				v.Failures = append(v.Failures, op)
			}
			if e := lastError(op); e != nil {
				row.Provider = cmp.Or(row.Provider, e.Provider)
				if e.Class == writeback.ClassRateLimited || e.Class == writeback.ClassQuota {
					row.Limited++
				}
			}
			for _, l := range op.Logs {
				for _, c := range l.Calls {
					row.Calls++
					row.Waited += c.Wait
					if c.Status == http.StatusTooManyRequests {
						row.Throttled++
					}
				}
			}
		}
		if page.Done || v.Capped {
			break
		}
		if v.Read == RecentLimit {
			v.Capped = true
			break
		}
		params.PageToken = page.NextPageToken
	}
	for _, s := range []writeback.OperationStatus{writeback.OperationInProgress, writeback.OperationSuccess, writeback.OperationFailure, writeback.OperationCanceled} {
		v.Statuses = append(v.Statuses, statusCount{Status: s, N: counts[s]})
	}
	for _, row := range rows {
		if row.Provider == "" {
			row.Provider = h.providerOf(ctx, row.installation)
		}
		v.Integrations = append(v.Integrations, *row)
	}
	slices.SortFunc(v.Integrations, func(a, b integrationRow) int { return cmp.Compare(a.Integration, b.Integration) })
	slices.Reverse(v.Failures)
	v.Failures = v.Failures[:min(len(v.Failures), shownFailures)]
	return nil
}

// providerOf names the provider of an installation; "" if it is gone.
func (h *Handler) providerOf(ctx context.Context, installationID string) string {
	inst, err := h.w.Installation(ctx, installationID)
	if err != nil {
		return ""
	}
	return inst.Connection.Provider
}
