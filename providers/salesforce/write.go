package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/internal/transport"
)

// saveResult is Salesforce's answer for one record: a single create's
// body, or one item of a Collections create or update.
type saveResult struct {
	ID      string     `json:"id"`
	Success bool       `json:"success"`
	Errors  []apiError `json:"errors"`
}

// Write implements [writeback.Provider]. A single create is POST
// .../sobjects/{Object}, an update PATCH .../sobjects/{Object}/{id}, a
// delete DELETE .../sobjects/{Object}/{id}; a batch create or update is one
// sObject Collections call (POST or PATCH .../composite/sobjects) with
// allOrNone from the request. An upsert goes by the request's external ID
// field (Key): PATCH .../sobjects/{Object}/{Key}/{value} for one record,
// PATCH .../composite/sobjects/{Object}/{Key} with allOrNone for a batch;
// each result says whether Salesforce created the record.
//
// A record Salesforce rejected (400 or 404, or a failed Collections item)
// gets its own classified error in the response; an error return means the
// call failed as a whole: quota, session, permission, 5xx, no answer, or
// input refused before sending.
func (p *Provider) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	c, err := p.buildWrite(req)
	if err != nil {
		return nil, err
	}
	if c.create {
		c.beforeSend = req.BeforeSend
	}
	resp, err := p.do(ctx, req.InstallationID, req.TokenSource, c)
	if err != nil {
		return nil, err
	}
	out, err := p.answer(ctx, req, c, resp)
	if out != nil {
		out.Calls = resp.Calls
	}
	var perr *writeback.ProviderError
	if errors.As(err, &perr) {
		perr.Calls = resp.Calls
	}
	return out, err
}

// answer reads the answer to a write.
func (p *Provider) answer(ctx context.Context, req *writeback.ProviderRequest, c *call, resp *transport.Response) (*writeback.ProviderResponse, error) {
	if c.create && (resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout) {
		// A gateway answered: Salesforce may have processed the create.
		perr := p.responseError(req.Type, resp, writeback.NoRecord)
		perr.Class = writeback.ClassUnknownOutcome
		perr.Message = "a gateway answered the create with " + http.StatusText(resp.StatusCode) + "; the records may or may not exist: " + perr.Message
		return nil, perr
	}
	if req.Type == writeback.WriteTypeUpsert {
		return p.upsertResponse(req, c, resp)
	}
	if req.Batch {
		return p.batchResponse(req, c, resp)
	}
	return p.singleResponse(ctx, req, c, resp)
}

// do sends c through the transport and classifies a failure to get an
// answer. A create's first call calls the request's BeforeSend right
// before it is sent.
func (p *Provider) do(ctx context.Context, key string, ts oauth2.TokenSource, c *call) (*transport.Response, error) {
	if ts == nil {
		return nil, &writeback.ProviderError{
			Provider: Name, Class: writeback.ClassAuth, Message: "no token source for the installation; nothing was sent",
			RecordIndex: writeback.NoRecord,
		}
	}
	before := c.beforeSend
	c.beforeSend = nil // once per write
	resp, err := p.client.Do(ctx, &transport.Request{
		Method:      c.method,
		URL:         c.url,
		Body:        c.body,
		Header:      c.header,
		Key:         key,
		TokenSource: ts,
		Idempotent:  !c.create,
		BeforeSend:  before,
	})
	if err != nil {
		return nil, p.client.CallError(err, c.create)
	}
	return resp, nil
}

// singleResponse reads the answer to a single create, update or delete.
func (p *Provider) singleResponse(ctx context.Context, req *writeback.ProviderRequest, c *call, resp *transport.Response) (*writeback.ProviderResponse, error) {
	rec := req.Records[0]
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if req.Type != writeback.WriteTypeCreate {
			return one(writeback.RecordResult{ID: rec.ID}), nil
		}
		var sr saveResult
		if err := json.Unmarshal(resp.Body, &sr); err != nil || sr.ID == "" {
			return nil, unreadable(c, resp, err)
		}
		if !sr.Success {
			return one(writeback.RecordResult{Err: p.errorsError(req.Type, resp.StatusCode, sr.Errors, 0)}), nil
		}
		return one(writeback.RecordResult{ID: sr.ID}), nil
	case resp.StatusCode == http.StatusBadRequest, resp.StatusCode == http.StatusNotFound:
		// The record was rejected: its own result.
		perr := p.responseError(req.Type, resp, 0)
		if req.Type == writeback.WriteTypeDelete && perr.Code == codeDeleted {
			// The record is in the Recycle Bin: deleted earlier (perhaps by
			// a send whose answer was lost). Gone, as asked.
			p.log.LogAttrs(ctx, slog.LevelInfo, "salesforce delete: record already deleted",
				slog.String("installation", req.InstallationID), slog.String("object", req.Object), slog.String("id", rec.ID))
			return one(writeback.RecordResult{ID: rec.ID, AlreadyDeleted: true}), nil
		}
		return one(writeback.RecordResult{Err: perr}), nil
	default:
		return nil, p.responseError(req.Type, resp, writeback.NoRecord)
	}
}

// batchResponse reads the answer to an sObject Collections create or
// update: 200 with one result per record, in order, or an error for the
// whole request.
func (p *Provider) batchResponse(req *writeback.ProviderRequest, c *call, resp *transport.Response) (*writeback.ProviderResponse, error) {
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return nil, p.responseError(req.Type, resp, writeback.NoRecord)
	}
	var items []saveResult
	if err := json.Unmarshal(resp.Body, &items); err != nil || len(items) != len(req.Records) {
		if err == nil {
			err = fmt.Errorf("%d results for %d records", len(items), len(req.Records))
		}
		return nil, unreadable(c, resp, err)
	}
	out := &writeback.ProviderResponse{Results: make([]writeback.RecordResult, len(items))}
	for i, it := range items {
		switch {
		case it.Success:
			id := it.ID
			if id == "" {
				id = req.Records[i].ID
			}
			out.Results[i].ID = id
		default:
			out.Results[i].Err = p.errorsError(req.Type, resp.StatusCode, it.Errors, i)
		}
	}
	return out, nil
}

// one returns a response holding one result.
func one(r writeback.RecordResult) *writeback.ProviderResponse {
	return &writeback.ProviderResponse{Results: []writeback.RecordResult{r}}
}

// unreadable reports a success status whose body cannot be read. After a
// create the records may exist, so the outcome is unknown.
func unreadable(c *call, resp *transport.Response, err error) *writeback.ProviderError {
	perr := &writeback.ProviderError{
		Provider:    Name,
		Class:       writeback.ClassInternal,
		StatusCode:  resp.StatusCode,
		Message:     "unreadable salesforce response",
		RecordIndex: writeback.NoRecord,
		Err:         err,
	}
	if err != nil {
		perr.Message += ": " + err.Error()
	}
	if c.create {
		perr.Class = writeback.ClassUnknownOutcome
		perr.Message = "the create succeeded (" + http.StatusText(resp.StatusCode) + ") but its response could not be read; the records may exist: " + perr.Message
	}
	return perr
}
