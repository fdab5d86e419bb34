package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/internal/transport"
)

// codeDuplicateExternalID is a Collections upsert item whose external ID
// value several records hold (or that the request repeats).
const codeDuplicateExternalID = "DUPLICATE_EXTERNAL_ID"

// fieldRE matches a field API name.
var fieldRE = objectRE

// upsertResult is Salesforce's answer for one upserted record.
type upsertResult struct {
	saveResult
	Created bool `json:"created"`
}

// buildUpsert encodes an upsert by external ID: PATCH
// .../sobjects/{Object}/{Field}/{value} with the other fields for one
// record, PATCH .../composite/sobjects/{Object}/{Field} with allOrNone for
// a batch (each record with its value). An upsert is safe to resend: a
// second send finds the record the first created, by its key.
func (p *Provider) buildUpsert(base string, req *writeback.ProviderRequest, header http.Header) (*call, error) {
	if !fieldRE.MatchString(req.Key) {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
			Field: "key", Reason: fmt.Sprintf("%q is not a Salesforce field API name", req.Key), Err: writeback.ErrUpsertKey,
		})
	}
	n := len(req.Records)
	if n == 0 || n > MaxBatchSize || n > 1 && !req.Batch {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
			Field: "records", Reason: fmt.Sprintf("%d records", n), Err: writeback.ErrBatchSize,
		})
	}
	values := make([]string, n)
	for i, rec := range req.Records {
		field := fmt.Sprintf("records[%d]", i)
		if rec.ID != "" {
			return nil, invalidInput(i, &writeback.ValidationError{Field: field + ".id", Reason: "an upsert is identified by its external ID, not a record id", Err: writeback.ErrInvalidRecord})
		}
		if err := checkNoIDField(i, writeback.Record{Fields: rec.Fields}); err != nil {
			return nil, err
		}
		v, ok := keyText(rec.Fields[req.Key])
		if !ok {
			return nil, invalidInput(i, &writeback.ValidationError{Field: field + ".fields." + req.Key, Reason: "an upsert needs a value of its external ID field", Err: writeback.ErrUpsertKey})
		}
		values[i] = v
	}
	if !req.Batch {
		fields := make(map[string]any, len(req.Records[0].Fields))
		for k, v := range req.Records[0].Fields {
			if k != req.Key {
				fields[k] = v
			}
		}
		body, err := encodeFields(0, fields)
		if err != nil {
			return nil, err
		}
		u := base + "/sobjects/" + req.Object + "/" + req.Key + "/" + url.PathEscape(values[0])
		return &call{method: http.MethodPatch, url: u, body: body, header: header}, nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"allOrNone":%t,"records":[`, req.AllOrNone)
	typ, _ := json.Marshal(req.Object)
	for i, rec := range req.Records {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"attributes":{"type":`)
		b.Write(typ)
		b.WriteByte('}')
		if err := writeFields(&b, i, rec.Fields); err != nil {
			return nil, err
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return &call{method: http.MethodPatch, url: base + "/composite/sobjects/" + req.Object + "/" + req.Key, body: b.Bytes(), header: header}, nil
}

// keyText returns an external ID value as text: a non-blank string or a
// number.
func keyText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, strings.TrimSpace(x) != ""
	case json.Number:
		return x.String(), x != ""
	}
	return "", false
}

// upsertResponse reads the answer to an upsert: 200 or 201 with the
// record and "created" for one record (300 when several records hold the
// value: a conflict, nothing written); for a batch, 200 with one result
// per record, in order.
func (p *Provider) upsertResponse(req *writeback.ProviderRequest, c *call, resp *transport.Response) (*writeback.ProviderResponse, error) {
	if !req.Batch {
		switch {
		case resp.StatusCode == http.StatusMultipleChoices:
			return one(writeback.RecordResult{Err: &writeback.ProviderError{
				Provider: Name, Class: writeback.ClassConflict, StatusCode: resp.StatusCode, Code: "MULTIPLE_CHOICES",
				Message:     fmt.Sprintf("several %s records have this %s: nothing was written (%s)", req.Object, req.Key, bodySnippet(resp)),
				Fields:      []string{req.Key},
				RecordIndex: 0,
			}}), nil
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			var ur upsertResult
			if err := json.Unmarshal(resp.Body, &ur); err != nil || ur.ID == "" {
				return nil, unreadable(c, resp, err)
			}
			if !ur.Success {
				return one(writeback.RecordResult{Err: p.errorsError(req.Type, resp.StatusCode, ur.Errors, 0)}), nil
			}
			return one(writeback.RecordResult{ID: ur.ID, Created: ur.Created}), nil
		case resp.StatusCode == http.StatusBadRequest, resp.StatusCode == http.StatusNotFound:
			return one(writeback.RecordResult{Err: p.responseError(req.Type, resp, 0)}), nil
		default:
			return nil, p.responseError(req.Type, resp, writeback.NoRecord)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return nil, p.responseError(req.Type, resp, writeback.NoRecord)
	}
	var items []upsertResult
	if err := json.Unmarshal(resp.Body, &items); err != nil || len(items) != len(req.Records) {
		if err == nil {
			err = fmt.Errorf("%d results for %d records", len(items), len(req.Records))
		}
		return nil, unreadable(c, resp, err)
	}
	out := &writeback.ProviderResponse{Results: make([]writeback.RecordResult, len(items))}
	for i, it := range items {
		if it.Success {
			out.Results[i] = writeback.RecordResult{ID: it.ID, Created: it.Created}
			continue
		}
		out.Results[i].Err = p.errorsError(req.Type, resp.StatusCode, it.Errors, i)
	}
	return out, nil
}

// ReadByKey implements [writeback.KeyReader] with one SOQL query per
// call: GET .../query?q=SELECT Id, {Key}, {Fields} FROM {Object} WHERE
// {Key} IN ('v1', ...). A value several records hold (an external ID
// field without the Unique attribute) is an error of class conflict.
func (p *Provider) ReadByKey(ctx context.Context, req *writeback.ReadRequest) (map[string]writeback.KeyedRecord, error) {
	if req == nil {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{Field: "request", Reason: "is nil", Err: writeback.ErrInvalidRecord})
	}
	base, err := p.dataURL(req.Connection)
	if err != nil {
		return nil, configError(err)
	}
	if !objectRE.MatchString(req.Object) || !fieldRE.MatchString(req.Key) {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
			Field: "key", Reason: fmt.Sprintf("%q.%q is not a Salesforce object and field", req.Object, req.Key), Err: writeback.ErrUpsertKey,
		})
	}
	out := make(map[string]writeback.KeyedRecord, len(req.IDs))
	if len(req.IDs) == 0 {
		return out, nil
	}
	fields := []string{"Id", req.Key}
	for _, f := range req.Fields {
		if !fieldRE.MatchString(f) {
			return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{Field: "fields", Reason: fmt.Sprintf("%q is not a field API name", f), Err: writeback.ErrInvalidRecord})
		}
		if !strings.EqualFold(f, "Id") && !strings.EqualFold(f, req.Key) {
			fields = append(fields, f)
		}
	}
	lits := make([]string, len(req.IDs))
	asked := make(map[string]string, len(req.IDs))
	for i, v := range req.IDs {
		lits[i] = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
		asked[strings.ToLower(v)] = v
	}
	soql := fmt.Sprintf("SELECT %s FROM %s WHERE %s IN (%s)", strings.Join(fields, ", "), req.Object, req.Key, strings.Join(lits, ", "))
	c := &call{method: http.MethodGet, url: base + "/query?q=" + url.QueryEscape(soql)}
	resp, err := p.do(ctx, req.InstallationID, req.TokenSource, c)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return nil, p.responseError("", resp, writeback.NoRecord)
	}
	var page struct {
		Records []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return nil, unreadable(c, resp, err)
	}
	for _, rec := range page.Records {
		var key, id string
		vals := make(map[string]any, len(req.Fields))
		for k, v := range rec {
			switch {
			case strings.EqualFold(k, "Id"):
				id, _ = v.(string)
			case strings.EqualFold(k, req.Key):
				key = fmt.Sprint(v)
			}
			for _, f := range req.Fields {
				if strings.EqualFold(k, f) && v != nil {
					vals[f] = v
				}
			}
		}
		v, ok := asked[strings.ToLower(key)]
		if !ok {
			continue
		}
		if prev, dup := out[v]; dup && prev.ID != id {
			return nil, &writeback.ProviderError{
				Provider: Name, Class: writeback.ClassConflict, StatusCode: resp.StatusCode, Code: codeDuplicateExternalID,
				Message:     fmt.Sprintf("several %s records have %s %q (%s, %s): it is not a unique key", req.Object, req.Key, v, prev.ID, id),
				Fields:      []string{req.Key},
				RecordIndex: writeback.NoRecord,
			}
		}
		out[v] = writeback.KeyedRecord{ID: id, Fields: vals}
	}
	return out, nil
}
