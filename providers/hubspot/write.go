package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/internal/transport"
)

// object is HubSpot's SimplePublicObject, as create, update and read
// answer with it.
type object struct {
	ID                 string             `json:"id"`
	Properties         map[string]*string `json:"properties"`
	ObjectWriteTraceID string             `json:"objectWriteTraceId"`
}

// batchResult is HubSpot's batch answer, with multi-status errors.
type batchResult struct {
	Status  string     `json:"status"`
	Results []object   `json:"results"`
	Errors  []apiError `json:"errors"`
}

// Write implements [writeback.Provider].
//
// A single create is POST /crm/v3/objects/{object} {properties,
// associations}; an update PATCH .../{id} {properties}; a delete (archive)
// DELETE .../{id}. A batch create is POST .../batch/create: in partial
// mode every input carries a unique objectWriteTraceId (its index) so that
// HubSpot answers 207 per input; in all-or-nothing mode none does, and
// HubSpot fails the whole batch if any input fails. An upsert, single or
// batch, is POST .../batch/upsert by the request's key property
// (idProperty), each input with its objectWriteTraceId; HubSpot applies
// it partially and says per record whether it created it ("new"). A batch update is POST
// .../batch/update, which HubSpot always applies partially: an
// all-or-nothing batch update first reads the touched properties of its
// records (one batch read), refuses to write if any record is missing, and
// if HubSpot fails some records, writes the changed records back to their
// earlier values and reports it in [writeback.ProviderResponse.Compensation].
//
// A record HubSpot rejected (400, 404, 409, or a multi-status error) gets
// its own classified error in the response; an error return means the
// call failed as a whole: rate limit, quota, auth, permission, 5xx, no
// answer, or input refused before sending.
func (p *Provider) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	pl, err := p.buildWrite(req)
	if err != nil {
		return nil, err
	}
	var out *writeback.ProviderResponse
	switch {
	case req.Type == writeback.WriteTypeUpsert:
		out, err = p.upsert(ctx, req, pl)
	case !req.Batch:
		out, err = p.writeOne(ctx, req, pl)
	case req.Type == writeback.WriteTypeCreate:
		out, err = p.batchWrite(ctx, req, pl, true)
	case pl.compensated():
		out, err = p.atomicUpdate(ctx, req, pl)
	default:
		out, err = p.batchWrite(ctx, req, pl, true)
	}
	if out != nil {
		out.Calls = pl.calls
	}
	var perr *writeback.ProviderError
	if errors.As(err, &perr) {
		perr.Calls = pl.calls
	}
	return out, err
}

// send makes one call through the transport and classifies a failure to
// get an answer.
// The calls made are added to pl's log when pl is not nil. The first
// create call of a write calls the request's BeforeSend right before it
// is sent.
func (p *Provider) send(ctx context.Context, pl *plan, key string, ts oauth2.TokenSource, c call) (*transport.Response, *writeback.ProviderError) {
	if ts == nil {
		return nil, &writeback.ProviderError{
			Provider: Name, Class: writeback.ClassAuth, Message: "no token source for the installation; nothing was sent",
			RecordIndex: writeback.NoRecord,
		}
	}
	var before func(context.Context) error
	if pl != nil && c.create {
		before, pl.beforeSend = pl.beforeSend, nil
	}
	resp, err := p.client.Do(ctx, &transport.Request{
		Method: c.method, URL: c.url, Body: c.body, Key: key, TokenSource: ts, Idempotent: !c.create, BeforeSend: before,
	})
	if err != nil {
		perr := p.client.CallError(err, c.create)
		if pl != nil {
			pl.calls = append(pl.calls, perr.Calls...)
		}
		return nil, perr
	}
	if pl != nil {
		pl.calls = append(pl.calls, resp.Calls...)
	}
	return resp, nil
}

// success reports a 2xx status.
func success(status int) bool { return status >= 200 && status < 300 }

// recordLevel reports whether an error is about the records sent rather
// than the call: the record gets it in the response.
func recordLevel(perr *writeback.ProviderError) bool {
	switch perr.Class {
	case writeback.ClassInvalid, writeback.ClassConflict, writeback.ClassNotFound:
		return true
	}
	return false
}

// failedCall classifies a non-2xx answer that fails the whole call; a
// gateway error on a create means HubSpot may have processed it.
func (p *Provider) failedCall(resp *transport.Response, c call) *writeback.ProviderError {
	perr := p.responseError(resp)
	if c.create && (resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout) {
		perr.Class = writeback.ClassUnknownOutcome
		perr.RetryAfter = 0
		perr.Message = "a gateway answered the create with " + http.StatusText(resp.StatusCode) + "; the records may or may not exist: " + perr.Message
	}
	return perr
}

// writeOne sends a single create, update or delete.
func (p *Provider) writeOne(ctx context.Context, req *writeback.ProviderRequest, pl *plan) (*writeback.ProviderResponse, error) {
	resp, perr := p.send(ctx, pl, req.InstallationID, req.TokenSource, pl.write)
	if perr != nil {
		return nil, perr
	}
	out := &writeback.ProviderResponse{Results: make([]writeback.RecordResult, 1)}
	if !success(resp.StatusCode) {
		perr := p.failedCall(resp, pl.write)
		if !recordLevel(perr) {
			return nil, perr
		}
		perr.RecordIndex = 0
		out.Results[0].Err = perr
		return out, nil
	}
	if req.Type == writeback.WriteTypeDelete {
		out.Results[0].ID = req.Records[0].ID
		return out, nil
	}
	var obj object
	if err := json.Unmarshal(resp.Body, &obj); err != nil || obj.ID == "" {
		return nil, p.badAnswer(resp, pl.write, "no record in the answer")
	}
	out.Results[0] = writeback.RecordResult{ID: obj.ID, Data: objectData(obj)}
	return out, nil
}

// badAnswer is the error of a 2xx answer that cannot be read. For a create
// the records may exist, so the outcome is unknown.
func (p *Provider) badAnswer(resp *transport.Response, c call, why string) *writeback.ProviderError {
	perr := &writeback.ProviderError{
		Provider: Name, Class: writeback.ClassInternal, StatusCode: resp.StatusCode,
		Message: "unreadable HubSpot answer: " + why, RecordIndex: writeback.NoRecord,
	}
	if c.create {
		perr.Class = writeback.ClassUnknownOutcome
	}
	return perr
}

// objectData returns a record's properties as result data.
func objectData(obj object) map[string]any {
	if obj.Properties == nil {
		return nil
	}
	data := make(map[string]any, len(obj.Properties))
	for k, v := range obj.Properties {
		if v == nil {
			data[k] = nil
		} else {
			data[k] = *v
		}
	}
	return data
}

// batchWrite sends a batch create, or a partial batch update, and maps
// HubSpot's answer back to the records. A batch create refused as a whole
// with 409 CONFLICT blames the input conflictInput finds. In partial
// mode, when HubSpot refuses the whole batch for records it names (by
// property or by conflict), the other records are sent again once
// (isolate).
func (p *Provider) batchWrite(ctx context.Context, req *writeback.ProviderRequest, pl *plan, isolate bool) (*writeback.ProviderResponse, error) {
	resp, perr := p.send(ctx, pl, req.InstallationID, req.TokenSource, pl.write)
	if perr != nil {
		return nil, perr
	}
	if !success(resp.StatusCode) {
		perr := p.failedCall(resp, pl.write)
		if !recordLevel(perr) {
			return nil, perr
		}
		blamed := blame(pl, perr)
		if perr.Class == writeback.ClassConflict && req.Type == writeback.WriteTypeCreate && len(req.Records) > 1 {
			i, why := p.conflictInput(ctx, req, pl, resp.Body, perr)
			switch {
			case i >= 0:
				blamed = []int{i}
			case req.AllOrNone:
				p.log.LogAttrs(ctx, slog.LevelWarn, "hubspot batch create: conflict not tied to a record; every record reported not written",
					slog.String("installation", req.InstallationID), slog.String("object", req.Object),
					slog.String("existing id", perr.ExistingID), slog.String("reason", why))
				results := make([]writeback.RecordResult, len(req.Records))
				for k := range results {
					results[k].Err = untiedConflict(k, perr, why)
				}
				return &writeback.ProviderResponse{Results: results}, nil
			}
		}
		out := &writeback.ProviderResponse{Results: wholeBatchFailure(len(req.Records), perr, blamed)}
		if isolate && !req.AllOrNone && len(blamed) > 0 {
			return p.retryOthers(ctx, req, pl, blamed, out)
		}
		return out, nil
	}
	var br batchResult
	if err := json.Unmarshal(resp.Body, &br); err != nil {
		return nil, p.badAnswer(resp, pl.write, err.Error())
	}
	var results []writeback.RecordResult
	if req.Type == writeback.WriteTypeCreate {
		results = p.mapCreateResults(ctx, req, pl, &br, resp.StatusCode)
	} else {
		results = mapUpdateResults(req, &br, resp.StatusCode)
	}
	return &writeback.ProviderResponse{Results: results}, nil
}

// wholeBatchFailure gives every record the error of a batch HubSpot
// refused as a whole. When the error names the records at fault (blamed),
// they get it and the others are rolled back; otherwise every record gets
// it, since HubSpot's body does not say which input failed.
func wholeBatchFailure(n int, perr *writeback.ProviderError, blamed []int) []writeback.RecordResult {
	results := make([]writeback.RecordResult, n)
	for i := range results {
		if blamed == nil || slices.Contains(blamed, i) {
			results[i].Err = recordCopy(perr, i)
		} else {
			results[i].Err = rolledBack(i, perr)
		}
	}
	return results
}

// blame returns the records a whole-batch error is about, when that can
// be told: the error names properties that only some records carry. nil
// means every record may be at fault.
func blame(pl *plan, perr *writeback.ProviderError) []int {
	var idx []int
	if len(perr.Fields) > 0 {
		for i, props := range pl.props {
			for _, f := range perr.Fields {
				if _, ok := props[f]; ok {
					idx = append(idx, i)
					break
				}
			}
		}
	}
	if len(idx) == 0 || len(idx) == len(pl.props) {
		return nil
	}
	return idx
}

// retryOthers sends again, once, the records of a partial batch that
// HubSpot refused as a whole because of other records (blamed), and merges
// the answers.
func (p *Provider) retryOthers(ctx context.Context, req *writeback.ProviderRequest, parent *plan, blamed []int, out *writeback.ProviderResponse) (*writeback.ProviderResponse, error) {
	var keep []int
	sub := *req
	sub.Records = nil
	for i, rec := range req.Records {
		if !slices.Contains(blamed, i) {
			keep = append(keep, i)
			sub.Records = append(sub.Records, rec)
		}
	}
	pl, err := p.buildWrite(&sub)
	if err != nil {
		return out, nil
	}
	resp, err := p.batchWrite(ctx, &sub, pl, false)
	parent.calls = append(parent.calls, pl.calls...)
	if err != nil {
		// The first answer stands: the others were refused with the batch.
		return out, nil
	}
	for j, i := range keep {
		r := resp.Results[j]
		if r.Err != nil {
			r.Err.RecordIndex = i
		}
		out.Results[i] = r
	}
	return out, nil
}

// mapCreateResults maps a batch create answer back to the inputs. With
// trace IDs, results and errors name their input by objectWriteTraceId.
// Without (all-or-nothing, where any failure fails the whole call), the
// answer carries no key and HubSpot returns results in no guaranteed order
// (HubSpot/hubspot-api-nodejs#190), so results are matched to inputs by the
// property values HubSpot echoes back (see matchResults). An input no
// result can be tied to is an unknown outcome, never a guess by position.
// status is the HTTP status of the batch call.
func (p *Provider) mapCreateResults(ctx context.Context, req *writeback.ProviderRequest, pl *plan, br *batchResult, status int) []writeback.RecordResult {
	n := len(req.Records)
	results := make([]writeback.RecordResult, n)
	done := make([]bool, n)
	var untraced []object
	for _, obj := range br.Results {
		i, err := strconv.Atoi(obj.ObjectWriteTraceID)
		if pl.traced && err == nil && i >= 0 && i < n && !done[i] {
			results[i] = writeback.RecordResult{ID: obj.ID, Data: objectData(obj)}
			done[i] = true
			continue
		}
		untraced = append(untraced, obj)
	}
	var general []apiError
	for k := range br.Errors {
		e := &br.Errors[k]
		traces := contextValues(e.Context, "objectWriteTraceId")
		matched := false
		for _, t := range traces {
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < n && !done[i] {
				results[i].Err = batchItemError(e, i, status)
				done[i] = true
				matched = true
			}
		}
		if !matched {
			general = append(general, *e)
		}
	}
	var open []int
	for i := range n {
		if !done[i] {
			open = append(open, i)
		}
	}
	unmatched := 0
	for k, i := range matchResults(untraced, open, pl.props) {
		if i < 0 {
			unmatched++
			continue
		}
		obj := untraced[k]
		results[i] = writeback.RecordResult{ID: obj.ID, Data: objectData(obj)}
		done[i] = true
	}
	var unknown []int
	for i := range n {
		if done[i] {
			continue
		}
		if len(general) > 0 {
			results[i].Err = batchItemError(&general[0], i, status)
			continue
		}
		results[i].Err = noResult(i, status)
		if unmatched > 0 {
			results[i].Err.Message = "HubSpot's batch answer has a result that echoes none of this record's values, so it cannot be told which record it belongs to; the record was probably written, but its ID is not known"
		}
		unknown = append(unknown, i)
	}
	if len(unknown) > 0 {
		p.log.LogAttrs(ctx, slog.LevelWarn, "hubspot batch create: results not tied to their records; reported as unknown outcomes",
			slog.String("installation", req.InstallationID), slog.String("object", req.Object),
			slog.Int("records", len(unknown)), slog.Int("untied results", unmatched),
			slog.String("reason", "the answer carries no objectWriteTraceId and echoes none of these records' property values"))
	}
	return results
}

// matchResults assigns results to inputs (indexes into props) by the
// property values HubSpot echoes back: a result matches an input better
// the more of the input's non-empty values it repeats (compared without
// case or surrounding space, since HubSpot may normalize them). Pairs are
// taken best first; among equal scores, the input closest in position to
// the result wins, so inputs that look the same are matched in order. A
// pair that shares no value is never taken, unless it is the only result
// and the only input left. It returns, for each result, the input index
// it belongs to, or -1.
func matchResults(objs []object, inputs []int, props []map[string]string) []int {
	type pair struct{ obj, input, score, dist int }
	var pairs []pair
	for k, obj := range objs {
		for pos, i := range inputs {
			score := 0
			for name, want := range props[i] {
				if want == "" {
					continue
				}
				if got := obj.Properties[name]; got != nil && strings.EqualFold(strings.TrimSpace(*got), strings.TrimSpace(want)) {
					score++
				}
			}
			if score > 0 {
				pairs = append(pairs, pair{k, i, score, abs(pos - k)})
			}
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		if a.score != b.score {
			return b.score - a.score
		}
		return a.dist - b.dist
	})
	out := make([]int, len(objs))
	for k := range out {
		out[k] = -1
	}
	taken := map[int]bool{}
	for _, p := range pairs {
		if out[p.obj] == -1 && !taken[p.input] {
			out[p.obj] = p.input
			taken[p.input] = true
		}
	}
	// One result and one input left: they belong together.
	var freeObj, freeInput []int
	for k := range out {
		if out[k] == -1 {
			freeObj = append(freeObj, k)
		}
	}
	for _, i := range inputs {
		if !taken[i] {
			freeInput = append(freeInput, i)
		}
	}
	if len(freeObj) == 1 && len(freeInput) == 1 {
		out[freeObj[0]] = freeInput[0]
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// mapUpdateResults maps a batch update answer back to the inputs by record
// ID: results carry their ID, errors list IDs in context.ids.
func mapUpdateResults(req *writeback.ProviderRequest, br *batchResult, status int) []writeback.RecordResult {
	n := len(req.Records)
	results := make([]writeback.RecordResult, n)
	done := make([]bool, n)
	index := make(map[string][]int, n)
	for i, rec := range req.Records {
		index[rec.ID] = append(index[rec.ID], i)
	}
	for _, obj := range br.Results {
		for _, i := range index[obj.ID] {
			if !done[i] {
				results[i] = writeback.RecordResult{ID: obj.ID, Data: objectData(obj)}
				done[i] = true
			}
		}
	}
	for k := range br.Errors {
		e := &br.Errors[k]
		for _, id := range contextValues(e.Context, "ids") {
			for _, i := range index[id] {
				if !done[i] {
					results[i].Err = batchItemError(e, i, status)
					done[i] = true
				}
			}
		}
	}
	for i := range n {
		if !done[i] {
			results[i].Err = noResult(i, status)
		}
	}
	return results
}

// noResult is the error of an input HubSpot's answer says nothing about.
func noResult(i, status int) *writeback.ProviderError {
	return &writeback.ProviderError{
		Provider: Name, Class: writeback.ClassUnknownOutcome, StatusCode: status, Code: "NO_RESULT",
		Message:     "HubSpot's batch answer has no result or error for this record; it may or may not have been written",
		RecordIndex: i,
	}
}
