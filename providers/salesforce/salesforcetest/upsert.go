package salesforcetest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// externalField returns o's external ID field named name, or nil.
func (o *objectState) externalField(name string) *Field {
	if f := o.field(name); f != nil && f.ExternalID {
		return f
	}
	return nil
}

// matchesLocked returns the live records whose field f holds v (text
// compared without case, as Salesforce matches external IDs).
func (o *objectState) matchesLocked(f *Field, v any) []*record {
	var out []*record
	for _, id := range o.order {
		r := o.records[id]
		if r == nil || r.deleted {
			continue
		}
		if cur, ok := r.values[f.Name]; ok && !blank(cur) && equalFold(cur, v) {
			out = append(out, r)
		}
	}
	return out
}

// noExternalField is the 404 for an upsert by a field that is not an
// external ID.
func noExternalField(name string) sfError {
	return sfError{code: "NOT_FOUND", message: "Provided external ID field does not exist or is not accessible: " + name}
}

// upsertOne serves PATCH /sobjects/{Object}/{Field}/{value}: 201 with
// created true when no record holds the value, 200 with created false
// when one does, 300 with the matching records' URLs when several do.
func (s *Server) upsertOne(d *dataRequest, o *objectState, field, value string) {
	f := o.externalField(field)
	if f == nil {
		d.errors(http.StatusNotFound, noExternalField(field))
		return
	}
	raw, perr := decodeObject(d.body)
	if perr != nil {
		d.errors(http.StatusBadRequest, *perr)
		return
	}
	for k := range raw {
		if strings.EqualFold(k, f.Name) || strings.EqualFold(k, "Id") {
			d.errors(http.StatusBadRequest, sfError{code: "INVALID_FIELD", message: fmt.Sprintf("The field %s is in the URL: it cannot also be in the body of an upsert by external ID", k)})
			return
		}
	}
	vals, perr := o.decode(raw, func(k string) bool { return k == "attributes" })
	if perr != nil {
		d.errors(http.StatusBadRequest, *perr)
		return
	}
	key, kerr := convert(f, value)
	if kerr != nil {
		d.errors(http.StatusBadRequest, *kerr)
		return
	}
	wc := newWriteContext(d.r.Header)
	switch matches := o.matchesLocked(f, key); len(matches) {
	case 0:
		vals[f.Name] = key
		if errs := s.checkLocked(o, vals, nil, wc); len(errs) > 0 {
			d.errors(http.StatusBadRequest, errs...)
			return
		}
		id := s.insertLocked(o, vals, wc.autoAssign)
		d.json(http.StatusCreated, map[string]any{"id": id, "success": true, "errors": []any{}, "created": true})
	case 1:
		r := matches[0]
		if errs := s.checkLocked(o, vals, r, wc); len(errs) > 0 {
			d.errors(http.StatusBadRequest, errs...)
			return
		}
		s.updateLocked(o, r, vals)
		d.json(http.StatusOK, map[string]any{"id": r.id, "success": true, "errors": []any{}, "created": false})
	default:
		urls := make([]string, len(matches))
		for i, r := range matches {
			urls[i] = fmt.Sprintf("/services/data/v%s/sobjects/%s/%s", formatVersion(d.version), o.schema.Name, r.id)
		}
		d.json(http.StatusMultipleChoices, urls)
	}
}

// collectionUpsert serves PATCH /composite/sobjects/{Object}/{Field}:
// each record carries its external ID value; in order, one result each
// with "created"; allOrNone rolls every change back if any record fails.
func (s *Server) collectionUpsert(d *dataRequest, object, field string) {
	o := s.objects[strings.ToLower(object)]
	if o == nil {
		d.errors(http.StatusNotFound, sfError{code: "NOT_FOUND", message: "The requested resource does not exist"})
		return
	}
	f := o.externalField(field)
	if f == nil {
		d.errors(http.StatusNotFound, noExternalField(field))
		return
	}
	body, perr := decodeObject(d.body)
	if perr != nil {
		d.errors(http.StatusBadRequest, *perr)
		return
	}
	allOrNone, _ := body["allOrNone"].(bool)
	rawRecords, ok := body["records"].([]any)
	if !ok {
		d.errors(http.StatusBadRequest, sfError{code: "JSON_PARSER_ERROR", message: "Cannot deserialize instance of list from " + jsonToken(body["records"]) + " value or request may be missing a required field"})
		return
	}
	if len(rawRecords) > CollectionLimit {
		d.errors(http.StatusBadRequest, sfError{code: "EXCEEDED_ID_LIMIT", message: fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", CollectionLimit)})
		return
	}
	wc := newWriteContext(d.r.Header)
	results := make([]map[string]any, len(rawRecords))
	var changes []change
	failed := false
	seen := map[string]int{}
	fail := func(i int, errs ...sfError) {
		failed = true
		results[i] = itemFailure(errs)
	}
	for i, rr := range rawRecords {
		raw, ok := rr.(map[string]any)
		if !ok {
			d.errors(http.StatusBadRequest, sfError{code: "JSON_PARSER_ERROR", message: "Cannot deserialize instance of SObject from " + jsonToken(rr) + " value or request may be missing a required field"})
			return
		}
		vals, perr := o.decode(raw, func(k string) bool { return k == "attributes" })
		if perr != nil {
			fail(i, *perr)
			continue
		}
		key := vals[f.Name]
		if blank(key) {
			fail(i, sfError{code: "MISSING_ARGUMENT", message: f.Name + " not specified", fields: []string{f.Name}})
			continue
		}
		lk := strings.ToLower(fmt.Sprint(key))
		if j, dup := seen[lk]; dup {
			fail(i, sfError{code: "DUPLICATE_EXTERNAL_ID", message: fmt.Sprintf("Duplicate external id specified: %v (also record %d)", key, j), fields: []string{f.Name}})
			continue
		}
		seen[lk] = i
		if d.fault.locks(i) {
			fail(i, lockError(""))
			continue
		}
		switch matches := o.matchesLocked(f, key); len(matches) {
		case 0:
			if errs := s.checkLocked(o, vals, nil, wc); len(errs) > 0 {
				fail(i, errs...)
				continue
			}
			id := s.insertLocked(o, vals, wc.autoAssign)
			changes = append(changes, change{o: o, r: o.records[id], created: true})
			results[i] = map[string]any{"id": id, "success": true, "errors": []any{}, "created": true}
		case 1:
			r := matches[0]
			if errs := s.checkLocked(o, vals, r, wc); len(errs) > 0 {
				fail(i, errs...)
				continue
			}
			changes = append(changes, change{o: o, r: r, before: snapshot(r)})
			s.updateLocked(o, r, vals)
			results[i] = map[string]any{"id": r.id, "success": true, "errors": []any{}, "created": false}
		default:
			fail(i, sfError{code: "DUPLICATE_EXTERNAL_ID", message: fmt.Sprintf("%s = %v matches %d records", f.Name, key, len(matches)), fields: []string{f.Name}})
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

// soqlRE is the one SOQL shape the simulator answers:
// SELECT f1, f2 FROM Object WHERE Field IN ('v1', 'v2').
var soqlRE = regexp.MustCompile(`(?is)^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+(\w+)\s+IN\s*\((.*)\)\s*$`)

// soqlStringRE matches one quoted SOQL string literal.
var soqlStringRE = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)

// query serves GET /query?q=SELECT ... WHERE Field IN (...): the live
// records whose field holds one of the values (text compared without
// case), with attributes and the fields selected. Any other query is
// 400 MALFORMED_QUERY.
func (s *Server) query(d *dataRequest) {
	q, _ := url.QueryUnescape(d.r.URL.Query().Get("q"))
	m := soqlRE.FindStringSubmatch(q)
	if m == nil {
		d.errors(http.StatusBadRequest, sfError{code: "MALFORMED_QUERY", message: "the simulator answers only SELECT ... FROM Object WHERE Field IN ('...')"})
		return
	}
	o := s.objects[strings.ToLower(m[2])]
	if o == nil {
		d.errors(http.StatusBadRequest, sfError{code: "INVALID_TYPE", message: fmt.Sprintf("sObject type '%s' is not supported.", m[2])})
		return
	}
	where := o.field(m[3])
	if where == nil {
		d.errors(http.StatusBadRequest, sfError{code: "INVALID_FIELD", message: fmt.Sprintf("No such column '%s' on entity '%s'.", m[3], o.schema.Name)})
		return
	}
	var fields []string
	for _, name := range strings.Split(m[1], ",") {
		fields = append(fields, strings.TrimSpace(name))
	}
	records := []map[string]any{}
	seen := map[string]bool{}
	for _, lit := range soqlStringRE.FindAllStringSubmatch(m[4], -1) {
		v := strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(lit[1])
		for _, r := range o.matchesLocked(where, v) {
			if seen[r.id] {
				continue
			}
			seen[r.id] = true
			var view []string
			for _, f := range fields {
				if !strings.EqualFold(f, "Id") {
					view = append(view, f)
				}
			}
			out, perr := o.view(r, view, d.version)
			if perr != nil {
				d.errors(http.StatusBadRequest, *perr)
				return
			}
			out["Id"] = r.id
			records = append(records, out)
		}
	}
	d.json(http.StatusOK, map[string]any{"totalSize": len(records), "done": true, "records": records})
}
