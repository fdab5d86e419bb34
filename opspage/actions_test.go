package opspage_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/opspage"
)

// form is an action form of an operation's page.
type form struct {
	action, token string
}

// formsOn loads an operation's page with c and returns its action forms
// by action ("cancel", "retry").
func formsOn(t *testing.T, c *http.Client, root, id string) map[string]form {
	t.Helper()
	code, body := get(t, c, root+"operations/"+id)
	require.Equal(t, http.StatusOK, code, body)
	d := parseDOM(t, body)
	out := map[string]form{}
	var cur *form
	for _, el := range d.elements {
		switch {
		case el.name == "form" && el.attrs["method"] == "post":
			cur = &form{action: el.attrs["action"]}
			out[cur.action[strings.LastIndexByte(cur.action, '/')+1:]] = *cur
		case el.name == "input" && el.attrs["name"] == "token" && cur != nil:
			cur.token = el.attrs["value"]
			out[cur.action[strings.LastIndexByte(cur.action, '/')+1:]] = *cur
		}
	}
	return out
}

// post submits token to the action URL (relative to the page at
// pageURL) with c and extra headers, and returns the response.
func post(t *testing.T, c *http.Client, pageURL, action, token string, header http.Header) *http.Response {
	t.Helper()
	base, err := url.Parse(pageURL)
	require.NoError(t, err)
	u, err := base.Parse(action)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u.String(), strings.NewReader(url.Values{"token": {token}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func status(t *testing.T, w *writeback.Writer, id string) writeback.OperationStatus {
	t.Helper()
	op, err := w.Operation(context.WithoutCancel(t.Context()), id)
	require.NoError(t, err)
	return op.Status
}

// TestActions cancels a queued operation and retries a failed one from
// their pages' forms, as a browser on the page's origin would.
func TestActions(t *testing.T) {
	t.Parallel()
	s := seed(t, &opspage.Options{Actions: true, CSRFKey: []byte("0123456789abcdef0123456789abcdef")})
	c := newJar(t)
	page := s.url + "operations/" + s.queued
	resp, err := http.Get(page)
	require.NoError(t, err)
	resp.Body.Close()
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	ck := cookies[0]
	require.Equal(t, "/writeback/", ck.Path, "scoped to the mount")
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
	forms := formsOn(t, c, s.url, s.queued)
	require.Contains(t, forms, "cancel")
	require.NotContains(t, forms, "retry", "an unfinished operation cannot be retried")
	sameOrigin := http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {strings.TrimSuffix(s.srv.URL, "/")}}
	resp = post(t, c, page, forms["cancel"].action, forms["cancel"].token, sameOrigin)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, page+"?done=canceled", loc.String(), "back to the operation, under the mount")
	require.Equal(t, writeback.OperationCanceled, status(t, s.w, s.queued))
	code, body := get(t, c, loc.String())
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, parseDOM(t, body).text, "Canceled: the records not yet written will not be.")

	// The canceled one, and the failed one, can be retried.
	forms = formsOn(t, c, s.url, s.failure)
	require.NotContains(t, forms, "cancel")
	resp = post(t, c, s.url+"operations/"+s.failure, forms["retry"].action, forms["retry"].token, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, writeback.OperationInProgress, status(t, s.w, s.failure))
	require.Contains(t, formsOn(t, c, s.url, s.failure), "cancel", "queued again, it can be canceled")

	// Retrying it twice is refused, saying why; so is an unknown operation.
	resp = post(t, c, s.url+"operations/"+s.failure, forms["retry"].action, forms["retry"].token, nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	resp = post(t, c, s.url+"operations/x", "x/cancel", forms["retry"].token, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// The in-flight operation: the attempt finishes first.
	forms = formsOn(t, c, s.url, s.inFlight)
	resp = post(t, c, s.url+"operations/"+s.inFlight, forms["cancel"].action, forms["cancel"].token, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Location"), "?done=cancel-requested")
	require.NotContains(t, formsOn(t, c, s.url, s.inFlight), "cancel", "requested once")
}

// TestActionsRefused: a POST without the page's token, with another
// browser's token, from another origin or to a read-only page changes
// nothing.
func TestActionsRefused(t *testing.T) {
	t.Parallel()
	sessions := map[string]string{}
	opts := &opspage.Options{Actions: true, Session: func(r *http.Request) string { return sessions[r.Header.Get("X-User")] }}
	s := seed(t, opts)
	victim := newJar(t)
	forms := formsOn(t, victim, s.url, s.queued)
	good := forms["cancel"]
	page := s.url + "operations/" + s.queued

	attacker := newJar(t)
	other := formsOn(t, attacker, s.url, s.queued)["cancel"]
	require.NotEqual(t, good.token, other.token, "a token per browser")
	for name, tc := range map[string]struct {
		c      *http.Client
		token  string
		header http.Header
	}{
		"no token":         {victim, "", nil},
		"forged token":     {victim, strings.Repeat("A", 43), nil},
		"another's token":  {victim, other.token, nil},
		"no cookie":        {http.DefaultClient, good.token, nil},
		"cross-site":       {victim, good.token, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		"same-site, other": {victim, good.token, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		"foreign origin":   {victim, good.token, http.Header{"Origin": {"https://evil.example"}}},
		"another's cookie": {attacker, good.token, nil},
	} {
		resp := post(t, tc.c, page, good.action, tc.token, tc.header)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, name)
		require.Equal(t, writeback.OperationInProgress, status(t, s.w, s.queued), name)
	}
	code, _ := get(t, victim, page+"/cancel?token="+url.QueryEscape(good.token))
	require.Equal(t, http.StatusNotFound, code, "actions are POSTs")
	require.Equal(t, writeback.OperationInProgress, status(t, s.w, s.queued))
	sessions["mallory"] = "session of mallory"
	resp := post(t, victim, page, good.action, good.token, http.Header{"X-User": {"mallory"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a token is valid for its session only")
	resp = post(t, victim, page, good.action, good.token, nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, "the page's own form works")

	// Read-only, the default: no form, and a POST is refused.
	ro := seed(t, nil)
	require.Empty(t, formsOn(t, victim, ro.url, ro.queued))
	resp = post(t, victim, ro.url+"operations/"+ro.queued, ro.queued+"/cancel", good.token, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Equal(t, writeback.OperationInProgress, status(t, ro.w, ro.queued))
}
