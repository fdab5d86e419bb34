package hubspot_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
)

// TestErrorClasses checks the class and details of every HubSpot error
// answer to a single create.
func TestErrorClasses(t *testing.T) {
	t.Parallel()
	// 2026-11-29 22:00 UTC: the daily limit resets in 2 h (UTC) or, in
	// New York, at 05:00 UTC the next day.
	now := mustTime(t, "2026-11-29T22:00:00Z")
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	cases := []struct {
		name      string
		answers   []answer
		loc       *time.Location
		class     writeback.ErrorClass
		recordErr bool // the record carries the error (else the call fails)
		calls     int
		check     func(t *testing.T, perr *writeback.ProviderError)
	}{
		{
			name: "400 validation names the properties",
			answers: []answer{{status: 400, body: `{"status":"error","message":"Property values were not valid: [...]","correlationId":"c-400","category":"VALIDATION_ERROR",
				"errors":[{"message":"Property \"x\" does not exist","code":"PROPERTY_DOESNT_EXIST","context":{"propertyName":["x"]}},{"message":"bad","in":"email"}]}`}},
			class: writeback.ClassInvalid, recordErr: true, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) {
				require.Equal(t, []string{"x", "email"}, perr.Fields)
				require.Equal(t, "VALIDATION_ERROR", perr.Code)
				require.Equal(t, "c-400", perr.CorrelationID)
				require.Equal(t, 400, perr.StatusCode)
			},
		},
		{
			name:    "409 conflict names the existing record from the message",
			answers: []answer{{status: 409, body: `{"status":"error","message":"Contact already exists. Existing ID: 1234","correlationId":"c-409","category":"CONFLICT"}`}},
			class:   writeback.ClassConflict, recordErr: true, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) { require.Equal(t, "1234", perr.ExistingID) },
		},
		{
			name:    "409 conflict names the existing record from the context",
			answers: []answer{{status: 409, body: `{"status":"error","message":"Contact already exists","category":"CONFLICT","context":{"existingId":["99"]}}`}},
			class:   writeback.ClassConflict, recordErr: true, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) { require.Equal(t, "99", perr.ExistingID) },
		},
		{
			name:    "404 not found",
			answers: []answer{{status: 404, body: `{"status":"error","message":"resource not found","category":"OBJECT_NOT_FOUND"}`}},
			class:   writeback.ClassNotFound, recordErr: true, calls: 1,
		},
		{
			name:    "401 after one resend",
			answers: []answer{{status: 401, body: `{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}`}},
			class:   writeback.ClassAuth, calls: 2,
		},
		{
			name:    "403 missing scopes",
			answers: []answer{{status: 403, body: `{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","category":"MISSING_SCOPES","context":{"requiredScopes":["crm.objects.contacts.write"]}}`}},
			class:   writeback.ClassPermission, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) {
				require.Contains(t, perr.Message, "crm.objects.contacts.write")
			},
		},
		{
			name:    "423 locked",
			answers: []answer{{status: 423, body: `{"status":"error","message":"locked"}`}},
			class:   writeback.ClassUnavailable, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) { require.Equal(t, 2*time.Second, perr.RetryAfter) },
		},
		{
			name:    "477 migrating",
			answers: []answer{{status: 477, body: `{"status":"error","message":"migration in progress"}`}},
			class:   writeback.ClassUnavailable, calls: 1,
		},
		{
			name:    "500 internal error",
			answers: []answer{{status: 500, body: `{"status":"error","message":"internal error","correlationId":"c-500"}`}},
			class:   writeback.ClassUnavailable, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) { require.Equal(t, "c-500", perr.CorrelationID) },
		},
		{
			name:    "502 on a create is an unknown outcome",
			answers: []answer{{status: 502, body: `<html>bad gateway</html>`}},
			class:   writeback.ClassUnknownOutcome, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) {
				require.False(t, perr.Retryable())
				require.Contains(t, perr.Message, "bad gateway")
			},
		},
		{
			name:    "503 resent until the attempts run out",
			answers: []answer{{status: 503, body: `{"status":"error","message":"unavailable"}`, header: map[string]string{"Retry-After": "0"}}},
			class:   writeback.ClassUnavailable, calls: 3,
		},
		{
			name: "429 ten-secondly resent, then reported with a short RetryAfter",
			answers: []answer{{status: 429, body: `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c-429","policyName":"TEN_SECONDLY_ROLLING"}`,
				header: map[string]string{"X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "50", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}}},
			class: writeback.ClassRateLimited, calls: 3,
			check: func(t *testing.T, perr *writeback.ProviderError) {
				require.Equal(t, "TEN_SECONDLY_ROLLING", perr.Code)
				// The configured short wait, or longer if the pacer holds
				// the next call: the window is shared with 50 calls of
				// other senders, and its free room is taken one call per
				// 10 s / 48 (208 ms).
				require.GreaterOrEqual(t, perr.RetryAfter, 10*time.Millisecond, "at least the configured short wait")
				require.LessOrEqual(t, perr.RetryAfter, 250*time.Millisecond)
				require.Equal(t, writeback.NoRecord, perr.RecordIndex)
			},
		},
		{
			name:    "429 daily is not resent and waits for midnight UTC",
			answers: []answer{{status: 429, body: `{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}`}},
			class:   writeback.ClassQuota, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) {
				require.Equal(t, "DAILY", perr.Code)
				require.Equal(t, 2*time.Hour+hubspot.DailyResetMargin, perr.RetryAfter)
			},
		},
		{
			name:    "429 daily waits for midnight in the account's time zone",
			answers: []answer{{status: 429, body: `{"status":"error","message":"You have reached your daily limit.","policyName":"DAILY"}`}},
			loc:     ny,
			class:   writeback.ClassQuota, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) {
				require.Equal(t, 7*time.Hour+hubspot.DailyResetMargin, perr.RetryAfter)
			},
		},
		{
			name:    "unparseable error body",
			answers: []answer{{status: 418, body: `teapot`}},
			class:   writeback.ClassInvalid, recordErr: true, calls: 1,
			check: func(t *testing.T, perr *writeback.ProviderError) { require.Contains(t, perr.Message, "teapot") },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t, c.answers...)
			p := hubspot.New(hubspot.Config{BaseURL: r.URL, HTTPClient: r.Client(), Location: c.loc, RateLimitWait: 10 * time.Millisecond, NowFunc: func() time.Time { return now }})
			resp, err := p.Write(t.Context(), baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: map[string]any{"email": "a@example.com"}}))
			var perr *writeback.ProviderError
			if c.recordErr {
				require.NoError(t, err)
				require.Len(t, resp.Results, 1)
				perr = resp.Results[0].Err
				require.NotNil(t, perr)
				require.Equal(t, 0, perr.RecordIndex)
			} else {
				require.ErrorAs(t, err, &perr)
				require.Equal(t, writeback.NoRecord, perr.RecordIndex)
			}
			require.Equal(t, c.class, perr.Class, "%v", perr)
			require.Equal(t, "hubspot", perr.Provider)
			require.NotContains(t, perr.Error(), "tok-123", "no token in errors")
			require.Len(t, r.requests(), c.calls, "calls sent")
			if c.check != nil {
				c.check(t, perr)
			}
		})
	}
}

// refresher is a token source that hands out a new token when refreshed.
type refresher struct {
	refreshed atomic.Int32
}

func (r *refresher) Token() (*oauth2.Token, error) {
	if r.refreshed.Load() > 0 {
		return &oauth2.Token{AccessToken: "fresh"}, nil
	}
	return &oauth2.Token{AccessToken: "stale"}, nil
}

func (r *refresher) RefreshToken(context.Context) (*oauth2.Token, error) {
	r.refreshed.Add(1)
	return &oauth2.Token{AccessToken: "fresh"}, nil
}

// TestTokenRefreshedOnce checks that a 401 refreshes the token once and
// resends with the new one.
func TestTokenRefreshedOnce(t *testing.T) {
	t.Parallel()
	r := newRecorder(t,
		answer{status: 401, body: `{"status":"error","message":"The OAuth token used to make this call expired 1 hour(s) ago.","category":"EXPIRED_AUTHENTICATION"}`},
		answer{status: 201, body: objectBody})
	ts := &refresher{}
	req := baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: map[string]any{"email": "a@example.com"}})
	req.TokenSource = ts
	resp, err := r.provider().Write(t.Context(), req)
	require.NoError(t, err)
	require.Equal(t, "501", resp.Results[0].ID)
	got := r.requests()
	require.Len(t, got, 2)
	require.Equal(t, "Bearer stale", got[0].Auth)
	require.Equal(t, "Bearer fresh", got[1].Auth)
	require.Equal(t, int32(1), ts.refreshed.Load())
}

// TestTokenSourceFails checks that a token source error is an auth error
// and nothing is sent.
func TestTokenSourceFails(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: 201, body: objectBody})
	req := baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: map[string]any{"email": "a@example.com"}})
	req.TokenSource = oauth2.ReuseTokenSource(nil, failingSource{})
	_, err := r.provider().Write(t.Context(), req)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassAuth, perr.Class)
	require.Empty(t, r.requests())
}

type failingSource struct{}

func (failingSource) Token() (*oauth2.Token, error) { return nil, errors.New("refresh token revoked") }

// TestRecordErrorsInBatch checks that multi-status errors keep HubSpot's
// category as the code and classify by it.
func TestRecordErrorsInBatch(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: http.StatusMultiStatus, body: `{"status":"COMPLETE","results":[{"id":"9","properties":{},"objectWriteTraceId":"2"}],
		"errors":[{"status":"error","category":"CONFLICT","message":"Contact already exists. Existing ID: 171591000198","context":{"objectWriteTraceId":["0"],"existingId":["171591000198"]}},
		{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid","errors":[{"message":"x","code":"INVALID_EMAIL","context":{"propertyName":["email"]}}],"context":{"objectWriteTraceId":["1"]}}],"numErrors":2}`})
	recs := []writeback.Record{{Fields: map[string]any{"email": "a@x.com"}}, {Fields: map[string]any{"email": "b"}}, {Fields: map[string]any{"email": "c@x.com"}}}
	resp, err := r.provider().Write(t.Context(), baseRequest(writeback.WriteTypeCreate, true, false, recs...))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassConflict, resp.Results[0].Err.Class)
	require.Equal(t, "171591000198", resp.Results[0].Err.ExistingID)
	require.Equal(t, 0, resp.Results[0].Err.RecordIndex)
	require.Equal(t, writeback.ClassInvalid, resp.Results[1].Err.Class)
	require.Equal(t, []string{"email"}, resp.Results[1].Err.Fields)
	require.Equal(t, 1, resp.Results[1].Err.RecordIndex)
	require.Nil(t, resp.Results[2].Err)
	require.Equal(t, "9", resp.Results[2].ID)
}

// TestMissingResultIsUnknown checks that an input HubSpot's answer says
// nothing about is an unknown outcome, not a success.
func TestMissingResultIsUnknown(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: 201, body: `{"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@x.com"}}]}`})
	recs := []writeback.Record{{Fields: map[string]any{"email": "a@x.com"}}, {Fields: map[string]any{"email": "b@x.com"}}}
	resp, err := r.provider().Write(t.Context(), baseRequest(writeback.WriteTypeCreate, true, true, recs...))
	require.NoError(t, err)
	require.Equal(t, "1", resp.Results[0].ID)
	require.Equal(t, writeback.ClassUnknownOutcome, resp.Results[1].Err.Class)
}

// TestUnreadableSuccess checks a 2xx answer that cannot be read: internal
// for an update, unknown outcome for a create (the record may exist).
func TestUnreadableSuccess(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: 200, body: `<html>`})
	_, err := r.provider().Write(t.Context(), baseRequest(writeback.WriteTypeUpdate, false, false, writeback.Record{ID: "1", Fields: map[string]any{"firstname": "x"}}))
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassInternal, perr.Class)

	r = newRecorder(t, answer{status: 201, body: `{}`})
	_, err = r.provider().Write(t.Context(), baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: map[string]any{"firstname": "x"}}))
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassUnknownOutcome, perr.Class)
}
