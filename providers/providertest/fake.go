// Package providertest helps test code that writes through writeback: a
// [Fake] provider that keeps records in memory and records every call, and a
// conformance suite that real provider adapters run against their simulators.
package providertest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/writebackhq/writeback"
)

// Call is one call a [Fake] received.
type Call struct {
	// Method is "Write", "Read" or "ReadByKey".
	Method string
	// Write is the request of a Write call (credentials removed).
	Write *writeback.ProviderRequest
	// Read is the request of a Read or ReadByKey call (credentials removed).
	Read *writeback.ReadRequest
}

// Fake is an in-memory [writeback.Provider]. It assigns IDs on create,
// applies updates, deletes, honours all-or-nothing batches, answers reads,
// records every call, and fails the records a rule picks. The zero value is
// not usable; call [NewFake].
//
// A Fake is safe for concurrent use.
type Fake struct {
	name string
	caps writeback.Capabilities

	mu      sync.Mutex
	calls   []Call
	records map[string]map[string]map[string]any // object -> id -> fields
	nextID  int
	failFn  func(req *writeback.ProviderRequest, index int, rec writeback.Record) *writeback.ProviderError
	callErr func(req *writeback.ProviderRequest) error
}

var (
	_ writeback.Provider  = (*Fake)(nil)
	_ writeback.KeyReader = (*Fake)(nil)
)

// FullCapabilities is what [NewFake] offers when given zero capabilities:
// batches of 100, delete, associations, headers, ifEmpty, atomic batch
// updates and upserts (by any field: a Fake treats every field as
// unique, and fails a key value several records share with a conflict).
var FullCapabilities = writeback.Capabilities{
	MaxBatchSize:      100,
	Delete:            true,
	Associations:      true,
	Headers:           true,
	IfEmpty:           true,
	AtomicBatchUpdate: true,
	Upsert:            true,
}

// NewFake returns a Fake with the given provider name and capabilities; zero
// capabilities mean [FullCapabilities].
func NewFake(name string, caps writeback.Capabilities) *Fake {
	if caps == (writeback.Capabilities{}) {
		caps = FullCapabilities
	}
	return &Fake{name: name, caps: caps, records: map[string]map[string]map[string]any{}}
}

// Name implements [writeback.Provider].
func (f *Fake) Name() string { return f.name }

// Capabilities implements [writeback.Provider].
func (f *Fake) Capabilities() writeback.Capabilities { return f.caps }

// FailRecords makes every later Write fail the records fn returns an error
// for (index is the record's position in its request). A nil fn removes the
// rule. In an all-or-nothing batch the other records are rolled back.
func (f *Fake) FailRecords(fn func(req *writeback.ProviderRequest, index int, rec writeback.Record) *writeback.ProviderError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failFn = fn
}

// FailCalls makes every later Write for which fn returns an error fail as a
// whole with that error, without touching any record. A nil fn removes the
// rule.
func (f *Fake) FailCalls(fn func(req *writeback.ProviderRequest) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callErr = fn
}

// Calls returns a copy of the calls received so far.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Writes returns the Write requests received so far.
func (f *Fake) Writes() []*writeback.ProviderRequest {
	var out []*writeback.ProviderRequest
	for _, c := range f.Calls() {
		if c.Write != nil {
			out = append(out, c.Write)
		}
	}
	return out
}

// Record returns a copy of a stored record's fields and whether it exists.
func (f *Fake) Record(object, id string) (map[string]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.records[object][id]
	return maps.Clone(r), ok
}

// Count returns the number of stored records of an object.
func (f *Fake) Count(object string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.records[object])
}

// Seed stores a record as if it existed at the provider and returns its ID.
func (f *Fake) Seed(object string, fields map[string]any) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.newIDLocked()
	f.objectLocked(object)[id] = maps.Clone(fields)
	return id
}

// Write implements [writeback.Provider]. It calls req.BeforeSend first,
// when set (the engine sets it if the Fake's capabilities include
// BeforeSend), and fails without recording the call if that fails.
func (f *Fake) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.BeforeSend != nil {
		if err := req.BeforeSend(ctx); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := cloneRequest(req)
	f.calls = append(f.calls, Call{Method: "Write", Write: cp})
	if f.callErr != nil {
		if err := f.callErr(cp); err != nil {
			return nil, err
		}
	}

	results := make([]writeback.RecordResult, len(req.Records))
	failed := false
	for i, rec := range req.Records {
		if perr := f.checkLocked(req, i, rec); perr != nil {
			results[i].Err = perr
			failed = true
		}
	}
	if failed && req.AllOrNone {
		for i := range results {
			if results[i].Err == nil {
				results[i].Err = &writeback.ProviderError{
					Provider: f.name, Class: writeback.ClassRolledBack, Code: "ROLLED_BACK",
					Message: "record rolled back because another record failed", RecordIndex: i,
				}
			}
		}
		return &writeback.ProviderResponse{Results: results}, nil
	}
	objects := f.objectLocked(req.Object)
	for i, rec := range req.Records {
		if results[i].Err != nil {
			continue
		}
		switch req.Type {
		case writeback.WriteTypeCreate:
			id := f.newIDLocked()
			objects[id] = maps.Clone(rec.Fields)
			results[i].ID = id
		case writeback.WriteTypeUpdate:
			maps.Copy(objects[rec.ID], rec.Fields)
			results[i].ID = rec.ID
		case writeback.WriteTypeDelete:
			delete(objects, rec.ID)
			results[i].ID = rec.ID
		case writeback.WriteTypeUpsert:
			ids := matchKey(objects, req.Key, rec.Fields[req.Key])
			if len(ids) == 0 {
				id := f.newIDLocked()
				objects[id] = maps.Clone(rec.Fields)
				results[i].ID, results[i].Created = id, true
			} else {
				maps.Copy(objects[ids[0]], rec.Fields)
				results[i].ID = ids[0]
			}
		}
	}
	return &writeback.ProviderResponse{Results: results}, nil
}

// checkLocked returns the error a record fails with, or nil.
func (f *Fake) checkLocked(req *writeback.ProviderRequest, i int, rec writeback.Record) *writeback.ProviderError {
	if f.failFn != nil {
		if perr := f.failFn(req, i, rec); perr != nil {
			cp := *perr
			cp.RecordIndex = i
			if cp.Provider == "" {
				cp.Provider = f.name
			}
			return &cp
		}
	}
	if req.Type == writeback.WriteTypeUpsert {
		if ids := matchKey(f.records[req.Object], req.Key, rec.Fields[req.Key]); len(ids) > 1 {
			return &writeback.ProviderError{
				Provider: f.name, Class: writeback.ClassConflict, StatusCode: 300, Code: "MULTIPLE_CHOICES",
				Message: fmt.Sprintf("%d %s records have %s %v", len(ids), req.Object, req.Key, rec.Fields[req.Key]), RecordIndex: i,
			}
		}
		return nil
	}
	if req.Type != writeback.WriteTypeCreate {
		if _, ok := f.records[req.Object][rec.ID]; !ok {
			return &writeback.ProviderError{
				Provider: f.name, Class: writeback.ClassNotFound, StatusCode: 404, Code: "NOT_FOUND",
				Message: fmt.Sprintf("no %s record %q", req.Object, rec.ID), RecordIndex: i,
			}
		}
	}
	return nil
}

// Read implements [writeback.Provider].
func (f *Fake) Read(ctx context.Context, req *writeback.ReadRequest) (map[string]map[string]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *req
	cp.TokenSource = nil
	cp.IDs = append([]string(nil), req.IDs...)
	cp.Fields = append([]string(nil), req.Fields...)
	f.calls = append(f.calls, Call{Method: "Read", Read: &cp})
	if !f.caps.IfEmpty {
		return nil, fmt.Errorf("%s: read: %w", f.name, writeback.ErrUnsupported)
	}
	out := map[string]map[string]any{}
	for _, id := range req.IDs {
		rec, ok := f.records[req.Object][id]
		if !ok {
			continue
		}
		vals := map[string]any{}
		for _, field := range req.Fields {
			if v, ok := rec[field]; ok {
				vals[field] = v
			}
		}
		out[id] = vals
	}
	return out, nil
}

// ReadByKey implements [writeback.KeyReader]: records whose req.Key field
// holds one of req.IDs (compared as text). A value several records share
// is an error of class conflict.
func (f *Fake) ReadByKey(ctx context.Context, req *writeback.ReadRequest) (map[string]writeback.KeyedRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *req
	cp.TokenSource = nil
	cp.IDs = append([]string(nil), req.IDs...)
	cp.Fields = append([]string(nil), req.Fields...)
	f.calls = append(f.calls, Call{Method: "ReadByKey", Read: &cp})
	if !f.caps.Upsert {
		return nil, fmt.Errorf("%s: read by key: %w", f.name, writeback.ErrUnsupported)
	}
	out := map[string]writeback.KeyedRecord{}
	for _, v := range req.IDs {
		ids := matchKey(f.records[req.Object], req.Key, v)
		switch {
		case len(ids) > 1:
			return nil, &writeback.ProviderError{
				Provider: f.name, Class: writeback.ClassConflict, StatusCode: 300, Code: "MULTIPLE_CHOICES",
				Message: fmt.Sprintf("%d %s records have %s %s", len(ids), req.Object, req.Key, v), RecordIndex: writeback.NoRecord,
			}
		case len(ids) == 1:
			vals := map[string]any{}
			for _, field := range req.Fields {
				if x, ok := f.records[req.Object][ids[0]][field]; ok {
					vals[field] = x
				}
			}
			out[v] = writeback.KeyedRecord{ID: ids[0], Fields: vals}
		}
	}
	return out, nil
}

// matchKey returns the IDs of the records whose key field holds v
// (compared as text), sorted.
func matchKey(records map[string]map[string]any, key string, v any) []string {
	want := fmt.Sprint(v)
	var ids []string
	for id, rec := range records {
		if x, ok := rec[key]; ok && x != nil && fmt.Sprint(x) == want {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (f *Fake) objectLocked(object string) map[string]map[string]any {
	m, ok := f.records[object]
	if !ok {
		m = map[string]map[string]any{}
		f.records[object] = m
	}
	return m
}

func (f *Fake) newIDLocked() string {
	f.nextID++
	return strconv.Itoa(1000 + f.nextID)
}

// cloneRequest copies a request deeply enough that later changes by the
// caller do not show, and drops its credentials.
func cloneRequest(req *writeback.ProviderRequest) *writeback.ProviderRequest {
	cp := *req
	cp.TokenSource = nil
	cp.Records = make([]writeback.Record, len(req.Records))
	for i, r := range req.Records {
		cp.Records[i] = writeback.Record{ID: r.ID, Fields: maps.Clone(r.Fields), Associations: append([]writeback.Association(nil), r.Associations...)}
	}
	cp.Headers = append([]writeback.Header(nil), req.Headers...)
	return &cp
}
