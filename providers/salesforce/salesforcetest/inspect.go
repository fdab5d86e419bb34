package salesforcetest

import (
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/writebackhq/writeback/providers/internal/simhttp"
)

// Call is one request the server received.
type Call struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path.
	Path string
	// Query is the raw query string.
	Query string
	// Header holds the request headers as received, Authorization included.
	Header http.Header
	// Body is the request body.
	Body []byte
	// Status is the HTTP status answered, or 0 when the connection was
	// dropped without an answer.
	Status int
	// Time is when the request arrived, by the server's clock.
	Time time.Time
}

// Calls returns copies of every request received so far, oldest first.
func (s *Server) Calls() []Call { return calls(s.log.Calls()) }

// CallsTo returns the requests with the given method (empty means any)
// whose path contains path.
func (s *Server) CallsTo(method, path string) []Call { return calls(s.log.CallsTo(method, path)) }

// calls converts the log's entries.
func calls(in []simhttp.Call) []Call {
	out := make([]Call, len(in))
	for i, c := range in {
		out[i] = Call(c)
	}
	return out
}

// CallCount returns the number of requests received, token requests
// included.
func (s *Server) CallCount() int { return s.log.Len() }

// HeaderValues returns the values of a request header across all REST API
// requests received, in order.
func (s *Server) HeaderValues(name string) []string {
	var out []string
	for _, c := range s.Calls() {
		if strings.HasPrefix(c.Path, "/services/data/") {
			out = append(out, c.Header.Values(name)...)
		}
	}
	return out
}

// APIUsage returns the requests counted in the rolling 24 hours and the
// daily limit, as Sforce-Limit-Info reports them.
func (s *Server) APIUsage() (used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usedLocked(), s.limit
}

// SetAPIUsage sets the requests counted in the rolling 24 hours to used, as
// if the customer's other integrations had spent them just now.
func (s *Server) SetAPIUsage(used int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.usage = nil
	s.baseUsed = used
	s.baseAt = s.now()
}

// TokenRequests returns the number of requests to the token endpoint.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls
}

// Record is a stored record.
type Record struct {
	// ID is the 18-character record ID.
	ID string
	// Fields are the record's values by field API name, system fields
	// included.
	Fields map[string]any
}

// Record returns a copy of a live record's values (by field API name) and
// whether it exists. id may be 15 or 18 characters.
func (s *Server) Record(object, id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(object)]
	cid, ok := canonicalID(id)
	if o == nil || !ok {
		return nil, false
	}
	r := o.records[cid]
	if r == nil || r.deleted {
		return nil, false
	}
	return o.values(r), true
}

// Records returns the live records of an object, in creation order.
func (s *Server) Records(object string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(object)]
	if o == nil {
		return nil
	}
	var out []Record
	for _, id := range o.order {
		if r := o.records[id]; !r.deleted {
			out = append(out, Record{ID: id, Fields: o.values(r)})
		}
	}
	return out
}

// Count returns the number of live records of an object.
func (s *Server) Count(object string) int {
	return len(s.Records(object))
}

// Seed stores a record directly, without checks, limits or a call, and
// returns its ID: data that was in the org before the test. It panics on
// an unknown object or field.
func (s *Server) Seed(object string, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(object)]
	if o == nil {
		panic("salesforcetest: Seed: unknown object " + object)
	}
	vals := make(map[string]any, len(fields))
	for k, v := range fields {
		f := o.field(k)
		if f == nil {
			panic("salesforcetest: Seed: unknown field " + object + "." + k)
		}
		vals[f.Name] = v
	}
	return s.insertLocked(o, vals, true)
}

// values returns a copy of a record's values with system fields.
func (o *objectState) values(r *record) map[string]any {
	out := maps.Clone(r.values)
	out["Id"] = r.id
	out["IsDeleted"] = r.deleted
	out["CreatedDate"] = formatTime(r.created)
	out["CreatedById"] = UserID
	out["LastModifiedDate"] = formatTime(r.modified)
	out["LastModifiedById"] = UserID
	out["SystemModstamp"] = formatTime(r.modified)
	return out
}

// formatTime formats t as Salesforce does: 2026-11-29T10:00:00.000+0000.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}
