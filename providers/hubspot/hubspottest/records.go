package hubspottest

import (
	"maps"
	"strconv"
	"time"
)

// objectState is an object type and its records.
type objectState struct {
	Object
	records map[string]*record
	order   []string
	unique  map[string]map[string]string // unique property -> value -> live record ID
}

// index records r's unique values (add) or forgets them.
func (o *objectState) index(r *record, add bool) {
	for _, p := range o.Properties {
		v := r.props[p.Name]
		if !p.Unique || v == "" {
			continue
		}
		if o.unique == nil {
			o.unique = map[string]map[string]string{}
		}
		m := o.unique[p.Name]
		if m == nil {
			m = map[string]string{}
			o.unique[p.Name] = m
		}
		switch {
		case add:
			m[v] = r.id
		case m[v] == r.id:
			delete(m, v)
		}
	}
}

// archiveLocked archives a live record.
func (s *Server) archiveLocked(o *objectState, r *record) {
	o.index(r, false)
	r.archived = true
	r.updated = s.now()
}

// record is one stored record.
type record struct {
	id       string
	props    map[string]string
	assocs   []Association
	created  time.Time
	updated  time.Time
	archived bool
}

// values returns a copy of the record's properties with the system ones.
func (r *record) values() map[string]string {
	out := maps.Clone(r.props)
	if out == nil {
		out = map[string]string{}
	}
	out["hs_object_id"] = r.id
	out["createdate"] = formatTime(r.created)
	out["lastmodifieddate"] = formatTime(r.updated)
	return out
}

// insertLocked stores a new record.
func (s *Server) insertLocked(o *objectState, props map[string]string, assocs []Association) *record {
	s.seq++
	now := s.now()
	r := &record{id: strconv.FormatInt(s.seq, 10), props: map[string]string{}, assocs: assocs, created: now, updated: now}
	for k, v := range props {
		if v != "" {
			r.props[k] = v
		}
	}
	o.records[r.id] = r
	o.order = append(o.order, r.id)
	o.index(r, true)
	return r
}

// liveLocked returns a live record, or nil.
func (o *objectState) liveLocked(id string) *record {
	r := o.records[id]
	if r == nil || r.archived {
		return nil
	}
	return r
}

// applyLocked sets properties on a record; "" clears one.
func (s *Server) applyLocked(o *objectState, r *record, props map[string]string) {
	o.index(r, false)
	defer o.index(r, true)
	for k, v := range props {
		if v == "" {
			delete(r.props, k)
		} else {
			r.props[k] = v
		}
	}
	r.updated = s.now()
}

// holderLocked returns the ID of a live record other than except whose
// unique property name holds value, or "".
func (o *objectState) holderLocked(name, value, except string) string {
	if id := o.unique[name][value]; id != except {
		return id
	}
	return ""
}

// formatTime formats t as HubSpot does: 2026-11-29T10:00:00.000Z.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
