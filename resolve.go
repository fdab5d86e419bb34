package writeback

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
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

// lookUpRetrying is lookUp, tried again up to three times after a
// retryable failure (a rate limit, a dropped connection), waiting as the
// provider asks or 200 ms, 400 ms, 800 ms, within ctx: the records stay
// unknown only if the provider cannot be asked.
func (s *session) lookUpRetrying(ctx context.Context, p *plan, key string, idx []int) (map[int]string, error) {
	for try := 0; ; try++ {
		found, _, err := s.lookUp(ctx, p, key, idx)
		if err == nil {
			return found, nil
		}
		perr := asProviderError(p.Provider, err)
		if try == 3 || !perr.Retryable() {
			return nil, err
		}
		wait := max(perr.RetryAfter, 200*time.Millisecond<<try)
		t := time.NewTimer(min(wait, 10*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
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
	found, err := s.lookUpRetrying(ctx, p, key, unknown)
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
	var still []int // the resend's answer was lost too
	for _, i := range resend {
		v, _ := keyValue(p.Records[i].Fields[key])
		out.Results[i] = again.Results[i]
		s.notes = append(s.notes, fmt.Sprintf("%s: the create's outcome was unknown and no record has %s %q: sent again", recordName(p, i), key, v))
		if r := again.Results[i]; r.Err != nil && r.Err.Class == ClassUnknownOutcome {
			still = append(still, i)
		}
	}
	if len(still) > 0 && ctx.Err() == nil {
		// Not sent a third time: looked up once more.
		if found, err := s.lookUpRetrying(ctx, p, key, still); err == nil {
			for _, i := range still {
				if id, ok := found[i]; ok {
					out.Results[i] = RecordResult{ID: id}
					s.notes = append(s.notes, fmt.Sprintf("%s: the answer to the create sent again was lost too; found by %s as record %s: written", recordName(p, i), key, id))
				}
			}
		}
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
