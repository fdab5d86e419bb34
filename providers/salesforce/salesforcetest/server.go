package salesforcetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/writebackhq/writeback/providers/internal/simhttp"
)

// Defaults of [Options].
const (
	// DefaultDailyLimit is the daily API request limit of a Developer
	// Edition org.
	DefaultDailyLimit = 15000
	// DefaultClientID is the connected app's consumer key.
	DefaultClientID = "sim-client-id"
	// DefaultClientSecret is the connected app's consumer secret.
	DefaultClientSecret = "sim-client-secret"
	// DefaultRefreshToken is the refresh token the token endpoint accepts.
	DefaultRefreshToken = "sim-refresh-token"
	// MinAPIVersion and MaxAPIVersion bound the REST API versions served.
	MinAPIVersion = 20.0
	// MaxAPIVersion is the newest REST API version served.
	MaxAPIVersion = 66.0
	// MinCollectionsVersion is the first version with sObject Collections.
	MinCollectionsVersion = 42.0
	// CollectionLimit is the most records one Collections write takes.
	CollectionLimit = 200
	// RetrieveLimit is the most IDs one Collections retrieve by POST takes.
	RetrieveLimit = 2000
)

// Options configures a [Server]. The zero value is usable.
type Options struct {
	// Objects is the org's schema; nil means [DefaultObjects].
	Objects []Object
	// DailyLimit is the org's API request limit over a rolling 24 hours;
	// zero means [DefaultDailyLimit].
	DailyLimit int
	// DailyUsed is the number of requests already used when the server
	// starts (by the customer's other integrations, say).
	DailyUsed int
	// NowFunc is the clock; nil means time.Now. It dates records, expires
	// sessions and rolls the daily window.
	NowFunc func() time.Time
	// SessionTTL, if positive, expires access tokens that long after they
	// were issued (401 INVALID_SESSION_ID). [Server.ExpireSessions] expires
	// them at once.
	SessionTTL time.Duration
	// ClientID and ClientSecret are the connected app's credentials the
	// token endpoint checks; empty means the defaults.
	ClientID, ClientSecret string
	// RefreshToken is the refresh token the token endpoint accepts; empty
	// means [DefaultRefreshToken].
	RefreshToken string
	// RotateRefreshTokens makes every refresh return a new refresh token
	// and invalidate the old one.
	RotateRefreshTokens bool
}

// Server is a simulated Salesforce org on an httptest server: REST API
// (sObject rows, sObject Collections), OAuth token endpoint, API limits,
// sessions, and fault injection. Its URL is the org's instance URL. It is
// safe for concurrent use.
type Server struct {
	// URL is the instance URL, e.g. http://127.0.0.1:PORT.
	URL string

	ts  *httptest.Server
	now func() time.Time

	mu           sync.Mutex
	opts         Options
	objects      map[string]*objectState // by lower-case name
	byPrefix     map[string]*objectState
	seq          int64
	sessions     map[string]time.Time // access token -> issued
	tokenSeq     int
	refreshToken string
	limit        int
	baseUsed     int
	baseAt       time.Time
	usage        []time.Time
	log          simhttp.Log
	faults       simhttp.Faults[Fault]
	tokenCalls   int
}

// NewServer starts a simulated org. It panics if opts.Objects is invalid
// (a test kit's programming error). Close it when done.
func NewServer(opts Options) *Server {
	objs := opts.Objects
	if objs == nil {
		objs = DefaultObjects()
	}
	objs, err := checkSchema(objs)
	if err != nil {
		panic(err)
	}
	s := &Server{
		now:      opts.NowFunc,
		opts:     opts,
		objects:  map[string]*objectState{},
		byPrefix: map[string]*objectState{},
		sessions: map[string]time.Time{},
		limit:    opts.DailyLimit,
		baseUsed: opts.DailyUsed,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.limit <= 0 {
		s.limit = DefaultDailyLimit
	}
	if s.opts.ClientID == "" {
		s.opts.ClientID = DefaultClientID
	}
	if s.opts.ClientSecret == "" {
		s.opts.ClientSecret = DefaultClientSecret
	}
	s.refreshToken = opts.RefreshToken
	if s.refreshToken == "" {
		s.refreshToken = DefaultRefreshToken
	}
	s.baseAt = s.now()
	for _, o := range objs {
		st := newObjectState(o)
		s.objects[strings.ToLower(o.Name)] = st
		s.byPrefix[o.KeyPrefix] = st
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// InProcessClient returns an HTTP client that serves each request with the
// server's handler on the calling goroutine, with no socket, for tests in
// a testing/synctest bubble: a goroutine waiting on a loopback connection
// keeps the bubble's fake clock from advancing. Create the Server outside
// the bubble (its listener would hold the clock too) and use the client
// inside with URL as the base URL; the server's clock (time.Now unless
// Options.NowFunc is set) is then read on the bubble's goroutines, so it is
// the fake clock. Faults act as on a socket; a dropped connection is an
// error after the server has acted.
func (s *Server) InProcessClient() *http.Client {
	return &http.Client{Transport: simhttp.InProcess{Handler: http.HandlerFunc(s.serve)}}
}

// serve is the root handler: it logs the call, applies faults, and routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	c := s.log.Add(r, body, s.now())
	rec := &simhttp.StatusRecorder{ResponseWriter: w}
	f := s.takeFault(r)
	if f != nil {
		if !f.apply(w, r, rec, s) {
			s.log.SetStatus(c, rec.Status)
			return
		}
	}
	if f != nil && f.DropAfterProcessing {
		buf := httptest.NewRecorder()
		s.route(buf, r, body, f)
		s.log.SetStatus(c, buf.Code)
		simhttp.HijackClose(w)
		return
	}
	s.route(rec, r, body, f)
	s.log.SetStatus(c, rec.Status)
}

// route dispatches a request after faults.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte, f *Fault) {
	switch {
	case r.URL.Path == "/services/oauth2/token":
		s.serveToken(w, r, body)
	case r.URL.Path == "/services/data" || r.URL.Path == "/services/data/":
		s.serveVersions(w, r)
	case strings.HasPrefix(r.URL.Path, "/services/data/"):
		s.serveData(w, r, body, f)
	default:
		writeErrors(w, http.StatusNotFound, "", sfError{code: "NOT_FOUND", message: "The requested resource does not exist"})
	}
}

// serveVersions lists the API versions (no session needed, not counted).
func (s *Server) serveVersions(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeErrors(w, http.StatusMethodNotAllowed, "", sfError{code: "METHOD_NOT_ALLOWED", message: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are GET,HEAD", r.Method)})
		return
	}
	var out []map[string]string
	for v := MinAPIVersion; v <= MaxAPIVersion; v++ {
		out = append(out, map[string]string{"label": "v" + formatVersion(v), "url": "/services/data/v" + formatVersion(v), "version": formatVersion(v)})
	}
	writeJSON(w, http.StatusOK, "", out)
}

// serveData handles /services/data/vXX.X/...: session, limits, routing.
func (s *Server) serveData(w http.ResponseWriter, r *http.Request, body []byte, f *Fault) {
	rest := strings.TrimPrefix(r.URL.Path, "/services/data/")
	verStr, rest, _ := strings.Cut(rest, "/")
	version, ok := parseVersion(verStr)
	if !ok {
		writeErrors(w, http.StatusNotFound, "", sfError{code: "NOT_FOUND", message: "The requested resource does not exist"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.validSessionLocked(r) {
		writeErrors(w, http.StatusUnauthorized, s.limitInfoLocked(), sfError{code: "INVALID_SESSION_ID", message: "Session expired or invalid"})
		return
	}
	if s.usedLocked() >= s.limit {
		writeErrors(w, http.StatusForbidden, s.limitInfoLocked(), sfError{code: "REQUEST_LIMIT_EXCEEDED", message: "TotalRequests Limit exceeded."})
		return
	}
	s.usage = append(s.usage, s.now())
	limitInfo := s.limitInfoLocked()
	if (r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut) && len(body) > 0 {
		ct := r.Header.Get("Content-Type")
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeErrors(w, http.StatusUnsupportedMediaType, limitInfo, sfError{code: "UNSUPPORTED_MEDIA_TYPE", message: "Content-Type header specified in HTTP request is not supported: " + ct})
			return
		}
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	req := &dataRequest{w: w, r: r, body: body, limitInfo: limitInfo, fault: f, version: version}
	switch {
	case len(parts) >= 2 && parts[0] == "sobjects":
		s.serveSObject(req, parts[1:])
	case len(parts) >= 2 && parts[0] == "composite" && parts[1] == "sobjects" && version >= MinCollectionsVersion:
		s.serveCollections(req, parts[2:])
	case len(parts) == 1 && parts[0] == "query" && r.Method == http.MethodGet:
		s.query(req)
	default:
		req.errors(http.StatusNotFound, sfError{code: "NOT_FOUND", message: "The requested resource does not exist"})
	}
}

// dataRequest is one REST API request being served (under s.mu).
type dataRequest struct {
	w         http.ResponseWriter
	r         *http.Request
	body      []byte
	limitInfo string
	fault     *Fault
	version   float64
}

// errors writes an error array.
func (d *dataRequest) errors(status int, errs ...sfError) {
	writeErrors(d.w, status, d.limitInfo, errs...)
}

// json writes a JSON body.
func (d *dataRequest) json(status int, v any) {
	writeJSON(d.w, status, d.limitInfo, v)
}

// parseVersion reads "v62.0".
func parseVersion(s string) (float64, bool) {
	if !strings.HasPrefix(s, "v") {
		return 0, false
	}
	whole, frac, ok := strings.Cut(s[1:], ".")
	if !ok || frac != "0" {
		return 0, false
	}
	n, err := strconv.Atoi(whole)
	if err != nil || float64(n) < MinAPIVersion || float64(n) > MaxAPIVersion {
		return 0, false
	}
	return float64(n), true
}

// formatVersion formats 62 as "62.0".
func formatVersion(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// validSessionLocked checks the bearer token.
func (s *Server) validSessionLocked(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	var tok string
	switch {
	case strings.HasPrefix(auth, "Bearer "):
		tok = strings.TrimPrefix(auth, "Bearer ")
	case strings.HasPrefix(auth, "OAuth "):
		tok = strings.TrimPrefix(auth, "OAuth ")
	default:
		return false
	}
	issued, ok := s.sessions[tok]
	if !ok {
		return false
	}
	if s.opts.SessionTTL > 0 && !s.now().Before(issued.Add(s.opts.SessionTTL)) {
		delete(s.sessions, tok)
		return false
	}
	return true
}

// usedLocked returns the requests counted in the rolling 24 hours.
func (s *Server) usedLocked() int {
	now := s.now()
	cut := now.Add(-24 * time.Hour)
	i := 0
	for i < len(s.usage) && !s.usage[i].After(cut) {
		i++
	}
	s.usage = s.usage[i:]
	used := len(s.usage)
	if now.Before(s.baseAt.Add(24 * time.Hour)) {
		used += s.baseUsed
	}
	return used
}

// limitInfoLocked returns the Sforce-Limit-Info value.
func (s *Server) limitInfoLocked() string {
	return fmt.Sprintf("api-usage=%d/%d", s.usedLocked(), s.limit)
}

// sfError is one Salesforce error.
type sfError struct {
	code    string
	message string
	fields  []string
	// duplicate is a duplicateResult, for DUPLICATES_DETECTED.
	duplicate map[string]any
}

// rest returns the error as the REST API's error arrays show it.
func (e sfError) rest() map[string]any {
	m := map[string]any{"errorCode": e.code, "message": e.message, "fields": orEmpty(e.fields)}
	if e.duplicate != nil {
		m["duplicateResult"] = e.duplicate
	}
	return m
}

// item returns the error as a Collections result shows it.
func (e sfError) item() map[string]any {
	m := map[string]any{"statusCode": e.code, "message": e.message, "fields": orEmpty(e.fields)}
	if e.duplicate != nil {
		m["duplicateResult"] = e.duplicate
	}
	return m
}

// orEmpty returns s, or an empty (not nil) slice.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeErrors writes a Salesforce error array.
func writeErrors(w http.ResponseWriter, status int, limitInfo string, errs ...sfError) {
	out := make([]map[string]any, len(errs))
	for i, e := range errs {
		out[i] = e.rest()
	}
	writeJSON(w, status, limitInfo, out)
}

// writeJSON writes v as JSON with the limit header.
func writeJSON(w http.ResponseWriter, status int, limitInfo string, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	if limitInfo != "" {
		w.Header().Set("Sforce-Limit-Info", limitInfo)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// writeNoContent writes 204 with the limit header.
func writeNoContent(w http.ResponseWriter, limitInfo string) {
	w.Header().Set("Sforce-Limit-Info", limitInfo)
	w.WriteHeader(http.StatusNoContent)
}
