package salesforce_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// env is a simulated org with a provider and a token source for it.
type env struct {
	srv       *salesforcetest.Server
	p         *salesforce.Provider
	ts        *salesforce.TokenSource
	refreshed []*oauth2.Token
}

// newEnv starts a simulator and a provider that talks to it.
func newEnv(t *testing.T, opts salesforcetest.Options, cfg salesforce.Config) *env {
	t.Helper()
	srv := salesforcetest.NewServer(opts)
	t.Cleanup(srv.Close)
	cfg.HTTPClient = srv.Client()
	e := &env{srv: srv, p: salesforce.New(cfg)}
	e.ts = salesforce.NewTokenSource(srv.Client(), srv.OAuthConfig(), srv.Token(), func(tok *oauth2.Token) {
		e.refreshed = append(e.refreshed, tok)
	})
	return e
}

// write builds a request for the simulator's org.
func (e *env) write(object string, typ writeback.WriteType, batch bool, recs ...writeback.Record) *writeback.ProviderRequest {
	return &writeback.ProviderRequest{
		InstallationID: "inst-1",
		Connection:     writeback.Connection{Provider: "salesforce", InstanceURL: e.srv.URL},
		TokenSource:    e.ts,
		Object:         object,
		Type:           typ,
		Batch:          batch,
		Records:        recs,
	}
}

// read builds a read request for the simulator's org.
func (e *env) read(object string, ids []string, fields ...string) *writeback.ReadRequest {
	return &writeback.ReadRequest{
		InstallationID: "inst-1",
		Connection:     writeback.Connection{Provider: "salesforce", InstanceURL: e.srv.URL},
		TokenSource:    e.ts,
		Object:         object,
		IDs:            ids,
		Fields:         fields,
	}
}

// rec is a record with fields.
func rec(kv ...any) writeback.Record {
	r := writeback.Record{Fields: map[string]any{}}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Fields[kv[i].(string)] = kv[i+1]
	}
	return r
}

// withID returns r with an ID.
func withID(id string, r writeback.Record) writeback.Record {
	r.ID = id
	return r
}

// mustWrite writes and requires no call-level error.
func mustWrite(t *testing.T, e *env, req *writeback.ProviderRequest) *writeback.ProviderResponse {
	t.Helper()
	resp, err := e.p.Write(t.Context(), req)
	require.NoError(t, err)
	require.Len(t, resp.Results, len(req.Records))
	return resp
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// perr returns the *writeback.ProviderError in err.
func perr(t *testing.T, err error) *writeback.ProviderError {
	t.Helper()
	require.Error(t, err)
	var pe *writeback.ProviderError
	require.ErrorAs(t, err, &pe)
	return pe
}
