package opspage_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/opspage"
	"github.com/writebackhq/writeback/store/memstore"
)

// TestMain fails the tests if a goroutine (or a browser's reaper)
// outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pageCheck is a page of the seeded store and what its text must say.
type pageCheck struct {
	name string
	// path is relative to the page's root.
	path string
	want []string
	// absent must not be in the text.
	absent []string
}

// pageChecks lists every page of s with what it must show.
func pageChecks(s *seeded) []pageCheck {
	return []pageCheck{
		{name: "overview", path: "", want: []string{
			"Depth per provider", "hubspot", "salesforce",
			"4 queued", "2 open groups", "1 retrying", "1 in flight",
			"Waiting on rate limits", s.retrying, "quota 429 DAILY", "5h 0m", "c41f0e86-93d2-4b7a-8e1f-2d6a9b3c5e70",
			"Open auto-batch groups", "create contacts", "37/100", "create Contact", "12/100",
			"In flight", s.inFlight,
			"Last hour", "15 operations created since", "8 in_progress 3 success 3 failure 1 canceled",
			// Operations, failed, calls, 429s, ended on a limit, waited.
			"hubspot-crm hubspot 11 2 7 3 1 2.4s", "salesforce-crm salesforce 4 1 2 0 0",
			"Newest failures", s.failure, s.conflict, s.sfFailure,
		}},
		{name: "operations", path: "operations", want: []string{
			s.success, s.partial, s.failure, s.conflict, s.retrying, s.inFlight, s.queued, s.canceled, s.group, s.sfSuccess, s.sfFailure,
			"success", "failure", "in_progress", "canceled", "batch write completed (2 succeeded, 1 failed)",
			"auto-batch", "Oldest first.",
		}},
		{name: "failures", path: "operations?status=failure", want: []string{s.failure, s.conflict, s.sfFailure},
			absent: []string{s.success, s.partial, s.retrying}},
		{name: "partial", path: "operations/" + s.partial, want: []string{
			"success", "batch write completed (2 succeeded, 1 failed)", "2 written, 1 not written",
			"failed", "invalid", "207", "VALIDATION_ERROR", "3f1c9e2a-77b0-4d1e-9a55-0c2b8f7d6e41", "Property values were not valid",
			"email INVALID_EMAIL: Email address grace@ is invalid",
			"written", "provider's answer",
			"Log", "attempt 1: 2 provider calls",
			"POST /crm/v3/objects/contacts/batch/create 429", "207 waited 1.2s took 132ms",
			"acme-corp", "create contacts · sync",
		}},
		{name: "conflict", path: "operations/" + s.conflict, want: []string{
			"failure", "conflict", "409", "CONFLICT", "8a0d5b7e-1c2f-4f39-b6a1-52e9d0c4a7f3", "held by record 51", "ERROR",
		}},
		{name: "retrying", path: "operations/" + s.retrying, want: []string{
			"in_progress", "waiting for its next attempt, due in ", "claimed 1 time", "1 provider call ", "Retries until",
			"hubspot quota · HTTP 429 · DAILY · correlation ID c41f0e86-93d2-4b7a-8e1f-2d6a9b3c5e70 · asked to wait 5h 0m",
		}},
		{name: "in flight", path: "operations/" + s.inFlight, want: []string{"an attempt is in flight; its lease ends in "}},
		{name: "group", path: "operations/" + s.group, want: []string{"open: 37 records joined; written in ", "auto-batch group"}},
		{name: "canceled", path: "operations/" + s.canceled, want: []string{"canceled", "canceled by request"}},
		{name: "salesforce", path: "operations/" + s.sfFailure, want: []string{
			"REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", "LastName", "globex",
		}},
		{name: "installations", path: "installations", want: []string{"acme-corp", "globex", "hubspot", "salesforce", "contacts", "Contact"}},
		{name: "installation", path: "installations/" + s.inst, want: []string{
			"Installation acme-corp", "conn-acme-7", "deletes allowed",
			`stage "lead" always never`, "firstName always never", "leadStatus hs_lead_status always ifEmpty",
			"Read mappings", "leadStatus hs_lead_status",
		}},
	}
}

// get fetches url and returns its status and body.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestPages(t *testing.T) {
	t.Parallel()
	s := seed(t, nil)
	for _, pc := range pageChecks(s) {
		code, body := get(t, nil, s.url+pc.path)
		require.Equal(t, http.StatusOK, code, "%s: %s", pc.name, body)
		d := parseDOM(t, body)
		for _, want := range pc.want {
			require.Contains(t, d.text, want, "%s", pc.name)
		}
		for _, absent := range pc.absent {
			require.NotContains(t, d.text, absent, "%s", pc.name)
		}
		require.Zero(t, d.count("form")-boolInt(pc.name == "operations" || pc.name == "failures"), "%s: read-only, no form but the filters", pc.name)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLinks follows every link from the overview, as a browser resolves
// them under the mount path: each leads to a page of the mount that
// answers 200.
func TestLinks(t *testing.T) {
	t.Parallel()
	s := seed(t, nil)
	root, err := url.Parse(s.url)
	require.NoError(t, err)
	seen := map[string]bool{root.String(): true}
	queue := []*url.URL{root}
	for len(queue) > 0 && len(seen) < 300 {
		u := queue[0]
		queue = queue[1:]
		code, body := get(t, nil, u.String())
		require.Equal(t, http.StatusOK, code, "%s", u)
		for _, el := range parseDOM(t, body).elements {
			ref := el.attrs["href"]
			if ref == "" {
				continue
			}
			next, err := u.Parse(ref)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(next.Path, "/writeback/"), "%s links out of the mount: %s", u, ref)
			next.Fragment = ""
			if !seen[next.String()] {
				seen[next.String()] = true
				queue = append(queue, next)
			}
		}
	}
	for _, want := range []string{"operations/" + s.group, "installations/" + s.inst, "style.css", "operations?status=failure&since=1h"} {
		require.True(t, seen[s.url+want], "no link to %s", want)
	}
}

func TestOperationsFilterAndPages(t *testing.T) {
	t.Parallel()
	s := seed(t, nil)
	// Three per page, oldest first, following the Next links.
	var got []string
	next := s.url + "operations?size=3&integration=hubspot-crm&type=create&since=1h"
	for next != "" {
		code, body := get(t, nil, next)
		require.Equal(t, http.StatusOK, code, body)
		d := parseDOM(t, body)
		rows := 0
		base, _ := url.Parse(next)
		next = ""
		for _, el := range d.elements {
			href := el.attrs["href"]
			switch {
			case el.attrs["class"] == "id":
				got = append(got, href[strings.LastIndexByte(href, '/')+1:])
				rows++
			case strings.Contains(href, "page="):
				u, err := base.Parse(href)
				require.NoError(t, err)
				next = u.String()
			}
		}
		require.LessOrEqual(t, rows, 3)
	}
	require.Equal(t, []string{s.success, s.partial, s.failure, s.conflict, s.retrying, s.inFlight}, got[:6])
	require.Len(t, got, 11, "then 3 queued, the canceled one and the HubSpot group; no Salesforce write, no update")
	require.Equal(t, s.group, got[len(got)-1])

	for _, bad := range []string{"status=lost", "type=merge", "since=yesterday", "size=0", "size=x"} {
		code, body := get(t, nil, s.url+"operations?"+bad)
		require.Equal(t, http.StatusBadRequest, code, bad)
		d := parseDOM(t, body)
		require.Equal(t, 1, d.count("form"), "the filters stay")
		require.NotContains(t, d.text, s.success, bad)
	}
	code, body := get(t, nil, s.url+"operations?status=lost")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, parseDOM(t, body).text, `Bad filter: status: unknown status "lost".`)
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	s := seed(t, nil)
	for _, path := range []string{"operations/0190-missing", "installations/missing", "nothing", "operations/x/y/z"} {
		code, body := get(t, nil, s.url+path)
		require.Equal(t, http.StatusNotFound, code, path)
		require.Contains(t, parseDOM(t, body).text, "Not found", path)
	}
}

// TestMountedWithoutStripPrefix: a handler mounted under a path without
// http.StripPrefix says how to mount it.
func TestMountedWithoutStripPrefix(t *testing.T) {
	t.Parallel()
	s := seed(t, nil)
	h, err := opspage.New(s.w, nil)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/ops/", h)
	mux.Handle("/", h) // at the root, nothing to strip
	srv := newServer(t, mux)
	code, body := get(t, nil, srv+"/ops/operations")
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, parseDOM(t, body).text, `without http.StripPrefix("/ops", ...)`)
	code, body = get(t, nil, srv+"/operations/"+s.success)
	require.Equal(t, http.StatusOK, code, body)
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	_, err := opspage.New(nil, nil)
	require.ErrorIs(t, err, writeback.ErrInvalidOptions)
	w, err := writeback.NewWriter(&writeback.Config{Store: memstore.New()})
	require.NoError(t, err)
	_, err = opspage.New(w, &opspage.Options{Actions: true, CSRFKey: []byte("short")})
	var ve *writeback.ValidationError
	require.ErrorAs(t, err, &ve)
	require.ErrorIs(t, err, writeback.ErrInvalidOptions)
	require.Equal(t, "CSRFKey", ve.Field)
	_, err = opspage.New(w, &opspage.Options{Actions: true, CSRFKey: make([]byte, 32)})
	require.NoError(t, err)
}

// TestEmptyStore renders every page of a store with nothing in it, on an
// operations-only Writer.
func TestEmptyStore(t *testing.T) {
	t.Parallel()
	w, err := writeback.NewWriter(&writeback.Config{Store: memstore.New()})
	require.NoError(t, err)
	_, root := serve(t, w, nil)
	for path, want := range map[string]string{
		"":              "Nothing queued.",
		"operations":    "No operation matches.",
		"installations": "No installation.",
	} {
		code, body := get(t, nil, root+path)
		require.Equal(t, http.StatusOK, code, body)
		require.Contains(t, parseDOM(t, body).text, want)
	}
}

// newServer serves h on a loopback server and returns its URL.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// newJar returns a client with a cookie jar that follows no redirect.
func newJar(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// hostilePages lists the pages of hs that show its hostile strings.
func hostilePages(hs *hostileSeed) map[string]string {
	return map[string]string{
		"overview":      "",
		"list":          "operations?groupRef=" + url.QueryEscape(hostile),
		"failure":       "operations/" + hs.failure,
		"success":       "operations/" + hs.success,
		"group":         "operations/" + hs.group,
		"installations": "installations",
		"installation":  "installations/" + hs.inst,
		"unknown ID":    "operations/" + url.PathEscape(hostile),
	}
}

// TestEscaping renders pages full of hostile strings from an
// installation, records and a provider: each shows them as text and none
// holds an element or attribute they could have added.
func TestEscaping(t *testing.T) {
	t.Parallel()
	hs := seedHostile(t, &opspage.Options{Actions: true})
	for name, path := range hostilePages(hs) {
		code, body := get(t, nil, hs.url+path)
		if name == "unknown ID" {
			require.Equal(t, http.StatusNotFound, code)
		} else {
			require.Equal(t, http.StatusOK, code, "%s: %s", name, body)
		}
		d := parseDOM(t, body)
		d.requireInert(t, name)
		require.Contains(t, d.text, hostile, name)
	}
}
