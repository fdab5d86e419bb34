package hubspottest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// reply is a decoded answer.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// call sends one request with the default token.
func call(t *testing.T, srv *hubspottest.Server, method, path, body string) reply {
	t.Helper()
	return callWith(t, srv, hubspottest.DefaultToken, method, path, body)
}

func callWith(t *testing.T, srv *hubspottest.Server, token, method, path, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &r.body), "JSON body: %s", b)
	}
	return r
}

func newServer(t *testing.T, opts hubspottest.Options) *hubspottest.Server {
	t.Helper()
	srv := hubspottest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

func TestAuth(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{Tokens: []string{"a", "b"}})
	r := callWith(t, srv, "", "POST", "/crm/v3/objects/contacts", `{"properties":{}}`)
	require.Equal(t, 401, r.status)
	require.Equal(t, "INVALID_AUTHENTICATION", r.body["category"])
	require.Equal(t, "error", r.body["status"])
	require.NotEmpty(t, r.body["correlationId"])

	require.Equal(t, 201, callWith(t, srv, "b", "POST", "/crm/v3/objects/contacts", `{"properties":{}}`).status)
	srv.ExpireToken("b")
	r = callWith(t, srv, "b", "POST", "/crm/v3/objects/contacts", `{"properties":{}}`)
	require.Equal(t, 401, r.status)
	require.Equal(t, "EXPIRED_AUTHENTICATION", r.body["category"])
	srv.AddToken("c")
	require.Equal(t, 201, callWith(t, srv, "c", "POST", "/crm/v3/objects/contacts", `{"properties":{}}`).status)
	require.Equal(t, 1+1, srv.Count("contacts"))
}

func TestSingleWrites(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{})
	r := call(t, srv, "POST", "/crm/v3/objects/contacts", `{"properties":{"email":"a@example.com","annualrevenue":12.5,"hs_email_optout":true},"associations":[]}`)
	require.Equal(t, 201, r.status)
	id := r.body["id"].(string)
	props := r.body["properties"].(map[string]any)
	require.Equal(t, "12.5", props["annualrevenue"], "values are stored as strings")
	require.Equal(t, "true", props["hs_email_optout"])
	require.Equal(t, id, props["hs_object_id"])
	require.Equal(t, false, r.body["archived"])
	for _, h := range []string{"X-HubSpot-RateLimit-Max", "X-HubSpot-RateLimit-Remaining", "X-HubSpot-RateLimit-Interval-Milliseconds", "X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining"} {
		require.NotEmpty(t, r.header.Get(h), h)
	}

	// By type ID, by unique property, and clearing with "".
	r = call(t, srv, "PATCH", "/crm/v3/objects/0-1/"+id, `{"properties":{"firstname":"Ada","annualrevenue":""}}`)
	require.Equal(t, 200, r.status)
	r = call(t, srv, "PATCH", "/crm/v3/objects/contacts/a@example.com?idProperty=email", `{"properties":{"lastname":"Lovelace"}}`)
	require.Equal(t, 200, r.status)
	got, ok := srv.Record("contacts", id)
	require.True(t, ok)
	require.Equal(t, "Ada", got["firstname"])
	require.Equal(t, "Lovelace", got["lastname"])
	require.NotContains(t, got, "annualrevenue")

	r = call(t, srv, "GET", "/crm/v3/objects/contacts/"+id+"?properties=firstname,phone", "")
	require.Equal(t, 200, r.status)
	require.Equal(t, map[string]any{"firstname": "Ada", "phone": nil, "hs_object_id": id, "createdate": got["createdate"], "lastmodifieddate": got["lastmodifieddate"]}, r.body["properties"])

	r = call(t, srv, "PATCH", "/crm/v3/objects/contacts/999999", `{"properties":{"firstname":"x"}}`)
	require.Equal(t, 404, r.status)
	require.Equal(t, "OBJECT_NOT_FOUND", r.body["category"])

	r = call(t, srv, "DELETE", "/crm/v3/objects/contacts/"+id, "")
	require.Equal(t, 204, r.status)
	_, ok = srv.Record("contacts", id)
	require.False(t, ok, "archived")
	require.Equal(t, 204, call(t, srv, "DELETE", "/crm/v3/objects/contacts/"+id, "").status, "archiving again is fine")
	require.Equal(t, 404, call(t, srv, "GET", "/crm/v3/objects/contacts/"+id, "").status)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{})
	cases := []struct {
		name, body, code, property string
	}{
		{"unknown property", `{"properties":{"shoe_size":"42"}}`, "PROPERTY_DOESNT_EXIST", "shoe_size"},
		{"not a number", `{"properties":{"annualrevenue":"lots"}}`, "INVALID_DOUBLE", "annualrevenue"},
		{"not a boolean", `{"properties":{"hs_email_optout":"maybe"}}`, "INVALID_BOOLEAN", "hs_email_optout"},
		{"not an option", `{"properties":{"lifecyclestage":"friend"}}`, "INVALID_OPTION", "lifecyclestage"},
		{"bad email", `{"properties":{"email":"not-an-email"}}`, "INVALID_EMAIL", "email"},
		{"bad date", `{"properties":{"date_of_birth":"yesterday"}}`, "INVALID_DATE", "date_of_birth"},
		{"read-only", `{"properties":{"hs_object_id":"5"}}`, "READ_ONLY_VALUE", "hs_object_id"},
		{"object value", `{"properties":{"firstname":{"a":1}}}`, "INVALID_PROPERTY_VALUE", "firstname"},
	}
	for _, c := range cases {
		r := call(t, srv, "POST", "/crm/v3/objects/contacts", c.body)
		require.Equal(t, 400, r.status, c.name)
		require.Equal(t, "VALIDATION_ERROR", r.body["category"], c.name)
		require.True(t, strings.HasPrefix(r.body["message"].(string), "Property values were not valid: ["), c.name)
		errs := r.body["errors"].([]any)
		require.Len(t, errs, 1, c.name)
		e := errs[0].(map[string]any)
		require.Equal(t, c.code, e["code"], c.name)
		require.Equal(t, map[string]any{"propertyName": []any{c.property}}, e["context"], c.name)
	}
	for _, body := range []string{`{"properties":{},"extra":1}`, `{"properties":`, `[]`, `{"properties":{}} {}`} {
		r := call(t, srv, "POST", "/crm/v3/objects/contacts", body)
		require.Equal(t, 400, r.status, body)
		require.Equal(t, "VALIDATION_ERROR", r.body["category"], body)
	}
	r := call(t, srv, "POST", "/crm/v3/objects/unicorns", `{"properties":{}}`)
	require.Equal(t, 400, r.status)
	require.Zero(t, srv.Count("contacts"), "nothing stored")
}

func TestUniqueEmail(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{})
	first := srv.Seed("contacts", map[string]string{"email": "a@example.com"})
	r := call(t, srv, "POST", "/crm/v3/objects/contacts", `{"properties":{"email":"a@example.com"}}`)
	require.Equal(t, 409, r.status)
	require.Equal(t, "CONFLICT", r.body["category"])
	require.Equal(t, "Contact already exists. Existing ID: "+first, r.body["message"])

	other := srv.Seed("contacts", map[string]string{"email": "b@example.com"})
	r = call(t, srv, "PATCH", "/crm/v3/objects/contacts/"+other, `{"properties":{"email":"a@example.com"}}`)
	require.Equal(t, 409, r.status)
	require.Equal(t, 2, srv.Count("contacts"))
}

func TestBatchCreate(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{})
	existing := srv.Seed("contacts", map[string]string{"email": "taken@example.com"})

	// Without trace IDs: one bad input fails the batch, nothing is stored.
	r := call(t, srv, "POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[{"properties":{"email":"a@example.com"},"associations":[]},{"properties":{"email":"taken@example.com"},"associations":[]}]}`)
	require.Equal(t, 409, r.status)
	require.Equal(t, "Contact already exists. Existing ID: "+existing, r.body["message"])
	// HubSpot's bare body: nothing says which input collided.
	require.ElementsMatch(t, []string{"status", "message", "correlationId", "category"}, slices.Collect(maps.Keys(r.body)))
	r = call(t, srv, "POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[{"properties":{"email":"a@example.com"}},{"properties":{"shoe":"1"}}]}`)
	require.Equal(t, 400, r.status)
	require.Equal(t, "VALIDATION_ERROR", r.body["category"])
	require.Equal(t, 1, srv.Count("contacts"))

	// With trace IDs: 207, per-input errors.
	r = call(t, srv, "POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[
		{"properties":{"email":"a@example.com"},"objectWriteTraceId":"t0"},
		{"properties":{"email":"taken@example.com"},"objectWriteTraceId":"t1"},
		{"properties":{"shoe":"1"},"objectWriteTraceId":"t2"},
		{"properties":{"email":"a@example.com"},"objectWriteTraceId":"t3"}]}`)
	require.Equal(t, 207, r.status)
	require.Equal(t, float64(3), r.body["numErrors"])
	results := r.body["results"].([]any)
	require.Len(t, results, 1)
	require.Equal(t, "t0", results[0].(map[string]any)["objectWriteTraceId"])
	errs := r.body["errors"].([]any)
	ctx := func(i int) map[string]any { return errs[i].(map[string]any)["context"].(map[string]any) }
	require.Equal(t, []any{"t1"}, ctx(0)["objectWriteTraceId"])
	require.Equal(t, []any{existing}, ctx(0)["existingId"])
	require.Equal(t, []any{"t2"}, ctx(1)["objectWriteTraceId"])
	require.Equal(t, []any{"shoe"}, ctx(1)["propertyName"])
	require.Equal(t, []any{"t3"}, ctx(2)["objectWriteTraceId"], "a duplicate inside the batch conflicts")
	require.Equal(t, "CONFLICT", errs[2].(map[string]any)["category"])
	require.Equal(t, 2, srv.Count("contacts"))

	// All good with trace IDs: 201.
	r = call(t, srv, "POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[{"properties":{"email":"z@example.com"},"objectWriteTraceId":"x"}]}`)
	require.Equal(t, 201, r.status)
	require.Equal(t, "COMPLETE", r.body["status"])

	// Malformed batches.
	var inputs []string
	for i := range 101 {
		inputs = append(inputs, fmt.Sprintf(`{"properties":{"firstname":"n%d"}}`, i))
	}
	require.Equal(t, 400, call(t, srv, "POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[`+strings.Join(inputs, ",")+`]}`).status)
	require.Equal(t, 400, call(t, srv, "POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[{"properties":{},"objectWriteTraceId":"a"},{"properties":{}}]}`).status, "mixed trace IDs")
	require.Equal(t, 400, call(t, srv, "POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[{"properties":{},"objectWriteTraceId":"a"},{"properties":{},"objectWriteTraceId":"a"}]}`).status, "duplicate trace IDs")
	require.Equal(t, 400, call(t, srv, "POST", "/crm/v3/objects/contacts/batch/create", `{"inputs":[],"mode":"fast"}`).status, "unknown key")
	require.Equal(t, 3, srv.Count("contacts"))
}

func TestBatchUpdateAndRead(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{})
	a := srv.Seed("contacts", map[string]string{"email": "a@example.com", "firstname": "A"})
	b := srv.Seed("contacts", map[string]string{"email": "b@example.com"})

	r := call(t, srv, "POST", "/crm/v3/objects/contacts/batch/update", fmt.Sprintf(`{"inputs":[{"id":%q,"properties":{"firstname":"A2"}},{"id":%q,"properties":{"firstname":"B2"}}]}`, a, a))
	require.Equal(t, 400, r.status)
	require.Equal(t, fmt.Sprintf("Duplicate IDs found in batch input: [%s]. IDs must be unique", a), r.body["message"])

	r = call(t, srv, "POST", "/crm/v3/objects/contacts/batch/update", fmt.Sprintf(`{"inputs":[{"id":%q,"properties":{"firstname":"A2"}},{"id":%q,"properties":{"shoe":"B2"}}]}`, a, b))
	require.Equal(t, 400, r.status, "an invalid property rejects the whole batch")
	got, _ := srv.Record("contacts", a)
	require.Equal(t, "A", got["firstname"])

	r = call(t, srv, "POST", "/crm/v3/objects/contacts/batch/update", fmt.Sprintf(`{"inputs":[{"id":%q,"properties":{"firstname":"A2"}},{"id":"77777","properties":{"firstname":"X"}},{"id":%q,"properties":{"email":"a@example.com"}}]}`, a, b))
	require.Equal(t, 207, r.status, "batch updates are partial")
	require.Len(t, r.body["results"], 1)
	errs := r.body["errors"].([]any)
	require.Len(t, errs, 2)
	require.Equal(t, "CONFLICT", errs[0].(map[string]any)["category"])
	nf := errs[1].(map[string]any)
	require.Equal(t, "OBJECT_NOT_FOUND", nf["category"])
	require.Equal(t, map[string]any{"ids": []any{"77777"}}, nf["context"])
	got, _ = srv.Record("contacts", a)
	require.Equal(t, "A2", got["firstname"])

	r = call(t, srv, "POST", "/crm/v3/objects/contacts/batch/read", fmt.Sprintf(`{"properties":["firstname","phone"],"inputs":[{"id":%q},{"id":"77777"}]}`, a))
	require.Equal(t, 207, r.status)
	res := r.body["results"].([]any)[0].(map[string]any)["properties"].(map[string]any)
	require.Equal(t, "A2", res["firstname"])
	require.Contains(t, res, "phone")
	require.Nil(t, res["phone"], "unset requested properties are null")
	require.Equal(t, 200, call(t, srv, "POST", "/crm/v3/objects/contacts/batch/read", fmt.Sprintf(`{"properties":[],"inputs":[{"id":%q}]}`, b)).status)

	require.Equal(t, 204, call(t, srv, "POST", "/crm/v3/objects/contacts/batch/archive", fmt.Sprintf(`{"inputs":[{"id":%q}]}`, b)).status)
	require.Equal(t, 1, srv.Count("contacts"))
}

func TestAssociations(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{})
	company := srv.Seed("companies", map[string]string{"name": "Acme"})
	r := call(t, srv, "POST", "/crm/v3/objects/contacts", fmt.Sprintf(`{"properties":{"email":"a@example.com"},"associations":[{"to":{"id":%q},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}`, company))
	require.Equal(t, 201, r.status)
	rec, ok := srv.Get("contacts", r.body["id"].(string))
	require.True(t, ok)
	require.Equal(t, []hubspottest.Association{{To: company, ToObject: "companies", TypeID: 279}}, rec.Associations)

	r = call(t, srv, "POST", "/crm/v3/objects/contacts", `{"properties":{"email":"b@example.com"},"associations":[{"to":{"id":"424242"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}`)
	require.Equal(t, 400, r.status, "the target must exist")
	r = call(t, srv, "POST", "/crm/v3/objects/contacts", fmt.Sprintf(`{"properties":{"email":"b@example.com"},"associations":[{"to":{"id":%q},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":3}]}]}`, company))
	require.Equal(t, 400, r.status, "type 3 is deal to contact, not from contacts")
	require.Equal(t, 1, srv.Count("contacts"))
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	var mu sync.Mutex
	now := time.Date(2026, 11, 29, 23, 0, 0, 0, ny)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv := newServer(t, hubspottest.Options{NowFunc: clock, Location: ny, TenSecondLimit: 3, DailyLimit: 5})

	for i := range 3 {
		r := call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`)
		require.Equal(t, 201, r.status)
		require.Equal(t, fmt.Sprint(2-i), r.header.Get("X-HubSpot-RateLimit-Remaining"))
		require.Equal(t, fmt.Sprint(4-i), r.header.Get("X-HubSpot-RateLimit-Daily-Remaining"))
		require.Equal(t, "3", r.header.Get("X-HubSpot-RateLimit-Max"))
		require.Equal(t, "10000", r.header.Get("X-HubSpot-RateLimit-Interval-Milliseconds"))
		require.Equal(t, "5", r.header.Get("X-HubSpot-RateLimit-Daily"))
	}
	r := call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`)
	require.Equal(t, 429, r.status)
	require.Equal(t, "TEN_SECONDLY_ROLLING", r.body["policyName"])
	require.Equal(t, "RATE_LIMIT", r.body["errorType"])
	require.Equal(t, "0", r.header.Get("X-HubSpot-RateLimit-Remaining"))

	advance(10 * time.Second)
	require.Equal(t, 201, call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`).status)
	require.Equal(t, 201, call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`).status)
	r = call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`)
	require.Equal(t, 429, r.status)
	require.Equal(t, "DAILY", r.body["policyName"])
	require.Equal(t, "You have reached your daily limit.", r.body["message"])
	window, daily := srv.Usage()
	require.Equal(t, 2, window)
	require.Equal(t, 5, daily)

	// Midnight in New York (05:00 UTC) starts a new day.
	advance(time.Hour)
	r = call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`)
	require.Equal(t, 201, r.status)
	require.Equal(t, "4", r.header.Get("X-HubSpot-RateLimit-Daily-Remaining"))
	require.Equal(t, 6, srv.Count("companies"))

	oauth := newServer(t, hubspottest.Options{OAuth: true})
	r = call(t, oauth, "POST", "/crm/v3/objects/companies", `{"properties":{}}`)
	require.Empty(t, r.header.Get("X-HubSpot-RateLimit-Daily"), "no daily headers for OAuth calls")
	require.NotEmpty(t, r.header.Get("X-HubSpot-RateLimit-Max"))
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{})
	srv.FailNext(2, 503)
	require.Equal(t, 503, call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`).status)
	require.Equal(t, 503, call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`).status)
	require.Equal(t, 201, call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`).status)

	srv.InjectFault(hubspottest.Fault{Status: 429, Times: 2, RetryAfter: 3 * time.Second})
	r := call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`)
	require.Equal(t, 429, r.status)
	require.Equal(t, "TEN_SECONDLY_ROLLING", r.body["policyName"])
	require.Equal(t, "3", r.header.Get("Retry-After"))
	srv.ClearFaults()

	srv.InjectFault(hubspottest.Fault{Status: 429, PolicyName: "DAILY"})
	require.Equal(t, "DAILY", call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`).body["policyName"])

	// Only the matching path and method, after skipping one.
	srv.InjectFault(hubspottest.Fault{Method: "PATCH", Path: "/companies/", Status: 500, Skip: 1})
	id := srv.Seed("companies", map[string]string{"name": "x"})
	require.Equal(t, 201, call(t, srv, "POST", "/crm/v3/objects/companies", `{"properties":{}}`).status)
	require.Equal(t, 200, call(t, srv, "PATCH", "/crm/v3/objects/companies/"+id, `{"properties":{"name":"y"}}`).status)
	require.Equal(t, 500, call(t, srv, "PATCH", "/crm/v3/objects/companies/"+id, `{"properties":{"name":"z"}}`).status)

	// A dropped connection: nothing happens, or (after processing) the write happens.
	before := srv.Count("companies")
	srv.InjectFault(hubspottest.Fault{Drop: true})
	_, err := srv.Client().Post(srv.URL+"/crm/v3/objects/companies", "application/json", bytes.NewReader([]byte(`{"properties":{}}`)))
	require.Error(t, err)
	require.Equal(t, before, srv.Count("companies"))
	srv.InjectFault(hubspottest.Fault{DropAfterProcessing: true})
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/crm/v3/objects/companies", strings.NewReader(`{"properties":{}}`))
	req.Header.Set("Authorization", "Bearer "+hubspottest.DefaultToken)
	_, err = srv.Client().Do(req)
	require.Error(t, err)
	require.Equal(t, before+1, srv.Count("companies"))

	// The call log has every request, with its status (0 when dropped).
	calls := srv.Calls()
	require.Equal(t, len(calls), srv.CallCount())
	last := calls[len(calls)-1]
	require.Equal(t, "POST", last.Method)
	require.Equal(t, "/crm/v3/objects/companies", last.Path)
	require.Equal(t, `{"properties":{}}`, string(last.Body))
	require.Zero(t, last.Status)
	require.Len(t, srv.CallsTo("PATCH", "/companies/"), 2)
	require.Equal(t, 500, srv.CallsTo("PATCH", "/companies/")[1].Status)
}

func TestDelayEndsWithClient(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{})
	srv.InjectFault(hubspottest.Fault{Delay: time.Hour})
	client := srv.Client()
	client.Timeout = 100 * time.Millisecond
	_, err := client.Post(srv.URL+"/crm/v3/objects/companies", "application/json", strings.NewReader(`{"properties":{}}`))
	require.Error(t, err)
	require.Zero(t, srv.Count("companies"))
}

func TestObjectsSchema(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{Objects: []hubspottest.Object{{
		Name: "p_cars", TypeID: "2-12345", Properties: []hubspottest.Property{
			{Name: "vin", Unique: true},
			{Name: "color", Type: hubspottest.TypeEnumeration, Options: []string{"red", "blue"}, Multiple: true},
		},
	}}})
	r := call(t, srv, "POST", "/crm/v3/objects/2-12345", `{"properties":{"vin":"V1","color":"red;blue"}}`)
	require.Equal(t, 201, r.status)
	r = call(t, srv, "POST", "/crm/v3/objects/p_cars", `{"properties":{"vin":"V1"}}`)
	require.Equal(t, 409, r.status)
	require.Equal(t, "P_car already exists. Existing ID: 1001", r.body["message"])
	require.Equal(t, 400, call(t, srv, "POST", "/crm/v3/objects/contacts", `{"properties":{}}`).status, "only the configured objects exist")
	require.Panics(t, func() { hubspottest.NewServer(hubspottest.Options{Objects: []hubspottest.Object{{Name: "Bad Name"}}}) })
}

// TestInProcessClient runs the simulator in a testing/synctest bubble
// through its in-process client: the rate-limit window and injected delays
// follow the bubble's fake clock, and dropped connections are errors.
func TestInProcessClient(t *testing.T) {
	t.Parallel()
	srv := newServer(t, hubspottest.Options{TenSecondLimit: 2, DailyLimit: -1})
	synctest.Test(t, func(t *testing.T) {
		hc := srv.InProcessClient()
		create := func() (int, error) {
			req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/crm/v3/objects/companies", strings.NewReader(`{"properties":{}}`))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+hubspottest.DefaultToken)
			resp, err := hc.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			_, err = io.Copy(io.Discard, resp.Body)
			return resp.StatusCode, err
		}
		status := func() int {
			s, err := create()
			require.NoError(t, err)
			return s
		}
		require.Equal(t, 201, status())
		require.Equal(t, 201, status())
		require.Equal(t, 429, status(), "the window is full")
		time.Sleep(hubspottest.RateWindow)
		require.Equal(t, 201, status(), "the window rolled on the fake clock")

		time.Sleep(hubspottest.RateWindow)
		srv.InjectFault(hubspottest.Fault{Delay: 5 * time.Second})
		start := time.Now()
		require.Equal(t, 201, status())
		require.Equal(t, 5*time.Second, time.Since(start), "held back on the fake clock")

		time.Sleep(hubspottest.RateWindow)
		before := srv.Count("companies")
		srv.InjectFault(hubspottest.Fault{Drop: true})
		_, err := create()
		require.Error(t, err)
		require.Equal(t, before, srv.Count("companies"))
		srv.InjectFault(hubspottest.Fault{DropAfterProcessing: true})
		_, err = create()
		require.Error(t, err, "no answer")
		require.Equal(t, before+1, srv.Count("companies"), "the create happened")
	})
}
