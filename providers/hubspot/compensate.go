package hubspot

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/writebackhq/writeback"
)

// restoreTimeout bounds the compensating restore, which runs even when the
// caller's context has ended.
const restoreTimeout = time.Minute

// atomicUpdate emulates an all-or-nothing batch update, which HubSpot
// cannot do: it reads the touched properties of every record first (one
// batch read), writes nothing if a record is missing, sends the batch
// update, and if HubSpot fails some records, writes the changed records
// back to their earlier values (a property that was empty is cleared with
// ""). Records that could not be restored keep the batch's values: they
// are reported as written, and listed in Compensation.Unrestored.
//
// Between the read and the restore another writer may change the same
// records; the restore then overwrites that change. The window is one
// HubSpot round trip.
func (p *Provider) atomicUpdate(ctx context.Context, req *writeback.ProviderRequest, pl *plan) (*writeback.ProviderResponse, error) {
	n := len(req.Records)
	before, readStatus, perr := p.readBefore(ctx, req, pl)
	if perr != nil {
		return nil, perr
	}
	var missing []int
	for i, rec := range req.Records {
		if _, ok := before[rec.ID]; !ok {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		// Pre-validation: nothing is written.
		results := make([]writeback.RecordResult, n)
		for i, rec := range req.Records {
			if slices.Contains(missing, i) {
				results[i].Err = &writeback.ProviderError{
					Provider: Name, Class: writeback.ClassNotFound, StatusCode: readStatus, Code: "OBJECT_NOT_FOUND",
					Message:     "no " + req.Object + " record " + rec.ID + " (checked before writing; nothing was written)",
					RecordIndex: i,
				}
			} else {
				results[i].Err = rolledBack(i, &writeback.ProviderError{})
				results[i].Err.Message = "not written: another record of the all-or-nothing batch does not exist"
			}
		}
		return &writeback.ProviderResponse{Results: results}, nil
	}

	out, err := p.batchWrite(ctx, req, pl, false)
	if err != nil {
		return nil, err
	}
	var failed, changed []int
	for i, r := range out.Results {
		switch {
		case r.Err == nil:
			changed = append(changed, i)
		case r.Err.Class == writeback.ClassUnknownOutcome:
			// Maybe written: restore it too.
			changed = append(changed, i)
			failed = append(failed, i)
		case r.Err.Class == writeback.ClassRolledBack:
			// HubSpot refused the whole batch: nothing was written.
		default:
			failed = append(failed, i)
		}
	}
	if len(failed) == 0 {
		return out, nil
	}
	// A whole-batch refusal is atomic already: every record has an error.
	if len(changed) == 0 {
		return out, nil
	}
	failedErr := out.Results[failed[0]].Err
	restoreIDs := make([]string, len(changed))
	inputs := make([]updateInput, len(changed))
	for j, i := range changed {
		id := req.Records[i].ID
		restoreIDs[j] = id
		props := make(map[string]string, len(pl.props[i]))
		for k := range pl.props[i] {
			if v := before[id][k]; v != nil {
				props[k] = *v
			} else {
				props[k] = ""
			}
		}
		inputs[j] = updateInput{ID: id, Properties: props}
	}
	restore := call{method: pl.write.method, url: pl.write.url, body: mustJSON(map[string]any{"inputs": inputs})}
	restored := p.restore(ctx, req, pl, restore, restoreIDs)

	comp := &writeback.Compensation{}
	for j, i := range changed {
		id := restoreIDs[j]
		rerr, bad := restored[id]
		unknown := out.Results[i].Err != nil
		switch {
		case !bad:
			comp.Restored = append(comp.Restored, id)
			if !unknown {
				out.Results[i] = writeback.RecordResult{Err: rolledBack(i, failedErr)}
				out.Results[i].Err.Message = "written, then restored to its earlier values: another record of the all-or-nothing batch failed"
			} else {
				out.Results[i].Err.Message += "; restored to its earlier values"
			}
		default:
			// The batch's values stay: the record is written (or may be).
			rerr.RecordIndex = i
			comp.Unrestored = append(comp.Unrestored, writeback.RecordResult{ID: id, Err: rerr})
		}
	}
	out.Compensation = comp
	level := slog.LevelWarn
	if len(comp.Unrestored) > 0 {
		level = slog.LevelError
	}
	p.log.LogAttrs(ctx, level, "hubspot all-or-nothing batch update failed for some records; changed records written back",
		slog.String("installation", req.InstallationID), slog.String("object", req.Object),
		slog.Int("failed", len(failed)), slog.Int("restored", len(comp.Restored)), slog.Int("unrestored", len(comp.Unrestored)))
	return out, nil
}

// readBefore reads the touched properties of the batch's records. The
// result maps the IDs found to their values (nil when unset); status is
// the read's HTTP status.
func (p *Provider) readBefore(ctx context.Context, req *writeback.ProviderRequest, pl *plan) (before map[string]map[string]*string, status int, _ *writeback.ProviderError) {
	resp, perr := p.send(ctx, pl, req.InstallationID, req.TokenSource, *pl.read)
	if perr != nil {
		return nil, 0, perr
	}
	if !success(resp.StatusCode) {
		return nil, 0, p.failedCall(resp, *pl.read)
	}
	var br batchResult
	if err := json.Unmarshal(resp.Body, &br); err != nil {
		return nil, 0, p.badAnswer(resp, *pl.read, err.Error())
	}
	for _, e := range br.Errors {
		if class := classByCategory(e.Category); class != writeback.ClassNotFound {
			perr := batchItemError(&e, writeback.NoRecord, resp.StatusCode)
			perr.Message = "reading the records before an all-or-nothing batch update: " + perr.Message
			return nil, 0, perr
		}
	}
	before = make(map[string]map[string]*string, len(br.Results))
	for _, obj := range br.Results {
		before[obj.ID] = obj.Properties
	}
	return before, resp.StatusCode, nil
}

// restore sends the compensating batch update and returns the IDs that
// were not restored, with the reason.
func (p *Provider) restore(ctx context.Context, req *writeback.ProviderRequest, pl *plan, c call, ids []string) map[string]*writeback.ProviderError {
	sub := *req
	sub.Records = make([]writeback.Record, len(ids))
	for i, id := range ids {
		sub.Records[i] = writeback.Record{ID: id}
	}
	// The restore must run even if the caller's ctx ended after the write,
	// but not forever.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreTimeout)
	defer cancel()
	bad := map[string]*writeback.ProviderError{}
	failAll := func(perr *writeback.ProviderError) map[string]*writeback.ProviderError {
		for _, id := range ids {
			cp := *perr
			bad[id] = &cp
		}
		return bad
	}
	resp, perr := p.send(ctx, pl, req.InstallationID, req.TokenSource, c)
	if perr != nil {
		return failAll(perr)
	}
	if !success(resp.StatusCode) {
		return failAll(p.failedCall(resp, c))
	}
	var br batchResult
	if err := json.Unmarshal(resp.Body, &br); err != nil {
		return failAll(p.badAnswer(resp, c, err.Error()))
	}
	for i, r := range mapUpdateResults(&sub, &br, resp.StatusCode) {
		if r.Err != nil {
			bad[ids[i]] = r.Err
		}
	}
	return bad
}
