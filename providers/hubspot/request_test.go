package hubspot_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
)

// seen is one request a recording server received.
type seen struct {
	Method, Path, Query, Auth, ContentType string
	Body                                   string
}

// answer is a canned response.
type answer struct {
	status int
	body   string
	header map[string]string
}

// recorder is an httptest server that records requests and answers them
// from a script, in order (the last answer repeats).
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []seen
	answers []answer
}

func newRecorder(t *testing.T, answers ...answer) *recorder {
	t.Helper()
	r := &recorder{answers: answers}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.seen = append(r.seen, seen{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Get("Authorization"), req.Header.Get("Content-Type"), string(b)})
		a := r.answers[min(len(r.seen), len(r.answers))-1]
		r.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if a.body != "" {
			w.Header().Set("Content-Type", "application/json;charset=utf-8")
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.seen...)
}

func (r *recorder) provider() *hubspot.Provider {
	return hubspot.New(hubspot.Config{BaseURL: r.URL, HTTPClient: r.Client()})
}

func baseRequest(typ writeback.WriteType, batch, allOrNone bool, recs ...writeback.Record) *writeback.ProviderRequest {
	return &writeback.ProviderRequest{
		InstallationID: "inst-1",
		TokenSource:    hubspot.StaticToken("tok-123"),
		Object:         "contacts",
		Type:           typ,
		Batch:          batch,
		AllOrNone:      allOrNone,
		Records:        recs,
	}
}

const objectBody = `{"id":"501","properties":{"email":"a@example.com","hs_object_id":"501"},"createdAt":"2026-11-29T10:00:00.000Z","updatedAt":"2026-11-29T10:00:00.000Z","archived":false}`

// TestExactRequests checks the method, path, query and body of every
// operation, as sent and as EncodeWrite shows them.
func TestExactRequests(t *testing.T) {
	t.Parallel()
	assoc := []writeback.Association{{To: "77", Types: []writeback.AssociationType{{Category: "HUBSPOT_DEFINED", TypeID: 279}}}}
	cases := []struct {
		name   string
		req    *writeback.ProviderRequest
		answer answer
		want   []seen
	}{
		{
			name:   "single create with association",
			req:    baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: map[string]any{"email": "a@example.com", "annualrevenue": 12.5, "hs_email_optout": true, "firstname": nil}, Associations: assoc}),
			answer: answer{status: 201, body: objectBody},
			want: []seen{{Method: "POST", Path: "/crm/v3/objects/contacts",
				Body: `{"properties":{"annualrevenue":"12.5","email":"a@example.com","firstname":"","hs_email_optout":"true"},"associations":[{"to":{"id":"77"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}`}},
		},
		{
			name:   "single create without associations",
			req:    baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: map[string]any{"email": "a@example.com"}}),
			answer: answer{status: 201, body: objectBody},
			want:   []seen{{Method: "POST", Path: "/crm/v3/objects/contacts", Body: `{"properties":{"email":"a@example.com"},"associations":[]}`}},
		},
		{
			name:   "single update",
			req:    baseRequest(writeback.WriteTypeUpdate, false, false, writeback.Record{ID: "501", Fields: map[string]any{"firstname": "Ada", "numberofemployees": 42}}),
			answer: answer{status: 200, body: objectBody},
			want:   []seen{{Method: "PATCH", Path: "/crm/v3/objects/contacts/501", Body: `{"properties":{"firstname":"Ada","numberofemployees":"42"}}`}},
		},
		{
			name: "custom object by type ID",
			req: func() *writeback.ProviderRequest {
				r := baseRequest(writeback.WriteTypeUpdate, false, false, writeback.Record{ID: "9", Fields: map[string]any{"vin": "V1"}})
				r.Object = "2-12345"
				return r
			}(),
			answer: answer{status: 200, body: objectBody},
			want:   []seen{{Method: "PATCH", Path: "/crm/v3/objects/2-12345/9", Body: `{"properties":{"vin":"V1"}}`}},
		},
		{
			name:   "delete",
			req:    baseRequest(writeback.WriteTypeDelete, false, false, writeback.Record{ID: "501"}),
			answer: answer{status: 204},
			want:   []seen{{Method: "DELETE", Path: "/crm/v3/objects/contacts/501"}},
		},
		{
			name: "batch create partial carries trace IDs",
			req: baseRequest(writeback.WriteTypeCreate, true, false,
				writeback.Record{Fields: map[string]any{"email": "a@example.com"}, Associations: assoc},
				writeback.Record{Fields: map[string]any{"email": "b@example.com"}}),
			answer: answer{status: 201, body: `{"status":"COMPLETE","results":[{"id":"1","properties":{},"objectWriteTraceId":"0"},{"id":"2","properties":{},"objectWriteTraceId":"1"}]}`},
			want: []seen{{Method: "POST", Path: "/crm/v3/objects/contacts/batch/create",
				Body: `{"inputs":[{"properties":{"email":"a@example.com"},"associations":[{"to":{"id":"77"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}],"objectWriteTraceId":"0"},{"properties":{"email":"b@example.com"},"associations":[],"objectWriteTraceId":"1"}]}`}},
		},
		{
			name: "batch create all-or-nothing has no trace IDs",
			req: baseRequest(writeback.WriteTypeCreate, true, true,
				writeback.Record{Fields: map[string]any{"email": "a@example.com"}},
				writeback.Record{Fields: map[string]any{"email": "b@example.com"}}),
			answer: answer{status: 201, body: `{"status":"COMPLETE","results":[{"id":"1","properties":{"email":"a@example.com"}},{"id":"2","properties":{"email":"b@example.com"}}]}`},
			want: []seen{{Method: "POST", Path: "/crm/v3/objects/contacts/batch/create",
				Body: `{"inputs":[{"properties":{"email":"a@example.com"},"associations":[]},{"properties":{"email":"b@example.com"},"associations":[]}]}`}},
		},
		{
			name: "batch update partial",
			req: baseRequest(writeback.WriteTypeUpdate, true, false,
				writeback.Record{ID: "1", Fields: map[string]any{"firstname": "A"}},
				writeback.Record{ID: "2", Fields: map[string]any{"lastname": "B"}}),
			answer: answer{status: 200, body: `{"status":"COMPLETE","results":[{"id":"2","properties":{}},{"id":"1","properties":{}}]}`},
			want: []seen{{Method: "POST", Path: "/crm/v3/objects/contacts/batch/update",
				Body: `{"inputs":[{"id":"1","properties":{"firstname":"A"}},{"id":"2","properties":{"lastname":"B"}}]}`}},
		},
		{
			name: "batch update all-or-nothing reads first",
			req: baseRequest(writeback.WriteTypeUpdate, true, true,
				writeback.Record{ID: "1", Fields: map[string]any{"firstname": "A"}},
				writeback.Record{ID: "2", Fields: map[string]any{"lastname": "B"}}),
			answer: answer{status: 200, body: `{"status":"COMPLETE","results":[{"id":"1","properties":{"firstname":"x","lastname":null}},{"id":"2","properties":{"firstname":null,"lastname":"y"}}]}`},
			want: []seen{
				{Method: "POST", Path: "/crm/v3/objects/contacts/batch/read", Body: `{"properties":["firstname","lastname"],"inputs":[{"id":"1"},{"id":"2"}]}`},
				{Method: "POST", Path: "/crm/v3/objects/contacts/batch/update", Body: `{"inputs":[{"id":"1","properties":{"firstname":"A"}},{"id":"2","properties":{"lastname":"B"}}]}`},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t, c.answer)
			p := r.provider()

			enc, err := p.EncodeWrite(c.req)
			require.NoError(t, err)
			require.Len(t, enc, len(c.want))
			for i, w := range c.want {
				require.Equal(t, w.Method, enc[i].Method)
				require.Equal(t, r.URL+w.Path, enc[i].URL)
				require.Empty(t, enc[i].Header, "no Authorization in a dry run")
				if w.Body == "" {
					require.Empty(t, enc[i].Body)
				} else {
					require.JSONEq(t, w.Body, string(enc[i].Body))
				}
			}

			resp, err := p.Write(t.Context(), c.req)
			require.NoError(t, err)
			require.Len(t, resp.Results, len(c.req.Records))
			got := r.requests()
			require.Len(t, got, len(c.want))
			for i, w := range c.want {
				require.Equal(t, w.Method, got[i].Method)
				require.Equal(t, w.Path, got[i].Path)
				require.Empty(t, got[i].Query)
				require.Equal(t, "Bearer tok-123", got[i].Auth)
				if w.Body == "" {
					require.Empty(t, got[i].Body)
					continue
				}
				require.Equal(t, "application/json", got[i].ContentType)
				require.JSONEq(t, w.Body, got[i].Body)
				// The body is exactly what EncodeWrite showed.
				require.Equal(t, string(enc[i].Body), got[i].Body)
			}
			for i, res := range resp.Results {
				require.Nil(t, res.Err, "record %d", i)
			}
		})
	}
}

// TestReadRequest checks the batch read body and the values returned.
func TestReadRequest(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: 207, body: `{"status":"COMPLETE","results":[{"id":"1","properties":{"firstname":"Ada","lastname":null,"phone":"","hs_object_id":"1"}}],"errors":[{"status":"error","category":"OBJECT_NOT_FOUND","message":"Could not get some CONTACT objects","context":{"ids":["2"]}}],"numErrors":1}`})
	got, err := r.provider().Read(t.Context(), &writeback.ReadRequest{
		InstallationID: "inst-1", TokenSource: hubspot.StaticToken("tok-123"), Object: "contacts",
		IDs: []string{"1", "2"}, Fields: []string{"firstname", "lastname", "phone"},
	})
	require.NoError(t, err)
	require.Equal(t, map[string]map[string]any{"1": {"firstname": "Ada"}}, got, "null and empty values are left out; missing records are absent")
	reqs := r.requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "POST", reqs[0].Method)
	require.Equal(t, "/crm/v3/objects/contacts/batch/read", reqs[0].Path)
	require.JSONEq(t, `{"properties":["firstname","lastname","phone"],"inputs":[{"id":"1"},{"id":"2"}]}`, reqs[0].Body)
}

// TestBadInput checks that requests the adapter cannot send get a typed
// error and send nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: 500})
	p := r.provider()
	rec := writeback.Record{Fields: map[string]any{"email": "a@example.com"}}
	cases := []struct {
		name string
		req  *writeback.ProviderRequest
		want error
	}{
		{"no records", baseRequest(writeback.WriteTypeCreate, true, true), writeback.ErrBatchSize},
		{"101 records", baseRequest(writeback.WriteTypeCreate, true, true, make([]writeback.Record, 101)...), writeback.ErrBatchSize},
		{"two records in a single write", baseRequest(writeback.WriteTypeCreate, false, false, rec, rec), writeback.ErrBatchSize},
		{"batch delete", baseRequest(writeback.WriteTypeDelete, true, false, writeback.Record{ID: "1"}), writeback.ErrUnsupported},
		{"update without ID", baseRequest(writeback.WriteTypeUpdate, false, false, rec), writeback.ErrMissingID},
		{"create with ID", baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{ID: "1", Fields: rec.Fields}), writeback.ErrMissingID},
		{"non-numeric ID", baseRequest(writeback.WriteTypeUpdate, false, false, writeback.Record{ID: "../x", Fields: rec.Fields}), writeback.ErrInvalidRecord},
		{"unencodable value", baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: map[string]any{"x": map[string]any{"a": 1}}}), writeback.ErrInvalidRecord},
		{"association without type", baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: rec.Fields, Associations: []writeback.Association{{To: "1"}}}), writeback.ErrInvalidRecord},
		{"association on update", baseRequest(writeback.WriteTypeUpdate, false, false, writeback.Record{ID: "1", Fields: rec.Fields, Associations: []writeback.Association{{To: "1", Types: []writeback.AssociationType{{TypeID: 1}}}}}), writeback.ErrUnsupported},
		{"headers", func() *writeback.ProviderRequest {
			r := baseRequest(writeback.WriteTypeCreate, false, false, rec)
			r.Headers = []writeback.Header{{Key: "X-A", Value: "b"}}
			return r
		}(), writeback.ErrUnsupported},
		{"bad object", func() *writeback.ProviderRequest {
			r := baseRequest(writeback.WriteTypeCreate, false, false, rec)
			r.Object = "contacts/../owners"
			return r
		}(), writeback.ErrUnknownObject},
	}
	for _, c := range cases {
		_, err := p.Write(t.Context(), c.req)
		require.ErrorIs(t, err, c.want, c.name)
		var ve *writeback.ValidationError
		require.ErrorAs(t, err, &ve, c.name)
		_, err = p.EncodeWrite(c.req)
		require.ErrorIs(t, err, c.want, c.name)
	}
	require.Empty(t, r.requests(), "nothing is sent")

	bad := hubspot.New(hubspot.Config{BaseURL: "http://api.example.com"})
	_, err := bad.Write(t.Context(), baseRequest(writeback.WriteTypeCreate, false, false, rec))
	require.ErrorIs(t, err, writeback.ErrInvalidConfig, "plain http to a remote host is refused")

	noToken := baseRequest(writeback.WriteTypeCreate, false, false, rec)
	noToken.TokenSource = nil
	_, err = p.Write(t.Context(), noToken)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassAuth, perr.Class)
	require.Empty(t, r.requests())
}

// TestPropertyValues checks how Go values become HubSpot strings.
func TestPropertyValues(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: 201, body: objectBody})
	when := mustTime(t, "2026-11-29T10:11:12.5+01:00")
	_, err := r.provider().Write(t.Context(), baseRequest(writeback.WriteTypeCreate, false, false, writeback.Record{Fields: map[string]any{
		"s": "x", "i": 7, "i64": int64(-3), "u": uint8(9), "f": 0.1, "big": 1e21, "b": false, "n": json.Number("12.50"),
		"t": when, "list": []string{"a", "b"}, "anylist": []any{"c"}, "nil": nil,
	}}))
	require.NoError(t, err)
	var body struct {
		Properties map[string]string `json:"properties"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.requests()[0].Body), &body))
	require.Equal(t, map[string]string{
		"s": "x", "i": "7", "i64": "-3", "u": "9", "f": "0.1", "big": "1000000000000000000000", "b": "false", "n": "12.50",
		"t": "2026-11-29T09:11:12.500Z", "list": "a;b", "anylist": "c", "nil": "",
	}, body.Properties)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}
