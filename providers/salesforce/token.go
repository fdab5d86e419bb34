package salesforce

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
)

// ErrNoRefreshToken reports a [TokenSource] asked to refresh without a
// refresh token.
var ErrNoRefreshToken = errors.New("salesforce: no refresh token to renew the session with")

// TokenSource implements Salesforce's OAuth 2.0 refresh-token flow for one
// connection. It hands out the current access token and, when the token
// has expired or Salesforce refused it (401 INVALID_SESSION_ID), obtains a
// new one from the token endpoint of cfg.Endpoint (e.g.
// https://login.salesforce.com/services/oauth2/token).
//
// The application owns the refresh token: it passes it in and is told
// about every refreshed token through the onRefresh hook, to save it (for
// example when the connected app rotates refresh tokens). The TokenSource
// persists and logs nothing.
//
// It implements oauth2.TokenSource and [writeback.TokenRefresher]. Give it
// to the engine as it is: wrapping it (for instance in
// oauth2.ReuseTokenSource) hides RefreshToken, and a 401 then only asks
// Token again. It is safe for concurrent use; concurrent refreshes share
// one call to the token endpoint.
type TokenSource struct {
	http      *http.Client
	cfg       *oauth2.Config
	onRefresh func(*oauth2.Token)

	mu       sync.Mutex
	tok      *oauth2.Token
	instance string
	inflight *refresh
}

// refresh is one call to the token endpoint that several callers wait for.
type refresh struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

var _ writeback.TokenRefresher = (*TokenSource)(nil)

// DefaultTokenTimeout is the timeout of the token endpoint client made when
// [NewTokenSource] is given none.
const DefaultTokenTimeout = 30 * time.Second

// NewTokenSource returns a TokenSource that starts from tok (which may hold
// only a RefreshToken) and refreshes with cfg, calling the token endpoint
// with hc. A nil hc means a private pooled client with a
// [DefaultTokenTimeout] timeout (never http.DefaultClient). A refresh asked
// through Token, which takes no context, is bounded by the client's
// Timeout; one asked through RefreshToken also by its ctx. onRefresh, if
// not nil, is called with a copy of every new token, after it is in use and
// before the refreshing call returns; it must not call the TokenSource.
func NewTokenSource(hc *http.Client, cfg *oauth2.Config, tok *oauth2.Token, onRefresh func(*oauth2.Token)) *TokenSource {
	if hc == nil {
		hc = &http.Client{Transport: cleanhttp.DefaultPooledTransport(), Timeout: DefaultTokenTimeout}
	}
	s := &TokenSource{http: hc, cfg: cfg, onRefresh: onRefresh}
	if tok != nil {
		cp := *tok
		s.tok = &cp
		s.instance = instanceURL(&cp)
	}
	return s
}

// Token implements oauth2.TokenSource: it returns the current access token,
// refreshing it first when it is missing or expired. Salesforce does not
// say when its access tokens expire, so a token is used until Salesforce
// refuses it and [TokenSource.RefreshToken] replaces it.
func (s *TokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	if s.tok != nil && s.tok.Valid() {
		cp := *s.tok
		s.mu.Unlock()
		return &cp, nil
	}
	s.mu.Unlock()
	return s.RefreshToken(context.Background())
}

// RefreshToken implements [writeback.TokenRefresher]: it discards the
// current access token and obtains a new one with the refresh token. A
// refresh already in progress is shared rather than repeated.
func (s *TokenSource) RefreshToken(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	if r := s.inflight; r != nil {
		s.mu.Unlock()
		select {
		case <-r.done:
			return copyToken(r.tok), r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r := &refresh{done: make(chan struct{})}
	s.inflight = r
	var rt string
	if s.tok != nil {
		rt = s.tok.RefreshToken
	}
	s.mu.Unlock()

	r.tok, r.err = s.fetch(ctx, rt)

	s.mu.Lock()
	if r.err == nil {
		s.tok = r.tok
		if u := instanceURL(r.tok); u != "" {
			s.instance = u
		}
	}
	s.inflight = nil
	s.mu.Unlock()
	if r.err == nil && s.onRefresh != nil {
		s.onRefresh(copyToken(r.tok))
	}
	close(r.done)
	return copyToken(r.tok), r.err
}

// fetch asks the token endpoint for a new access token.
func (s *TokenSource) fetch(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	if refreshToken == "" {
		return nil, ErrNoRefreshToken
	}
	if s.cfg == nil {
		return nil, errors.New("salesforce: token source has no oauth2 config")
	}
	// oauth2 takes its HTTP client from the context only.
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.http)
	// An expired token with only the refresh token makes oauth2 refresh.
	tok, err := s.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, err
	}
	if tok.RefreshToken == "" {
		// Salesforce sends a new refresh token only when it rotates them.
		tok.RefreshToken = refreshToken
	}
	return tok, nil
}

// InstanceURL returns the instance URL the latest token response named
// (Salesforce's instance_url), or "" if none did. Keep the installation's
// Connection.InstanceURL in step with it when it changes.
func (s *TokenSource) InstanceURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.instance
}

// instanceURL reads instance_url from a token response.
func instanceURL(tok *oauth2.Token) string {
	if tok == nil {
		return ""
	}
	u, _ := tok.Extra("instance_url").(string)
	return u
}

// copyToken returns a shallow copy of tok, or nil.
func copyToken(tok *oauth2.Token) *oauth2.Token {
	if tok == nil {
		return nil
	}
	cp := *tok
	return &cp
}
