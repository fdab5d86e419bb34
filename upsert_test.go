package writeback_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

// upsertManifest is testManifest with email as the contacts' upsert key.
var upsertManifest = strings.Replace(testManifest, "        - objectName: contacts\n          inheritMapping: true\n",
	"        - objectName: contacts\n          inheritMapping: true\n          upsertKey: email\n", 1)

// upsertSetup is setup with upsertManifest and HubSpot-like and
// Salesforce-like fakes that can upsert. In the installation, contacts'
// customSource (written to myCustomSource) defaults to "myApp" and is
// written on create only, and phone (mobilephone) on update only if
// empty.
func upsertSetup(t *testing.T, opts ...option) (*bundle, *providertest.Fake) {
	hub := providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100, Delete: true, Associations: true, IfEmpty: true, AtomicBatchUpdate: true, Upsert: true})
	sf := providertest.NewFake("salesforce", writeback.Capabilities{MaxBatchSize: 100, Headers: true, IfEmpty: true, AtomicBatchUpdate: true, Upsert: true})
	b := setup(t, append([]option{withManifest(upsertManifest), withProviders(hub, sf)}, opts...)...)
	return b, hub
}

func TestUpsertAppliesTheRulesOfWhatItWillDo(t *testing.T) {
	t.Parallel()
	b, hub := upsertSetup(t)
	ctx := t.Context()
	existing := hub.Seed("contacts", map[string]any{"email": "old@x.com", "mobilephone": "111", "myCustomSource": "crm"})

	res, err := b.w.Upsert(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "new@x.com", "phone": "222"}}, nil)
	require.NoError(t, err)
	created := res.Records[0]
	require.True(t, created.Created, "no record had the key: created")
	require.NotEmpty(t, created.ID)
	rec, _ := hub.Record("contacts", created.ID)
	require.Equal(t, map[string]any{"email": "new@x.com", "mobilephone": "222", "myCustomSource": "myApp"}, rec,
		"a create: the default is written on create")

	res, err = b.w.Upsert(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{
		"email": "old@x.com", "phone": "333", "customSource": "app", "region": "EU"}}, nil)
	require.NoError(t, err)
	require.False(t, res.Records[0].Created, "a record had the key: updated")
	require.Equal(t, existing, res.Records[0].ID)
	rec, _ = hub.Record("contacts", existing)
	require.Equal(t, map[string]any{"email": "old@x.com", "mobilephone": "111", "myCustomSource": "crm"}, rec,
		"an update: customSource is never written on update, phone only if empty")
	require.Equal(t, 1, hub.Count("contacts")-1, "no duplicate")

	var methods []string
	for _, c := range hub.Calls() {
		methods = append(methods, c.Method)
	}
	require.Equal(t, []string{"ReadByKey", "Write", "ReadByKey"}, methods, "the second upsert had nothing but its key to write: unchanged, not sent")
	require.True(t, res.Records[0].Unchanged)
	write := hub.Writes()[0]
	require.Equal(t, writeback.WriteTypeUpsert, write.Type)
	require.Equal(t, "email", write.Key)
	require.Empty(t, write.Records[0].ID)
}

func TestUpsertBatchReadsOnceAndSaysWhatItDid(t *testing.T) {
	t.Parallel()
	for _, policy := range []writeback.BatchPolicy{writeback.BatchAllOrNothing, writeback.BatchPartial} {
		b, hub := upsertSetup(t)
		ctx := t.Context()
		a := hub.Seed("contacts", map[string]any{"email": "a@x.com"})
		c := hub.Seed("contacts", map[string]any{"email": "c@x.com", "mobilephone": "9"})
		res, err := b.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeUpsert, []writeback.Record{
			{Fields: map[string]any{"email": "a@x.com", "phone": "1"}},
			{Fields: map[string]any{"email": "b@x.com", "phone": "2"}},
			{Fields: map[string]any{"email": "c@x.com", "phone": "3", "customSource": "s"}},
		}, &writeback.WriteOpts{BatchPolicy: policy})
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, res.Status)
		require.Equal(t, a, res.Records[0].ID)
		require.False(t, res.Records[0].Created)
		require.True(t, res.Records[1].Created)
		require.Equal(t, c, res.Records[2].ID)
		require.True(t, res.Records[2].Unchanged, "phone is set and customSource is create-only: nothing to write")
		calls := hub.Calls()
		require.Len(t, calls, 2, "one read by key, one write")
		require.Equal(t, []string{"a@x.com", "b@x.com", "c@x.com"}, calls[0].Read.IDs)
		require.Equal(t, []string{"mobilephone"}, calls[0].Read.Fields)
		require.Len(t, calls[1].Write.Records, 2)
		require.Equal(t, map[string]any{"email": "a@x.com", "mobilephone": "1"}, calls[1].Write.Records[0].Fields)
		require.Equal(t, map[string]any{"email": "b@x.com", "mobilephone": "2", "myCustomSource": "myApp"}, calls[1].Write.Records[1].Fields)
	}
}

func TestUpsertBadInputSendsAndStoresNothing(t *testing.T) {
	t.Parallel()
	b, hub := upsertSetup(t)
	ctx := t.Context()
	rec := func(f map[string]any) writeback.Record { return writeback.Record{Fields: f} }
	cases := []struct {
		name  string
		do    func() error
		want  error
		field string
	}{
		{"no key for the object", func() error {
			_, err := b.w.Upsert(ctx, crmTarget("companies"), rec(map[string]any{"name": "A"}), nil)
			return err
		}, writeback.ErrUpsertKey, "upsertKey"},
		{"no key value", func() error {
			_, err := b.w.Upsert(ctx, crmTarget("contacts"), rec(map[string]any{"phone": "1"}), nil)
			return err
		}, writeback.ErrUpsertKey, "record.fields.email"},
		{"empty key value", func() error {
			_, err := b.w.Upsert(ctx, crmTarget("contacts"), rec(map[string]any{"email": " "}), async)
			return err
		}, writeback.ErrUpsertKey, "record.fields.email"},
		{"key field unmapped", func() error {
			_, err := b.w.Upsert(ctx, crmTarget("contacts"), rec(map[string]any{"region": "EU"}), &writeback.WriteOpts{UpsertKey: "region"})
			return err
		}, writeback.ErrUpsertKey, "upsertKey"},
		{"key on a create", func() error {
			_, err := b.w.Create(ctx, crmTarget("contacts"), rec(map[string]any{"email": "a@x.com"}), &writeback.WriteOpts{UpsertKey: "email"})
			return err
		}, writeback.ErrInvalidOptions, "upsertKey"},
		{"an id", func() error {
			_, err := b.w.Upsert(ctx, crmTarget("contacts"), writeback.Record{ID: "1", Fields: map[string]any{"email": "a@x.com"}}, nil)
			return err
		}, writeback.ErrInvalidRecord, "record.id"},
		{"a key value twice in a batch", func() error {
			_, err := b.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeUpsert, []writeback.Record{
				rec(map[string]any{"email": "a@x.com"}), rec(map[string]any{"email": "a@x.com"})}, async)
			return err
		}, writeback.ErrInvalidRecord, "batch[1].fields.email"},
	}
	for _, tc := range cases {
		err := tc.do()
		var ve *writeback.ValidationError
		require.ErrorAs(t, err, &ve, tc.name)
		require.ErrorIs(t, err, tc.want, tc.name)
		require.Equal(t, tc.field, ve.Field, tc.name)
	}
	require.Empty(t, hub.Calls(), "nothing sent")
	require.Empty(t, b.operations(t, b.crm), "nothing stored")

	plain := setup(t, withManifest(upsertManifest))
	_, err := plain.w.Upsert(ctx, crmTarget("contacts"), rec(map[string]any{"email": "a@x.com"}), nil)
	require.ErrorIs(t, err, writeback.ErrUnsupported, "a provider that cannot upsert")

	partial := providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100, IfEmpty: true, Upsert: true})
	nonAtomic := setup(t, withManifest(upsertManifest), withProviders(partial, providertest.NewFake("salesforce", writeback.Capabilities{})))
	_, err = nonAtomic.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeUpsert, []writeback.Record{rec(map[string]any{"email": "a@x.com"})}, nil)
	require.ErrorIs(t, err, writeback.ErrUnsupported, "an all-or-nothing batch upsert where it cannot be atomic")
	_, err = nonAtomic.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeUpsert, []writeback.Record{rec(map[string]any{"email": "a@x.com"})},
		&writeback.WriteOpts{BatchPolicy: writeback.BatchPartial})
	require.NoError(t, err)
}

func TestUpsertOfAKeySeveralRecordsShareWritesNothing(t *testing.T) {
	t.Parallel()
	b, hub := upsertSetup(t)
	hub.Seed("contacts", map[string]any{"email": "twin@x.com"})
	hub.Seed("contacts", map[string]any{"email": "twin@x.com"})
	res, err := b.w.Upsert(t.Context(), crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "twin@x.com", "phone": "1"}}, nil)
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr)
	require.Equal(t, writeback.ClassConflict, perr.Class)
	require.Equal(t, writeback.OperationFailure, res.Status)
	require.Empty(t, hub.Writes())
}

// racer is a Fake on which a record with the key appears right after each
// read by key, as if another process created it in between.
type racer struct {
	*providertest.Fake
	appear map[string]any
}

func (r *racer) ReadByKey(ctx context.Context, req *writeback.ReadRequest) (map[string]writeback.KeyedRecord, error) {
	out, err := r.Fake.ReadByKey(ctx, req)
	r.Seed(req.Object, r.appear)
	return out, err
}

func TestUpsertRacedByACreateUpdatesAndSaysSo(t *testing.T) {
	t.Parallel()
	hub := &racer{Fake: providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100, IfEmpty: true, Upsert: true}),
		appear: map[string]any{"email": "race@x.com", "myCustomSource": "crm"}}
	b := setup(t, withManifest(upsertManifest), withProviders(hub, providertest.NewFake("salesforce", writeback.Capabilities{})))
	res, err := b.w.Upsert(t.Context(), crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "race@x.com"}}, nil)
	require.NoError(t, err)
	require.False(t, res.Records[0].Created, "the provider found the record by key: no duplicate")
	require.Equal(t, 1, hub.Count("contacts"))
	rec, _ := hub.Record("contacts", res.Records[0].ID)
	require.Equal(t, "myApp", rec["myCustomSource"], "the create's rules were applied, as the read saw no record")
	op, err := b.w.Operation(t.Context(), res.OperationID)
	require.NoError(t, err)
	var logs []string
	for _, l := range op.Logs {
		logs = append(logs, l.Message)
	}
	require.Contains(t, strings.Join(logs, "\n"), "not found by key before the write, then updated by it")
}

func TestUpsertAsyncAndDryRun(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b, hub := upsertSetup(t)
		startWriter(t, b.w)
		ctx := t.Context()
		existing := hub.Seed("contacts", map[string]any{"email": "a@x.com"})
		recs := []writeback.Record{
			{Fields: map[string]any{"email": "a@x.com", "phone": "1"}},
			{Fields: map[string]any{"email": "b@x.com"}},
		}
		dr, err := b.w.DryRun(ctx, crmTarget("contacts"), writeback.WriteTypeUpsert, recs, nil)
		require.NoError(t, err)
		require.Equal(t, "email", dr.Request.Key)
		require.Equal(t, []writeback.Record{
			{Fields: map[string]any{"email": "a@x.com", "mobilephone": "1"}},
			{Fields: map[string]any{"email": "b@x.com", "myCustomSource": "myApp"}},
		}, dr.Request.Records)
		require.Empty(t, hub.Writes())

		res, err := b.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeUpsert, recs, async)
		require.NoError(t, err)
		op := waitOp(t, b.w, res.OperationID)
		require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
		require.Equal(t, existing, op.Results[0].ID)
		require.False(t, op.Results[0].Created)
		require.True(t, op.Results[1].Created)
		require.Equal(t, dr.Request.Records, hub.Writes()[0].Records, "the request is the dry run's")
	})
}

func TestUpsertOnTheHubSpotSimulator(t *testing.T) {
	t.Parallel()
	b := simSetup(t)
	ctx := t.Context()
	existing := b.hub.Seed("contacts", map[string]string{"email": "old@example.com", "phone": "111"})

	res, err := b.w.Batch(ctx, hsTarget("contacts"), writeback.WriteTypeUpsert, []writeback.Record{
		{Fields: map[string]any{"email": "old@example.com", "phone": "222", "lifecyclestage": "lead", "firstname": "Old"}},
		{Fields: map[string]any{"email": "new@example.com", "phone": "333", "lifecyclestage": "lead"}},
	}, &writeback.WriteOpts{BatchPolicy: writeback.BatchPartial})
	require.NoError(t, err)
	require.Equal(t, existing, res.Records[0].ID)
	require.False(t, res.Records[0].Created)
	require.True(t, res.Records[1].Created)
	old, _ := b.hub.Record("contacts", existing)
	require.Equal(t, "111", old["phone"], "ifEmpty on update: phone was set")
	require.Empty(t, old["lifecyclestage"], "never on update")
	require.Equal(t, "Old", old["firstname"])
	fresh, _ := b.hub.Record("contacts", res.Records[1].ID)
	require.Equal(t, "333", fresh["phone"])
	require.Equal(t, "lead", fresh["lifecyclestage"], "written on create")
	require.Len(t, b.hub.CallsTo("POST", "/batch/read"), 1)
	require.Len(t, b.hub.CallsTo("POST", "/batch/upsert"), 1)
	require.Equal(t, 2, b.hub.CallCount(), "one read, one write")

	_, err = b.w.Batch(ctx, hsTarget("contacts"), writeback.WriteTypeUpsert, []writeback.Record{{Fields: map[string]any{"email": "x@example.com"}}}, nil)
	require.ErrorIs(t, err, writeback.ErrUnsupported, "HubSpot upserts partially: an all-or-nothing batch is refused")

	res, err = b.w.Upsert(ctx, hsTarget("contacts"), writeback.Record{Fields: map[string]any{"firstname": "Ann"}},
		&writeback.WriteOpts{UpsertKey: "firstname"})
	var perr *writeback.ProviderError
	require.ErrorAs(t, err, &perr, "firstname has no unique values")
	require.Equal(t, writeback.ClassInvalid, perr.Class)
	require.Equal(t, writeback.OperationFailure, res.Status)
	require.Len(t, b.hub.CallsTo("POST", "/batch/upsert"), 1, "nothing written")
}

func TestUpsertOnTheSalesforceSimulator(t *testing.T) {
	t.Parallel()
	b := simSetup(t)
	ctx := t.Context()
	existing := b.sf.Seed("Contact", map[string]any{"LastName": "Old", "Ext_Id__c": "E-1", "MobilePhone": "111"})

	res, err := b.w.Batch(ctx, sfcTarget("Contact"), writeback.WriteTypeUpsert, []writeback.Record{
		{Fields: map[string]any{"Ext_Id__c": "E-1", "MobilePhone": "222", "LeadSource": "Web", "Title": "CTO"}},
		{Fields: map[string]any{"Ext_Id__c": "E-2", "LastName": "New", "MobilePhone": "333", "LeadSource": "Web"}},
	}, nil)
	require.NoError(t, err)
	require.Equal(t, existing, res.Records[0].ID)
	require.False(t, res.Records[0].Created)
	require.True(t, res.Records[1].Created)
	old, _ := b.sf.Record("Contact", existing)
	require.Equal(t, "111", old["MobilePhone"], "ifEmpty on update")
	require.Nil(t, old["LeadSource"], "never on update")
	require.Equal(t, "CTO", old["Title"])
	fresh, _ := b.sf.Record("Contact", res.Records[1].ID)
	require.Equal(t, "Web", fresh["LeadSource"], "written on create")
	require.Len(t, b.sf.CallsTo("GET", "/query"), 1)
	require.Len(t, b.sf.CallsTo("PATCH", "/composite/sobjects/Contact/Ext_Id__c"), 1)

	res, err = b.w.Upsert(ctx, sfcTarget("Contact"), writeback.Record{Fields: map[string]any{"Ext_Id__c": "E-2", "Title": "VP"}}, nil)
	require.NoError(t, err)
	require.False(t, res.Records[0].Created)
	require.Len(t, b.sf.CallsTo("PATCH", "/sobjects/Contact/Ext_Id__c/E-2"), 1)

	_, err = b.w.Upsert(ctx, sfcTarget("Contact"), writeback.Record{Fields: map[string]any{"LastName": "X"}}, nil)
	require.ErrorIs(t, err, writeback.ErrUpsertKey, "no key value")
}

func TestAutoBatchedUpsertsReadOnceAndWriteOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b, hub := upsertSetup(t)
		startWriter(t, b.w)
		ctx := t.Context()
		existing := hub.Seed("contacts", map[string]any{"email": "a@x.com", "mobilephone": "1"})
		var ops, members []string
		for _, r := range []writeback.Record{
			{Fields: map[string]any{"email": "a@x.com", "phone": "2", "customSource": "s"}}, // found: nothing left to write
			{Fields: map[string]any{"email": "b@x.com", "phone": "3"}},
			{Fields: map[string]any{"email": "c@x.com"}},
			{Fields: map[string]any{"email": "b@x.com", "phone": "4"}}, // the same new key again: after the first
		} {
			res, err := b.w.Upsert(ctx, crmTarget("contacts"), r, autoBatch(time.Second))
			require.NoError(t, err)
			ops, members = append(ops, res.OperationID), append(members, res.MemberID)
		}
		_, err := b.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "d@x.com"}}, autoBatch(time.Second))
		require.NoError(t, err)
		op := waitOp(t, b.w, requireSame(t, ops))
		require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
		require.True(t, op.Results[0].Unchanged)
		require.Equal(t, existing, op.Results[0].ID)
		require.True(t, op.Results[1].Created)
		require.True(t, op.Results[2].Created)
		require.False(t, op.Results[3].Created, "the second upsert of b@x.com updates the record the first created")
		require.Equal(t, op.Results[1].ID, op.Results[3].ID)
		rec, _ := hub.Record("contacts", op.Results[1].ID)
		require.Equal(t, "3", rec["mobilephone"], "ifEmpty: the second upsert found phone set")

		var methods []string
		for _, c := range hub.Calls() {
			if c.Write != nil && c.Write.Type != writeback.WriteTypeUpsert {
				continue // the create's group
			}
			methods = append(methods, c.Method)
		}
		require.Equal(t, []string{"ReadByKey", "Write", "ReadByKey"}, methods,
			"one read and one write for the group; the repeated key is read again and left unchanged")
		m := waitOp(t, b.w, members[3])
		require.True(t, m.Results[0].Unchanged)
	})
}

// dropper is a Fake whose next create answer is lost: after writing it
// (written true) or before (false), the call fails with an unknown
// outcome, as a connection dropped after sending does.
type dropper struct {
	*providertest.Fake
	drops   atomic.Int32
	written bool
}

func (d *dropper) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	if req.Type != writeback.WriteTypeCreate || d.drops.Add(-1) < 0 {
		return d.Fake.Write(ctx, req)
	}
	if d.written {
		if _, err := d.Fake.Write(ctx, req); err != nil {
			return nil, err
		}
	}
	return nil, &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnknownOutcome, RecordIndex: writeback.NoRecord,
		Message: "the connection dropped after the request was sent"}
}

func TestCreateWithUnknownOutcomeIsResolvedByKey(t *testing.T) {
	t.Parallel()
	for _, written := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			hub := &dropper{Fake: providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100, IfEmpty: true, Upsert: true}), written: written}
			b := setup(t, withManifest(upsertManifest), withProviders(hub, providertest.NewFake("salesforce", writeback.Capabilities{})))
			startWriter(t, b.w)
			ctx := t.Context()
			logs := func(id string) string {
				op, err := b.w.Operation(ctx, id)
				require.NoError(t, err)
				var out []string
				for _, l := range op.Logs {
					out = append(out, l.Message)
				}
				return strings.Join(out, "\n")
			}

			hub.drops.Store(1)
			res, err := b.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "sync@x.com"}}, nil)
			require.NoError(t, err, "written %v", written)
			require.NotEmpty(t, res.Records[0].ID)
			rec, ok := hub.Record("contacts", res.Records[0].ID)
			require.True(t, ok)
			require.Equal(t, "sync@x.com", rec["email"])
			require.Equal(t, 1, hub.Count("contacts"), "no duplicate")
			want := "sent again"
			if written {
				want = "found by email"
			}
			require.Contains(t, logs(res.OperationID), want)

			hub.drops.Store(1)
			res, err = b.w.Batch(ctx, crmTarget("contacts"), writeback.WriteTypeCreate, []writeback.Record{
				{Fields: map[string]any{"email": "a@x.com"}}, {Fields: map[string]any{"email": "b@x.com"}},
			}, async)
			require.NoError(t, err)
			op := waitOp(t, b.w, res.OperationID)
			require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
			require.Equal(t, 3, hub.Count("contacts"), "no duplicate")
			require.Contains(t, logs(res.OperationID), want)

			hub.drops.Store(1)
			var ops []string
			for _, e := range []string{"g1@x.com", "g2@x.com"} {
				res, err := b.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": e}}, autoBatch(time.Second))
				require.NoError(t, err)
				ops = append(ops, res.OperationID)
			}
			op = waitOp(t, b.w, requireSame(t, ops))
			require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
			require.Zero(t, op.FailureCount())
			require.Equal(t, 5, hub.Count("contacts"), "no duplicate")

			plain := setup(t, withProviders(hub, providertest.NewFake("salesforce", writeback.Capabilities{})))
			hub.drops.Store(1)
			_, err = plain.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": "nokey@x.com"}}, nil)
			var perr *writeback.ProviderError
			require.ErrorAs(t, err, &perr, "without a key the outcome stays unknown")
			require.Equal(t, writeback.ClassUnknownOutcome, perr.Class)
		})
	}
}

func TestInterruptedAutoBatchCreateIsResolvedByKey(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := memstore.New()
		hub := providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100, IfEmpty: true, Upsert: true})
		b := setup(t, withStore(st), withManifest(upsertManifest), withProviders(hub, providertest.NewFake("salesforce", writeback.Capabilities{})))
		var ops []string
		for _, e := range []string{"g1@x.com", "g2@x.com", "g3@x.com"} {
			res, err := b.w.Create(ctx, crmTarget("contacts"), writeback.Record{Fields: map[string]any{"email": e}}, autoBatch(time.Second))
			require.NoError(t, err)
			ops = append(ops, res.OperationID)
		}
		id := requireSame(t, ops)
		// A process died while the group's first two records were sent:
		// the first was created, the second never arrived.
		written := hub.Seed("contacts", map[string]any{"email": "g1@x.com"})
		rec, err := st.Operation(ctx, id)
		require.NoError(t, err)
		var stored map[string]any
		require.NoError(t, json.Unmarshal(rec.Data, &stored))
		stored["autoBatchGroup"] = map[string]any{"inFlight": []int{0, 1}}
		rec.Data, err = json.Marshal(stored)
		require.NoError(t, err)
		require.NoError(t, st.UpdateOperation(ctx, rec))

		startWriter(t, b.w)
		op := waitOp(t, b.w, id)
		require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
		require.Zero(t, op.FailureCount(), "no unknown outcome")
		require.Equal(t, written, op.Results[0].ID, "found by key")
		require.NotEmpty(t, op.Results[1].ID)
		require.Equal(t, 3, hub.Count("contacts"), "no duplicate")
		var logs []string
		for _, l := range op.Logs {
			logs = append(logs, l.Message)
		}
		require.Contains(t, strings.Join(logs, "\n"), `found by email "g1@x.com"`)
		require.Contains(t, strings.Join(logs, "\n"), "1 records an interrupted attempt may have created were not found by email: sent again")
	})
}

// keyedContacts is asyncContacts with email as the contacts' upsert key.
func keyedContacts(p writeback.Provider) option {
	return func(s *writerSpec) {
		asyncContacts(p)(s)
		s.manifest = strings.Replace(asyncManifest, "        - objectName: contacts\n", "        - objectName: contacts\n          upsertKey: email\n", 1)
	}
}

// TestInterruptedCreateIsLookedUpByKey: a process died while an async
// create may have been sent (sent and written, or recorded as about to be
// sent and never sent). The next Writer looks the record up by its key:
// found, the create succeeded; not found, it is sent again, once.
func TestInterruptedCreateIsLookedUpByKey(t *testing.T) {
	t.Parallel()
	for _, sent := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			ctx := t.Context()
			st := &dyingStore{Interface: memstore.New(), dieOnRecord: !sent}
			fake := providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100, IfEmpty: true, Upsert: true})
			fake.FailCalls(func(*writeback.ProviderRequest) error {
				if !sent && st.dead.Load() {
					return errDead // the call never left the dead process
				}
				if sent {
					st.die() // while the call is in flight
				}
				return nil
			})
			e1 := setup(t, keyedContacts(fake), withStore(st), withLease(time.Minute))
			res, err := e1.w.Create(ctx, contacts, contact("ada@example.com"), async)
			require.NoError(t, err)
			require.NoError(t, e1.w.Start(ctx))
			synctest.Wait()
			e1.stop(t)
			fake.FailCalls(nil)

			e2 := setup(t, keyedContacts(fake), withStore(st.Interface))
			require.NoError(t, e2.w.Start(ctx))
			defer e2.stop(t)
			op, err := e2.w.Wait(ctx, res.OperationID)
			require.NoError(t, err)
			require.Equal(t, writeback.OperationSuccess, op.Status, "sent %v: %s", sent, op.Summary)
			require.Equal(t, 1, fake.Count("contacts"), "no duplicate")
			require.NotEmpty(t, op.Results[0].ID)
			if sent {
				require.True(t, logged(op, `found by email "ada@example.com"`))
			} else {
				require.True(t, logged(op, "sent again"))
			}
		})
	}
}
