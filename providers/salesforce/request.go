package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/writebackhq/writeback"
)

// call is one HTTP request the adapter sends.
type call struct {
	method string
	url    string
	body   []byte      // nil for none
	header http.Header // pass-through headers
	// create is true for creates: once sent, their outcome is unknown
	// unless an answer comes back, and they are never resent blindly.
	create bool
	// beforeSend is the request's BeforeSend, for a create, until its
	// first call takes it.
	beforeSend func(context.Context) error
}

// httpRequest returns c as the engine shows it in a dry run.
func (c *call) httpRequest() writeback.HTTPRequest {
	r := writeback.HTTPRequest{Method: c.method, URL: c.url, Header: headerMap(c.header)}
	if c.body != nil {
		r.Body = json.RawMessage(c.body)
	}
	return r
}

// invalidInput wraps a validation failure found before sending.
func invalidInput(index int, ve *writeback.ValidationError) *writeback.ProviderError {
	return &writeback.ProviderError{
		Provider:    Name,
		Class:       writeback.ClassInvalid,
		Message:     ve.Error(),
		RecordIndex: index,
		Err:         ve,
	}
}

// EncodeWrite implements [writeback.RequestEncoder]: it returns the one HTTP
// request [Provider.Write] would send for req, without credentials and
// without sending it.
func (p *Provider) EncodeWrite(req *writeback.ProviderRequest) ([]writeback.HTTPRequest, error) {
	c, err := p.buildWrite(req)
	if err != nil {
		return nil, err
	}
	return []writeback.HTTPRequest{c.httpRequest()}, nil
}

// buildWrite turns a write into its HTTP request, checking everything that
// can be checked without sending. Errors are *writeback.ProviderError of
// class invalid wrapping a *writeback.ValidationError.
func (p *Provider) buildWrite(req *writeback.ProviderRequest) (*call, error) {
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
	header, err := passHeaders(req.Headers)
	if err != nil {
		return nil, err
	}
	if !req.Type.Valid() {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
			Field: "type", Reason: fmt.Sprintf("unknown write type %q", req.Type), Err: writeback.ErrInvalidOptions,
		})
	}
	for i, rec := range req.Records {
		if len(rec.Associations) > 0 {
			return nil, invalidInput(i, &writeback.ValidationError{
				Field: fmt.Sprintf("records[%d].associations", i), Reason: "salesforce records cannot carry associations", Err: writeback.ErrUnsupported,
			})
		}
	}
	if req.Type == writeback.WriteTypeUpsert {
		return p.buildUpsert(base, req, header)
	}
	if req.Batch {
		return p.buildBatch(base, req, header)
	}
	if len(req.Records) != 1 {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
			Field: "records", Reason: fmt.Sprintf("a single write takes 1 record, got %d", len(req.Records)), Err: writeback.ErrBatchSize,
		})
	}
	rec := req.Records[0]
	objectURL := base + "/sobjects/" + req.Object
	switch req.Type {
	case writeback.WriteTypeCreate:
		if rec.ID != "" {
			return nil, invalidInput(0, &writeback.ValidationError{Field: "records[0].id", Reason: "a create carries no record id", Err: writeback.ErrMissingID})
		}
		body, err := encodeFields(0, rec.Fields)
		if err != nil {
			return nil, err
		}
		return &call{method: http.MethodPost, url: objectURL, body: body, header: header, create: true}, nil
	case writeback.WriteTypeUpdate:
		if err := checkID(0, rec.ID); err != nil {
			return nil, err
		}
		if err := checkNoIDField(0, rec); err != nil {
			return nil, err
		}
		body, err := encodeFields(0, rec.Fields)
		if err != nil {
			return nil, err
		}
		return &call{method: http.MethodPatch, url: objectURL + "/" + url.PathEscape(rec.ID), body: body, header: header}, nil
	default: // delete
		if err := checkID(0, rec.ID); err != nil {
			return nil, err
		}
		return &call{method: http.MethodDelete, url: objectURL + "/" + url.PathEscape(rec.ID), header: header}, nil
	}
}

// buildBatch builds an sObject Collections create or update.
func (p *Provider) buildBatch(base string, req *writeback.ProviderRequest, header http.Header) (*call, error) {
	if req.Type == writeback.WriteTypeDelete {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
			Field: "type", Reason: "deletes are single-record only", Err: writeback.ErrUnsupported,
		})
	}
	if n := len(req.Records); n == 0 || n > MaxBatchSize {
		return nil, invalidInput(writeback.NoRecord, &writeback.ValidationError{
			Field: "records", Reason: fmt.Sprintf("a batch takes 1 to %d records, got %d", MaxBatchSize, n), Err: writeback.ErrBatchSize,
		})
	}
	var b bytes.Buffer
	b.WriteString(`{"allOrNone":`)
	b.WriteString(fmt.Sprint(req.AllOrNone))
	b.WriteString(`,"records":[`)
	typ, _ := json.Marshal(req.Object)
	for i, rec := range req.Records {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"attributes":{"type":`)
		b.Write(typ)
		b.WriteByte('}')
		switch req.Type {
		case writeback.WriteTypeCreate:
			if rec.ID != "" {
				return nil, invalidInput(i, &writeback.ValidationError{
					Field: fmt.Sprintf("records[%d].id", i), Reason: "a create carries no record id", Err: writeback.ErrMissingID,
				})
			}
		case writeback.WriteTypeUpdate:
			if rec.ID == "" {
				return nil, invalidInput(i, &writeback.ValidationError{
					Field: fmt.Sprintf("records[%d].id", i), Reason: "an update needs the record id", Err: writeback.ErrMissingID,
				})
			}
			if err := checkNoIDField(i, rec); err != nil {
				return nil, err
			}
			id, _ := json.Marshal(rec.ID)
			b.WriteString(`,"id":`)
			b.Write(id)
		}
		if err := writeFields(&b, i, rec.Fields); err != nil {
			return nil, err
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	m := http.MethodPost
	if req.Type == writeback.WriteTypeUpdate {
		m = http.MethodPatch
	}
	return &call{method: m, url: base + "/composite/sobjects", body: b.Bytes(), header: header, create: req.Type == writeback.WriteTypeCreate}, nil
}

// checkID checks a record ID that goes into a URL path.
func checkID(index int, id string) error {
	if id == "" {
		return invalidInput(index, &writeback.ValidationError{
			Field: fmt.Sprintf("records[%d].id", index), Reason: "required", Err: writeback.ErrMissingID,
		})
	}
	if !recordIDRE.MatchString(id) {
		return invalidInput(index, &writeback.ValidationError{
			Field: fmt.Sprintf("records[%d].id", index), Reason: fmt.Sprintf("%q is not a 15- or 18-character Salesforce id", id), Err: writeback.ErrInvalidRecord,
		})
	}
	return nil
}

// checkNoIDField refuses an update whose fields name the Id or the
// attributes: the record is addressed by Record.ID alone.
func checkNoIDField(index int, rec writeback.Record) error {
	for k := range rec.Fields {
		if strings.EqualFold(k, "Id") || strings.EqualFold(k, "attributes") {
			return invalidInput(index, &writeback.ValidationError{
				Field: fmt.Sprintf("records[%d].fields.%s", index, k), Reason: "set the record id through Record.ID, not as a field", Err: writeback.ErrInvalidRecord,
			})
		}
	}
	return nil
}

// encodeFields encodes a record's fields as a JSON object with sorted keys.
func encodeFields(index int, fields map[string]any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeFields(&b, index, fields); err != nil {
		return nil, err
	}
	out := b.Bytes()
	if len(out) > 0 {
		out[0] = '{' // the leading comma
	} else {
		out = append(out, '{')
	}
	return append(out, '}'), nil
}

// writeFields appends ,"name":value for every field, in name order.
func writeFields(b *bytes.Buffer, index int, fields map[string]any) error {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.EqualFold(k, "attributes") {
			return invalidInput(index, &writeback.ValidationError{
				Field: fmt.Sprintf("records[%d].fields.%s", index, k), Reason: "attributes is reserved by the Salesforce API", Err: writeback.ErrInvalidRecord,
			})
		}
		name, _ := json.Marshal(k)
		val, err := json.Marshal(fields[k])
		if err != nil {
			return invalidInput(index, &writeback.ValidationError{
				Field: fmt.Sprintf("records[%d].fields.%s", index, k), Reason: "value does not encode as JSON: " + err.Error(), Err: writeback.ErrInvalidRecord,
			})
		}
		b.WriteByte(',')
		b.Write(name)
		b.WriteByte(':')
		b.Write(val)
	}
	return nil
}

// configError wraps a configuration or installation problem found before
// sending; it is not retryable.
func configError(err error) *writeback.ProviderError {
	return &writeback.ProviderError{
		Provider:    Name,
		Class:       writeback.ClassInvalid,
		Message:     err.Error(),
		RecordIndex: writeback.NoRecord,
		Err:         err,
	}
}
