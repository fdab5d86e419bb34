package salesforcetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// serveSObject serves /sobjects/{Object}[/{id}|/describe].
func (s *Server) serveSObject(d *dataRequest, parts []string) {
	o := s.objects[strings.ToLower(parts[0])]
	if o != nil && len(parts) == 3 && d.r.Method == http.MethodPatch {
		s.upsertOne(d, o, parts[1], parts[2])
		return
	}
	if o == nil || len(parts) > 2 {
		d.errors(http.StatusNotFound, sfError{code: "NOT_FOUND", message: "The requested resource does not exist"})
		return
	}
	if len(parts) == 1 {
		switch d.r.Method {
		case http.MethodPost:
			s.createOne(d, o)
		case http.MethodGet:
			d.json(http.StatusOK, map[string]any{"objectDescribe": o.describeShort(), "recentItems": []any{}})
		default:
			d.errors(http.StatusMethodNotAllowed, sfError{code: "METHOD_NOT_ALLOWED", message: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are HEAD,GET,POST", d.r.Method)})
		}
		return
	}
	if parts[1] == "describe" && d.r.Method == http.MethodGet {
		d.json(http.StatusOK, o.describe())
		return
	}
	switch d.r.Method {
	case http.MethodGet:
		s.getOne(d, o, parts[1])
	case http.MethodPatch:
		s.updateOne(d, o, parts[1])
	case http.MethodDelete:
		s.deleteOne(d, o, parts[1])
	default:
		d.errors(http.StatusMethodNotAllowed, sfError{code: "METHOD_NOT_ALLOWED", message: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are HEAD,GET,PATCH,DELETE", d.r.Method)})
	}
}

// decodeObject decodes a JSON object body with numbers kept exact.
func decodeObject(body []byte) (map[string]any, *sfError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, &sfError{code: "JSON_PARSER_ERROR", message: "Unexpected character: the request body is not a JSON object at [line:1, column:1]"}
	}
	return m, nil
}

// rowLookup resolves the {id} of an sObject row URL, answering 404 the way
// Salesforce does when it fails.
func (s *Server) rowLookup(d *dataRequest, o *objectState, id string) *record {
	cid, ok := canonicalID(id)
	if !ok || cid[:3] != o.schema.KeyPrefix {
		d.errors(http.StatusNotFound, sfError{code: "NOT_FOUND", message: "Provided external ID field does not exist or is not accessible: " + id})
		return nil
	}
	r := o.records[cid]
	switch {
	case r == nil:
		d.errors(http.StatusNotFound, sfError{code: "NOT_FOUND", message: "The requested resource does not exist"})
		return nil
	case r.deleted:
		d.errors(http.StatusNotFound, sfError{code: "ENTITY_IS_DELETED", message: "entity is deleted"})
		return nil
	}
	return r
}

// createOne serves POST /sobjects/{Object}.
func (s *Server) createOne(d *dataRequest, o *objectState) {
	raw, perr := decodeObject(d.body)
	if perr != nil {
		d.errors(http.StatusBadRequest, *perr)
		return
	}
	vals, perr := o.decode(raw, func(k string) bool { return k == "attributes" })
	if perr != nil {
		d.errors(http.StatusBadRequest, *perr)
		return
	}
	if d.fault != nil && d.fault.LockRow {
		d.errors(http.StatusBadRequest, lockError(""))
		return
	}
	wc := newWriteContext(d.r.Header)
	if errs := s.checkLocked(o, vals, nil, wc); len(errs) > 0 {
		d.errors(http.StatusBadRequest, errs...)
		return
	}
	id := s.insertLocked(o, vals, wc.autoAssign)
	d.w.Header().Set("Location", fmt.Sprintf("/services/data/v%s/sobjects/%s/%s", formatVersion(d.version), o.schema.Name, id))
	d.json(http.StatusCreated, map[string]any{"id": id, "success": true, "errors": []any{}})
}

// updateOne serves PATCH /sobjects/{Object}/{id}.
func (s *Server) updateOne(d *dataRequest, o *objectState, id string) {
	r := s.rowLookup(d, o, id)
	if r == nil {
		return
	}
	raw, perr := decodeObject(d.body)
	if perr != nil {
		d.errors(http.StatusBadRequest, *perr)
		return
	}
	vals, perr := o.decode(raw, func(k string) bool {
		if k == "attributes" {
			return true
		}
		// An Id equal to the URL's is allowed and ignored.
		v, _ := raw[k].(string)
		cid, _ := canonicalID(v)
		return strings.EqualFold(k, "Id") && cid == r.id
	})
	if perr != nil {
		d.errors(http.StatusBadRequest, *perr)
		return
	}
	if d.fault != nil && d.fault.LockRow {
		d.errors(http.StatusBadRequest, lockError(r.id))
		return
	}
	if errs := s.checkLocked(o, vals, r, newWriteContext(d.r.Header)); len(errs) > 0 {
		d.errors(http.StatusBadRequest, errs...)
		return
	}
	s.updateLocked(o, r, vals)
	writeNoContent(d.w, d.limitInfo)
}

// deleteOne serves DELETE /sobjects/{Object}/{id}.
func (s *Server) deleteOne(d *dataRequest, o *objectState, id string) {
	r := s.rowLookup(d, o, id)
	if r == nil {
		return
	}
	if d.fault != nil && d.fault.LockRow {
		d.errors(http.StatusBadRequest, lockError(r.id))
		return
	}
	r.deleted = true
	r.modified = s.now()
	writeNoContent(d.w, d.limitInfo)
}

// getOne serves GET /sobjects/{Object}/{id}[?fields=...].
func (s *Server) getOne(d *dataRequest, o *objectState, id string) {
	r := s.rowLookup(d, o, id)
	if r == nil {
		return
	}
	var fields []string
	if q := d.r.URL.Query().Get("fields"); q != "" {
		fields = strings.Split(q, ",")
	}
	out, perr := o.view(r, fields, d.version)
	if perr != nil {
		d.errors(http.StatusBadRequest, *perr)
		return
	}
	d.json(http.StatusOK, out)
}

// view returns a record as the API shows it: attributes and the asked
// fields (all when fields is empty), by API name, null when unset.
func (o *objectState) view(r *record, fields []string, version float64) (map[string]any, *sfError) {
	vals := o.values(r)
	out := map[string]any{"attributes": map[string]any{
		"type": o.schema.Name,
		"url":  fmt.Sprintf("/services/data/v%s/sobjects/%s/%s", formatVersion(version), o.schema.Name, r.id),
	}}
	if len(fields) == 0 {
		for _, f := range o.schema.Fields {
			out[f.Name] = vals[f.Name]
		}
		return out, nil
	}
	for _, name := range fields {
		name = strings.TrimSpace(name)
		f := o.field(name)
		if f == nil {
			return nil, &sfError{code: "INVALID_FIELD", message: fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", name, o.schema.Name)}
		}
		out[f.Name] = vals[f.Name]
	}
	return out, nil
}

// describeShort is the objectDescribe of GET /sobjects/{Object}.
func (o *objectState) describeShort() map[string]any {
	return map[string]any{
		"name": o.schema.Name, "label": o.schema.Name, "keyPrefix": o.schema.KeyPrefix,
		"createable": true, "updateable": true, "deletable": true, "custom": strings.HasSuffix(o.schema.Name, "__c"),
	}
}

// describe is GET /sobjects/{Object}/describe, reduced to what the
// simulator models.
func (o *objectState) describe() map[string]any {
	out := o.describeShort()
	fields := make([]map[string]any, 0, len(o.schema.Fields))
	for _, f := range o.schema.Fields {
		length := 0
		if f.Type.textual() {
			length = f.maxLength()
		}
		var picks []map[string]any
		for _, v := range f.Picklist {
			picks = append(picks, map[string]any{"value": v, "label": v, "active": true})
		}
		fields = append(fields, map[string]any{
			"name": f.Name, "label": f.label(), "type": string(f.Type), "length": length,
			"nillable": !f.Required, "createable": !f.ReadOnly, "updateable": !f.ReadOnly,
			"unique": f.Unique, "defaultedOnCreate": f.Default != nil, "referenceTo": referenceTo(f),
			"picklistValues": picks, "restrictedPicklist": len(f.Picklist) > 0,
		})
	}
	out["fields"] = fields
	return out
}

// referenceTo lists the objects a field looks up.
func referenceTo(f Field) []string {
	if f.ReferenceTo == "" {
		return []string{}
	}
	return []string{f.ReferenceTo}
}
