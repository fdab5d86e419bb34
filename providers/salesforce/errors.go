package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/internal/transport"
)

// ErrDailyReserve is wrapped by the [writeback.ClassQuota] error returned
// when a call was not sent because the org's daily API budget is down to the
// reserve kept for the customer's other integrations ([Config.Reserve]).
var ErrDailyReserve = errors.New("salesforce: daily API reserve kept for the customer's other integrations")

// Salesforce error codes the adapter treats specially.
const (
	codeRequestLimit   = "REQUEST_LIMIT_EXCEEDED"
	codeLockRow        = "UNABLE_TO_LOCK_ROW"
	codeSession        = "INVALID_SESSION_ID"
	codeDuplicateValue = "DUPLICATE_VALUE"
	codeDuplicates     = "DUPLICATES_DETECTED"
	codeNotFound       = "NOT_FOUND"
	codeDeleted        = "ENTITY_IS_DELETED"
	codeCrossRef       = "INVALID_CROSS_REFERENCE_KEY"
	codeRolledBack     = "ALL_OR_NONE_OPERATION_ROLLED_BACK"
	codeServer         = "SERVER_UNAVAILABLE"
)

// permissionCodes are error codes about the credentials' rights.
var permissionCodes = map[string]bool{
	"INSUFFICIENT_ACCESS":                           true,
	"INSUFFICIENT_ACCESS_OR_READONLY":               true,
	"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": true,
	"API_DISABLED_FOR_ORG":                          true,
	"API_CURRENTLY_DISABLED":                        true,
	"INSUFFICIENT_PRIVILEGES":                       true,
	"NOT_API_ENABLED":                               true,
}

// apiError is one entry of a Salesforce error array
// ([{"message","errorCode","fields"}]) or of the errors of a Collections
// result, which name the code statusCode.
type apiError struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
	// DuplicateResult details a DUPLICATES_DETECTED error.
	DuplicateResult *duplicateResult `json:"duplicateResult"`
	// DuplicateResut is the same, under the misspelled key some Salesforce
	// releases send.
	DuplicateResut *duplicateResult `json:"duplicateResut"`
}

// code returns the error code, whichever key carried it.
func (e *apiError) code() string {
	if e.ErrorCode != "" {
		return e.ErrorCode
	}
	return e.StatusCode
}

// duplicateResult is the part of a duplicate rule's result that names the
// matching records.
type duplicateResult struct {
	MatchResults []struct {
		MatchRecords []struct {
			Record struct {
				ID string `json:"Id"`
			} `json:"record"`
		} `json:"matchRecords"`
	} `json:"matchResults"`
}

// firstMatch returns the ID of the first matching record, or "".
func (d *duplicateResult) firstMatch() string {
	if d == nil {
		return ""
	}
	for _, mr := range d.MatchResults {
		for _, rec := range mr.MatchRecords {
			if rec.Record.ID != "" {
				return rec.Record.ID
			}
		}
	}
	return ""
}

// existingIDRE finds the record named by a DUPLICATE_VALUE message, such as
// "duplicate value found: Email__c duplicates value on record with id: 003...".
var existingIDRE = regexp.MustCompile(`record with id: ([A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?)`)

// noSuchColumnRE finds the field of an INVALID_FIELD message, such as
// "No such column 'Foo' on sobject of type Account".
var noSuchColumnRE = regexp.MustCompile(`No such column '([^']+)'`)

// maxMessage bounds a message copied from a body that is not a Salesforce
// error array.
const maxMessage = 512

// parseErrors reads a Salesforce error body: an array of errors, or a
// single error object. ok is false when the body is neither.
func parseErrors(body []byte) ([]apiError, bool) {
	var list []apiError
	if err := json.Unmarshal(body, &list); err == nil && len(list) > 0 && list[0].code() != "" {
		return list, true
	}
	var one apiError
	if err := json.Unmarshal(body, &one); err == nil && one.code() != "" {
		return []apiError{one}, true
	}
	return nil, false
}

// classify maps a Salesforce error to a class and a wait. wt is the kind of
// write (empty for reads); status is the HTTP status.
func (p *Provider) classify(wt writeback.WriteType, status int, e *apiError) (writeback.ErrorClass, time.Duration) {
	code := e.code()
	switch {
	case code == codeRequestLimit:
		if strings.Contains(e.Message, "ConcurrentRequests") || strings.Contains(e.Message, "ConcurrentPerOrgLongTxn") {
			return writeback.ClassRateLimited, ConcurrentLimitRetryAfter
		}
		return writeback.ClassQuota, p.quotaWait
	case code == codeLockRow, code == codeServer:
		return writeback.ClassUnavailable, 0
	case code == codeSession, status == http.StatusUnauthorized:
		return writeback.ClassAuth, 0
	case code == codeRolledBack:
		return writeback.ClassRolledBack, 0
	case code == codeDuplicateValue, code == codeDuplicates, code == codeDuplicateExternalID:
		return writeback.ClassConflict, 0
	case code == codeNotFound, code == codeDeleted:
		return writeback.ClassNotFound, 0
	case code == codeCrossRef && len(e.Fields) == 0 && (wt == writeback.WriteTypeUpdate || wt == writeback.WriteTypeDelete):
		// The record being changed does not exist; with fields, a lookup
		// field names a record that does not.
		return writeback.ClassNotFound, 0
	case permissionCodes[code]:
		return writeback.ClassPermission, 0
	case status == http.StatusTooManyRequests:
		return writeback.ClassRateLimited, 0
	case status >= 500:
		return writeback.ClassUnavailable, 0
	case status == http.StatusForbidden:
		return writeback.ClassPermission, 0
	case status == http.StatusNotFound:
		return writeback.ClassNotFound, 0
	case status >= 400, status == 0, status == http.StatusOK:
		// 400 and per-record errors in a 200 Collections response:
		// REQUIRED_FIELD_MISSING, INVALID_FIELD, STRING_TOO_LONG,
		// MALFORMED_ID, FIELD_CUSTOM_VALIDATION_EXCEPTION, ...
		return writeback.ClassInvalid, 0
	}
	return writeback.ClassInternal, 0
}

// recordError turns one Salesforce error into a ProviderError about record
// index (or [writeback.NoRecord]).
func (p *Provider) recordError(wt writeback.WriteType, status int, e *apiError, index int) *writeback.ProviderError {
	class, wait := p.classify(wt, status, e)
	perr := &writeback.ProviderError{
		Provider:    Name,
		Class:       class,
		StatusCode:  status,
		Code:        e.code(),
		Message:     e.Message,
		RetryAfter:  wait,
		RecordIndex: index,
	}
	if len(e.Fields) > 0 {
		perr.Fields = append([]string(nil), e.Fields...)
	} else if m := noSuchColumnRE.FindStringSubmatch(e.Message); m != nil {
		perr.Fields = []string{m[1]}
	}
	perr.FieldErrors = fieldErrors(e, perr.Fields)
	if class == writeback.ClassConflict {
		perr.ExistingID = e.DuplicateResult.firstMatch()
		if perr.ExistingID == "" {
			perr.ExistingID = e.DuplicateResut.firstMatch()
		}
		if perr.ExistingID == "" {
			if m := existingIDRE.FindStringSubmatch(e.Message); m != nil {
				perr.ExistingID = m[1]
			}
		}
	}
	return perr
}

// fieldErrors returns one FieldError per field an error names.
func fieldErrors(e *apiError, names []string) []writeback.FieldError {
	var out []writeback.FieldError
	for _, n := range names {
		out = append(out, writeback.FieldError{ProviderField: n, Code: e.code(), Message: e.Message})
	}
	return out
}

// errorsError merges the errors of one record (or one response) into one
// ProviderError: the first error decides the class and code; messages and
// fields of the others are kept.
func (p *Provider) errorsError(wt writeback.WriteType, status int, errs []apiError, index int) *writeback.ProviderError {
	if len(errs) == 0 {
		return &writeback.ProviderError{
			Provider: Name, Class: writeback.ClassInternal, StatusCode: status,
			Message: "salesforce reported a failure without an error", RecordIndex: index,
		}
	}
	perr := p.recordError(wt, status, &errs[0], index)
	for i := 1; i < len(errs); i++ {
		e := &errs[i]
		if e.Message != "" {
			perr.Message += "; " + e.Message
		}
		for _, f := range e.Fields {
			if !slices.Contains(perr.Fields, f) {
				perr.Fields = append(perr.Fields, f)
			}
		}
		var names []string
		if len(e.Fields) > 0 {
			names = e.Fields
		} else if m := noSuchColumnRE.FindStringSubmatch(e.Message); m != nil {
			names = []string{m[1]}
		}
		perr.FieldErrors = append(perr.FieldErrors, fieldErrors(e, names)...)
	}
	return perr
}

// responseError classifies a non-success response.
func (p *Provider) responseError(wt writeback.WriteType, resp *transport.Response, index int) *writeback.ProviderError {
	var perr *writeback.ProviderError
	if errs, ok := parseErrors(resp.Body); ok {
		perr = p.errorsError(wt, resp.StatusCode, errs, index)
	} else {
		e := &apiError{Message: bodySnippet(resp)}
		perr = p.recordError(wt, resp.StatusCode, e, index)
		if perr.Class == writeback.ClassInvalid && resp.StatusCode < 400 {
			perr.Class = writeback.ClassInternal
		}
	}
	if ra, ok := transport.ParseRetryAfter(resp.Header, time.Now()); ok && perr.Retryable() {
		perr.RetryAfter = max(perr.RetryAfter, ra)
	}
	if perr.Retryable() {
		// The pacer holds the next call at least this long.
		perr.RetryAfter = max(perr.RetryAfter, resp.PaceWait)
	}
	return perr
}

// bodySnippet returns a short, printable description of a body that is not
// a Salesforce error array.
func bodySnippet(resp *transport.Response) string {
	s := strings.TrimSpace(string(resp.Body))
	if s == "" {
		return http.StatusText(resp.StatusCode)
	}
	if len(s) > maxMessage {
		s = s[:maxMessage] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// tokenError classifies a failure to obtain an access token. A token
// endpoint that refuses the refresh token or the client is final (auth);
// anything else may pass.
func tokenError(err error) *writeback.ProviderError {
	perr := &writeback.ProviderError{
		Provider:    Name,
		Class:       writeback.ClassUnavailable,
		Message:     "could not obtain an access token",
		RecordIndex: writeback.NoRecord,
		Err:         err,
	}
	var rerr *oauth2.RetrieveError
	switch {
	case errors.As(err, &rerr):
		// Only the OAuth error code and description: never the body.
		perr.Code = rerr.ErrorCode
		if rerr.ErrorCode != "" {
			perr.Message += ": " + rerr.ErrorCode
			if rerr.ErrorDescription != "" {
				perr.Message += " (" + rerr.ErrorDescription + ")"
			}
		}
		if rerr.Response != nil {
			perr.StatusCode = rerr.Response.StatusCode
		}
		if rerr.ErrorCode != "" || (perr.StatusCode >= 400 && perr.StatusCode < 500) {
			perr.Class = writeback.ClassAuth
		}
	case errors.Is(err, ErrNoRefreshToken):
		perr.Class = writeback.ClassAuth
		perr.Message += ": " + ErrNoRefreshToken.Error()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	case isNetError(err):
		perr.Message += ": the token endpoint could not be reached"
	default:
		perr.Class = writeback.ClassAuth
		perr.Message += ": the token source failed"
	}
	return perr
}

// isNetError reports a network failure, such as a token endpoint that
// could not be reached.
func isNetError(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue)
}

// resend is the transport's Resend hook. Besides 429 and 503, an answer
// whose only errors are UNABLE_TO_LOCK_ROW (with
// ALL_OR_NONE_OPERATION_ROLLED_BACK on the other records of an
// all-or-nothing batch) proves nothing was written: Salesforce could not
// lock a row and applied nothing, so the call may be sent again.
func resend(resp *transport.Response) (bool, time.Duration) {
	if ok, _ := transport.DefaultResend(resp); ok {
		return true, 0
	}
	switch resp.StatusCode {
	case http.StatusBadRequest:
		errs, ok := parseErrors(resp.Body)
		return ok && onlyLockErrors([]saveResult{{Errors: errs}}), 0
	case http.StatusOK:
		var items []saveResult
		if json.Unmarshal(resp.Body, &items) != nil {
			return false, 0
		}
		return onlyLockErrors(items), 0
	}
	return false, 0
}

// onlyLockErrors reports whether no item succeeded and every error is
// UNABLE_TO_LOCK_ROW or a rollback, at least one a lock.
func onlyLockErrors(items []saveResult) bool {
	lock := false
	for _, it := range items {
		if it.Success || len(it.Errors) == 0 {
			return false
		}
		for _, e := range it.Errors {
			switch e.code() {
			case codeLockRow:
				lock = true
			case codeRolledBack:
			default:
				return false
			}
		}
	}
	return lock
}
