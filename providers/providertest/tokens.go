package providertest

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
)

// StaticTokens returns a token resolver for the writer's configuration
// that gives every installation the same bearer token, which never
// expires: a simulator's token (hubspottest.DefaultToken), a fixed token
// for a [Fake], or a private app's access token in a test.
//
//	w, err := writeback.NewWriter(&writeback.Config{
//		TokenSourceFunc: providertest.StaticTokens(hubspottest.DefaultToken),
//		// ...
//	})
func StaticTokens(token string) func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})
	return func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
		return ts, nil
	}
}
