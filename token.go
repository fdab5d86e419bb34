package writeback

import (
	"context"

	"golang.org/x/oauth2"
)

// TokenRefresher is implemented by token sources that can replace a token
// the provider refused. When a provider answers 401, the adapters call
// RefreshToken once and resend the request once; with a source that does
// not implement it they ask Token again, and a second 401 is final.
// RefreshToken must be safe for concurrent use.
type TokenRefresher interface {
	oauth2.TokenSource
	// RefreshToken discards the current token and obtains a new one.
	RefreshToken(ctx context.Context) (*oauth2.Token, error)
}
