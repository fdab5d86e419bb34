package salesforce_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

func TestExpiredSessionIsRefreshedOnceAndResentOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	old := mustToken(t, e)
	e.srv.ExpireSessions()

	resp := mustWrite(t, e, e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
	require.True(t, resp.Results[0].Success())
	require.Equal(t, 1, e.srv.TokenRequests(), "token endpoint hit once")
	data := e.srv.CallsTo("", "/services/data/")
	require.Len(t, data, 2, "request resent once")
	require.Equal(t, http.StatusUnauthorized, data[0].Status)
	require.Equal(t, http.StatusCreated, data[1].Status)
	require.Equal(t, "Bearer "+old, data[0].Header.Get("Authorization"))
	require.NotEqual(t, data[0].Header.Get("Authorization"), data[1].Header.Get("Authorization"))
	require.Equal(t, 1, e.srv.Count("Contact"), "created once")

	require.Len(t, e.refreshed, 1, "the app was told about the new token")
	require.Equal(t, mustToken(t, e), e.refreshed[0].AccessToken)
	require.Equal(t, salesforcetest.DefaultRefreshToken, e.refreshed[0].RefreshToken, "refresh token kept")
	require.Equal(t, e.srv.URL, e.ts.InstanceURL())
}

func TestRevokedRefreshTokenIsAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	tok := e.srv.Token()
	tok.RefreshToken = "revoked"
	e.ts = salesforce.NewTokenSource(e.srv.Client(), e.srv.OAuthConfig(), tok, nil)
	e.srv.ExpireSessions()

	_, err := e.p.Write(t.Context(), e.write("Contact", writeback.WriteTypeCreate, false, rec("LastName", "A")))
	pe := perr(t, err)
	require.Equal(t, writeback.ClassAuth, pe.Class, pe.Error())
	require.Equal(t, 1, e.srv.TokenRequests())
	require.Len(t, e.srv.CallsTo("", "/services/data/"), 1)
	require.NotContains(t, pe.Error(), "revoked")
	require.NotContains(t, pe.Error(), salesforcetest.DefaultClientSecret)
}

func TestTokenSourceRefreshesWithoutAccessToken(t *testing.T) {
	t.Parallel()
	srv := salesforcetest.NewServer(salesforcetest.Options{RotateRefreshTokens: true})
	t.Cleanup(srv.Close)
	var saved []*oauth2.Token
	ts := salesforce.NewTokenSource(srv.Client(), srv.OAuthConfig(), &oauth2.Token{RefreshToken: srv.RefreshToken()}, func(tok *oauth2.Token) {
		saved = append(saved, tok)
	})

	tok, err := ts.Token()
	require.NoError(t, err)
	require.NotEmpty(t, tok.AccessToken)
	again, err := ts.Token()
	require.NoError(t, err)
	require.Equal(t, tok.AccessToken, again.AccessToken, "cached")
	require.Equal(t, 1, srv.TokenRequests())

	// Rotation: the app gets the new refresh token, and the next refresh uses it.
	require.Len(t, saved, 1)
	require.Equal(t, srv.RefreshToken(), saved[0].RefreshToken)
	tok2, err := ts.RefreshToken(t.Context())
	require.NoError(t, err)
	require.NotEqual(t, tok.AccessToken, tok2.AccessToken)
	require.Len(t, saved, 2)
	require.Equal(t, srv.RefreshToken(), saved[1].RefreshToken)

	empty := salesforce.NewTokenSource(srv.Client(), srv.OAuthConfig(), nil, nil)
	_, err = empty.Token()
	require.ErrorIs(t, err, salesforce.ErrNoRefreshToken)
}

// blockingEndpoint is a token endpoint in memory that holds every request
// until released.
type blockingEndpoint struct {
	release chan struct{}
	calls   atomic.Int32
}

// RoundTrip implements http.RoundTripper.
func (b *blockingEndpoint) RoundTrip(r *http.Request) (*http.Response, error) {
	n := b.calls.Add(1)
	<-b.release
	body := `{"access_token":"tok-` + string(rune('0'+n)) + `","token_type":"Bearer","instance_url":"https://na1.example.my.salesforce.com"}`
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    r,
	}, nil
}

func TestConcurrentRefreshesShareOneCall(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ep := &blockingEndpoint{release: make(chan struct{})}
		cfg := &oauth2.Config{ClientID: "id", ClientSecret: "secret", Endpoint: oauth2.Endpoint{
			TokenURL: "https://login.example.com/services/oauth2/token", AuthStyle: oauth2.AuthStyleInParams,
		}}
		var hooks atomic.Int32
		ts := salesforce.NewTokenSource(&http.Client{Transport: ep}, cfg, &oauth2.Token{AccessToken: "old", RefreshToken: "rt"}, func(*oauth2.Token) { hooks.Add(1) })

		const n = 8
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				tok, err := ts.RefreshToken(t.Context())
				if err == nil {
					got[i] = tok.AccessToken
				}
			})
		}
		synctest.Wait() // every caller is waiting on the one refresh
		close(ep.release)
		wg.Wait()

		require.Equal(t, int32(1), ep.calls.Load())
		require.Equal(t, int32(1), hooks.Load())
		for _, g := range got {
			require.Equal(t, "tok-1", g)
		}
		require.Equal(t, "https://na1.example.my.salesforce.com", ts.InstanceURL())
		cur, err := ts.Token()
		require.NoError(t, err)
		require.Equal(t, "tok-1", cur.AccessToken)
		require.Equal(t, "rt", cur.RefreshToken)
	})
}
