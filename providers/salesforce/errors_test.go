package salesforce_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// schemaWithRules is the default schema plus a unique account number and a
// validation rule on Account.
func schemaWithRules() []salesforcetest.Object {
	objs := salesforcetest.DefaultObjects()
	for i := range objs {
		if objs[i].Name != "Account" {
			continue
		}
		for j := range objs[i].Fields {
			if objs[i].Fields[j].Name == "AccountNumber" {
				objs[i].Fields[j].Unique = true
			}
		}
		objs[i].ValidationRules = []salesforcetest.ValidationRule{{
			Name: "Employees_Positive", Message: "Employees must be positive", Field: "NumberOfEmployees",
			Fails: func(v map[string]any) bool { n, ok := v["NumberOfEmployees"].(int64); return ok && n < 0 },
		}}
	}
	return objs
}

func TestRecordErrorsAreClassified(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{Objects: schemaWithRules()}, salesforce.Config{})
	acct := e.srv.Seed("Account", map[string]any{"Name": "Acme", "AccountNumber": "A-1"})
	contact := e.srv.Seed("Contact", map[string]any{"LastName": "Taken", "Email": "taken@example.com"})
	gone := e.srv.Seed("Contact", map[string]any{"LastName": "Gone"})
	mustWrite(t, e, e.write("Contact", writeback.WriteTypeDelete, false, writeback.Record{ID: gone}))

	cases := []struct {
		name       string
		req        *writeback.ProviderRequest
		class      writeback.ErrorClass
		code       string
		fields     []string
		existingID string
	}{
		{"required field", e.write("Contact", writeback.WriteTypeCreate, false, rec("FirstName", "X")),
			writeback.ClassInvalid, "REQUIRED_FIELD_MISSING", []string{"LastName"}, ""},
		{"unknown field", e.write("Account", writeback.WriteTypeCreate, false, rec("Name", "X", "Foo__c", 1)),
			writeback.ClassInvalid, "INVALID_FIELD", []string{"Foo__c"}, ""},
		{"unknown field in a batch", e.write("Account", writeback.WriteTypeCreate, true, rec("Name", "X"), rec("Name", "Y", "Foo__c", 1)),
			writeback.ClassInvalid, "INVALID_FIELD", []string{"Foo__c"}, ""},
		{"wrong type in a batch", e.write("Account", writeback.WriteTypeUpdate, true, withID(acct, rec("NumberOfEmployees", true))),
			writeback.ClassInvalid, "JSON_PARSER_ERROR", nil, ""},
		{"validation rule", e.write("Account", writeback.WriteTypeCreate, false, rec("Name", "X", "NumberOfEmployees", -3)),
			writeback.ClassInvalid, "FIELD_CUSTOM_VALIDATION_EXCEPTION", []string{"NumberOfEmployees"}, ""},
		{"read-only field", e.write("Account", writeback.WriteTypeCreate, false, rec("Name", "X", "CreatedDate", "2026-01-01T00:00:00.000+0000")),
			writeback.ClassInvalid, "INVALID_FIELD_FOR_INSERT_UPDATE", []string{"CreatedDate"}, ""},
		{"string too long", e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", strings.Repeat("x", 81))),
			writeback.ClassInvalid, "STRING_TOO_LONG", []string{"LastName"}, ""},
		{"malformed lookup id", e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "X", "AccountId", "not-an-id")),
			writeback.ClassInvalid, "MALFORMED_ID", []string{"AccountId"}, ""},
		{"lookup to a missing record", e.write("Contact", writeback.WriteTypeUpdate, false, withID(contact, rec("AccountId", "001000000000000AAA"))),
			writeback.ClassInvalid, "INVALID_CROSS_REFERENCE_KEY", []string{"AccountId"}, ""},
		{"invalid email", e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "X", "Email", "nope")),
			writeback.ClassInvalid, "INVALID_EMAIL_ADDRESS", []string{"Email"}, ""},
		{"wrong type", e.write("Account", writeback.WriteTypeCreate, false, rec("Name", "X", "NumberOfEmployees", "many")),
			writeback.ClassInvalid, "JSON_PARSER_ERROR", nil, ""},
		{"unique value", e.write("Account", writeback.WriteTypeCreate, false, rec("Name", "X", "AccountNumber", "a-1")),
			writeback.ClassConflict, "DUPLICATE_VALUE", nil, acct},
		{"duplicate rule", e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "Dup", "Email", "TAKEN@example.com")),
			writeback.ClassConflict, "DUPLICATES_DETECTED", nil, contact},
		{"duplicate rule in a batch", e.write("Contact", writeback.WriteTypeCreate, true, rec("LastName", "Dup", "Email", "taken@example.com")),
			writeback.ClassConflict, "DUPLICATES_DETECTED", nil, contact},
		{"update of a missing record", e.write("Contact", writeback.WriteTypeUpdate, false, withID("003000000000000AAA", rec("Title", "X"))),
			writeback.ClassNotFound, "NOT_FOUND", nil, ""},
		{"batch update of a missing record", e.write("Contact", writeback.WriteTypeUpdate, true, withID("003000000000000AAA", rec("Title", "X"))),
			writeback.ClassNotFound, "INVALID_CROSS_REFERENCE_KEY", nil, ""},
		{"update of a deleted record", e.write("Contact", writeback.WriteTypeUpdate, false, withID(gone, rec("Title", "X"))),
			writeback.ClassNotFound, "ENTITY_IS_DELETED", nil, ""},
		{"batch update of a deleted record", e.write("Contact", writeback.WriteTypeUpdate, true, withID(gone, rec("Title", "X"))),
			writeback.ClassNotFound, "ENTITY_IS_DELETED", nil, ""},
		{"batch update with an id of another object", e.write("Contact", writeback.WriteTypeUpdate, true, withID(acct, rec("Title", "X"))),
			writeback.ClassInvalid, "MALFORMED_ID", []string{"Id"}, ""},
	}
	for _, tc := range cases {
		resp, err := e.p.Write(t.Context(), tc.req)
		var got *writeback.ProviderError
		if tc.req.Batch && (tc.code == "JSON_PARSER_ERROR" || tc.code == "INVALID_FIELD") {
			// A Collections body Salesforce cannot deserialize fails the
			// whole call.
			got = perr(t, err)
			require.Equal(t, writeback.NoRecord, got.RecordIndex, tc.name)
		} else {
			require.NoError(t, err, tc.name)
			require.Len(t, resp.Results, len(tc.req.Records), tc.name)
			got = resp.Results[0].Err
			require.NotNil(t, got, tc.name)
			require.Equal(t, 0, got.RecordIndex, tc.name)
		}
		require.Equal(t, "salesforce", got.Provider, tc.name)
		require.Equal(t, tc.class, got.Class, "%s: %v", tc.name, got)
		require.Equal(t, tc.code, got.Code, tc.name)
		require.Equal(t, tc.fields, got.Fields, tc.name)
		require.Equal(t, tc.existingID, got.ExistingID, tc.name)
		require.NotEmpty(t, got.Message, tc.name)
		require.False(t, got.Retryable(), tc.name)
	}
	require.Equal(t, 1, e.srv.Count("Account"), "no failed write took effect")
	require.Equal(t, 1, e.srv.Count("Contact"))
}

func TestCallErrorsAreClassified(t *testing.T) {
	t.Parallel()

	t.Run("daily limit is a quota, not auth, and is not resent", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{DailyLimit: 50, DailyUsed: 50}, salesforce.Config{Reserve: -1})
		_, err := e.p.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		pe := perr(t, err)
		require.Equal(t, writeback.ClassQuota, pe.Class)
		require.Equal(t, http.StatusForbidden, pe.StatusCode)
		require.Equal(t, "REQUEST_LIMIT_EXCEEDED", pe.Code)
		require.Equal(t, "TotalRequests Limit exceeded.", pe.Message)
		require.Equal(t, salesforce.DefaultQuotaRetryAfter, pe.RetryAfter)
		require.True(t, pe.Retryable())
		require.Len(t, e.srv.Calls(), 1, "not resent by the client")
		require.Zero(t, e.srv.TokenRequests(), "no token refresh for a 403")

		e2 := newEnv(t, salesforcetest.Options{DailyLimit: 50, DailyUsed: 50}, salesforce.Config{Reserve: -1, QuotaRetryAfter: 3 * time.Hour})
		_, err = e2.p.Write(t.Context(), e2.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		require.Equal(t, 3*time.Hour, perr(t, err).RetryAfter)
	})

	t.Run("concurrent request limit is a short rate limit", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		e.srv.InjectFault(salesforcetest.Fault{Status: http.StatusForbidden, ErrorCode: "REQUEST_LIMIT_EXCEEDED",
			Message: "ConcurrentRequests (Concurrent API Requests) Limit exceeded."})
		_, err := e.p.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		pe := perr(t, err)
		require.Equal(t, writeback.ClassRateLimited, pe.Class)
		require.Equal(t, salesforce.ConcurrentLimitRetryAfter, pe.RetryAfter)
	})

	t.Run("permission", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		e.srv.InjectFault(salesforcetest.Fault{Status: http.StatusForbidden, ErrorCode: "INSUFFICIENT_ACCESS", Message: "insufficient access rights on object id"})
		_, err := e.p.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, true, rec("LastName", "A")))
		pe := perr(t, err)
		require.Equal(t, writeback.ClassPermission, pe.Class)
		require.False(t, pe.Retryable())
	})

	t.Run("row lock is temporary", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		id := e.srv.Seed("Account", map[string]any{"Name": "Acme"})
		// A lock that outlasts the client's resends.
		e.srv.InjectFault(salesforcetest.Fault{LockRow: true, Times: 3})
		resp := mustWrite(t, e, e.write("Account", writeback.WriteTypeUpdate, false, withID(id, rec("Name", "New"))))
		pe := resp.Results[0].Err
		require.Equal(t, writeback.ClassUnavailable, pe.Class)
		require.Equal(t, "UNABLE_TO_LOCK_ROW", pe.Code)
		require.True(t, pe.Retryable())

		e.srv.InjectFault(salesforcetest.Fault{LockRow: true, Records: []int{1}, Times: 3})
		req := e.write("Account", writeback.WriteTypeCreate, true, rec("Name", "A"), rec("Name", "B"))
		req.AllOrNone = true
		resp = mustWrite(t, e, req)
		require.Equal(t, writeback.ClassRolledBack, resp.Results[0].Err.Class)
		require.Equal(t, writeback.ClassUnavailable, resp.Results[1].Err.Class)
		require.Equal(t, 1, e.srv.Count("Account"))
	})

	t.Run("server errors are temporary", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		e.srv.InjectFault(salesforcetest.Fault{Status: http.StatusInternalServerError})
		_, err := e.p.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		pe := perr(t, err)
		require.Equal(t, writeback.ClassUnavailable, pe.Class)
		require.Equal(t, "UNKNOWN_EXCEPTION", pe.Code)
		require.Len(t, e.srv.Calls(), 1, "a 500 is not resent by the client")
	})

	t.Run("503 is resent by the client, then reported", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{MaxAttempts: 2})
		e.srv.InjectFault(salesforcetest.Fault{Status: http.StatusServiceUnavailable, Times: 2})
		_, err := e.p.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		pe := perr(t, err)
		require.Equal(t, writeback.ClassUnavailable, pe.Class)
		require.Equal(t, "SERVER_UNAVAILABLE", pe.Code)
		require.Len(t, e.srv.Calls(), 2)

		e.srv.InjectFault(salesforcetest.Fault{Status: http.StatusServiceUnavailable})
		resp := mustWrite(t, e, e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		require.True(t, resp.Results[0].Success())
		require.Equal(t, 1, e.srv.Count("Contact"))
	})

	t.Run("a gateway error on a create is an unknown outcome", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		e.srv.InjectFault(salesforcetest.Fault{Status: http.StatusBadGateway})
		_, err := e.p.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, true, rec("LastName", "A")))
		require.Equal(t, writeback.ClassUnknownOutcome, perr(t, err).Class)
		require.Len(t, e.srv.Calls(), 1)
	})

	t.Run("a create sent without answer is an unknown outcome and is not resent", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		e.srv.InjectFault(salesforcetest.Fault{DropAfterProcessing: true})
		_, err := e.p.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		pe := perr(t, err)
		require.Equal(t, writeback.ClassUnknownOutcome, pe.Class)
		require.False(t, pe.Retryable())
		require.Len(t, e.srv.Calls(), 1)
		require.Equal(t, 1, e.srv.Count("Contact"), "the create took effect")
	})

	t.Run("an update sent without answer is resent", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		id := e.srv.Seed("Contact", map[string]any{"LastName": "A"})
		e.srv.InjectFault(salesforcetest.Fault{DropAfterProcessing: true})
		resp := mustWrite(t, e, e.write("Contact", writeback.WriteTypeUpdate, false, withID(id, rec("Title", "T"))))
		require.True(t, resp.Results[0].Success())
		require.Len(t, e.srv.Calls(), 2)
	})

	t.Run("a delete whose answer was lost is resent and succeeds", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		id := e.srv.Seed("Contact", map[string]any{"LastName": "A"})
		e.srv.InjectFault(salesforcetest.Fault{DropAfterProcessing: true})
		resp := mustWrite(t, e, e.write("Contact", writeback.WriteTypeDelete, false, writeback.Record{ID: id}))
		require.True(t, resp.Results[0].Success(), "%v", resp.Results[0].Err)
		calls := e.srv.Calls()
		require.Len(t, calls, 2)
		require.Equal(t, http.StatusNotFound, calls[1].Status, "the resend found the record deleted")
		require.Zero(t, e.srv.Count("Contact"))

		require.True(t, resp.Results[0].AlreadyDeleted, "the resend found it gone")
	})

	t.Run("no connection is temporary", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{MaxAttempts: 1})
		e.srv.Close()
		_, err := e.p.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		pe := perr(t, err)
		require.Equal(t, writeback.ClassUnavailable, pe.Class, pe.Error())
	})

	t.Run("session refused after a refresh is auth", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		req := e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A"))
		req.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "revoked"})
		_, err := e.p.Write(t.Context(), req)
		pe := perr(t, err)
		require.Equal(t, writeback.ClassAuth, pe.Class)
		require.Equal(t, http.StatusUnauthorized, pe.StatusCode)
		require.Equal(t, "INVALID_SESSION_ID", pe.Code)
		require.Len(t, e.srv.Calls(), 2, "sent, refused, asked the token again, resent once")
		require.NotContains(t, pe.Error(), "revoked", "no token in errors")
	})

	t.Run("no token source", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		req := e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A"))
		req.TokenSource = nil
		_, err := e.p.Write(t.Context(), req)
		require.Equal(t, writeback.ClassAuth, perr(t, err).Class)
		require.Zero(t, e.srv.CallCount())
	})

	t.Run("context cancelled before sending", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := e.p.Write(ctx, e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
		pe := perr(t, err)
		require.ErrorIs(t, err, context.Canceled)
		require.NotEqual(t, writeback.ClassUnknownOutcome, pe.Class)
		require.Zero(t, e.srv.Count("Contact"))
	})
}
