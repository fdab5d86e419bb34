package hubspot

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/internal/transport"
)

// ErrDailyReserve is wrapped by the error of a call refused without being
// sent because the account's daily API budget is down to the reserve kept
// for the customer's other integrations ([Config.Reserve]).
var ErrDailyReserve = errors.New("hubspot: daily API budget down to the reserve")

// apiError is HubSpot's error body; HubSpot says every field is optional.
// It is also the shape of one errors[] entry of a multi-status response.
type apiError struct {
	Status        string          `json:"status"`
	Message       string          `json:"message"`
	CorrelationID string          `json:"correlationId"`
	Category      string          `json:"category"`
	SubCategory   json.RawMessage `json:"subCategory"`
	PolicyName    string          `json:"policyName"`
	Errors        []errorDetail   `json:"errors"`
	Context       json.RawMessage `json:"context"`
}

// errorDetail is one entry of an error body's errors[].
type errorDetail struct {
	Message string          `json:"message"`
	Code    string          `json:"code"`
	In      string          `json:"in"`
	Context json.RawMessage `json:"context"`
}

// contextValues returns the strings under key in a HubSpot error context,
// which is usually {"key": ["v", ...]} but may hold single values (and in
// some APIs is a string, which is ignored).
func contextValues(raw json.RawMessage, key string) []string {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	switch v := m[key].(type) {
	case string:
		return []string{v}
	case float64:
		return []string{fmt.Sprint(v)}
	case []any:
		var out []string
		for _, x := range v {
			switch s := x.(type) {
			case string:
				out = append(out, s)
			case float64:
				out = append(out, fmt.Sprint(s))
			}
		}
		return out
	}
	return nil
}

// existingIDRE finds the record named in a CONFLICT message.
var existingIDRE = regexp.MustCompile(`Existing ID: ?([0-9]+)`)

// genericLocations are errors[].in values that locate no property.
var genericLocations = []string{"", "body", "query", "path", "header", "associations", "inputs"}

// fields returns the properties an error names: errors[].context.propertyName,
// context.propertyName, or errors[].in when it names a property.
func (e *apiError) fields() []string {
	var out []string
	add := func(names ...string) {
		for _, n := range names {
			if n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	add(contextValues(e.Context, "propertyName")...)
	for _, d := range e.Errors {
		add(contextValues(d.Context, "propertyName")...)
		if !slices.Contains(genericLocations, strings.ToLower(d.In)) {
			add(d.In)
		}
	}
	for _, f := range e.fieldErrors() {
		add(f.ProviderField)
	}
	return out
}

// classByCategory maps a HubSpot category to an error class, for the
// errors[] of a multi-status response where no HTTP status is given.
func classByCategory(category string) writeback.ErrorClass {
	switch strings.ToUpper(category) {
	case "VALIDATION_ERROR":
		return writeback.ClassInvalid
	case "CONFLICT":
		return writeback.ClassConflict
	case "OBJECT_NOT_FOUND":
		return writeback.ClassNotFound
	case "RATE_LIMITS":
		return writeback.ClassRateLimited
	case "MISSING_SCOPES", "FORBIDDEN":
		return writeback.ClassPermission
	}
	return writeback.ClassInternal
}

// batchItemError turns one errors[] entry of a batch answer with HTTP
// status into the error of record index. StatusCode is the batch call's
// status (200 or 207); Code is the entry's category.
func batchItemError(e *apiError, index, status int) *writeback.ProviderError {
	class := classByCategory(e.Category)
	perr := &writeback.ProviderError{
		Provider: Name, Class: class, StatusCode: status, Code: e.Category, Message: e.message(),
		Fields: e.fields(), FieldErrors: e.fieldErrors(), RecordIndex: index,
	}
	if class == writeback.ClassConflict {
		perr.ExistingID = existingID(e)
	}
	return perr
}

// legacyResult is one entry of the JSON list HubSpot embeds in a
// VALIDATION_ERROR message ("Property values were not valid: [...]").
type legacyResult struct {
	IsValid bool   `json:"isValid"`
	Message string `json:"message"`
	Error   string `json:"error"`
	Name    string `json:"name"`
}

// embeddedJSON splits a message that ends in JSON, such as "Property
// values were not valid: [{...}]", into its text and the JSON.
func embeddedJSON(msg string) (text string, raw []byte) {
	i := strings.Index(msg, ": [")
	if j := strings.Index(msg, ": {"); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i < 0 || !json.Valid([]byte(msg[i+2:])) {
		return msg, nil
	}
	return msg[:i], []byte(msg[i+2:])
}

// message returns the error's message without the JSON HubSpot may embed
// in it.
func (e *apiError) message() string {
	text, _ := embeddedJSON(e.Message)
	return text
}

// fieldErrors returns what the error says about each property: from
// errors[] (property from context.propertyName or errors[].in, with code
// and message), else from the JSON list embedded in the message.
func (e *apiError) fieldErrors() []writeback.FieldError {
	var out []writeback.FieldError
	for _, d := range e.Errors {
		names := contextValues(d.Context, "propertyName")
		if len(names) == 0 && !slices.Contains(genericLocations, strings.ToLower(d.In)) {
			names = []string{d.In}
		}
		for _, n := range names {
			out = append(out, writeback.FieldError{ProviderField: n, Code: d.Code, Message: d.Message})
		}
	}
	if len(out) > 0 {
		return out
	}
	if _, raw := embeddedJSON(e.Message); raw != nil {
		var list []legacyResult
		if json.Unmarshal(raw, &list) == nil {
			for _, r := range list {
				if r.Name != "" && !r.IsValid {
					out = append(out, writeback.FieldError{ProviderField: r.Name, Code: r.Error, Message: r.Message})
				}
			}
		}
	}
	return out
}

// existingID returns the ID a conflict names, from context.existingId or
// the message.
func existingID(e *apiError) string {
	if ids := contextValues(e.Context, "existingId"); len(ids) > 0 {
		return ids[0]
	}
	if m := existingIDRE.FindStringSubmatch(e.Message); m != nil {
		return m[1]
	}
	return ""
}

// responseError classifies a non-success HTTP response of any call. The
// error is about the whole request (RecordIndex NoRecord); callers that
// know the record set it.
func (p *Provider) responseError(resp *transport.Response) *writeback.ProviderError {
	var e apiError
	parsed := json.Unmarshal(resp.Body, &e) == nil
	perr := &writeback.ProviderError{
		Provider:      Name,
		StatusCode:    resp.StatusCode,
		Code:          e.Category,
		Message:       e.message(),
		CorrelationID: e.CorrelationID,
		RecordIndex:   writeback.NoRecord,
	}
	if perr.Message == "" {
		perr.Message = http.StatusText(resp.StatusCode)
		if !parsed && len(resp.Body) > 0 {
			perr.Message += ": " + truncate(string(resp.Body), 200)
		}
	}
	now := p.now()
	retryAfter, hasRetryAfter := transport.ParseRetryAfter(resp.Header, now)
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		policy := strings.ToUpper(e.PolicyName)
		if policy != "" {
			perr.Code = policy
		}
		if policy == "DAILY" {
			perr.Class = writeback.ClassQuota
			perr.RetryAfter = p.nextMidnight(now).Sub(now) + DailyResetMargin
			if hasRetryAfter && retryAfter > perr.RetryAfter {
				perr.RetryAfter = retryAfter
			}
		} else {
			perr.Class = writeback.ClassRateLimited
			perr.RetryAfter = p.rateWait
			if hasRetryAfter {
				perr.RetryAfter = retryAfter
			}
		}
		// The pacer holds the next call until the window has room: that,
		// not the short wait, is when the write can go again.
		perr.RetryAfter = max(perr.RetryAfter, resp.PaceWait)
	case s == http.StatusUnauthorized:
		perr.Class = writeback.ClassAuth
	case s == http.StatusForbidden:
		perr.Class = writeback.ClassPermission
		if scopes := contextValues(e.Context, "requiredScopes"); len(scopes) > 0 {
			perr.Message += " (required scopes: " + strings.Join(scopes, ", ") + ")"
		}
	case s == http.StatusNotFound:
		perr.Class = writeback.ClassNotFound
	case s == http.StatusConflict:
		perr.Class = writeback.ClassConflict
		perr.ExistingID = existingID(&e)
	case s == http.StatusLocked:
		// HubSpot holds a record lock for about 2 s on concurrent edits.
		perr.Class = writeback.ClassUnavailable
		perr.RetryAfter = 2 * time.Second
	case s == 477 || s >= 500:
		perr.Class = writeback.ClassUnavailable
	case s >= 400:
		perr.Class = writeback.ClassInvalid
		perr.Fields = e.fields()
		perr.FieldErrors = e.fieldErrors()
	default:
		perr.Class = writeback.ClassInternal
		perr.Message = fmt.Sprintf("unexpected status %d: %s", s, perr.Message)
	}
	if hasRetryAfter && perr.Retryable() && perr.RetryAfter < retryAfter {
		perr.RetryAfter = retryAfter
	}
	return perr
}

// recordCopy returns a copy of perr about record index.
func recordCopy(perr *writeback.ProviderError, index int) *writeback.ProviderError {
	cp := *perr
	cp.Fields = slices.Clone(perr.Fields)
	cp.FieldErrors = slices.Clone(perr.FieldErrors)
	cp.RecordIndex = index
	return &cp
}

// rolledBack is the error of a valid record not written because another
// record of its all-or-nothing batch failed.
func rolledBack(index int, cause *writeback.ProviderError) *writeback.ProviderError {
	return &writeback.ProviderError{
		Provider: Name, Class: writeback.ClassRolledBack, Code: "ROLLED_BACK",
		Message:       "not written: another record of the all-or-nothing batch failed",
		CorrelationID: cause.CorrelationID, RecordIndex: index,
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
