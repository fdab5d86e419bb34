package salesforcetest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// answer is a response, read.
type answer struct {
	status int
	header http.Header
	body   string
}

// call sends one request to srv with a valid session unless header says
// otherwise.
func call(t *testing.T, srv *salesforcetest.Server, method, path, body string, header ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+srv.AccessToken())
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)} }

const v = "/services/data/v62.0"

func TestSessions(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := salesforcetest.NewServer(salesforcetest.Options{NowFunc: clk.now, SessionTTL: 2 * time.Hour})
	t.Cleanup(srv.Close)

	a := call(t, srv, http.MethodGet, v+"/sobjects/Account", "", "Authorization", "")
	require.Equal(t, http.StatusUnauthorized, a.status)
	require.JSONEq(t, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID","fields":[]}]`, a.body)
	require.Equal(t, "api-usage=0/15000", a.header.Get("Sforce-Limit-Info"), "refused calls are not counted")

	tok := srv.AccessToken()
	require.Equal(t, http.StatusOK, call(t, srv, http.MethodGet, v+"/sobjects/Account", "", "Authorization", "OAuth "+tok).status)
	clk.add(2 * time.Hour)
	require.Equal(t, http.StatusUnauthorized, call(t, srv, http.MethodGet, v+"/sobjects/Account", "", "Authorization", "Bearer "+tok).status)

	fresh := srv.AccessToken()
	srv.ExpireSessions()
	require.Equal(t, http.StatusUnauthorized, call(t, srv, http.MethodGet, v+"/sobjects/Account", "", "Authorization", "Bearer "+fresh).status)
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	srv := salesforcetest.NewServer(salesforcetest.Options{})
	t.Cleanup(srv.Close)
	post := func(form url.Values, user, pass string) answer {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+salesforcetest.TokenPath, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header, string(b)}
	}
	good := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {salesforcetest.DefaultRefreshToken},
		"client_id": {salesforcetest.DefaultClientID}, "client_secret": {salesforcetest.DefaultClientSecret}}

	a := post(good, "", "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	var tok map[string]string
	require.NoError(t, json.Unmarshal([]byte(a.body), &tok))
	require.Equal(t, srv.URL, tok["instance_url"])
	require.Equal(t, "Bearer", tok["token_type"])
	require.NotEmpty(t, tok["access_token"])
	require.NotContains(t, tok, "refresh_token", "no rotation by default")
	require.Equal(t, http.StatusOK, call(t, srv, http.MethodGet, v+"/sobjects/Account", "", "Authorization", "Bearer "+tok["access_token"]).status)

	basic := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {salesforcetest.DefaultRefreshToken}}
	require.Equal(t, http.StatusOK, post(basic, salesforcetest.DefaultClientID, salesforcetest.DefaultClientSecret).status)

	for _, tc := range []struct {
		change, value, err string
	}{
		{"refresh_token", "nope", "invalid_grant"},
		{"client_secret", "nope", "invalid_client"},
		{"client_id", "nope", "invalid_client_id"},
		{"grant_type", "password", "unsupported_grant_type"},
	} {
		form := url.Values{}
		for k, vs := range good {
			form[k] = vs
		}
		form.Set(tc.change, tc.value)
		a := post(form, "", "")
		require.Equal(t, http.StatusBadRequest, a.status)
		require.Contains(t, a.body, `"error":"`+tc.err+`"`)
	}
	require.Equal(t, 6, srv.TokenRequests())
}

func TestDailyBudgetRollsOver24Hours(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv := salesforcetest.NewServer(salesforcetest.Options{NowFunc: clk.now, DailyLimit: 3, DailyUsed: 1})
	t.Cleanup(srv.Close)

	require.Equal(t, "api-usage=2/3", call(t, srv, http.MethodGet, v+"/sobjects/Account", "").header.Get("Sforce-Limit-Info"))
	clk.add(time.Hour)
	require.Equal(t, "api-usage=3/3", call(t, srv, http.MethodGet, v+"/sobjects/Account", "").header.Get("Sforce-Limit-Info"))
	a := call(t, srv, http.MethodGet, v+"/sobjects/Account", "")
	require.Equal(t, http.StatusForbidden, a.status)
	require.JSONEq(t, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED","fields":[]}]`, a.body)
	require.Equal(t, "api-usage=3/3", a.header.Get("Sforce-Limit-Info"))

	clk.add(23 * time.Hour) // the first two calls (and the initial usage) leave the window
	a = call(t, srv, http.MethodGet, v+"/sobjects/Account", "")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "api-usage=2/3", a.header.Get("Sforce-Limit-Info"))
	used, limit := srv.APIUsage()
	require.Equal(t, [2]int{2, 3}, [2]int{used, limit})
}

func TestRequestShapeIsEnforced(t *testing.T) {
	t.Parallel()
	srv := salesforcetest.NewServer(salesforcetest.Options{})
	t.Cleanup(srv.Close)
	acct := srv.Seed("Account", map[string]any{"Name": "Acme"})

	cases := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		want                     string
	}{
		{"unsupported version", http.MethodGet, "/services/data/v19.0/sobjects/Account", "", nil, 404, `"NOT_FOUND"`},
		{"collections before v42", http.MethodPost, "/services/data/v41.0/composite/sobjects", `{"records":[]}`, nil, 404, `"NOT_FOUND"`},
		{"unknown object", http.MethodPost, v + "/sobjects/Nope", `{}`, nil, 404, `"NOT_FOUND"`},
		{"wrong content type", http.MethodPost, v + "/sobjects/Account", `{"Name":"A"}`, []string{"Content-Type", "text/plain"}, 415, `"UNSUPPORTED_MEDIA_TYPE"`},
		{"not json", http.MethodPost, v + "/sobjects/Account", `Name=A`, nil, 400, `"JSON_PARSER_ERROR"`},
		{"unknown field", http.MethodPost, v + "/sobjects/Account", `{"Name":"A","Foo":1}`, nil, 400,
			`[{"message":"No such column 'Foo' on sobject of type Account","errorCode":"INVALID_FIELD","fields":[]}]`},
		{"required", http.MethodPost, v + "/sobjects/Lead", `{"LastName":"A"}`, nil, 400,
			`[{"message":"Required fields are missing: [Company]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Company"]}]`},
		{"restricted picklist", http.MethodPost, v + "/sobjects/Lead", `{"LastName":"A","Company":"C","Status":"Hot"}`, nil, 400, `"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"`},
		{"row of another object", http.MethodPatch, v + "/sobjects/Contact/" + acct, `{"LastName":"A"}`, nil, 404,
			`[{"message":"Provided external ID field does not exist or is not accessible: ` + acct + `","errorCode":"NOT_FOUND","fields":[]}]`},
		{"too many records", http.MethodPost, v + "/composite/sobjects", records(201), nil, 400, `"EXCEEDED_ID_LIMIT"`},
		{"record without type", http.MethodPost, v + "/composite/sobjects", `{"records":[{"Name":"A"}]}`, nil, 400, `"INVALID_TYPE"`},
		{"record of an unknown type", http.MethodPost, v + "/composite/sobjects", `{"records":[{"attributes":{"type":"Nope"}}]}`, nil, 400, `"INVALID_TYPE"`},
		{"allOrNone not a boolean", http.MethodPost, v + "/composite/sobjects", `{"allOrNone":"yes","records":[]}`, nil, 400, `"JSON_PARSER_ERROR"`},
		{"create with an id", http.MethodPost, v + "/composite/sobjects", `{"records":[{"attributes":{"type":"Account"},"id":"` + acct + `","Name":"A"}]}`, nil, 200,
			`[{"success":false,"errors":[{"statusCode":"INVALID_FIELD","message":"cannot specify Id in an insert call","fields":[]}]}]`},
		{"update without an id", http.MethodPatch, v + "/composite/sobjects", `{"records":[{"attributes":{"type":"Account"},"Name":"A"}]}`, nil, 200,
			`[{"success":false,"errors":[{"statusCode":"MISSING_ARGUMENT","message":"Id not specified in an update call","fields":[]}]}]`},
		{"retrieve too many ids", http.MethodPost, v + "/composite/sobjects/Account", `{"ids":[` + strings.TrimSuffix(strings.Repeat(`"`+acct+`",`, 2001), ",") + `],"fields":["Name"]}`, nil, 400, `"EXCEEDED_ID_LIMIT"`},
		{"retrieve unknown field", http.MethodGet, v + "/composite/sobjects/Account?ids=" + acct + "&fields=Nope", "", nil, 400, `"INVALID_FIELD"`},
	}
	for _, tc := range cases {
		a := call(t, srv, tc.method, tc.path, tc.body, tc.header...)
		require.Equal(t, tc.status, a.status, "%s: %s", tc.name, a.body)
		if strings.HasPrefix(tc.want, "[") {
			require.JSONEq(t, tc.want, a.body, tc.name)
		} else {
			require.Contains(t, a.body, tc.want, tc.name)
		}
		if strings.HasPrefix(tc.path, v) {
			require.NotEmpty(t, a.header.Get("Sforce-Limit-Info"), tc.name)
		}
	}
	require.Equal(t, 1, srv.Count("Account"), "nothing was written")
}

// records returns a Collections create body of n Accounts.
func records(n int) string {
	var b bytes.Buffer
	b.WriteString(`{"records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"attributes":{"type":"Account"},"Name":"A"}`)
	}
	b.WriteString("]}")
	return b.String()
}

func TestCollections(t *testing.T) {
	t.Parallel()
	srv := salesforcetest.NewServer(salesforcetest.Options{})
	t.Cleanup(srv.Close)

	// Mixed types, in order; 200 records is the limit.
	a := call(t, srv, http.MethodPost, v+"/composite/sobjects", records(200))
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, 200, srv.Count("Account"))
	a = call(t, srv, http.MethodPost, v+"/composite/sobjects",
		`{"allOrNone":true,"records":[{"attributes":{"type":"Account"},"Name":"X"},{"attributes":{"type":"Contact"},"LastName":"Y"}]}`)
	var res []struct {
		ID      string `json:"id"`
		Success bool   `json:"success"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &res))
	require.Len(t, res, 2)
	require.Equal(t, "001", res[0].ID[:3])
	require.Equal(t, "003", res[1].ID[:3])

	// Retrieve: one entry per id, null for a missing one.
	a = call(t, srv, http.MethodPost, v+"/composite/sobjects/Contact", `{"ids":["`+res[1].ID+`","003000000000000AAA","`+res[0].ID+`"],"fields":["lastname"]}`)
	require.Equal(t, http.StatusOK, a.status)
	require.JSONEq(t, `[{"attributes":{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/`+res[1].ID+`"},"LastName":"Y"},null,null]`, a.body)

	// Delete with allOrNone rolls back when one id fails.
	a = call(t, srv, http.MethodDelete, v+"/composite/sobjects?allOrNone=true&ids="+res[0].ID+",003000000000000AAA", "")
	require.Equal(t, http.StatusOK, a.status)
	require.Contains(t, a.body, "ALL_OR_NONE_OPERATION_ROLLED_BACK")
	_, ok := srv.Record("Account", res[0].ID)
	require.True(t, ok)
	a = call(t, srv, http.MethodDelete, v+"/composite/sobjects?ids="+res[0].ID, "")
	require.JSONEq(t, `[{"id":"`+res[0].ID+`","success":true,"errors":[]}]`, a.body)
	_, ok = srv.Record("Account", res[0].ID)
	require.False(t, ok)
}

func TestDuplicateRules(t *testing.T) {
	t.Parallel()
	objs := salesforcetest.DefaultObjects()
	for i := range objs {
		if objs[i].Name == "Lead" {
			objs[i].DuplicateRules[0].Block = true
		}
	}
	srv := salesforcetest.NewServer(salesforcetest.Options{Objects: objs})
	t.Cleanup(srv.Close)
	lead := srv.Seed("Lead", map[string]any{"LastName": "L", "Company": "C", "Email": "l@example.com"})
	contact := srv.Seed("Contact", map[string]any{"LastName": "C", "Email": "c@example.com"})
	allow := []string{"Sforce-Duplicate-Rule-Header", "allowSave=true"}

	a := call(t, srv, http.MethodPost, v+"/sobjects/Lead", `{"LastName":"M","Company":"C","Email":"L@example.com"}`, allow...)
	require.Equal(t, http.StatusBadRequest, a.status, "a blocking rule ignores allowSave")
	require.Contains(t, a.body, `"errorCode":"DUPLICATES_DETECTED"`)
	require.Contains(t, a.body, `"Id":"`+lead+`"`)

	a = call(t, srv, http.MethodPost, v+"/sobjects/Contact", `{"LastName":"D","Email":"c@example.com"}`)
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Contains(t, a.body, `"Id":"`+contact+`"`)
	a = call(t, srv, http.MethodPost, v+"/sobjects/Contact", `{"LastName":"D","Email":"c@example.com"}`, allow...)
	require.Equal(t, http.StatusCreated, a.status, "an alerting rule lets allowSave through")

	// Within one batch, a later record duplicates an earlier one.
	a = call(t, srv, http.MethodPost, v+"/composite/sobjects",
		`{"records":[{"attributes":{"type":"Contact"},"LastName":"E","Email":"e@example.com"},{"attributes":{"type":"Contact"},"LastName":"F","Email":"e@example.com"}]}`)
	require.Contains(t, a.body, `"statusCode":"DUPLICATES_DETECTED"`)
	require.Equal(t, 3, srv.Count("Contact"))
}

func TestFaultsAndCallLog(t *testing.T) {
	t.Parallel()
	srv := salesforcetest.NewServer(salesforcetest.Options{})
	t.Cleanup(srv.Close)

	srv.InjectFault(salesforcetest.Fault{Method: http.MethodPost, Path: "/sobjects/Account", Status: 503, RetryAfter: 90 * time.Second, Times: 2})
	for range 2 {
		a := call(t, srv, http.MethodPost, v+"/sobjects/Account", `{"Name":"A"}`)
		require.Equal(t, http.StatusServiceUnavailable, a.status)
		require.Equal(t, "90", a.header.Get("Retry-After"))
		require.Contains(t, a.body, "SERVER_UNAVAILABLE")
	}
	require.Equal(t, http.StatusCreated, call(t, srv, http.MethodPost, v+"/sobjects/Account", `{"Name":"A"}`).status)
	used, _ := srv.APIUsage()
	require.Equal(t, 1, used, "injected failures are not counted")

	srv.InjectFault(salesforcetest.Fault{Drop: true})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+v+"/sobjects/Account", strings.NewReader(`{"Name":"B"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+srv.AccessToken())
	_, err = srv.Client().Do(req)
	require.Error(t, err, "connection dropped")
	require.Equal(t, 1, srv.Count("Account"), "a dropped request is not processed")

	calls := srv.CallsTo(http.MethodPost, "/sobjects/Account")
	require.Len(t, calls, 4)
	require.Equal(t, []int{503, 503, 201, 0}, []int{calls[0].Status, calls[1].Status, calls[2].Status, calls[3].Status})
	require.Equal(t, `{"Name":"B"}`, string(calls[3].Body))
	require.Equal(t, "application/json", calls[3].Header.Get("Content-Type"))
}

func TestSObjectRowsAndDescribe(t *testing.T) {
	t.Parallel()
	srv := salesforcetest.NewServer(salesforcetest.Options{})
	t.Cleanup(srv.Close)
	acct := srv.Seed("Account", map[string]any{"Name": "Acme"})

	a := call(t, srv, http.MethodPost, v+"/sobjects/Contact", `{"LastName":"Doe","AccountId":"`+acct[:15]+`","NumberOfEmployees":null}`)
	require.Equal(t, http.StatusBadRequest, a.status, "Contact has no NumberOfEmployees")
	a = call(t, srv, http.MethodPost, v+"/sobjects/Contact", `{"LastName":"Doe","AccountId":"`+acct[:15]+`","HasOptedOutOfEmail":"true"}`)
	require.Equal(t, http.StatusCreated, a.status, a.body)
	var created struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(a.body), &created))
	require.Equal(t, v+"/sobjects/Contact/"+created.ID, a.header.Get("Location"))

	a = call(t, srv, http.MethodGet, v+"/sobjects/Contact/"+created.ID+"?fields=AccountId,HasOptedOutOfEmail,Email", "")
	require.Equal(t, http.StatusOK, a.status)
	require.JSONEq(t, `{"attributes":{"type":"Contact","url":"`+v+`/sobjects/Contact/`+created.ID+`"},"AccountId":"`+acct+`","HasOptedOutOfEmail":true,"Email":null}`, a.body)

	require.Equal(t, http.StatusNoContent, call(t, srv, http.MethodPatch, v+"/sobjects/Contact/"+created.ID, `{"Id":"`+created.ID+`","Email":"d@example.com"}`).status)
	require.Equal(t, http.StatusNoContent, call(t, srv, http.MethodDelete, v+"/sobjects/Contact/"+created.ID, "").status)
	a = call(t, srv, http.MethodDelete, v+"/sobjects/Contact/"+created.ID, "")
	require.Equal(t, http.StatusNotFound, a.status)
	require.Contains(t, a.body, "ENTITY_IS_DELETED")

	a = call(t, srv, http.MethodGet, v+"/sobjects/Lead/describe", "")
	require.Equal(t, http.StatusOK, a.status)
	require.Contains(t, a.body, `"keyPrefix":"00Q"`)
	require.Contains(t, a.body, `"restrictedPicklist":true`)

	require.Panics(t, func() { srv.Seed("Account", map[string]any{"Nope": 1}) })
	require.Panics(t, func() {
		salesforcetest.NewServer(salesforcetest.Options{Objects: []salesforcetest.Object{{Name: "X"}}})
	})
}
