package hubspottest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/writebackhq/writeback/providers/internal/simhttp"
)

// Defaults of [Options].
const (
	// DefaultToken is the bearer token accepted when [Options.Tokens] is nil.
	DefaultToken = "sim-token"
	// DefaultTenSecondLimit is the requests allowed per rolling 10 seconds
	// (HubSpot Free and Starter: 100 per app).
	DefaultTenSecondLimit = 100
	// DefaultDailyLimit is the requests allowed per day (Free and Starter:
	// 250,000 per account).
	DefaultDailyLimit = 250000
	// BatchLimit is the most inputs one batch request takes.
	BatchLimit = 100
	// RateWindow is the rolling rate-limit window.
	RateWindow = 10 * time.Second
)

// Options configures a [Server]. The zero value is usable.
type Options struct {
	// Objects is the account's schema; nil means [DefaultObjects].
	Objects []Object
	// AssociationTypes are the association types known; nil means
	// [DefaultAssociationTypes].
	AssociationTypes []AssociationType
	// Tokens are the bearer tokens accepted; nil means [DefaultToken].
	// [Server.ExpireToken] and [Server.AddToken] change the set later.
	Tokens []string
	// NowFunc is the clock; nil means time.Now. It dates records, rolls the
	// 10-second window and the day.
	NowFunc func() time.Time
	// Location is the account's time zone: the daily limit resets at its
	// midnight. nil means UTC.
	Location *time.Location
	// TenSecondLimit is the requests allowed per rolling 10 seconds; zero
	// means [DefaultTenSecondLimit]; negative means unlimited.
	TenSecondLimit int
	// DailyLimit is the requests allowed per day; zero means
	// [DefaultDailyLimit]; negative means unlimited.
	DailyLimit int
	// DailyUsed is the number of requests already spent today when the
	// server starts (by the customer's other integrations, say).
	DailyUsed int
	// OAuth omits the X-HubSpot-RateLimit-Daily headers, as HubSpot does for
	// OAuth-authorized requests.
	OAuth bool
	// ShuffleBatchResults returns batch results in reverse input order.
	// HubSpot does not promise input order (its batch create results come
	// back in any order: HubSpot/hubspot-api-nodejs#190); the default keeps
	// input order so tests are easy to read.
	ShuffleBatchResults bool
	// Portal is the account (hub) ID used in record URLs; zero means 12345678.
	Portal int
}

// Server is a simulated HubSpot account on an httptest server: CRM v3
// objects (single and batch create, update, archive, batch read), v4-shape
// associations on create, bearer auth, rate limits with HubSpot's headers
// and 429 bodies, and fault injection. It is safe for concurrent use.
type Server struct {
	// URL is the API base URL, e.g. http://127.0.0.1:PORT (in place of
	// https://api.hubapi.com).
	URL string

	ts  *httptest.Server
	now func() time.Time
	loc *time.Location

	mu        sync.Mutex
	opts      Options
	objects   map[string]*objectState // by name and type ID
	ordered   []*objectState
	assocs    map[int]AssociationType
	seq       int64
	corr      int64
	tokens    map[string]bool
	expired   map[string]bool
	window    []time.Time // counted requests in the rolling window
	day       string      // the day dailyUsed counts, in loc
	dailyUsed int
	log       simhttp.Log
	faults    simhttp.Faults[Fault]
}

// NewServer starts a simulated account. It panics if opts.Objects is
// invalid (a test's programming error). Close it when done.
func NewServer(opts Options) *Server {
	objs := opts.Objects
	if objs == nil {
		objs = DefaultObjects()
	}
	objs, err := checkObjects(objs)
	if err != nil {
		panic(err)
	}
	s := &Server{
		now:     opts.NowFunc,
		loc:     opts.Location,
		opts:    opts,
		objects: map[string]*objectState{},
		assocs:  map[int]AssociationType{},
		tokens:  map[string]bool{},
		expired: map[string]bool{},
		seq:     1000,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.opts.TenSecondLimit == 0 {
		s.opts.TenSecondLimit = DefaultTenSecondLimit
	}
	if s.opts.DailyLimit == 0 {
		s.opts.DailyLimit = DefaultDailyLimit
	}
	if s.opts.Portal == 0 {
		s.opts.Portal = 12345678
	}
	for i := range objs {
		st := &objectState{Object: objs[i], records: map[string]*record{}}
		s.objects[st.Name] = st
		if st.TypeID != "" {
			s.objects[st.TypeID] = st
		}
		s.ordered = append(s.ordered, st)
	}
	ats := opts.AssociationTypes
	if ats == nil {
		ats = DefaultAssociationTypes()
	}
	for _, a := range ats {
		s.assocs[a.ID] = a
	}
	toks := opts.Tokens
	if toks == nil {
		toks = []string{DefaultToken}
	}
	for _, t := range toks {
		s.tokens[t] = true
	}
	s.day = s.now().In(s.loc).Format(time.DateOnly)
	s.dailyUsed = opts.DailyUsed
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	return s
}

// Close shuts the server down, ending any delayed answers.
func (s *Server) Close() {
	s.ts.CloseClientConnections()
	s.ts.Close()
}

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

// AddToken makes the server accept a bearer token.
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
	delete(s.expired, token)
}

// ExpireToken makes the server refuse a token with HubSpot's 401 for an
// expired OAuth token.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
	s.expired[token] = true
}

// serve is the root handler: it logs the call, checks auth and limits,
// applies faults, and routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return
	}
	c := s.log.Add(r, body, s.now())
	rec := &simhttp.StatusRecorder{ResponseWriter: w}
	defer func() { s.log.SetStatus(c, rec.Status) }()

	f := s.takeFault(r)
	if f != nil && !f.before(rec, r, s) {
		return
	}
	if !s.authorize(rec, r) {
		return
	}
	if !s.admit(rec) {
		return
	}
	if f != nil && f.DropAfterProcessing {
		s.route(httptest.NewRecorder(), r, body)
		simhttp.HijackClose(w)
		return
	}
	s.route(rec, r, body)
}

// authorize checks the bearer token.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	valid, expired := ok && s.tokens[tok], ok && s.expired[tok]
	s.mu.Unlock()
	switch {
	case valid:
		return true
	case expired:
		s.writeError(w, http.StatusUnauthorized, apiError{
			Category: "EXPIRED_AUTHENTICATION",
			Message:  "The OAuth token used to make this call expired 1 hour(s) ago.",
		})
	default:
		s.writeError(w, http.StatusUnauthorized, apiError{
			Category: "INVALID_AUTHENTICATION",
			Message:  "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
		})
	}
	return false
}

// route dispatches an authorized request.
func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/crm/v3/objects/")
	if !ok {
		s.writeError(w, http.StatusNotFound, apiError{Category: "OBJECT_NOT_FOUND", Message: fmt.Sprintf("Unable to route %s request for %s", r.Method, r.URL.Path)})
		return
	}
	parts := strings.Split(rest, "/")
	obj := s.object(parts[0])
	if obj == nil {
		s.writeError(w, http.StatusBadRequest, apiError{Category: "VALIDATION_ERROR", Message: fmt.Sprintf("Unable to infer object type from: %s", parts[0])})
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodPost:
		s.createOne(w, obj, body)
	case len(parts) == 2 && parts[1] != "" && parts[1] != "batch" && r.Method == http.MethodPatch:
		s.updateOne(w, obj, parts[1], r.URL.Query(), body)
	case len(parts) == 2 && parts[1] != "" && parts[1] != "batch" && r.Method == http.MethodDelete:
		s.archiveOne(w, obj, parts[1])
	case len(parts) == 2 && parts[1] != "" && parts[1] != "batch" && r.Method == http.MethodGet:
		s.getOne(w, obj, parts[1], r.URL.Query())
	case len(parts) == 3 && parts[1] == "batch" && r.Method == http.MethodPost:
		switch parts[2] {
		case "create":
			s.batchCreate(w, obj, body)
		case "update":
			s.batchUpdate(w, obj, body)
		case "read":
			s.batchRead(w, obj, body)
		case "upsert":
			s.batchUpsert(w, obj, body)
		case "archive":
			s.batchArchive(w, obj, body)
		default:
			s.writeError(w, http.StatusNotFound, apiError{Category: "OBJECT_NOT_FOUND", Message: fmt.Sprintf("Unable to route POST request for %s", r.URL.Path)})
		}
	default:
		s.writeError(w, http.StatusMethodNotAllowed, apiError{Category: "VALIDATION_ERROR", Message: fmt.Sprintf("HTTP %s is not supported by %s", r.Method, r.URL.Path)})
	}
}

// object returns the object named by a path segment, or nil.
func (s *Server) object(name string) *objectState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objects[strings.ToLower(name)]
}
