package salesforcetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// rolledBack is the error of a valid record in a failed all-or-none request.
var rolledBack = sfError{
	code:    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
	message: "Record rolled back because not all records were valid and the request was using AllOrNone header",
}

// serveCollections serves /composite/sobjects[/{Object}].
func (s *Server) serveCollections(d *dataRequest, parts []string) {
	switch {
	case len(parts) == 0 && (d.r.Method == http.MethodPost || d.r.Method == http.MethodPatch):
		s.collectionWrite(d)
	case len(parts) == 0 && d.r.Method == http.MethodDelete:
		s.collectionDelete(d)
	case len(parts) == 0:
		d.errors(http.StatusMethodNotAllowed, sfError{code: "METHOD_NOT_ALLOWED", message: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are POST,PATCH,DELETE", d.r.Method)})
	case len(parts) == 1 && (d.r.Method == http.MethodPost || d.r.Method == http.MethodGet):
		s.collectionRetrieve(d, parts[0])
	case len(parts) == 2 && d.r.Method == http.MethodPatch:
		s.collectionUpsert(d, parts[0], parts[1])
	default:
		d.errors(http.StatusNotFound, sfError{code: "NOT_FOUND", message: "The requested resource does not exist"})
	}
}

// collectionItem is one record of a Collections write, decoded.
type collectionItem struct {
	o     *objectState
	vals  map[string]any
	id    string // the record's id, as given
	hasID bool
}

// collectionWrite serves POST (create) and PATCH (update) of
// /composite/sobjects.
func (s *Server) collectionWrite(d *dataRequest) {
	create := d.r.Method == http.MethodPost
	body, perr := decodeObject(d.body)
	if perr != nil {
		d.errors(http.StatusBadRequest, *perr)
		return
	}
	allOrNone := false
	if v, ok := body["allOrNone"]; ok && v != nil {
		b, isBool := v.(bool)
		if !isBool {
			d.errors(http.StatusBadRequest, sfError{code: "JSON_PARSER_ERROR", message: "Cannot deserialize instance of boolean from " + jsonToken(v) + " value " + shortJSON(v) + " at [line:1, column:15]"})
			return
		}
		allOrNone = b
	}
	rawRecords, ok := body["records"].([]any)
	if !ok {
		d.errors(http.StatusBadRequest, sfError{code: "JSON_PARSER_ERROR", message: "Cannot deserialize instance of list from " + jsonToken(body["records"]) + " value or request may be missing a required field"})
		return
	}
	if len(rawRecords) > CollectionLimit {
		d.errors(http.StatusBadRequest, sfError{code: "EXCEEDED_ID_LIMIT", message: fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", CollectionLimit)})
		return
	}
	items := make([]collectionItem, len(rawRecords))
	for i, rr := range rawRecords {
		raw, ok := rr.(map[string]any)
		if !ok {
			d.errors(http.StatusBadRequest, sfError{code: "JSON_PARSER_ERROR", message: "Cannot deserialize instance of SObject from " + jsonToken(rr) + " value or request may be missing a required field"})
			return
		}
		typ := ""
		if attrs, ok := raw["attributes"].(map[string]any); ok {
			typ, _ = attrs["type"].(string)
		}
		if typ == "" {
			d.errors(http.StatusBadRequest, sfError{code: "INVALID_TYPE", message: "Must send a concrete entity type."})
			return
		}
		o := s.objects[strings.ToLower(typ)]
		if o == nil {
			d.errors(http.StatusBadRequest, sfError{code: "INVALID_TYPE", message: fmt.Sprintf(
				"sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", typ)})
			return
		}
		it := collectionItem{o: o}
		for k, v := range raw {
			if strings.EqualFold(k, "id") {
				it.id, _ = v.(string)
				it.hasID = v != nil
			}
		}
		vals, perr := o.decode(raw, func(k string) bool { return k == "attributes" || strings.EqualFold(k, "id") })
		if perr != nil {
			d.errors(http.StatusBadRequest, *perr)
			return
		}
		it.vals = vals
		items[i] = it
	}

	wc := newWriteContext(d.r.Header)
	results := make([]map[string]any, len(items))
	var changes []change
	failed := false
	for i, it := range items {
		id, errs := s.applyItemLocked(d, it, i, create, wc, &changes)
		if len(errs) > 0 {
			failed = true
			results[i] = itemFailure(errs)
			continue
		}
		results[i] = map[string]any{"id": id, "success": true, "errors": []any{}}
	}
	if failed && allOrNone {
		undo(changes)
		for i, r := range results {
			if r["success"] == true {
				results[i] = itemFailure([]sfError{rolledBack})
			}
		}
	}
	d.json(http.StatusOK, results)
}

// applyItemLocked checks and applies one record of a Collections write.
func (s *Server) applyItemLocked(d *dataRequest, it collectionItem, i int, create bool, wc writeContext, changes *[]change) (string, []sfError) {
	if create {
		if it.hasID {
			return "", []sfError{{code: "INVALID_FIELD", message: "cannot specify Id in an insert call"}}
		}
		if d.fault.locks(i) {
			return "", []sfError{lockError("")}
		}
		if errs := s.checkLocked(it.o, it.vals, nil, wc); len(errs) > 0 {
			return "", errs
		}
		id := s.insertLocked(it.o, it.vals, wc.autoAssign)
		*changes = append(*changes, change{o: it.o, r: it.o.records[id], created: true})
		return id, nil
	}
	if !it.hasID || it.id == "" {
		return "", []sfError{{code: "MISSING_ARGUMENT", message: "Id not specified in an update call"}}
	}
	r, perr := it.o.lookup(it.id)
	if perr != nil {
		return "", []sfError{*perr}
	}
	if d.fault.locks(i) {
		return "", []sfError{lockError(r.id)}
	}
	if errs := s.checkLocked(it.o, it.vals, r, wc); len(errs) > 0 {
		return "", errs
	}
	*changes = append(*changes, change{o: it.o, r: r, before: snapshot(r)})
	s.updateLocked(it.o, r, it.vals)
	return r.id, nil
}

// locks reports whether a LockRow fault fails record i.
func (f *Fault) locks(i int) bool {
	if f == nil || !f.LockRow {
		return false
	}
	return len(f.Records) == 0 || slices.Contains(f.Records, i)
}

// itemFailure is a failed Collections result.
func itemFailure(errs []sfError) map[string]any {
	out := make([]map[string]any, len(errs))
	for i, e := range errs {
		out[i] = e.item()
	}
	return map[string]any{"success": false, "errors": out}
}

// collectionDelete serves DELETE /composite/sobjects?ids=...&allOrNone=...
func (s *Server) collectionDelete(d *dataRequest) {
	q := d.r.URL.Query()
	var ids []string
	if v := q.Get("ids"); v != "" {
		ids = strings.Split(v, ",")
	}
	if len(ids) == 0 {
		d.errors(http.StatusBadRequest, sfError{code: "MISSING_ARGUMENT", message: "Missing parameter: ids"})
		return
	}
	if len(ids) > CollectionLimit {
		d.errors(http.StatusBadRequest, sfError{code: "EXCEEDED_ID_LIMIT", message: fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", CollectionLimit)})
		return
	}
	allOrNone, _ := strconv.ParseBool(q.Get("allOrNone"))
	results := make([]map[string]any, len(ids))
	var changes []change
	failed := false
	for i, id := range ids {
		cid, ok := canonicalID(id)
		var o *objectState
		if ok {
			o = s.byPrefix[cid[:3]]
		}
		if o == nil {
			failed = true
			results[i] = itemFailure([]sfError{{code: "MALFORMED_ID", message: "malformed id " + id, fields: []string{"Id"}}})
			continue
		}
		r, perr := o.lookup(id)
		switch {
		case perr != nil:
			failed = true
			results[i] = itemFailure([]sfError{*perr})
		case d.fault.locks(i):
			failed = true
			results[i] = itemFailure([]sfError{lockError(r.id)})
		default:
			changes = append(changes, change{o: o, r: r, before: snapshot(r)})
			r.deleted = true
			r.modified = s.now()
			results[i] = map[string]any{"id": r.id, "success": true, "errors": []any{}}
		}
	}
	if failed && allOrNone {
		undo(changes)
		for i, r := range results {
			if r["success"] == true {
				results[i] = itemFailure([]sfError{rolledBack})
			}
		}
	}
	d.json(http.StatusOK, results)
}

// retrieveBody is the body of a Collections retrieve by POST.
type retrieveBody struct {
	IDs    []string `json:"ids"`
	Fields []string `json:"fields"`
}

// collectionRetrieve serves POST (body) and GET (query) of
// /composite/sobjects/{Object}: one entry per ID, in order, null for IDs
// that are malformed, of another object, missing or deleted.
func (s *Server) collectionRetrieve(d *dataRequest, object string) {
	o := s.objects[strings.ToLower(object)]
	if o == nil {
		d.errors(http.StatusNotFound, sfError{code: "NOT_FOUND", message: "The requested resource does not exist"})
		return
	}
	var rb retrieveBody
	if d.r.Method == http.MethodPost {
		dec := json.NewDecoder(bytes.NewReader(d.body))
		if err := dec.Decode(&rb); err != nil {
			d.errors(http.StatusBadRequest, sfError{code: "JSON_PARSER_ERROR", message: "Cannot deserialize the request body: " + err.Error()})
			return
		}
	} else {
		q := d.r.URL.Query()
		if v := q.Get("ids"); v != "" {
			rb.IDs = strings.Split(v, ",")
		}
		if v := q.Get("fields"); v != "" {
			rb.Fields = strings.Split(v, ",")
		}
	}
	switch {
	case len(rb.IDs) == 0:
		d.errors(http.StatusBadRequest, sfError{code: "MISSING_ARGUMENT", message: "Missing parameter: ids"})
		return
	case len(rb.Fields) == 0:
		d.errors(http.StatusBadRequest, sfError{code: "MISSING_ARGUMENT", message: "Missing parameter: fields"})
		return
	case len(rb.IDs) > RetrieveLimit:
		d.errors(http.StatusBadRequest, sfError{code: "EXCEEDED_ID_LIMIT", message: fmt.Sprintf("Too many ids were requested, can only retrieve up to %d records", RetrieveLimit)})
		return
	}
	for _, f := range rb.Fields {
		if o.field(strings.TrimSpace(f)) == nil {
			_, perr := o.view(&record{values: map[string]any{}}, []string{f}, d.version)
			d.errors(http.StatusBadRequest, *perr)
			return
		}
	}
	out := make([]any, len(rb.IDs))
	for i, id := range rb.IDs {
		r, perr := o.lookup(id)
		if perr != nil {
			continue
		}
		v, _ := o.view(r, rb.Fields, d.version)
		out[i] = v
	}
	d.json(http.StatusOK, out)
}
