package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/writebackhq/writeback"
)

// call is one HubSpot API request.
type call struct {
	method string
	url    string
	body   []byte
	// create is true for requests that are not safe to resend when their
	// outcome is unknown (creates).
	create bool
}

// association is the v4 shape of an association on create.
type association struct {
	To    idInput                     `json:"to"`
	Types []writeback.AssociationType `json:"types"`
}

// idInput is {"id": ...}.
type idInput struct {
	ID string `json:"id"`
}

// createInput is one record of a create: the body of a single create, or
// one input of a batch create.
type createInput struct {
	Properties         map[string]string `json:"properties"`
	Associations       []association     `json:"associations"`
	ObjectWriteTraceID string            `json:"objectWriteTraceId,omitempty"`
}

// updateInput is one input of a batch update; a single update sends only
// the properties.
type updateInput struct {
	ID         string            `json:"id,omitempty"`
	Properties map[string]string `json:"properties"`
}

// readBody is the body of a batch read.
type readBody struct {
	Properties []string  `json:"properties"`
	Inputs     []idInput `json:"inputs"`
}

// plan is how a write is sent: the write call, the read taken before an
// emulated all-or-nothing batch update, and the encoded properties.
type plan struct {
	objectURL string
	write     call
	read      *call
	props     []map[string]string
	touched   []string // properties an update batch writes, sorted
	traced    bool     // batch create inputs carry objectWriteTraceIds
	// beforeSend is the request's BeforeSend until the first create call
	// takes it.
	beforeSend func(context.Context) error

	calls []writeback.ProviderCall // the calls sent so far, for the response
}

// compensated reports whether the write is an all-or-nothing batch update,
// which HubSpot cannot do atomically.
func (pl *plan) compensated() bool { return pl.read != nil }

// buildWrite checks req and encodes it.
func (p *Provider) buildWrite(req *writeback.ProviderRequest) (*plan, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	base, err := p.objectURL(req.Object)
	if err != nil {
		return nil, err
	}
	pl := &plan{objectURL: base, props: make([]map[string]string, len(req.Records)), beforeSend: req.BeforeSend}
	for i, rec := range req.Records {
		props, err := encodeProperties(i, rec.Fields)
		if err != nil {
			return nil, err
		}
		pl.props[i] = props
	}
	switch {
	case req.Type == writeback.WriteTypeUpsert:
		pl.traced = true
		pl.write = upsertCall(base, req, pl.props)
	case req.Type == writeback.WriteTypeDelete:
		pl.write = call{method: http.MethodDelete, url: base + "/" + req.Records[0].ID}
	case req.Type == writeback.WriteTypeCreate && !req.Batch:
		pl.write = call{method: http.MethodPost, url: base, create: true,
			body: mustJSON(createInput{Properties: pl.props[0], Associations: encodeAssociations(req.Records[0].Associations)})}
	case req.Type == writeback.WriteTypeUpdate && !req.Batch:
		pl.write = call{method: http.MethodPatch, url: base + "/" + req.Records[0].ID,
			body: mustJSON(updateInput{Properties: pl.props[0]})}
	case req.Type == writeback.WriteTypeCreate:
		// Partial success needs a unique objectWriteTraceId per input
		// (HubSpot then answers 207 per input); without them HubSpot fails
		// the whole batch if any input fails, which is all-or-nothing.
		pl.traced = !req.AllOrNone
		inputs := make([]createInput, len(req.Records))
		for i, rec := range req.Records {
			inputs[i] = createInput{Properties: pl.props[i], Associations: encodeAssociations(rec.Associations)}
			if pl.traced {
				inputs[i].ObjectWriteTraceID = strconv.Itoa(i)
			}
		}
		pl.write = call{method: http.MethodPost, url: base + "/batch/create", create: true, body: mustJSON(map[string]any{"inputs": inputs})}
	default: // batch update
		inputs := make([]updateInput, len(req.Records))
		touched := map[string]bool{}
		for i, rec := range req.Records {
			inputs[i] = updateInput{ID: rec.ID, Properties: pl.props[i]}
			for k := range pl.props[i] {
				touched[k] = true
			}
		}
		pl.touched = slices.Sorted(maps.Keys(touched))
		pl.write = call{method: http.MethodPost, url: base + "/batch/update", body: mustJSON(map[string]any{"inputs": inputs})}
		if req.AllOrNone {
			ids := make([]string, len(req.Records))
			for i, rec := range req.Records {
				ids[i] = rec.ID
			}
			r := readCall(base, ids, pl.touched)
			pl.read = &r
		}
	}
	return pl, nil
}

// readCall builds a batch read of some properties of some records.
func readCall(base string, ids, properties []string) call {
	body := readBody{Properties: properties, Inputs: make([]idInput, len(ids))}
	if body.Properties == nil {
		body.Properties = []string{}
	}
	for i, id := range ids {
		body.Inputs[i] = idInput{ID: id}
	}
	return call{method: http.MethodPost, url: base + "/batch/read", body: mustJSON(body)}
}

// EncodeWrite implements [writeback.RequestEncoder]: the HTTP requests
// Write would send for req, without sending anything. An all-or-nothing
// batch update shows the batch read taken before it and the batch update;
// the restore that may follow depends on HubSpot's answer and is left out.
func (p *Provider) EncodeWrite(req *writeback.ProviderRequest) ([]writeback.HTTPRequest, error) {
	pl, err := p.buildWrite(req)
	if err != nil {
		return nil, err
	}
	var out []writeback.HTTPRequest
	for _, c := range []*call{pl.read, &pl.write} {
		if c == nil {
			continue
		}
		out = append(out, writeback.HTTPRequest{Method: c.method, URL: c.url, Body: json.RawMessage(c.body)})
	}
	return out, nil
}

// checkRequest rejects a request the adapter cannot send, before anything
// is sent.
func checkRequest(req *writeback.ProviderRequest) error {
	if req == nil {
		return &writeback.ValidationError{Field: "request", Reason: "nil request", Err: writeback.ErrInvalidRecord}
	}
	if !req.Type.Valid() {
		return &writeback.ValidationError{Field: "type", Reason: fmt.Sprintf("unknown write type %q", req.Type), Err: writeback.ErrUnsupported}
	}
	n := len(req.Records)
	switch {
	case n == 0 || n > MaxBatchSize:
		return &writeback.ValidationError{Field: "records", Reason: fmt.Sprintf("%d records; HubSpot takes 1 to %d", n, MaxBatchSize), Err: writeback.ErrBatchSize}
	case n > 1 && !req.Batch:
		return &writeback.ValidationError{Field: "records", Reason: fmt.Sprintf("%d records in a single write", n), Err: writeback.ErrBatchSize}
	case req.Type == writeback.WriteTypeDelete && (req.Batch || n != 1):
		return &writeback.ValidationError{Field: "type", Reason: "deletes are single-record", Err: writeback.ErrUnsupported}
	case len(req.Headers) > 0:
		return &writeback.ValidationError{Field: "headers", Reason: "HubSpot takes no pass-through headers", Err: writeback.ErrUnsupported}
	}
	if req.Type == writeback.WriteTypeUpsert {
		return checkUpsert(req)
	}
	for i, rec := range req.Records {
		field := fmt.Sprintf("records[%d]", i)
		if req.Type == writeback.WriteTypeCreate {
			if rec.ID != "" {
				return &writeback.ValidationError{Field: field + ".id", Reason: "a create carries no record ID", Err: writeback.ErrMissingID}
			}
			for j, a := range rec.Associations {
				af := fmt.Sprintf("%s.associations[%d]", field, j)
				if !recordIDRE.MatchString(a.To) {
					return &writeback.ValidationError{Field: af + ".to", Reason: fmt.Sprintf("%q is not a HubSpot record ID", a.To), Err: writeback.ErrInvalidRecord}
				}
				if len(a.Types) == 0 {
					return &writeback.ValidationError{Field: af + ".types", Reason: "at least one association type is required", Err: writeback.ErrInvalidRecord}
				}
				for k, t := range a.Types {
					if t.TypeID <= 0 {
						return &writeback.ValidationError{Field: fmt.Sprintf("%s.types[%d].associationTypeId", af, k), Reason: "must be positive", Err: writeback.ErrInvalidRecord}
					}
					switch t.Category {
					case "", "HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED":
					default:
						return &writeback.ValidationError{Field: fmt.Sprintf("%s.types[%d].associationCategory", af, k), Reason: fmt.Sprintf("%q is not HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED", t.Category), Err: writeback.ErrInvalidRecord}
					}
				}
			}
			continue
		}
		if rec.ID == "" {
			return &writeback.ValidationError{Field: field + ".id", Reason: "required for " + string(req.Type), Err: writeback.ErrMissingID}
		}
		if !recordIDRE.MatchString(rec.ID) {
			return &writeback.ValidationError{Field: field + ".id", Reason: fmt.Sprintf("%q is not a HubSpot record ID", rec.ID), Err: writeback.ErrInvalidRecord}
		}
		if len(rec.Associations) > 0 {
			return &writeback.ValidationError{Field: field + ".associations", Reason: "associations are made on create only", Err: writeback.ErrUnsupported}
		}
	}
	return nil
}

// encodeAssociations converts associations to HubSpot's v4 shape; an
// empty category means HUBSPOT_DEFINED.
func encodeAssociations(as []writeback.Association) []association {
	out := make([]association, len(as))
	for i, a := range as {
		types := slices.Clone(a.Types)
		for j := range types {
			if types[j].Category == "" {
				types[j].Category = "HUBSPOT_DEFINED"
			}
		}
		out[i] = association{To: idInput{ID: a.To}, Types: types}
	}
	return out
}

// encodeProperties converts field values to HubSpot property values,
// which are strings: numbers in decimal, booleans as "true"/"false", times
// as ISO 8601 in UTC with milliseconds, lists (multiple checkboxes) joined
// by ";", nil as "" (which clears the property).
func encodeProperties(index int, fields map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		s, err := propertyValue(v)
		if err != nil {
			return nil, &writeback.ValidationError{Field: fmt.Sprintf("records[%d].fields.%s", index, k), Reason: err.Error(), Err: writeback.ErrInvalidRecord}
		}
		out[k] = s
	}
	return out, nil
}

// propertyValue converts one value to a HubSpot property value.
func propertyValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int8, int16, int32, int64:
		return fmt.Sprint(x), nil
	case uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x), nil
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	case json.Number:
		if _, err := strconv.ParseFloat(x.String(), 64); err != nil {
			return "", fmt.Errorf("%q is not a number", x.String())
		}
		return x.String(), nil
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z"), nil
	case []string:
		return strings.Join(x, ";"), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("a list value must hold strings (multiple checkbox options), not %T", e)
			}
			parts[i] = s
		}
		return strings.Join(parts, ";"), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	return "", fmt.Errorf("a %T cannot be a HubSpot property value (string, number, boolean, time or list of strings)", v)
}

func floatValue(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v is not a number HubSpot can store", f)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

// mustJSON encodes v, which is always encodable.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("hubspot: encoding request: %v", err))
	}
	return b
}
