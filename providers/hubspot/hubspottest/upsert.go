package hubspottest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// upsertObject is a batch upsert result: the record and whether the
// upsert created it.
type upsertObject struct {
	objectJSON
	New bool `json:"new"`
}

// nonUniqueKey is HubSpot's 400 for an idProperty without unique values.
func nonUniqueKey(object, name string) apiError {
	return apiError{Category: "VALIDATION_ERROR",
		Message: fmt.Sprintf("Unable to perform update/upsert by non-unique %s property %s", object, name),
		Context: map[string][]string{"idProperty": {name}}}
}

// batchUpsert is POST .../batch/upsert: each input names its record by a
// unique property (idProperty) and its value (id); a record holding the
// value is updated, otherwise one is created with it. Like batch update,
// it is partial: a conflict fails only its input (207).
func (s *Server) batchUpsert(w http.ResponseWriter, o *objectState, body []byte) {
	in, ok := s.updateInputs(w, body)
	if !ok {
		return
	}
	seen := map[string]bool{}
	var dups []string
	for _, x := range in.Inputs {
		if p := o.property(x.IDProperty); p == nil || !p.Unique {
			s.writeError(w, http.StatusBadRequest, nonUniqueKey(o.TypeID, x.IDProperty))
			return
		}
		key := x.IDProperty + "\x00" + strings.ToLower(x.ID)
		if seen[key] && !slices.Contains(dups, x.ID) {
			dups = append(dups, x.ID)
		}
		seen[key] = true
	}
	if len(dups) > 0 {
		s.writeError(w, http.StatusBadRequest, apiError{Category: "VALIDATION_ERROR",
			Message: fmt.Sprintf("Duplicate IDs found in batch input: [%s]. IDs must be unique", strings.Join(dups, ", ")),
			Context: map[string][]string{"ids": dups}})
		return
	}
	s.mu.Lock()
	// Property validation rejects the whole batch, as for batch update.
	norm := make([]map[string]string, len(in.Inputs))
	var allPerrs []propertyError
	for i, x := range in.Inputs {
		props := make(map[string]any, len(x.Properties)+1)
		for k, v := range x.Properties {
			props[k] = v
		}
		props[x.IDProperty] = x.ID
		n, perrs := o.normalizeLocked(props)
		allPerrs = append(allPerrs, perrs...)
		norm[i] = n
	}
	if len(allPerrs) > 0 {
		s.mu.Unlock()
		s.writeError(w, http.StatusBadRequest, validationError(allPerrs))
		return
	}
	var errs []batchError
	var results []upsertObject
	for i, x := range in.Inputs {
		r := o.lookupLocked(norm[i][x.IDProperty], x.IDProperty)
		except := ""
		if r != nil {
			except = r.id
		}
		if h := o.conflictLocked(norm[i], except); h != "" {
			ce := o.conflictError(h)
			ctx := map[string][]string{"ids": {x.ID}, "existingId": {h}}
			if x.ObjectWriteTraceID != nil {
				ctx["objectWriteTraceId"] = []string{*x.ObjectWriteTraceID}
			}
			errs = append(errs, batchError{Status: "error", Category: ce.Category, Message: ce.Message, Context: ctx})
			continue
		}
		created := r == nil
		if created {
			r = s.insertLocked(o, norm[i], nil)
		} else {
			s.applyLocked(o, r, norm[i])
		}
		obj := s.objectLocked(o, r)
		if x.ObjectWriteTraceID != nil {
			obj.ObjectWriteTraceID = *x.ObjectWriteTraceID
		}
		results = append(results, upsertObject{objectJSON: obj, New: created})
	}
	s.mu.Unlock()
	if s.opts.ShuffleBatchResults {
		slices.Reverse(results)
	}
	if results == nil {
		results = []upsertObject{}
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusMultiStatus
	}
	s.writeJSON(w, status, struct {
		Status      string         `json:"status"`
		Results     []upsertObject `json:"results"`
		Errors      []batchError   `json:"errors,omitempty"`
		NumErrors   int            `json:"numErrors,omitempty"`
		StartedAt   string         `json:"startedAt"`
		CompletedAt string         `json:"completedAt"`
	}{"COMPLETE", results, errs, len(errs), s.stamp(), s.stamp()})
}

// updateInputs decodes the inputs of a batch update or upsert, answering
// 400 itself (and reporting false) for a body it refuses.
func (s *Server) updateInputs(w http.ResponseWriter, body []byte) (in struct {
	Inputs []batchUpdateInput `json:"inputs"`
}, ok bool) {
	if err := decode(body, &in); err != nil {
		s.writeError(w, http.StatusBadRequest, inputError("%v", err))
		return in, false
	}
	if len(in.Inputs) > BatchLimit {
		s.batchTooLarge(w, len(in.Inputs))
		return in, false
	}
	return in, true
}
