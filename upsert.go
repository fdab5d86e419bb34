package writeback

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds what is particular to upserts: the key that identifies
// the records, their plan (fields as a create writes them and as an
// update does), and the read by key that decides, per record, which of
// the two is sent.

// upsertKey is an upsert's key field, as the application names it and as
// the provider does.
type upsertKey struct {
	app      string
	provider string
}

// resolveUpsertKey returns the key of an upsert to the target: the
// request's, or the write object's; it must be a field the installation
// maps, on a provider that can upsert.
func resolveUpsertKey(tg *target, opts *WriteOpts) (upsertKey, error) {
	name := tg.provider.Name()
	if _, ok := tg.provider.(KeyReader); !ok || !tg.provider.Capabilities().Upsert {
		return upsertKey{}, invalid(ErrUnsupported, "type", "provider %s does not support upserts", name)
	}
	app := opts.UpsertKey
	if app == "" {
		app = tg.object.spec.UpsertKey
	}
	switch {
	case strings.TrimSpace(app) == "":
		return upsertKey{}, invalid(ErrUpsertKey, "upsertKey", "no upsert key for %q: name it in the manifest's write object (upsertKey) or in WriteOpts.UpsertKey", tg.object.spec.ObjectName)
	case !utf8.ValidString(app) || strings.ContainsFunc(app, unicode.IsControl):
		return upsertKey{}, invalid(ErrUpsertKey, "upsertKey", "%q is not a field name", app)
	}
	to, _, ok := tg.object.mapping.resolve(app)
	if !ok {
		return upsertKey{}, invalid(ErrUpsertKey, "upsertKey", "key field %q is unmapped in this installation, so records cannot be found by it", app)
	}
	return upsertKey{app: app, provider: to}, nil
}

// keyValue returns a key value as the provider matches it: a non-blank
// string, or a number.
func keyValue(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, strings.TrimSpace(x) != ""
	case json.Number:
		return x.String(), x != ""
	}
	return "", false
}

// planUpsert plans record i of an upsert, in (validated and normalised):
// its fields as a create writes them in Records, as an update does in
// Updates (with the ifEmpty fields), the key field in both. seen holds the
// key values of the batch's earlier records, or is nil.
func (pr *prepared) planUpsert(i int, field string, in Record, key upsertKey, seen map[string]int) error {
	v := in.Fields[key.app]
	value, ok := keyValue(v)
	if !ok {
		return invalid(ErrUpsertKey, field+".fields."+key.app, "an upsert needs a value (a non-empty string or a number) of its key field %q", key.app)
	}
	if seen != nil {
		if j, dup := seen[value]; dup {
			return invalid(ErrInvalidRecord, field+".fields."+key.app, "duplicate key value %q (also batch[%d])", value, j)
		}
		seen[value] = i
	}
	settings, m := pr.target.object.config.SelectedFieldSettings, pr.target.object.mapping
	create, _, stripped := transform(WriteTypeCreate, in.Fields, settings, m)
	update, ifEmpty, _ := transform(WriteTypeUpdate, in.Fields, settings, m)
	pr.Records[i] = Record{Fields: withKey(create, key.provider, v)}
	pr.Updates[i] = withKey(update, key.provider, v)
	ifEmpty = slices.DeleteFunc(ifEmpty, func(f string) bool { return f == key.provider })
	if len(ifEmpty) > 0 {
		if pr.IfEmpty == nil {
			pr.IfEmpty = make([][]string, len(pr.Records))
		}
		pr.IfEmpty[i] = ifEmpty
	}
	if len(stripped) > 0 {
		if pr.stripped == nil {
			pr.stripped = make([][]string, len(pr.Records))
		}
		pr.stripped[i] = stripped
	}
	return nil
}

// withKey returns fields with the key field set to v: the key is always
// written, whatever the rules say of it, since it identifies the record.
// fields is not modified.
func withKey(fields map[string]any, key string, v any) map[string]any {
	if cur, ok := fields[key]; ok && cur == v {
		return fields
	}
	out := maps.Clone(fields)
	if out == nil {
		out = map[string]any{}
	}
	out[key] = v
	return out
}

// currentByKey looks an upsert's records up by key with one provider
// read, and returns the records to write: those found as the update
// rules have them (ifEmpty applied to the values read), with the found
// ID; the others as the create rules have them. A record found with
// nothing but its key left to write is not sent: the indexes returned
// are those of the records to send.
func (s *session) currentByKey(ctx context.Context, p *plan) ([]Record, []int, error) {
	kr, ok := s.prov.(KeyReader)
	if !ok {
		return nil, nil, fmt.Errorf("%s: upsert: %w", p.Provider, ErrUnsupported)
	}
	keys := make([]string, 0, len(p.Records))
	seen := make(map[string]bool, len(p.Records))
	fieldSet := map[string]bool{}
	for i, r := range p.Records {
		if k, _ := keyValue(r.Fields[p.Key]); !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		if i < len(p.IfEmpty) {
			for _, f := range p.IfEmpty[i] {
				fieldSet[f] = true
			}
		}
	}
	rctx, cancel := s.bound(ctx)
	rctx, endCall := s.tel.call(rctx, "read", p, len(keys))
	found, err := kr.ReadByKey(rctx, &ReadRequest{
		InstallationID: p.InstallationID, Connection: s.inst.Connection, TokenSource: s.ts,
		Object: p.ProviderObject, Key: p.Key, IDs: keys, Fields: slices.Sorted(maps.Keys(fieldSet)),
	})
	cancel()
	if err != nil {
		perr := asProviderError(p.Provider, err)
		s.calls = append(s.calls, perr.Calls...)
		endCall(perr, perr.Calls)
		return nil, nil, err
	}
	endCall(nil, nil)
	records := make([]Record, len(p.Records))
	send := make([]int, 0, len(p.Records))
	for i, r := range p.Records {
		k, _ := keyValue(r.Fields[p.Key])
		cur, ok := found[k]
		if !ok {
			records[i] = r
			send = append(send, i)
			continue
		}
		fields := p.Updates[i]
		if i < len(p.IfEmpty) && len(p.IfEmpty[i]) > 0 {
			fields = maps.Clone(fields)
			applyIfEmpty(fields, p.IfEmpty[i], cur.Fields)
		}
		records[i] = Record{ID: cur.ID, Fields: fields}
		if _, hasKey := fields[p.Key]; len(fields) > 1 || !hasKey && len(fields) > 0 {
			send = append(send, i)
		}
	}
	return records, send, nil
}

// upsertNotes completes the outcome of an upsert's write: a record found
// by the read and left unchanged keeps the ID found, and a record the
// provider created where the read found one, or updated where it found
// none (someone wrote or deleted it in between), is noted in the
// session's log with the rules that were applied.
func (s *session) upsertNotes(p *plan, records []Record, out *outcome) {
	for i, r := range out.Results {
		switch {
		case r.Unchanged:
			out.Results[i].ID = records[i].ID
		case r.Err != nil:
		case r.Created && records[i].ID != "":
			s.notes = append(s.notes, fmt.Sprintf("%s: found by key before the write, then created by it (deleted in between): the update rules were applied", recordName(p, i)))
		case !r.Created && records[i].ID == "":
			s.notes = append(s.notes, fmt.Sprintf("%s: not found by key before the write, then updated by it (record %s was created in between): the create rules were applied", recordName(p, i), r.ID))
		}
	}
}

// recordName names record i of a plan in a log line.
func recordName(p *plan, i int) string {
	if p.Batch {
		return fmt.Sprintf("record %d", i)
	}
	return "the record"
}
