package hubspottest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// assocInput is the v4 shape of an association on create.
type assocInput struct {
	To struct {
		ID string `json:"id"`
	} `json:"to"`
	Types []struct {
		Category string `json:"associationCategory"`
		TypeID   int    `json:"associationTypeId"`
	} `json:"types"`
}

// createInput is SimplePublicObjectInputForCreate.
type createInput struct {
	Properties   map[string]any `json:"properties"`
	Associations []assocInput   `json:"associations"`
}

// batchCreateInput is one input of a batch create.
type batchCreateInput struct {
	Properties         map[string]any `json:"properties"`
	Associations       []assocInput   `json:"associations"`
	ObjectWriteTraceID *string        `json:"objectWriteTraceId"`
}

// updateInput is SimplePublicObjectInput.
type updateInput struct {
	Properties map[string]any `json:"properties"`
}

// batchUpdateInput is one input of a batch update.
type batchUpdateInput struct {
	ID                 string         `json:"id"`
	IDProperty         string         `json:"idProperty"`
	ObjectWriteTraceID *string        `json:"objectWriteTraceId"`
	Properties         map[string]any `json:"properties"`
}

// objectJSON is SimplePublicObject.
type objectJSON struct {
	ID                 string             `json:"id"`
	Properties         map[string]*string `json:"properties"`
	CreatedAt          string             `json:"createdAt"`
	UpdatedAt          string             `json:"updatedAt"`
	Archived           bool               `json:"archived"`
	ObjectWriteTraceID string             `json:"objectWriteTraceId,omitempty"`
	URL                string             `json:"url,omitempty"`
}

// batchResponse is BatchResponseSimplePublicObject (with multi-status).
type batchResponse struct {
	Status      string       `json:"status"`
	Results     []objectJSON `json:"results"`
	Errors      []batchError `json:"errors,omitempty"`
	NumErrors   int          `json:"numErrors,omitempty"`
	StartedAt   string       `json:"startedAt"`
	CompletedAt string       `json:"completedAt"`
}

// decode parses a body strictly: unknown keys are rejected, as HubSpot's
// input types do.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

// normalizeLocked checks a properties map against the schema and returns
// it as stored (strings), or the property errors, sorted by name.
func (o *objectState) normalizeLocked(props map[string]any) (map[string]string, []propertyError) {
	out := make(map[string]string, len(props))
	var perrs []propertyError
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range props {
			if !yield(k) {
				return
			}
		}
	}) {
		raw := props[k]
		if n, ok := raw.(json.Number); ok {
			f, err := n.Float64()
			if err != nil {
				raw = n.String()
			} else if _, ierr := n.Int64(); ierr == nil {
				raw = n.String()
			} else {
				raw = f
			}
		}
		p := o.property(k)
		if p == nil {
			perrs = append(perrs, propertyError{k, "PROPERTY_DOESNT_EXIST", fmt.Sprintf("Property %q does not exist", k)})
			continue
		}
		v, perr := p.normalize(raw)
		if perr != nil {
			perrs = append(perrs, *perr)
			continue
		}
		out[k] = v
	}
	return out, perrs
}

// conflictLocked returns the ID of a record other than except holding a
// unique value of props, or "".
func (o *objectState) conflictLocked(props map[string]string, except string) string {
	for _, p := range o.Properties {
		if v := props[p.Name]; p.Unique && v != "" {
			if id := o.holderLocked(p.Name, v, except); id != "" {
				return id
			}
		}
	}
	return ""
}

// conflictError is HubSpot's 409 for a unique value already held.
func (o *objectState) conflictError(existing string) apiError {
	label := strings.ToUpper(o.Label[:1]) + strings.ToLower(o.Label[1:])
	return apiError{Category: "CONFLICT", Message: fmt.Sprintf("%s already exists. Existing ID: %s", label, existing)}
}

// associationsLocked checks associations on create and returns them, or
// a 400 body.
func (s *Server) associationsLocked(o *objectState, in []assocInput) ([]Association, *apiError) {
	var out []Association
	for _, a := range in {
		if len(a.Types) == 0 {
			e := inputError("association to %s has no types", a.To.ID)
			return nil, &e
		}
		for _, t := range a.Types {
			at, ok := s.assocs[t.TypeID]
			if !ok || at.From != o.Name || (t.Category != "" && t.Category != at.Category) {
				return nil, &apiError{Category: "VALIDATION_ERROR", Message: fmt.Sprintf("association type %d (%s) is not valid from %s", t.TypeID, t.Category, o.Name),
					Errors: []errorDetail{{Message: fmt.Sprintf("invalid association type %d", t.TypeID), Code: "INVALID_ASSOCIATION_TYPE", In: "associations"}}}
			}
			to := s.objects[at.To]
			if to == nil || to.liveLocked(a.To.ID) == nil {
				return nil, &apiError{Category: "VALIDATION_ERROR", Message: fmt.Sprintf("One or more associations are invalid: %s %s does not exist", at.To, a.To.ID),
					Errors:  []errorDetail{{Message: fmt.Sprintf("%s %s does not exist", at.To, a.To.ID), Code: "INVALID_ASSOCIATION_TARGET", In: "associations", Context: map[string][]string{"toObjectId": {a.To.ID}}}},
					Context: map[string][]string{"toObjectId": {a.To.ID}}}
			}
			out = append(out, Association{To: a.To.ID, ToObject: at.To, TypeID: t.TypeID})
		}
	}
	return out, nil
}

// objectLocked renders a record, all non-empty properties included.
func (s *Server) objectLocked(o *objectState, r *record) objectJSON {
	props := map[string]*string{}
	for k, v := range r.values() {
		props[k] = &v
	}
	return objectJSON{
		ID: r.id, Properties: props, CreatedAt: formatTime(r.created), UpdatedAt: formatTime(r.updated),
		URL: fmt.Sprintf("https://app.hubspot.com/contacts/%d/record/%s/%s", s.opts.Portal, o.TypeID, r.id),
	}
}

func (s *Server) createOne(w http.ResponseWriter, o *objectState, body []byte) {
	var in createInput
	if err := decode(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, inputError("%v", err))
		return
	}
	s.mu.Lock()
	props, perrs := o.normalizeLocked(in.Properties)
	if len(perrs) > 0 {
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, validationError(perrs))
		return
	}
	if id := o.conflictLocked(props, ""); id != "" {
		s.mu.Unlock()
		s.writeError(w, http.StatusConflict, o.conflictError(id))
		return
	}
	assocs, aerr := s.associationsLocked(o, in.Associations)
	if aerr != nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, *aerr)
		return
	}
	out := s.objectLocked(o, s.insertLocked(o, props, assocs))
	s.mu.Unlock()
	s.writeJSON(w, http.StatusCreated, out)
}

// lookupLocked finds a record by ID or by a unique idProperty.
func (o *objectState) lookupLocked(id, idProperty string) *record {
	if idProperty == "" || idProperty == "hs_object_id" {
		return o.liveLocked(id)
	}
	p := o.property(idProperty)
	if p == nil || !p.Unique {
		return nil
	}
	if h := o.holderLocked(idProperty, id, ""); h != "" {
		return o.records[h]
	}
	return nil
}

func (s *Server) notFound(w http.ResponseWriter, id string) {
	s.writeError(w, http.StatusNotFound, apiError{Category: "OBJECT_NOT_FOUND", Message: "resource not found", Context: map[string][]string{"id": {id}}})
}

func (s *Server) updateOne(w http.ResponseWriter, o *objectState, id string, q url.Values, body []byte) {
	var in updateInput
	if err := decode(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, inputError("%v", err))
		return
	}
	s.mu.Lock()
	r := o.lookupLocked(id, q.Get("idProperty"))
	if r == nil {
		s.mu.Unlock()
		s.notFound(w, id)
		return
	}
	props, perrs := o.normalizeLocked(in.Properties)
	if len(perrs) > 0 {
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, validationError(perrs))
		return
	}
	if h := o.conflictLocked(props, r.id); h != "" {
		s.mu.Unlock()
		s.writeError(w, http.StatusConflict, o.conflictError(h))
		return
	}
	s.applyLocked(o, r, props)
	out := s.objectLocked(o, r)
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) archiveOne(w http.ResponseWriter, o *objectState, id string) {
	s.mu.Lock()
	if r := o.liveLocked(id); r != nil {
		s.archiveLocked(o, r)
	}
	s.mu.Unlock()
	s.setLimitHeaders(w.Header())
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getOne(w http.ResponseWriter, o *objectState, id string, q url.Values) {
	s.mu.Lock()
	r := o.lookupLocked(id, q.Get("idProperty"))
	if r == nil {
		s.mu.Unlock()
		s.notFound(w, id)
		return
	}
	var names []string
	for _, p := range q["properties"] {
		names = append(names, strings.Split(p, ",")...)
	}
	out := s.readLocked(o, r, names)
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, out)
}

// readLocked renders a record with the named properties (null when unset)
// and the system ones; no names means all set properties.
func (s *Server) readLocked(o *objectState, r *record, names []string) objectJSON {
	out := s.objectLocked(o, r)
	if len(names) == 0 {
		return out
	}
	vals := r.values()
	props := map[string]*string{}
	for _, k := range append(names, "hs_object_id", "createdate", "lastmodifieddate") {
		if o.property(k) == nil {
			continue
		}
		if v, ok := vals[k]; ok {
			props[k] = &v
		} else {
			props[k] = nil
		}
	}
	out.Properties = props
	return out
}

// batchTooLarge answers a batch of more than BatchLimit inputs.
func (s *Server) batchTooLarge(w http.ResponseWriter, n int) {
	s.writeError(w, http.StatusBadRequest, apiError{Category: "VALIDATION_ERROR",
		Message: fmt.Sprintf("Too many inputs: %d. The maximum number of inputs is %d.", n, BatchLimit)})
}

// now formats the server time for batch responses.
func (s *Server) stamp() string { return formatTime(s.now()) }

// finishBatch orders results and writes a batch response: okStatus when
// there are no errors, 207 otherwise.
func (s *Server) finishBatch(w http.ResponseWriter, okStatus int, results []objectJSON, errs []batchError) {
	if s.opts.ShuffleBatchResults {
		slices.Reverse(results)
	}
	resp := batchResponse{Status: "COMPLETE", Results: results, Errors: errs, NumErrors: len(errs), StartedAt: s.stamp(), CompletedAt: s.stamp()}
	if resp.Results == nil {
		resp.Results = []objectJSON{}
	}
	status := okStatus
	if len(errs) > 0 {
		status = http.StatusMultiStatus
	}
	s.writeJSON(w, status, resp)
}

func (s *Server) batchCreate(w http.ResponseWriter, o *objectState, body []byte) {
	var in struct {
		Inputs []batchCreateInput `json:"inputs"`
	}
	if err := decode(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, inputError("%v", err))
		return
	}
	if len(in.Inputs) > BatchLimit {
		s.batchTooLarge(w, len(in.Inputs))
		return
	}
	traced, traces := 0, map[string]bool{}
	for _, x := range in.Inputs {
		if x.ObjectWriteTraceID != nil {
			traced++
			if traces[*x.ObjectWriteTraceID] {
				s.writeError(w, http.StatusBadRequest, inputError("duplicate objectWriteTraceId %q; each input needs a unique one", *x.ObjectWriteTraceID))
				return
			}
			traces[*x.ObjectWriteTraceID] = true
		}
	}
	if traced != 0 && traced != len(in.Inputs) {
		s.writeError(w, http.StatusBadRequest, inputError("objectWriteTraceId must be set on every input or on none"))
		return
	}
	multi := traced > 0

	s.mu.Lock()
	type prepared struct {
		props  map[string]string
		assocs []Association
	}
	preps := make([]*prepared, len(in.Inputs))
	var errs []batchError
	var allPerrs []propertyError
	var firstConflict string
	var firstAssoc *apiError
	pending := map[string]map[string]string{} // unique property -> value -> "pending"
	for i, x := range in.Inputs {
		trace := map[string][]string{}
		if multi {
			trace["objectWriteTraceId"] = []string{*x.ObjectWriteTraceID}
		}
		props, perrs := o.normalizeLocked(x.Properties)
		if len(perrs) > 0 {
			allPerrs = append(allPerrs, perrs...)
			v := validationError(perrs)
			ctx := trace
			for _, p := range perrs {
				ctx["propertyName"] = append(ctx["propertyName"], p.name)
			}
			errs = append(errs, batchError{Status: "error", Category: v.Category, Message: v.Message, Context: ctx, Errors: v.Errors})
			continue
		}
		existing := o.conflictLocked(props, "")
		if existing == "" {
			for _, p := range o.Properties {
				if v := props[p.Name]; p.Unique && v != "" {
					if pending[p.Name] == nil {
						pending[p.Name] = map[string]string{}
					}
					if _, dup := pending[p.Name][v]; dup {
						existing = "pending"
					}
				}
			}
		}
		if existing != "" {
			ce := o.conflictError(existing)
			ctx := trace
			if existing != "pending" {
				ctx["existingId"] = []string{existing}
			} else {
				ce.Message = fmt.Sprintf("%s: a value of a unique property appears twice in this batch", ce.Message[:strings.Index(ce.Message, ".")])
			}
			if firstConflict == "" {
				firstConflict = ce.Message
			}
			errs = append(errs, batchError{Status: "error", Category: ce.Category, Message: ce.Message, Context: ctx})
			continue
		}
		assocs, aerr := s.associationsLocked(o, x.Associations)
		if aerr != nil {
			if firstAssoc == nil {
				firstAssoc = aerr
			}
			ctx := trace
			for k, v := range aerr.Context {
				ctx[k] = v
			}
			errs = append(errs, batchError{Status: "error", Category: aerr.Category, Message: aerr.Message, Context: ctx, Errors: aerr.Errors})
			continue
		}
		for _, p := range o.Properties {
			if v := props[p.Name]; p.Unique && v != "" {
				if pending[p.Name] == nil {
					pending[p.Name] = map[string]string{}
				}
				pending[p.Name][v] = ""
			}
		}
		preps[i] = &prepared{props, assocs}
	}
	if !multi && len(errs) > 0 {
		// Without trace IDs the batch fails as a whole and nothing is stored.
		s.mu.Unlock()
		switch {
		case len(allPerrs) > 0:
			s.writeError(w, http.StatusBadRequest, validationError(allPerrs))
		case firstConflict != "":
			s.writeError(w, http.StatusConflict, apiError{Category: "CONFLICT", Message: firstConflict})
		default:
			s.writeError(w, http.StatusBadRequest, *firstAssoc)
		}
		return
	}
	var results []objectJSON
	for i, p := range preps {
		if p == nil {
			continue
		}
		out := s.objectLocked(o, s.insertLocked(o, p.props, p.assocs))
		if multi {
			out.ObjectWriteTraceID = *in.Inputs[i].ObjectWriteTraceID
		}
		results = append(results, out)
	}
	s.mu.Unlock()
	s.finishBatch(w, http.StatusCreated, results, errs)
}

func (s *Server) batchUpdate(w http.ResponseWriter, o *objectState, body []byte) {
	in, ok := s.updateInputs(w, body)
	if !ok {
		return
	}
	seen := map[string]bool{}
	var dups []string
	for _, x := range in.Inputs {
		if seen[x.ID] && !slices.Contains(dups, x.ID) {
			dups = append(dups, x.ID)
		}
		seen[x.ID] = true
	}
	if len(dups) > 0 {
		s.writeError(w, http.StatusBadRequest, apiError{Category: "VALIDATION_ERROR",
			Message: fmt.Sprintf("Duplicate IDs found in batch input: [%s]. IDs must be unique", strings.Join(dups, ", ")),
			Context: map[string][]string{"ids": dups}})
		return
	}
	s.mu.Lock()
	// Property validation rejects the whole batch, as HubSpot does.
	norm := make([]map[string]string, len(in.Inputs))
	var allPerrs []propertyError
	for i, x := range in.Inputs {
		props, perrs := o.normalizeLocked(x.Properties)
		allPerrs = append(allPerrs, perrs...)
		norm[i] = props
	}
	if len(allPerrs) > 0 {
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, validationError(allPerrs))
		return
	}
	var errs []batchError
	var missing []string
	var results []objectJSON
	for i, x := range in.Inputs {
		r := o.lookupLocked(x.ID, x.IDProperty)
		if r == nil {
			missing = append(missing, x.ID)
			continue
		}
		if h := o.conflictLocked(norm[i], r.id); h != "" {
			ce := o.conflictError(h)
			errs = append(errs, batchError{Status: "error", Category: ce.Category, Message: ce.Message,
				Context: map[string][]string{"ids": {x.ID}, "existingId": {h}}})
			continue
		}
		s.applyLocked(o, r, norm[i])
		results = append(results, s.objectLocked(o, r))
	}
	if len(missing) > 0 {
		errs = append(errs, batchError{Status: "error", Category: "OBJECT_NOT_FOUND",
			Message: fmt.Sprintf("Could not get some %s objects, they may be deleted or not exist. Check that ids are valid.", o.Label),
			Context: map[string][]string{"ids": missing}})
	}
	s.mu.Unlock()
	s.finishBatch(w, http.StatusOK, results, errs)
}

func (s *Server) batchRead(w http.ResponseWriter, o *objectState, body []byte) {
	var in struct {
		Properties            []string `json:"properties"`
		PropertiesWithHistory []string `json:"propertiesWithHistory"`
		IDProperty            string   `json:"idProperty"`
		Inputs                []struct {
			ID string `json:"id"`
		} `json:"inputs"`
	}
	if err := decode(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, inputError("%v", err))
		return
	}
	limit := BatchLimit
	if len(in.PropertiesWithHistory) > 0 {
		limit = 50
	}
	if len(in.Inputs) > limit {
		s.batchTooLarge(w, len(in.Inputs))
		return
	}
	if in.IDProperty != "" && in.IDProperty != "hs_object_id" {
		if p := o.property(in.IDProperty); p == nil || !p.Unique {
			s.writeError(w, http.StatusBadRequest, nonUniqueKey(o.TypeID, in.IDProperty))
			return
		}
	}
	s.mu.Lock()
	var results []objectJSON
	var missing []string
	for _, x := range in.Inputs {
		r := o.lookupLocked(x.ID, in.IDProperty)
		if r == nil {
			missing = append(missing, x.ID)
			continue
		}
		names := in.Properties
		if len(names) == 0 {
			names = []string{"hs_object_id"}
		}
		results = append(results, s.readLocked(o, r, names))
	}
	var errs []batchError
	if len(missing) > 0 {
		errs = append(errs, batchError{Status: "error", Category: "OBJECT_NOT_FOUND",
			Message: fmt.Sprintf("Could not get some %s objects, they may be deleted or not exist. Check that ids are valid.", o.Label),
			Context: map[string][]string{"ids": missing}})
	}
	s.mu.Unlock()
	s.finishBatch(w, http.StatusOK, results, errs)
}

func (s *Server) batchArchive(w http.ResponseWriter, o *objectState, body []byte) {
	var in struct {
		Inputs []struct {
			ID string `json:"id"`
		} `json:"inputs"`
	}
	if err := decode(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, inputError("%v", err))
		return
	}
	if len(in.Inputs) > BatchLimit {
		s.batchTooLarge(w, len(in.Inputs))
		return
	}
	s.mu.Lock()
	for _, x := range in.Inputs {
		if r := o.liveLocked(x.ID); r != nil {
			s.archiveLocked(o, r)
		}
	}
	s.mu.Unlock()
	s.setLimitHeaders(w.Header())
	w.WriteHeader(http.StatusNoContent)
}
