package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// TestBadInput checks that every kind of bad input gets its typed error and
// that nothing reaches a provider or the store.
func TestBadInput(t *testing.T) {
	t.Parallel()
	fields := map[string]any{"email": "ada@example.com"}
	rec := writeback.Record{Fields: fields}
	upd := writeback.Record{ID: "1001", Fields: fields}
	async := &writeback.WriteOpts{Mode: writeback.ModeAsync}
	sfCreate := func(hs ...writeback.Header) func(context.Context, *writeback.Writer) error {
		return func(ctx context.Context, w *writeback.Writer) error {
			_, err := w.Create(ctx, sfTarget(), writeback.Record{Fields: map[string]any{"LastName": "King"}}, &writeback.WriteOpts{Headers: hs})
			return err
		}
	}
	create := func(tg writeback.Target, r writeback.Record, o *writeback.WriteOpts) func(context.Context, *writeback.Writer) error {
		return func(ctx context.Context, w *writeback.Writer) error {
			_, err := w.Create(ctx, tg, r, o)
			return err
		}
	}
	update := func(tg writeback.Target, r writeback.Record, o *writeback.WriteOpts) func(context.Context, *writeback.Writer) error {
		return func(ctx context.Context, w *writeback.Writer) error {
			_, err := w.Update(ctx, tg, r, o)
			return err
		}
	}
	batch := func(tg writeback.Target, typ writeback.WriteType, rs []writeback.Record, o *writeback.WriteOpts) func(context.Context, *writeback.Writer) error {
		return func(ctx context.Context, w *writeback.Writer) error {
			_, err := w.Batch(ctx, tg, typ, rs, o)
			return err
		}
	}
	del := func(tg writeback.Target, id string, o *writeback.WriteOpts) func(context.Context, *writeback.Writer) error {
		return func(ctx context.Context, w *writeback.Writer) error {
			_, err := w.Delete(ctx, tg, id, o)
			return err
		}
	}
	many := func(n int) []writeback.Record {
		rs := make([]writeback.Record, n)
		for i := range rs {
			rs[i] = rec
		}
		return rs
	}
	assoc := func(a writeback.Association) writeback.Record {
		return writeback.Record{Fields: fields, Associations: []writeback.Association{a}}
	}
	okType := []writeback.AssociationType{{Category: "HUBSPOT_DEFINED", TypeID: 279}}

	cases := []struct {
		name  string
		call  func(context.Context, *writeback.Writer) error
		want  error
		field string
	}{
		{"unknown integration", create(writeback.Target{Integration: "nope", GroupRef: "cust-42", Object: "contacts"}, rec, nil), writeback.ErrUnknownIntegration, "integration"},
		{"empty integration", create(writeback.Target{GroupRef: "cust-42", Object: "contacts"}, rec, nil), writeback.ErrUnknownIntegration, "integration"},
		{"empty groupRef", create(writeback.Target{Integration: "crm", Object: "contacts"}, rec, nil), writeback.ErrUnknownInstallation, "groupRef"},
		{"unknown groupRef", create(writeback.Target{Integration: "crm", GroupRef: "cust-7", Object: "contacts"}, rec, nil), writeback.ErrUnknownInstallation, "groupRef"},
		{"unknown object", create(crmTarget("tickets"), rec, nil), writeback.ErrUnknownObject, "object"},
		{"empty object", create(crmTarget(""), rec, nil), writeback.ErrUnknownObject, "object"},
		{"object not enabled", create(crmTarget("deals"), rec, nil), writeback.ErrObjectNotEnabled, "object"},
		{"update without id", update(crmTarget("contacts"), rec, nil), writeback.ErrMissingID, "record.id"},
		{"update with blank id", update(crmTarget("contacts"), writeback.Record{ID: "  ", Fields: fields}, nil), writeback.ErrMissingID, "record.id"},
		{"update id with slash", update(crmTarget("contacts"), writeback.Record{ID: "1/2", Fields: fields}, nil), writeback.ErrInvalidRecord, "record.id"},
		{"delete without id", del(crmTarget("contacts"), "", nil), writeback.ErrMissingID, "record.id"},
		{"delete not enabled", del(crmTarget("companies"), "1001", nil), writeback.ErrDeletionDisabled, "object"},
		{"delete auto-batched", del(crmTarget("contacts"), "1001", &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Minute}}), writeback.ErrUnsupported, "autoBatch"},
		{"create with id", create(crmTarget("contacts"), upd, nil), writeback.ErrInvalidRecord, "record.id"},
		{"create with no fields", create(crmTarget("contacts"), writeback.Record{}, nil), writeback.ErrEmptyRecord, "record.fields"},
		{"update with no fields", update(crmTarget("contacts"), writeback.Record{ID: "1001"}, nil), writeback.ErrEmptyRecord, "record.fields"},
		{"empty field name", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{"": 1}}, nil), writeback.ErrInvalidRecord, "record.fields"},
		{"value not JSON", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{"name": make(chan int)}}, nil), writeback.ErrInvalidRecord, "record.fields.name"},
		{"value NaN", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{"score": math.NaN()}}, nil), writeback.ErrInvalidRecord, "record.fields.score"},
		{"batch of zero", batch(crmTarget("contacts"), writeback.WriteTypeCreate, nil, nil), writeback.ErrBatchSize, "batch"},
		{"batch of 101", batch(crmTarget("contacts"), writeback.WriteTypeCreate, many(101), nil), writeback.ErrBatchSize, "batch"},
		{"batch delete", batch(crmTarget("contacts"), writeback.WriteTypeDelete, []writeback.Record{{ID: "1"}}, nil), writeback.ErrUnsupported, "type"},
		{"batch unknown type", batch(crmTarget("contacts"), writeback.WriteType("merge"), many(1), nil), writeback.ErrInvalidOptions, "type"},
		{"batch duplicate ids", batch(crmTarget("contacts"), writeback.WriteTypeUpdate, []writeback.Record{upd, upd}, nil), writeback.ErrInvalidRecord, "batch[1].id"},
		{"batch update missing id", batch(crmTarget("contacts"), writeback.WriteTypeUpdate, []writeback.Record{upd, rec}, nil), writeback.ErrMissingID, "batch[1].id"},
		{"associations on salesforce", create(sfTarget(), writeback.Record{Fields: map[string]any{"LastName": "K"}, Associations: []writeback.Association{{To: "1", Types: okType}}}, nil), writeback.ErrUnsupported, "record.associations"},
		{"associations on update", update(crmTarget("contacts"), writeback.Record{ID: "1001", Fields: fields, Associations: []writeback.Association{{To: "1", Types: okType}}}, nil), writeback.ErrUnsupported, "record.associations"},
		{"association without target", create(crmTarget("contacts"), assoc(writeback.Association{Types: okType}), nil), writeback.ErrInvalidRecord, "record.associations[0].to"},
		{"association without types", create(crmTarget("contacts"), assoc(writeback.Association{To: "1"}), nil), writeback.ErrInvalidRecord, "record.associations[0].types"},
		{"association bad category", create(crmTarget("contacts"), assoc(writeback.Association{To: "1", Types: []writeback.AssociationType{{Category: "MINE", TypeID: 1}}}), nil), writeback.ErrInvalidRecord, "record.associations[0].types[0].associationCategory"},
		{"association bad type id", create(crmTarget("contacts"), assoc(writeback.Association{To: "1", Types: []writeback.AssociationType{{Category: "USER_DEFINED"}}}), nil), writeback.ErrInvalidRecord, "record.associations[0].types[0].associationTypeId"},
		{"headers on hubspot", create(crmTarget("contacts"), rec, &writeback.WriteOpts{Headers: []writeback.Header{{Key: "X-Trace", Value: "1"}}}), writeback.ErrUnsupported, "headers"},
		{"header authorization", sfCreate(writeback.Header{Key: "Authorization", Value: "Bearer x"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header cookie lower case", sfCreate(writeback.Header{Key: "cookie", Value: "a=b"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header host", sfCreate(writeback.Header{Key: "Host", Value: "evil.example"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header content-length", sfCreate(writeback.Header{Key: "Content-Length", Value: "0"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header content-type", sfCreate(writeback.Header{Key: "Content-Type", Value: "text/plain"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header transfer-encoding", sfCreate(writeback.Header{Key: "Transfer-Encoding", Value: "chunked"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header connection", sfCreate(writeback.Header{Key: "Connection", Value: "close"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header upgrade", sfCreate(writeback.Header{Key: "Sforce-Auto-Assign", Value: "FALSE"}, writeback.Header{Key: "Upgrade", Value: "h2c"}), writeback.ErrInvalidHeader, "headers[1].key"},
		{"header proxy-*", sfCreate(writeback.Header{Key: "Proxy-Anything", Value: "x"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header accept-encoding", sfCreate(writeback.Header{Key: "accept-encoding", Value: "gzip"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header value CRLF", sfCreate(writeback.Header{Key: "Sforce-Auto-Assign", Value: "FALSE\r\nX-Evil: 1"}), writeback.ErrInvalidHeader, "headers[0].value"},
		{"header value LF", sfCreate(writeback.Header{Key: "Sforce-Auto-Assign", Value: "FALSE\nX"}), writeback.ErrInvalidHeader, "headers[0].value"},
		{"header name with space", sfCreate(writeback.Header{Key: "Sforce Auto", Value: "x"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header empty name", sfCreate(writeback.Header{Key: "", Value: "x"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header name with colon", sfCreate(writeback.Header{Key: "X:Y", Value: "x"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"mode out of range", create(crmTarget("contacts"), rec, &writeback.WriteOpts{Mode: writeback.Mode(7)}), writeback.ErrInvalidOptions, "mode"},
		{"batch policy out of range", batch(crmTarget("contacts"), writeback.WriteTypeCreate, many(2), &writeback.WriteOpts{BatchPolicy: writeback.BatchPolicy(-1)}), writeback.ErrInvalidOptions, "batchPolicy"},
		{"batch policy on single write", create(crmTarget("contacts"), rec, &writeback.WriteOpts{BatchPolicy: writeback.BatchPartial}), writeback.ErrInvalidOptions, "batchPolicy"},
		{"retry deadline on sync", create(crmTarget("contacts"), rec, &writeback.WriteOpts{RetryDeadline: 2 * time.Hour}), writeback.ErrInvalidOptions, "retryDeadline"},
		{"retry deadline too short", create(crmTarget("contacts"), rec, &writeback.WriteOpts{Mode: writeback.ModeAsync, RetryDeadline: 59 * time.Second}), writeback.ErrInvalidOptions, "retryDeadline"},
		{"retry deadline too long", create(crmTarget("contacts"), rec, &writeback.WriteOpts{Mode: writeback.ModeAsync, RetryDeadline: 49 * time.Hour}), writeback.ErrInvalidOptions, "retryDeadline"},
		{"auto-batch on sync", create(crmTarget("contacts"), rec, &writeback.WriteOpts{AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Minute}}), writeback.ErrInvalidOptions, "autoBatch"},
		{"auto-batch delay zero", create(crmTarget("contacts"), rec, &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{}}), writeback.ErrInvalidOptions, "autoBatch.maxDelay"},
		{"auto-batch delay too long", create(crmTarget("contacts"), rec, &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: 25 * time.Hour}}), writeback.ErrInvalidOptions, "autoBatch.maxDelay"},
		{"auto-batch retry deadline too long", create(crmTarget("contacts"), rec, &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Minute, RetryDeadline: 100 * time.Hour}}), writeback.ErrInvalidOptions, "autoBatch.retryDeadline"},
		{"auto-batch on batch", batch(crmTarget("contacts"), writeback.WriteTypeCreate, many(2), &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Minute}}), writeback.ErrUnsupported, "autoBatch"},
		{"idempotency key too long", create(crmTarget("contacts"), rec, &writeback.WriteOpts{IdempotencyKey: strings.Repeat("k", 257)}), writeback.ErrInvalidOptions, "idempotencyKey"},
		{"idempotency key with a NUL byte", create(crmTarget("contacts"), rec, &writeback.WriteOpts{IdempotencyKey: "a\x00b"}), writeback.ErrInvalidOptions, "idempotencyKey"},
		{"idempotency key not UTF-8", create(crmTarget("contacts"), rec, &writeback.WriteOpts{IdempotencyKey: "caf\xe9"}), writeback.ErrInvalidOptions, "idempotencyKey"},
		{"async create with no fields", create(crmTarget("contacts"), writeback.Record{}, async), writeback.ErrEmptyRecord, "record.fields"},
		{"async update without id", update(crmTarget("contacts"), rec, async), writeback.ErrMissingID, "record.id"},
		// Limits: sizes, header count and size, method overrides, UTF-8.
		{"record too large", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{
			"a": strings.Repeat("x", 200<<10), "b": strings.Repeat("x", 200<<10), "c": strings.Repeat("x", 200<<10),
			"d": strings.Repeat("x", 200<<10), "e": strings.Repeat("x", 200<<10), "f": strings.Repeat("x", 200<<10)}}, nil), writeback.ErrTooLarge, "record.fields"},
		{"value too large", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{"notes": strings.Repeat("x", 300<<10)}}, async), writeback.ErrTooLarge, "record.fields.notes"},
		{"value too large once escaped", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{"notes": strings.Repeat("<", 50<<10)}}, nil), writeback.ErrTooLarge, "record.fields.notes"},
		{"too many headers", sfCreate(manyHeaders(51, 1)...), writeback.ErrTooLarge, "headers"},
		{"headers too large", sfCreate(manyHeaders(3, 3<<10)...), writeback.ErrTooLarge, "headers"},
		{"X-HTTP-Method-Override header", sfCreate(writeback.Header{Key: "X-HTTP-Method-Override", Value: "DELETE"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"X-HTTP-Method header", sfCreate(writeback.Header{Key: "x-http-method", Value: "DELETE"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"X-Method-Override header", sfCreate(writeback.Header{Key: "X-Method-Override", Value: "PUT"}), writeback.ErrInvalidHeader, "headers[0].key"},
		{"header value not UTF-8", sfCreate(writeback.Header{Key: "Sforce-Call-Options", Value: "client=\xff"}), writeback.ErrInvalidHeader, "headers[0].value"},
		{"field value not UTF-8", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{"name": "caf\xe9"}}, nil), writeback.ErrInvalidRecord, "record.fields.name"},
		{"field value not UTF-8 in a list", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{"tags": []string{"a", "\xff"}}}, async), writeback.ErrInvalidRecord, "record.fields.tags[1]"},
		{"field name not UTF-8", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{"n\xffme": "x"}}, nil), writeback.ErrInvalidRecord, "record.fields"},
		{"id not UTF-8", update(crmTarget("companies"), writeback.Record{ID: "10\xff", Fields: fields}, nil), writeback.ErrInvalidRecord, "record.id"},
		{"value encoding/json refuses", create(crmTarget("companies"), writeback.Record{Fields: map[string]any{"when": make(chan int)}}, nil), writeback.ErrInvalidRecord, "record.fields.when"},
	}
	require.GreaterOrEqual(t, len(cases), 40)
	t.Logf("%d bad write inputs", len(cases))

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			err := tc.call(t.Context(), b.w)
			require.Error(t, err)
			require.ErrorIs(t, err, tc.want)
			var ve *writeback.ValidationError
			require.True(t, errors.As(err, &ve), "want a *ValidationError, got %T: %v", err, err)
			require.Equal(t, tc.field, ve.Field, "error: %v", err)
			require.Empty(t, b.hub.Calls(), "the provider must receive nothing")
			require.Empty(t, b.sf.Calls(), "the provider must receive nothing")
			require.Empty(t, b.operations(t, b.crm), "nothing may be stored")
			require.Empty(t, b.operations(t, b.sfi), "nothing may be stored")
			_, queued, err := b.store.NextDue(t.Context())
			require.NoError(t, err)
			require.False(t, queued, "nothing may be queued")
		})
	}
}

// manyHeaders returns n allowed pass-through headers with values of size
// bytes.
func manyHeaders(n, size int) []writeback.Header {
	hs := make([]writeback.Header, n)
	for i := range hs {
		hs[i] = writeback.Header{Key: fmt.Sprintf("X-Custom-%d", i), Value: strings.Repeat("v", size)}
	}
	return hs
}

// TestBadSetupInput checks that bad installations and manifests get a
// typed error and store nothing: blank groupRefs or ones with control or
// bidirectional formatting characters, object names that are not plain
// names.
func TestBadSetupInput(t *testing.T) {
	t.Parallel()
	groupRefs := []string{" ", "\t", "a\u202eb", "\u2066x", "\u200fx", "a\x00b", "a\nb", "caf\xe9"}
	for _, g := range groupRefs {
		b := setup(t)
		_, err := b.w.CreateInstallation(t.Context(), &writeback.Installation{Integration: "crm", GroupRef: g})
		var ve *writeback.ValidationError
		require.True(t, errors.As(err, &ve), "groupRef %q: %v", g, err)
		require.ErrorIs(t, err, writeback.ErrInvalidInstallation)
		require.Equal(t, "groupRef", ve.Field)
		insts, err := b.w.Installations(t.Context(), "crm")
		require.NoError(t, err)
		require.Len(t, insts, 1, "nothing stored")
	}
	objectNames := []string{"../x", "contacts/1", "a.b", "con tacts", "contacts?x", "%2e%2e"}
	for _, name := range objectNames {
		_, err := writeback.ParseManifest([]byte("specVersion: 1.0.0\nintegrations:\n  - name: a\n    provider: hubspot\n    write:\n      objects:\n        - objectName: " + fmt.Sprintf("%q", name) + "\n"))
		var ve *writeback.ValidationError
		require.True(t, errors.As(err, &ve), "object name %q: %v", name, err)
		require.ErrorIs(t, err, writeback.ErrInvalidManifest)
		require.Equal(t, "integrations[0].write.objects[0].objectName", ve.Field)
	}
	t.Logf("%d bad setup inputs", len(groupRefs)+len(objectNames))
}
