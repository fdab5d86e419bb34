package salesforcetest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"golang.org/x/oauth2"
)

// TokenPath is the path of the OAuth 2.0 token endpoint.
const TokenPath = "/services/oauth2/token"

// AccessToken opens a new session and returns its access token, as if the
// app had just completed the OAuth flow.
func (s *Server) AccessToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newSessionLocked()
}

// Token returns a token for a new session together with the refresh token
// the token endpoint accepts, as the OAuth web-server flow would leave the
// app holding. Salesforce does not say when access tokens expire, so
// Expiry is zero.
func (s *Server) Token() *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := &oauth2.Token{AccessToken: s.newSessionLocked(), TokenType: "Bearer", RefreshToken: s.refreshToken}
	return tok.WithExtra(map[string]any{"instance_url": s.URL})
}

// RefreshToken returns the refresh token the token endpoint accepts now.
func (s *Server) RefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshToken
}

// OAuthConfig returns the connected app's oauth2 configuration for the
// server's token endpoint.
func (s *Server) OAuthConfig() *oauth2.Config {
	return &oauth2.Config{
		ClientID:     s.opts.ClientID,
		ClientSecret: s.opts.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   s.URL + "/services/oauth2/authorize",
			TokenURL:  s.URL + TokenPath,
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{"api", "refresh_token"},
	}
}

// ExpireSessions invalidates every access token: the next REST API
// request answers 401 INVALID_SESSION_ID until a new token is used.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// newSessionLocked issues an access token.
func (s *Server) newSessionLocked() string {
	s.tokenSeq++
	tok := fmt.Sprintf("%s!sim.session.%06d", OrgID[:15], s.tokenSeq)
	s.sessions[tok] = s.now()
	return tok
}

// serveToken implements the refresh-token grant of the token endpoint.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenCalls++
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, "", map[string]string{"error": "invalid_request", "error_description": "must use HTTP POST"})
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, "", map[string]string{"error": "invalid_request", "error_description": "malformed request"})
		return
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	switch {
	case form.Get("grant_type") != "refresh_token":
		writeJSON(w, http.StatusBadRequest, "", map[string]string{"error": "unsupported_grant_type", "error_description": "grant type not supported"})
		return
	case id != s.opts.ClientID:
		writeJSON(w, http.StatusBadRequest, "", map[string]string{"error": "invalid_client_id", "error_description": "client identifier invalid"})
		return
	case secret != s.opts.ClientSecret:
		writeJSON(w, http.StatusBadRequest, "", map[string]string{"error": "invalid_client", "error_description": "invalid client credentials"})
		return
	case form.Get("refresh_token") != s.refreshToken:
		writeJSON(w, http.StatusBadRequest, "", map[string]string{"error": "invalid_grant", "error_description": "expired access/refresh token"})
		return
	}
	now := s.now()
	resp := map[string]string{
		"access_token": s.newSessionLocked(),
		"signature":    "c2ltdWxhdGVkLXNpZ25hdHVyZQ==",
		"scope":        "api refresh_token",
		"instance_url": s.URL,
		"id":           s.URL + "/id/" + OrgID + "/" + UserID,
		"token_type":   "Bearer",
		"issued_at":    strconv.FormatInt(now.UnixMilli(), 10),
	}
	if s.opts.RotateRefreshTokens {
		s.refreshToken = fmt.Sprintf("%s.rotated.%d", DefaultRefreshToken, s.tokenSeq)
		resp["refresh_token"] = s.refreshToken
	}
	w.Header().Set("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")
	writeJSON(w, http.StatusOK, "", resp)
}
