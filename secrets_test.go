package writeback_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

// secret is what a token source's error or a token endpoint's answer may
// quote, and must never be stored or logged.
const secret = "r3fr3sh-t0k3n-s3cr3t"

// TestTokenSourceErrorTextIsNotStored: the application's token source
// fails with an error quoting a secret; the operations stored for sync,
// async and auto-batched writes, and the Writer's logs, keep the class and
// a safe summary only. A sync caller still gets the error itself.
func TestTokenSourceErrorTextIsNotStored(t *testing.T) {
	t.Parallel()
	m, err := writeback.ParseManifest([]byte(asyncManifest))
	require.NoError(t, err)
	var logs logRecorder
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest: m, Providers: []writeback.Provider{fake}, Store: memstore.New(), Logger: slog.New(&logs),
		TokenSourceFunc: func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
			return nil, errors.New("vault: refresh token " + secret + " was revoked")
		},
	})
	require.NoError(t, err)
	ctx := t.Context()
	_, err = w.CreateInstallation(ctx, &writeback.Installation{Integration: "crm", GroupRef: contacts.GroupRef,
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{"contacts": {}}}}})
	require.NoError(t, err)

	res, err := w.Create(ctx, contacts, contact("a@x.com"), nil)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassAuth, perr.Class)
	require.ErrorContains(t, perr.Err, secret, "the caller gets the error itself")
	require.NotContains(t, err.Error(), secret)
	ids := []string{res.OperationID}

	startWriter(t, w)
	for _, opts := range []*writeback.WriteOpts{async, autoBatch(time.Second)} {
		res, err := w.Create(ctx, contacts, contact("b@x.com"), opts)
		require.NoError(t, err)
		op := waitOpReal(t, w, res.OperationID)
		require.Equal(t, writeback.OperationFailure, op.Status)
		require.Equal(t, writeback.ClassAuth, op.Results[0].Err.Class)
		ids = append(ids, res.OperationID)
	}
	for _, id := range ids {
		op, err := w.Operation(ctx, id)
		require.NoError(t, err)
		data, err := json.Marshal(op)
		require.NoError(t, err)
		require.NotContains(t, string(data), secret)
		require.Contains(t, op.Results[0].Err.Message, "token source refused")
	}
	for _, l := range logs.messages() {
		require.NotContains(t, l, secret)
	}
	require.Empty(t, fake.Calls())
}

// refusingRefresher gives a token the provider refuses, and fails to
// refresh it with the token endpoint's answer, which quotes a secret.
type refusingRefresher struct{}

func (refusingRefresher) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "expired"}, nil
}

func (refusingRefresher) RefreshToken(context.Context) (*oauth2.Token, error) {
	return nil, &oauth2.RetrieveError{
		Response: &http.Response{StatusCode: http.StatusBadRequest, Status: "400 Bad Request"},
		Body:     []byte(`{"error_detail":"refresh_token ` + secret + ` is not valid"}`),
	}
}

// TestTokenEndpointErrorBodyIsNotLogged: a refresh that fails with the
// token endpoint's error body is logged by the adapter with its status,
// never the body; nothing stored quotes it either.
func TestTokenEndpointErrorBodyIsNotLogged(t *testing.T) {
	t.Parallel()
	sim := hubspottest.NewServer(hubspottest.Options{Tokens: []string{"valid"}, TenSecondLimit: -1})
	t.Cleanup(sim.Close)
	var logs logRecorder
	m, err := writeback.ParseManifest([]byte(asyncManifest))
	require.NoError(t, err)
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:  m,
		Providers: []writeback.Provider{hubspot.New(hubspot.Config{BaseURL: sim.URL, Logger: slog.New(&logs)})},
		Store:     memstore.New(),
		Logger:    slog.New(&logs),
		TokenSourceFunc: func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
			return refusingRefresher{}, nil
		},
	})
	require.NoError(t, err)
	ctx := t.Context()
	_, err = w.CreateInstallation(ctx, &writeback.Installation{Integration: "crm", GroupRef: contacts.GroupRef,
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{"contacts": {}}}}})
	require.NoError(t, err)
	res, err := w.Create(ctx, contacts, contact("a@x.com"), nil)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassAuth, perr.Class)

	found := false
	for _, l := range logs.messages() {
		require.NotContains(t, l, secret)
		if strings.Contains(l, "token refresh failed") {
			found = true
			require.Contains(t, l, "status 400")
		}
	}
	require.True(t, found, "the failed refresh is logged: %v", logs.messages())
	op, err := w.Operation(ctx, res.OperationID)
	require.NoError(t, err)
	data, err := json.Marshal(op)
	require.NoError(t, err)
	require.NotContains(t, string(data), secret)
}
