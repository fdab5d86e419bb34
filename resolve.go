package writeback

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// This file resolves creates whose outcome is unknown (the request was
// sent and no answer came) on objects with a unique key: rather than
// reporting them, the engine looks the records up by key; a record found
// was written (success, with its ID), one not found is sent again, once.

// createKey returns the provider field a create of the plan's object can
// be looked up by: the write object's upsert key, through the
// installation's mapping, when the adapter can read by key; "" otherwise.
func (s *session) createKey(p *plan) string {
	if p.Type != WriteTypeCreate || !s.prov.Capabilities().Upsert {
		return ""
	}
	if _, ok := s.prov.(KeyReader); !ok {
		return ""
	}
	in, ok := s.manifest.Integration(p.Integration)
	if !ok {
		return ""
	}
	obj, err := resolveObject(in, s.inst, p.Object)
	if err != nil || obj.spec.UpsertKey == "" {
		return ""
	}
	to, _, ok := obj.mapping.resolve(obj.spec.UpsertKey)
	if !ok {
		return ""
	}
	return to
}

// hasUpsertKey reports whether the manifest names an upsert key for the
// plan's object: its creates with an unknown outcome can be looked up.
func (w *Writer) hasUpsertKey(p *plan) bool {
	in, ok := w.manifest.Integration(p.Integration)
	if !ok {
		return false
	}
	spec, ok := findWriteObject(in, p.Object)
	return ok && spec.UpsertKey != ""
}

// lookUp reads by key the records of a create plan at idx and returns
// the ID of each one found, by index. Records without a key value are
// left out: they cannot be looked up.
func (s *session) lookUp(ctx context.Context, p *plan, key string, idx []int) (map[int]string, []int, error) {
	var keys, without []int
	values := map[string]bool{}
	for _, i := range idx {
		v, ok := keyValue(p.Records[i].Fields[key])
		if !ok {
			without = append(without, i)
			continue
		}
		keys = append(keys, i)
		values[v] = true
	}
	if len(keys) == 0 {
		return nil, without, nil
	}
	kr := s.prov.(KeyReader)
	rctx, cancel := s.bound(ctx)
	rctx, endCall := s.tel.call(rctx, "read", p, len(values))
	found, err := kr.ReadByKey(rctx, &ReadRequest{
		InstallationID: p.InstallationID, Connection: s.inst.Connection, TokenSource: s.ts,
		Object: p.ProviderObject, Key: key, IDs: slices.Sorted(maps.Keys(values)),
	})
	cancel()
	if err != nil {
		perr := asProviderError(p.Provider, err)
		s.calls = append(s.calls, perr.Calls...)
		endCall(perr, perr.Calls)
		return nil, nil, err
	}
	endCall(nil, nil)
	out := make(map[int]string, len(keys))
	for _, i := range keys {
		v, _ := keyValue(p.Records[i].Fields[key])
		if rec, ok := found[v]; ok {
			out[i] = rec.ID
		}
	}
	return out, without, nil
}

// resolveUnknown settles the records of a create's outcome whose outcome
// is unknown, when the object has a key and ctx still allows calls: each
// one found by key succeeded (with the ID found), each one not found is
// sent again, once, in one call. A failed lookup leaves them unknown.
// The session's notes say how each was resolved.
func (s *session) resolveUnknown(ctx context.Context, p *plan, records []Record, out *outcome) *outcome {
	var unknown []int
	for i, r := range out.Results {
		if r.Err != nil && r.Err.Class == ClassUnknownOutcome {
			unknown = append(unknown, i)
		}
	}
	if len(unknown) == 0 || ctx.Err() != nil {
		return out
	}
	key := s.createKey(p)
	if key == "" {
		return out
	}
	found, _, err := s.lookUp(ctx, p, key, unknown)
	if err != nil {
		s.notes = append(s.notes, fmt.Sprintf("%d creates with an unknown outcome could not be looked up by %s: %v", len(unknown), key, err))
		return out
	}
	var resend []int
	for _, i := range unknown {
		v, ok := keyValue(p.Records[i].Fields[key])
		switch id, hit := found[i]; {
		case hit:
			out.Results[i] = RecordResult{ID: id}
			s.notes = append(s.notes, fmt.Sprintf("%s: the create's outcome was unknown; found by %s %q as record %s: written", recordName(p, i), key, v, id))
		case ok:
			resend = append(resend, i)
		}
	}
	if len(resend) == 0 {
		return s.settled(out)
	}
	again := s.send(ctx, p, records, resend)
	for _, i := range resend {
		v, _ := keyValue(p.Records[i].Fields[key])
		out.Results[i] = again.Results[i]
		s.notes = append(s.notes, fmt.Sprintf("%s: the create's outcome was unknown and no record has %s %q: sent again", recordName(p, i), key, v))
	}
	return s.settled(out)
}

// settled clears the whole-call error of an outcome whose records all
// have their own results now.
func (s *session) settled(out *outcome) *outcome {
	if out.Err == nil {
		return out
	}
	for _, r := range out.Results {
		if r.Err == out.Err {
			return out
		}
	}
	out.Err = nil
	return out
}
