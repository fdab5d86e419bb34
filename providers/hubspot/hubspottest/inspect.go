package hubspottest

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

// CallCount returns the number of requests received.
func (s *Server) CallCount() int { return s.log.Len() }

// Record is a stored record.
type Record struct {
	// ID is the record ID.
	ID string
	// Properties are the record's values, system properties included.
	Properties map[string]string
	// Associations are the record's links made on create.
	Associations []Association
	// Archived reports an archived (deleted) record.
	Archived bool
}

// Association is a link from a record to another, made on create.
type Association struct {
	// To is the linked record's ID.
	To string
	// ToObject is the linked record's object name.
	ToObject string
	// TypeID is the association type ID.
	TypeID int
}

// Record returns a copy of a live record's properties and whether it
// exists. object is a name or type ID.
func (s *Server) Record(object, id string) (map[string]string, bool) {
	r, ok := s.Get(object, id)
	return r.Properties, ok
}

// Get returns a copy of a live record and whether it exists.
func (s *Server) Get(object, id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(object)]
	if o == nil {
		return Record{}, false
	}
	r := o.records[id]
	if r == nil || r.archived {
		return Record{}, false
	}
	return r.export(), true
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
		if r := o.records[id]; !r.archived {
			out = append(out, r.export())
		}
	}
	return out
}

// Count returns the number of live records of an object.
func (s *Server) Count(object string) int { return len(s.Records(object)) }

// Seed stores a record directly, without checks, limits or a call, and
// returns its ID: data that was in the account before the test. It panics
// on an unknown object or property.
func (s *Server) Seed(object string, props map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objects[strings.ToLower(object)]
	if o == nil {
		panic("hubspottest: Seed: unknown object " + object)
	}
	for k := range props {
		if o.property(k) == nil {
			panic("hubspottest: Seed: unknown property " + object + "." + k)
		}
	}
	return s.insertLocked(o, maps.Clone(props), nil).id
}

func (r *record) export() Record {
	return Record{ID: r.id, Properties: r.values(), Associations: append([]Association(nil), r.assocs...), Archived: r.archived}
}
