package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/writebackhq/writeback"
)

// retrieveRequest is the body of a Collections retrieve by POST.
type retrieveRequest struct {
	IDs    []string `json:"ids"`
	Fields []string `json:"fields"`
}

// Read implements [writeback.Provider] with one sObject Collections
// retrieve (POST .../composite/sobjects/{Object} with {"ids","fields"}), for
// the ifEmpty overwrite rule. The result is keyed by the IDs as given;
// records Salesforce answers null for (missing, deleted, not visible) are
// absent. Field names are matched case-insensitively, as Salesforce does,
// and returned as asked.
func (p *Provider) Read(ctx context.Context, req *writeback.ReadRequest) (map[string]map[string]any, error) {
	if req == nil {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{Field: "request", Reason: "is nil", Err: writeback.ErrInvalidRecord})
	}
	base, err := p.dataURL(req.Connection)
	if err != nil {
		return nil, configError(err)
	}
	if !objectRE.MatchString(req.Object) {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
			Field: "object", Reason: fmt.Sprintf("%q is not a Salesforce object API name", req.Object), Err: writeback.ErrUnknownObject,
		})
	}
	if len(req.IDs) > MaxReadIDs {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
			Field: "ids", Reason: fmt.Sprintf("at most %d ids per read, got %d", MaxReadIDs, len(req.IDs)), Err: writeback.ErrBatchSize,
		})
	}
	out := make(map[string]map[string]any, len(req.IDs))
	if len(req.IDs) == 0 {
		return out, nil
	}
	fields := []string{"Id"}
	for _, f := range req.Fields {
		if !strings.EqualFold(f, "Id") {
			fields = append(fields, f)
		}
	}
	body, err := json.Marshal(retrieveRequest{IDs: req.IDs, Fields: fields})
	if err != nil {
		return nil, configError(err)
	}
	c := &call{method: "POST", url: base + "/composite/sobjects/" + req.Object, body: body}
	resp, err := p.do(ctx, req.InstallationID, req.TokenSource, c)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return nil, p.responseError("", resp, writeback.NoRecord)
	}
	var items []map[string]any
	if err := json.Unmarshal(resp.Body, &items); err != nil || len(items) != len(req.IDs) {
		if err == nil {
			err = fmt.Errorf("%d records for %d ids", len(items), len(req.IDs))
		}
		return nil, unreadable(c, resp, err)
	}
	for i, item := range items {
		if item == nil {
			continue
		}
		vals := make(map[string]any, len(req.Fields))
		for _, f := range req.Fields {
			for k, v := range item {
				if strings.EqualFold(k, f) {
					vals[f] = v
					break
				}
			}
		}
		out[req.IDs[i]] = vals
	}
	return out, nil
}
