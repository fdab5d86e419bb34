package writeback_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
)

// stage is a named string type, as an application declares its enums.
type stage string

// TestOneValueOneRequestInEveryMode sends the same records through sync,
// async, auto-batch and DryRun against both simulators: the provider
// receives byte-identical request bodies. A single write's body is
// compared with the others of its form; an auto-batched write goes out as
// a partial batch, and is compared with a sync partial batch of the same
// record and with its dry run.
func TestOneValueOneRequestInEveryMode(t *testing.T) {
	t.Parallel()
	when := time.Date(2026, 1, 2, 3, 4, 5, 678_900_000, time.FixedZone("CET", 3600))
	lead := "lead"
	cases := []struct {
		name   string
		target writeback.Target
		record func() writeback.Record
		// single and batch are the paths of the single and batch creates.
		single, batch string
		bodies        func(b *simBundle, path string) []string
		// want are fragments every body must hold.
		want []string
	}{
		{
			name:   "hubspot",
			target: hsTarget("deals"),
			record: func() writeback.Record {
				return writeback.Record{Fields: map[string]any{
					"amount":           int64(9007199254740993), // 2^53 + 1
					"closedate":        when,
					"dealstage":        stage("qualifiedtobuy"),
					"pipeline":         &lead,
					"dealname":         json.Number("12.50"),
					"hubspot_owner_id": uint64(math.MaxUint64),
				}}
			},
			single: "/crm/v3/objects/deals", batch: "/crm/v3/objects/deals/batch/create",
			bodies: func(b *simBundle, path string) []string { return b.hubBodies("POST", path) },
			want: []string{`"amount":"9007199254740993"`, `"closedate":"2026-01-02T02:04:05.678Z"`, `"dealstage":"qualifiedtobuy"`,
				`"pipeline":"lead"`, `"dealname":"12.50"`, `"hubspot_owner_id":"18446744073709551615"`},
		},
		{
			name:   "salesforce",
			target: sfcTarget("Account"),
			record: func() writeback.Record {
				return writeback.Record{Fields: map[string]any{
					"Name":          stage("Acme"),
					"AnnualRevenue": int64(9007199254740993),
					"Description":   when,
					"Type":          &lead,
					"Website":       (*string)(nil),
				}}
			},
			single: "/sobjects/Account", batch: "/composite/sobjects",
			bodies: func(b *simBundle, path string) []string { return b.sfBodies("POST", path) },
			want: []string{`"AnnualRevenue":9007199254740993`, `"Description":"2026-01-02T02:04:05.678Z"`, `"Name":"Acme"`,
				`"Type":"lead"`, `"Website":null`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := simSetup(t)
			ctx := t.Context()
			startWriter(t, b.w)
			wait := func(id string) *writeback.Operation {
				t.Helper()
				op := waitOpReal(t, b.w, id)
				return op
			}

			// Single writes: sync, async, dry run.
			_, err := b.w.Create(ctx, tc.target, tc.record(), nil)
			require.NoError(t, err)
			res, err := b.w.Create(ctx, tc.target, tc.record(), async)
			require.NoError(t, err)
			op := wait(res.OperationID)
			require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
			dry, err := b.w.DryRun(ctx, tc.target, writeback.WriteTypeCreate, []writeback.Record{tc.record()}, nil)
			require.NoError(t, err)
			single := tc.bodies(b, tc.single)
			single = single[:2] // the batch path contains the single path on HubSpot
			require.Len(t, dry.HTTP, 1)
			single = append(single, string(dry.HTTP[0].Body))
			for _, body := range single {
				require.Equal(t, single[0], body, "single creates differ between sync, async and dry run")
			}

			// Batches of one, partial: sync, auto-batch, dry run of the
			// auto-batched write.
			partial := &writeback.WriteOpts{BatchPolicy: writeback.BatchPartial}
			_, err = b.w.Batch(ctx, tc.target, writeback.WriteTypeCreate, []writeback.Record{tc.record()}, partial)
			require.NoError(t, err)
			res, err = b.w.Create(ctx, tc.target, tc.record(), autoBatch(time.Second))
			require.NoError(t, err)
			op = wait(res.OperationID)
			require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
			dry, err = b.w.DryRun(ctx, tc.target, writeback.WriteTypeCreate, []writeback.Record{tc.record()}, autoBatch(time.Second))
			require.NoError(t, err)
			batch := tc.bodies(b, tc.batch)
			require.Len(t, batch, 2)
			require.Len(t, dry.HTTP, 1)
			batch = append(batch, string(dry.HTTP[0].Body))
			for _, body := range batch {
				require.Equal(t, batch[0], body, "batches differ between sync, auto-batch and dry run")
			}
			for _, frag := range tc.want {
				require.Contains(t, single[0], frag)
				require.Contains(t, batch[0], frag)
			}
		})
	}
}

// TestValuesEncodingJSONRefusesAreRefused checks that a value
// encoding/json cannot encode, or a string that is not valid UTF-8, is
// refused at once in every mode with a ValidationError naming the field,
// and nothing is stored or sent.
func TestValuesEncodingJSONRefusesAreRefused(t *testing.T) {
	t.Parallel()
	type nested struct{ Bad string }
	bad := map[string]struct {
		value any
		field string
	}{
		"channel":      {make(chan int), "record.fields.x"},
		"function":     {func() {}, "record.fields.x"},
		"complex":      {complex(1, 2), "record.fields.x"},
		"NaN":          {math.NaN(), "record.fields.x"},
		"infinity":     {math.Inf(1), "record.fields.x"},
		"bad utf-8":    {"caf\xe9", "record.fields.x"},
		"in a list":    {[]any{"ok", "\xff"}, "record.fields.x[1]"},
		"in a struct":  {nested{Bad: "\xff"}, "record.fields.x.Bad"},
		"bad number":   {json.Number("12abc"), "record.fields.x"},
		"self-nesting": {selfNesting(), "record.fields.x"},
	}
	for name, tc := range bad {
		for _, opts := range []*writeback.WriteOpts{nil, async, autoBatch(time.Minute)} {
			b := setup(t)
			_, err := b.w.Create(t.Context(), crmTarget("companies"), writeback.Record{Fields: map[string]any{"x": tc.value}}, opts)
			var ve *writeback.ValidationError
			require.True(t, errors.As(err, &ve), "%s: want a ValidationError, got %v", name, err)
			require.ErrorIs(t, err, writeback.ErrInvalidRecord, name)
			require.True(t, strings.HasPrefix(ve.Field, tc.field), "%s: field %q", name, ve.Field)
			require.Empty(t, b.hub.Calls())
			require.Empty(t, b.operations(t, b.crm))
		}
	}
}

func selfNesting() map[string]any {
	m := map[string]any{}
	m["self"] = m
	return m
}

// TestNormalisedValuesReachTheProvider checks the forms values take on
// their way to an adapter, the same in sync and async mode.
func TestNormalisedValuesReachTheProvider(t *testing.T) {
	t.Parallel()
	type point struct {
		X int `json:"x"`
	}
	n := 7
	in := map[string]any{
		"int":     9007199254740993,
		"int8":    int8(-8),
		"float":   0.1,
		"float32": float32(0.1),
		"named":   stage("s"),
		"ptr":     &n,
		"nilptr":  (*int)(nil),
		"time":    time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC),
		"list":    []string{"a", "b"},
		"struct":  point{X: 1},
		"bytes":   []byte("hi"),
		"map":     map[string]int{"k": 1},
	}
	want := map[string]any{
		"int":     json.Number("9007199254740993"),
		"int8":    json.Number("-8"),
		"float":   json.Number("0.1"),
		"float32": json.Number("0.1"),
		"named":   "s",
		"ptr":     json.Number("7"),
		"nilptr":  nil,
		"time":    "2026-05-06T07:08:09.000Z",
		"list":    []any{"a", "b"},
		"struct":  map[string]any{"x": json.Number("1")},
		"bytes":   "aGk=",
		"map":     map[string]any{"k": json.Number("1")},
	}
	b := setup(t)
	ctx := t.Context()
	_, err := b.w.Create(ctx, crmTarget("companies"), writeback.Record{Fields: in}, nil)
	require.NoError(t, err)
	require.NoError(t, b.w.Start(ctx))
	defer func() { require.NoError(t, b.w.Stop(context.WithoutCancel(ctx))) }()
	res, err := b.w.Create(ctx, crmTarget("companies"), writeback.Record{Fields: in}, async)
	require.NoError(t, err)
	waitOpReal(t, b.w, res.OperationID)
	writes := b.hub.Writes()
	require.Len(t, writes, 2)
	require.Equal(t, want, writes[0].Records[0].Fields, "sync")
	require.Equal(t, want, writes[1].Records[0].Fields, "async")
}
