package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/writebackhq/writeback"
)

// Read implements [writeback.Provider] for the ifEmpty overwrite rule: one
// POST /crm/v3/objects/{object}/batch/read {properties, inputs:[{id}]} per
// 100 IDs. HubSpot returns every property as a string; an unset property
// is left out of the result, so "" and absent both mean empty. A record
// that does not exist is absent.
func (p *Provider) Read(ctx context.Context, req *writeback.ReadRequest) (map[string]map[string]any, error) {
	return p.read(ctx, nil, req)
}

// read is Read; the calls it makes are added to pl's log when pl is not
// nil (a read a write makes, such as the one that finds the input of a
// conflicting batch create).
func (p *Provider) read(ctx context.Context, pl *plan, req *writeback.ReadRequest) (map[string]map[string]any, error) {
	if req == nil {
		return nil, &writeback.ValidationError{Field: "request", Reason: "nil request", Err: writeback.ErrInvalidRecord}
	}
	base, err := p.objectURL(req.Object)
	if err != nil {
		return nil, err
	}
	for i, id := range req.IDs {
		if !recordIDRE.MatchString(id) {
			return nil, &writeback.ValidationError{Field: fmt.Sprintf("ids[%d]", i), Reason: fmt.Sprintf("%q is not a HubSpot record ID", id), Err: writeback.ErrInvalidRecord}
		}
	}
	out := make(map[string]map[string]any, len(req.IDs))
	for chunk := range slices.Chunk(req.IDs, MaxBatchSize) {
		c := readCall(base, chunk, req.Fields)
		resp, perr := p.send(ctx, pl, req.InstallationID, req.TokenSource, c)
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
		for _, obj := range br.Results {
			vals := make(map[string]any, len(req.Fields))
			for _, f := range req.Fields {
				if v := obj.Properties[f]; v != nil && *v != "" {
					vals[f] = *v
				}
			}
			out[obj.ID] = vals
		}
	}
	return out, nil
}
