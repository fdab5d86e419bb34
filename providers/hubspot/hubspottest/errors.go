package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is HubSpot's error body.
type apiError struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	CorrelationID string              `json:"correlationId"`
	Category      string              `json:"category,omitempty"`
	SubCategory   string              `json:"subCategory,omitempty"`
	ErrorType     string              `json:"errorType,omitempty"`
	PolicyName    string              `json:"policyName,omitempty"`
	Errors        []errorDetail       `json:"errors,omitempty"`
	Context       map[string][]string `json:"context,omitempty"`
	Links         map[string]string   `json:"links,omitempty"`
}

// errorDetail is one entry of an error body's errors[].
type errorDetail struct {
	Message string              `json:"message"`
	Code    string              `json:"code,omitempty"`
	In      string              `json:"in,omitempty"`
	Context map[string][]string `json:"context,omitempty"`
}

// batchError is one entry of a multi-status response's errors[].
type batchError struct {
	Status   string              `json:"status"`
	Category string              `json:"category"`
	Message  string              `json:"message"`
	Context  map[string][]string `json:"context,omitempty"`
	Errors   []errorDetail       `json:"errors,omitempty"`
}

// correlationIDLocked returns a new correlation ID (UUID-shaped).
func (s *Server) correlationIDLocked() string {
	s.corr++
	return fmt.Sprintf("5e3c1a7e-0000-4000-8000-%012d", s.corr)
}

// writeError writes an error body with the rate-limit headers.
func (s *Server) writeError(w http.ResponseWriter, status int, e apiError) {
	e.Status = "error"
	s.mu.Lock()
	e.CorrelationID = s.correlationIDLocked()
	s.mu.Unlock()
	s.writeJSON(w, status, e)
}

// writeJSON writes v with the rate-limit headers.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	s.setLimitHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// validationError builds HubSpot's 400 for invalid property values: a
// message embedding the legacy validation results, and errors[] with
// context.propertyName.
func validationError(perrs []propertyError) apiError {
	type legacy struct {
		IsValid bool   `json:"isValid"`
		Message string `json:"message"`
		Error   string `json:"error"`
		Name    string `json:"name"`
	}
	var ls []legacy
	var details []errorDetail
	for _, p := range perrs {
		ls = append(ls, legacy{false, p.message, p.code, p.name})
		details = append(details, errorDetail{Message: p.message, Code: p.code, Context: map[string][]string{"propertyName": {p.name}}})
	}
	b, _ := json.Marshal(ls)
	return apiError{
		Category: "VALIDATION_ERROR",
		Message:  "Property values were not valid: " + string(b),
		Errors:   details,
	}
}

// inputError builds HubSpot's 400 for a body that does not parse into
// the endpoint's input type.
func inputError(format string, args ...any) apiError {
	return apiError{Category: "VALIDATION_ERROR", Message: "Invalid input JSON on line 1: " + fmt.Sprintf(format, args...)}
}
