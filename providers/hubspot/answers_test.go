package hubspot_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

// TestTenSecondlyUnderShortDeadline checks a sync write answered 429
// TEN_SECONDLY_ROLLING with X-HubSpot-RateLimit-Remaining: 0 when too
// little of its deadline is left to wait for the window: the request was
// sent and answered, so the answer is reported (rate limited, 429, the
// policy, the correlation ID), with RetryAfter the wait the pacer will
// impose: until the window ends, not the short default.
func TestTenSecondlyUnderShortDeadline(t *testing.T) {
	t.Parallel()
	srv, other := sim(t, hubspottest.Options{TenSecondLimit: 2})
	// Another process of the app fills the window.
	for i := range 2 {
		_, err := other.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(i)))
		require.NoError(t, err)
	}
	p := hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client(), RateLimitWait: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := p.Write(ctx, simRequest(writeback.WriteTypeCreate, false, false, contact(9)))
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassRateLimited, perr.Class, "%v", perr)
	require.Equal(t, http.StatusTooManyRequests, perr.StatusCode)
	require.Equal(t, "TEN_SECONDLY_ROLLING", perr.Code)
	require.NotEmpty(t, perr.CorrelationID)
	require.NotContains(t, perr.Message, "not sent")
	// The window seen at the answer ends 10 s after it.
	require.Greater(t, perr.RetryAfter, 9*time.Second-time.Since(start))
	require.LessOrEqual(t, perr.RetryAfter, 11*time.Second)
	require.Len(t, perr.Calls, 1)
	require.Equal(t, http.StatusTooManyRequests, perr.Calls[0].Status)
	require.Len(t, srv.CallsTo(http.MethodPost, "/crm/v3/objects/contacts"), 3, "sent once and answered")
}

// TestDailyQuotaWaitsForTheAccountsMidnight checks that a 429 DAILY
// carries RetryAfter until the daily limit resets, at midnight in the
// account's time zone, which is when the simulator resets it.
func TestDailyQuotaWaitsForTheAccountsMidnight(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	now := time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC) // 17:00 in New York
	clock := func() time.Time { return now }
	srv := hubspottest.NewServer(hubspottest.Options{NowFunc: clock, Location: ny, DailyLimit: 1, OAuth: true})
	t.Cleanup(srv.Close)
	p := hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client(), Location: ny, NowFunc: clock})
	_, err = p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(0)))
	require.NoError(t, err)
	_, err = p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(1)))
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassQuota, perr.Class)
	require.Equal(t, "DAILY", perr.Code)
	require.Equal(t, 7*time.Hour+hubspot.DailyResetMargin, perr.RetryAfter)
	require.Len(t, srv.Calls(), 2, "DAILY is not resent")
}

// TestValidationErrorPerProperty checks that a VALIDATION_ERROR says what
// is wrong with each property, and reads without raw JSON.
func TestValidationErrorPerProperty(t *testing.T) {
	t.Parallel()
	_, p := sim(t, hubspottest.Options{})
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false,
		writeback.Record{Fields: map[string]any{"email": "not-an-email", "nope": "x", "lifecyclestage": "bogus", "annualrevenue": "lots"}}))
	require.NoError(t, err)
	perr := resp.Results[0].Err
	require.NotNil(t, perr)
	require.Equal(t, writeback.ClassInvalid, perr.Class)
	require.Equal(t, "VALIDATION_ERROR", perr.Code)
	codes := map[string]string{}
	for _, f := range perr.FieldErrors {
		codes[f.ProviderField] = f.Code
		require.NotEmpty(t, f.Message, f.ProviderField)
		require.Empty(t, f.Field, "the app's name is the engine's to fill")
	}
	require.Equal(t, map[string]string{"email": "INVALID_EMAIL", "nope": "PROPERTY_DOESNT_EXIST", "lifecyclestage": "INVALID_OPTION", "annualrevenue": "INVALID_DOUBLE"}, codes)
	msg := perr.Error()
	require.NotContains(t, msg, "isValid")
	require.NotContains(t, msg, "[{")
	require.Contains(t, msg, "nope PROPERTY_DOESNT_EXIST")
}

// TestValidationErrorFromTheMessageAlone reads the per-property results
// HubSpot embeds in the message when errors[] is absent.
func TestValidationErrorFromTheMessageAlone(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: 400, body: `{"status":"error","message":"Property values were not valid: [{\"isValid\":false,\"message\":\"1.5x is not a valid number\",\"error\":\"INVALID_DOUBLE\",\"name\":\"amount\"}]","correlationId":"c-1","category":"VALIDATION_ERROR"}`})
	resp, err := r.provider().Write(t.Context(), baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: map[string]any{"amount": "1.5x"}}))
	require.NoError(t, err)
	perr := resp.Results[0].Err
	require.Equal(t, []writeback.FieldError{{ProviderField: "amount", Code: "INVALID_DOUBLE", Message: "1.5x is not a valid number"}}, perr.FieldErrors)
	require.Equal(t, []string{"amount"}, perr.Fields)
	require.Equal(t, "Property values were not valid", perr.Message)
}

// TestBatchItemStatusIsTheCallsStatus checks the StatusCode rule: the
// HTTP status of the call that carried the error, the record's problem in
// Code.
func TestBatchItemStatusIsTheCallsStatus(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	ids := seedContacts(srv, 1)
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeUpdate, true, false,
		writeback.Record{ID: ids[0], Fields: map[string]any{"firstname": "A"}},
		writeback.Record{ID: "999999", Fields: map[string]any{"firstname": "B"}}))
	require.NoError(t, err)
	require.Nil(t, resp.Results[0].Err)
	perr := resp.Results[1].Err
	require.Equal(t, writeback.ClassNotFound, perr.Class)
	require.Equal(t, http.StatusMultiStatus, perr.StatusCode)
	require.Equal(t, "OBJECT_NOT_FOUND", perr.Code)
}

// TestAllOrNoneCreateNeverGuesses checks that results of an all-or-nothing
// batch create that echo none of the inputs' values are not matched by
// position: those records are unknown outcomes, and a warning says why.
func TestAllOrNoneCreateNeverGuesses(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: 201, body: `{"status":"COMPLETE","results":[{"id":"7","properties":{"hs_object_id":"7"}},{"id":"8","properties":{"hs_object_id":"8"}}]}`})
	var logs bytes.Buffer
	p := hubspot.New(hubspot.Config{BaseURL: r.URL, HTTPClient: r.Client(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	resp, err := p.Write(t.Context(), baseRequest(writeback.WriteTypeCreate, true, true, contact(0), contact(1)))
	require.NoError(t, err)
	for i, res := range resp.Results {
		require.NotNil(t, res.Err, "record %d", i)
		require.Equal(t, writeback.ClassUnknownOutcome, res.Err.Class)
		require.Empty(t, res.ID)
	}
	require.Contains(t, logs.String(), "reported as unknown outcomes")
	require.Contains(t, logs.String(), "echoes none")

	// One result echoing one input's email settles that input; the other
	// result then belongs to the one input left.
	r = newRecorder(t, answer{status: 201, body: `{"status":"COMPLETE","results":[{"id":"8","properties":{"email":"c1@example.com"}},{"id":"7","properties":{}}]}`})
	resp, err = r.provider().Write(t.Context(), baseRequest(writeback.WriteTypeCreate, true, true, contact(0), contact(1)))
	require.NoError(t, err)
	require.Equal(t, "7", resp.Results[0].ID)
	require.Equal(t, "8", resp.Results[1].ID)
}

// TestCallsOfEveryAttempt checks that the response and the error list
// every HTTP call the write made, resends included.
func TestCallsOfEveryAttempt(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	srv.InjectFault(hubspottest.Fault{Status: 503, Times: 2})
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(0)))
	require.NoError(t, err)
	require.Equal(t, []int{503, 503, 201}, statuses(resp.Calls))
	require.Equal(t, "/crm/v3/objects/contacts", resp.Calls[0].Path)

	srv.InjectFault(hubspottest.Fault{Status: 503, Times: 3})
	_, err = p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, false, false, contact(1)))
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, []int{503, 503, 503}, statuses(perr.Calls))

	// An emulated all-or-nothing batch update: the read, then the update.
	ids := seedContacts(srv, 2)
	resp, err = p.Write(t.Context(), simRequest(writeback.WriteTypeUpdate, true, true,
		writeback.Record{ID: ids[0], Fields: map[string]any{"firstname": "A"}},
		writeback.Record{ID: ids[1], Fields: map[string]any{"firstname": "B"}}))
	require.NoError(t, err)
	require.Len(t, resp.Calls, 2)
	require.Equal(t, "/crm/v3/objects/contacts/batch/read", resp.Calls[0].Path)
	require.Equal(t, "/crm/v3/objects/contacts/batch/update", resp.Calls[1].Path)
}

func statuses(calls []writeback.ProviderCall) []int {
	out := make([]int, len(calls))
	for i, c := range calls {
		out[i] = c.Status
	}
	return out
}
