package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/writebackhq/writeback"
)

// upsertInput is one input of a batch upsert.
type upsertInput struct {
	IDProperty         string            `json:"idProperty"`
	ID                 string            `json:"id"`
	Properties         map[string]string `json:"properties"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId"`
}

// upsertObject is a result of a batch upsert: the record, and whether
// HubSpot created it.
type upsertObject struct {
	object
	New bool `json:"new"`
}

// upsertResult is HubSpot's batch upsert answer, with multi-status errors.
type upsertResult struct {
	Results []upsertObject `json:"results"`
	Errors  []apiError     `json:"errors"`
}

// upsertCall encodes an upsert, single or batch, as POST
// .../batch/upsert: HubSpot has no single-record upsert. Every input
// carries its index as objectWriteTraceId, so results and errors name
// their input. The call is safe to resend: a second send finds the
// records the first created, by key.
func upsertCall(base string, req *writeback.ProviderRequest, props []map[string]string) call {
	inputs := make([]upsertInput, len(req.Records))
	for i := range req.Records {
		inputs[i] = upsertInput{IDProperty: req.Key, ID: props[i][req.Key], Properties: props[i], ObjectWriteTraceID: strconv.Itoa(i)}
	}
	return call{method: http.MethodPost, url: base + "/batch/upsert", body: mustJSON(map[string]any{"inputs": inputs})}
}

// checkUpsert rejects an upsert the adapter cannot send.
func checkUpsert(req *writeback.ProviderRequest) error {
	if req.Key == "" {
		return &writeback.ValidationError{Field: "key", Reason: "an upsert needs a key property (idProperty)", Err: writeback.ErrUpsertKey}
	}
	seen := make(map[string]int, len(req.Records))
	for i, rec := range req.Records {
		field := fmt.Sprintf("records[%d]", i)
		if rec.ID != "" {
			return &writeback.ValidationError{Field: field + ".id", Reason: "an upsert is identified by its key, not a record ID", Err: writeback.ErrInvalidRecord}
		}
		if len(rec.Associations) > 0 {
			return &writeback.ValidationError{Field: field + ".associations", Reason: "associations are made on create only", Err: writeback.ErrUnsupported}
		}
		v, err := propertyValue(rec.Fields[req.Key])
		if err != nil || v == "" {
			return &writeback.ValidationError{Field: field + ".fields." + req.Key, Reason: "an upsert needs a value of its key property", Err: writeback.ErrUpsertKey}
		}
		if j, dup := seen[v]; dup {
			return &writeback.ValidationError{Field: field + ".fields." + req.Key, Reason: fmt.Sprintf("key value %q also in records[%d]: HubSpot refuses the batch", v, j), Err: writeback.ErrInvalidRecord}
		}
		seen[v] = i
	}
	return nil
}

// upsert sends a batch upsert and maps HubSpot's answer back to the
// records by objectWriteTraceId. A batch HubSpot refuses as a whole for
// its input (a key property without unique values, a property it does
// not know) fails every record with that error.
func (p *Provider) upsert(ctx context.Context, req *writeback.ProviderRequest, pl *plan) (*writeback.ProviderResponse, error) {
	resp, perr := p.send(ctx, pl, req.InstallationID, req.TokenSource, pl.write)
	if perr != nil {
		return nil, perr
	}
	n := len(req.Records)
	if !success(resp.StatusCode) {
		perr := p.failedCall(resp, pl.write)
		if !recordLevel(perr) {
			return nil, perr
		}
		return &writeback.ProviderResponse{Results: wholeBatchFailure(n, perr, blame(pl, perr))}, nil
	}
	var ur upsertResult
	if err := json.Unmarshal(resp.Body, &ur); err != nil {
		return nil, p.badAnswer(resp, pl.write, err.Error())
	}
	results := make([]writeback.RecordResult, n)
	done := make([]bool, n)
	byKey := make(map[string]int, n)
	for i := range n {
		byKey[strings.ToLower(strings.TrimSpace(pl.props[i][req.Key]))] = i
	}
	index := func(trace, key string) (int, bool) {
		if i, err := strconv.Atoi(trace); err == nil && i >= 0 && i < n && !done[i] {
			return i, true
		}
		if i, ok := byKey[strings.ToLower(strings.TrimSpace(key))]; ok && key != "" && !done[i] {
			return i, true
		}
		return 0, false
	}
	for _, obj := range ur.Results {
		key := ""
		if v := obj.Properties[req.Key]; v != nil {
			key = *v
		}
		if i, ok := index(obj.ObjectWriteTraceID, key); ok {
			results[i] = writeback.RecordResult{ID: obj.ID, Created: obj.New, Data: objectData(obj.object)}
			done[i] = true
		}
	}
	for k := range ur.Errors {
		e := &ur.Errors[k]
		refs := slices.Concat(contextValues(e.Context, "objectWriteTraceId"), contextValues(e.Context, "ids"))
		for _, ref := range refs {
			if i, ok := index(ref, ref); ok {
				results[i].Err = batchItemError(e, i, resp.StatusCode)
				done[i] = true
			}
		}
	}
	for i := range n {
		if !done[i] {
			results[i].Err = noResult(i, resp.StatusCode)
		}
	}
	return &writeback.ProviderResponse{Results: results}, nil
}

// ReadByKey implements [writeback.KeyReader]: POST
// /crm/v3/objects/{object}/batch/read with idProperty set to the key,
// one call per 100 values. HubSpot refuses a key property without unique
// values (400 VALIDATION_ERROR, class invalid).
func (p *Provider) ReadByKey(ctx context.Context, req *writeback.ReadRequest) (map[string]writeback.KeyedRecord, error) {
	if req == nil || req.Key == "" {
		return nil, &writeback.ValidationError{Field: "key", Reason: "a read by key needs a key property", Err: writeback.ErrUpsertKey}
	}
	base, err := p.objectURL(req.Object)
	if err != nil {
		return nil, err
	}
	props := append(slices.Clone(req.Fields), req.Key)
	out := make(map[string]writeback.KeyedRecord, len(req.IDs))
	for chunk := range slices.Chunk(req.IDs, MaxBatchSize) {
		body := map[string]any{"properties": props, "idProperty": req.Key, "inputs": idInputs(chunk)}
		c := call{method: http.MethodPost, url: base + "/batch/read", body: mustJSON(body)}
		resp, perr := p.send(ctx, nil, req.InstallationID, req.TokenSource, c)
		if perr != nil {
			return nil, perr
		}
		if !success(resp.StatusCode) {
			return nil, p.failedCall(resp, c)
		}
		var br batchResult
		if err := json.Unmarshal(resp.Body, &br); err != nil {
			return nil, p.badAnswer(resp, c, err.Error())
		}
		for _, e := range br.Errors {
			if class := classByCategory(e.Category); class != writeback.ClassNotFound {
				return nil, batchItemError(&e, writeback.NoRecord, resp.StatusCode)
			}
		}
		asked := make(map[string]string, len(chunk))
		for _, v := range chunk {
			asked[strings.ToLower(strings.TrimSpace(v))] = v
		}
		for _, obj := range br.Results {
			// HubSpot may store the value normalised (an email in lower
			// case): the record is returned under the value asked for.
			key := obj.Properties[req.Key]
			if key == nil {
				continue
			}
			v, ok := asked[strings.ToLower(strings.TrimSpace(*key))]
			if !ok {
				continue
			}
			vals := make(map[string]any, len(req.Fields))
			for _, f := range req.Fields {
				if v := obj.Properties[f]; v != nil && *v != "" {
					vals[f] = *v
				}
			}
			out[v] = writeback.KeyedRecord{ID: obj.ID, Fields: vals}
		}
	}
	return out, nil
}

// idInputs returns [{"id": ...}] for ids.
func idInputs(ids []string) []idInput {
	out := make([]idInput, len(ids))
	for i, id := range ids {
		out[i] = idInput{ID: id}
	}
	return out
}
