package writeback

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Auto-batching: an async single create or update with [WriteOpts.AutoBatch]
// joins the open group of its (installation, object, write type, headers)
// through [Queue.Join], durably, and gets the group's master operation ID.
// The group is a job whose RunAt is its first record's time plus that
// record's MaxDelay; the member that fills it to the provider's batch limit
// seals it and makes it due at once. runGroup writes a claimed group as
// partial provider batches, isolating records the provider rejects, and
// retries retryable failures until the group's retry deadline.

// pending returns the members without a final result, in join order.
func (s *groupState) pending() []int {
	var out []int
	for i, res := range s.Results {
		if res == nil {
			out = append(out, i)
		}
	}
	return out
}

// groupKey returns the key of the group a single-record plan joins. Records
// of a group share installation, object and write type, and also their
// pass-through headers, since one provider call carries one set of headers:
// writes with different headers go to different groups; upserts share
// their key field too.
func groupKey(p *plan) (string, error) {
	var hs string
	if len(p.Headers) > 0 {
		b, err := json.Marshal(p.Headers)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		hs = hex.EncodeToString(sum[:12])
	}
	parts := []string{p.InstallationID, p.Object, string(p.Type), hs}
	if p.Key != "" {
		parts = append(parts, p.Key) // upserts by different keys never share a call
	}
	b, err := json.Marshal(parts)
	return string(b), err
}

// submitAutoBatch adds an async single write to the open group of its key,
// opening one if there is none, and returns the group's master operation in
// progress. The record is stored durably before it returns.
func (w *Writer) submitAutoBatch(ctx context.Context, pr *prepared, opts *WriteOpts, key *store.IdempotencyKey) (*Result, error) {
	p := pr.plan
	if key != nil {
		return nil, invalid(ErrUnsupported, "idempotencyKey", "cannot be combined with auto-batching: the records of a group share one master operation")
	}
	if len(p.Records) != 1 {
		return nil, invalid(ErrUnsupported, "autoBatch", "applies to single-record writes only")
	}
	prov, ok := w.providers[p.Provider]
	if !ok {
		return nil, fmt.Errorf("writeback: no provider %q", p.Provider)
	}
	size := min(MaxBatchSize, prov.Capabilities().MaxBatchSize)
	if size <= 0 {
		return nil, invalid(ErrUnsupported, "autoBatch", "provider %s does not support batches", p.Provider)
	}
	group, err := groupKey(p)
	if err != nil {
		return nil, fmt.Errorf("writeback: auto-batch group key: %w", err)
	}

	pol := opts.AutoBatch
	now := w.now()
	id := newID(now)
	flushAt := now.Add(pol.MaxDelay)
	payload, err := encodeGroup(groupSpec{
		versioned:      current(),
		InstallationID: p.InstallationID,
		Integration:    p.Integration,
		GroupRef:       p.GroupRef,
		Object:         p.Object,
		ProviderObject: p.ProviderObject,
		Provider:       p.Provider,
		Type:           p.Type,
		Headers:        p.Headers,
		Key:            p.Key,
		OpenedAt:       now,
		MaxDelay:       pol.MaxDelay,
		RetryDeadline:  cmp.Or(pol.RetryDeadline, DefaultRetryDeadline),
		MaxSize:        size,
	})
	if err != nil {
		return nil, err
	}
	m := groupMember{versioned: current(), Record: p.Records[0], JoinedAt: now}
	if len(p.IfEmpty) > 0 {
		m.IfEmpty = p.IfEmpty[0]
	}
	if len(pr.stripped) > 0 {
		m.Stripped = pr.stripped[0]
	}
	if len(p.Updates) > 0 {
		m.Update = p.Updates[0]
	}
	member, err := encodeGroup(m)
	if err != nil {
		return nil, err
	}
	op := p.newOperation(id, ModeAsync, now)
	op.AutoBatch = true
	op.Summary = fmt.Sprintf("accumulating records: the batch is written at %d records or at %s, whichever comes first",
		size, flushAt.UTC().Format(time.RFC3339Nano))
	op.Logs = []LogEntry{{Time: now, Severity: SeverityInfo, Message: op.Summary}}
	rec, err := encodeOperation(op, nil)
	if err != nil {
		return nil, err
	}

	res, err := w.store.Join(ctx, store.JoinRequest{
		Group:        group,
		Member:       member,
		MaxSize:      size,
		Now:          now,
		NewOperation: rec,
		NewJob: store.Job{
			ID:             id,
			InstallationID: p.InstallationID,
			Provider:       p.Provider,
			Group:          group,
			RunAt:          flushAt,
			Payload:        payload,
		},
	})
	if err != nil {
		return nil, storeError("auto-batch", err)
	}
	if res.Opened || res.Sealed {
		// A new flush time, or a group due now.
		w.async.notify()
	}
	pos := res.Size - 1
	return &Result{OperationID: res.JobID, MemberID: memberID(res.JobID, pos), Member: pos, Status: OperationInProgress}, nil
}

// scope returns the scope of the group's writes.
func (s groupSpec) scope() scope {
	return scope{installationID: s.InstallationID, integration: s.Integration, object: s.Object, provider: s.Provider}
}

// loadGroup reads a claimed group's master operation, spec and members.
func (w *Writer) loadGroup(ctx context.Context, job store.Job) (*groupRun, error) {
	spec, err := decodeGroupSpec(job.ID, job.Payload)
	if err != nil {
		return nil, err
	}
	r := &groupRun{w: w, job: job, spec: spec}
	rec, err := w.store.Operation(ctx, job.ID)
	if err != nil {
		return nil, fmt.Errorf("writeback: auto-batch group %s: %w", job.ID, err)
	}
	op, state, err := decodeOperation(rec)
	if err != nil {
		return nil, err
	}
	r.op, r.state = op, cmp.Or(state, &groupState{})
	raw, err := w.store.Members(ctx, job.ID)
	if err != nil {
		return nil, fmt.Errorf("writeback: auto-batch group %s members: %w", job.ID, err)
	}
	r.members = make([]groupMember, len(raw))
	r.records = make([]Record, len(raw))
	for i, b := range raw {
		if r.members[i], err = decodeMember(job.ID, i, b); err != nil {
			return nil, err
		}
		r.records[i] = r.members[i].Record
	}
	return r, nil
}

// save stores the master operation with the group's progress.
func (r *groupRun) save(ctx context.Context) error {
	rec, err := encodeOperation(r.op, r.state)
	if err != nil {
		return err
	}
	if err := r.w.persist(ctx, func(ctx context.Context) error { return r.w.store.UpdateOperation(ctx, rec) }); err != nil {
		return fmt.Errorf("writeback: save auto-batch group %s: %w", r.op.ID, err)
	}
	return nil
}

// reschedule stores the group's progress and makes its job due at at.
func (r *groupRun) reschedule(ctx context.Context, at time.Time) error {
	r.op.UpdatedAt = r.w.now()
	rec, err := encodeOperation(r.op, r.state)
	if err != nil {
		return err
	}
	err = r.w.persist(ctx, func(ctx context.Context) error { return r.w.store.Reschedule(ctx, rec, r.w.async.lease(r.job), at) })
	if errors.Is(err, store.ErrCancelRequested) {
		return r.cancelRun(ctx, "canceled by request during this run: the records left are not retried")
	}
	if err != nil {
		return fmt.Errorf("writeback: reschedule auto-batch group %s: %w", r.op.ID, err)
	}
	return nil
}
