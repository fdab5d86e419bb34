package writeback_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

// wholeBatchRejecter is a provider that, like a provider without
// per-record errors, fails a whole call with a 400 that names no record
// when any record in it is bad; good calls go to the Fake.
type wholeBatchRejecter struct {
	*providertest.Fake
	bad   func(writeback.Record) bool
	calls atomic.Int64
}

func (p *wholeBatchRejecter) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	p.calls.Add(1)
	for _, r := range req.Records {
		if p.bad(r) {
			return nil, &writeback.ProviderError{Provider: p.Name(), Class: writeback.ClassInvalid, StatusCode: 400,
				Code: "VALIDATION_ERROR", Message: "Property values were not valid", RecordIndex: writeback.NoRecord}
		}
	}
	return p.Fake.Write(ctx, req)
}

// isBad reports a company record whose name starts with "bad".
func isBad(r writeback.Record) bool {
	name, _ := r.Fields["name"].(string)
	return len(name) >= 3 && name[:3] == "bad"
}

// createMixed auto-batches n company creates, those at the bad positions
// named bad<i> and the others good<i>, and returns the group's ID.
func createMixed(t *testing.T, w *writeback.Writer, n int, bad []int) string {
	t.Helper()
	isBadAt := map[int]bool{}
	for _, i := range bad {
		isBadAt[i] = true
	}
	var ids []string
	for i := range n {
		name := fmt.Sprintf("good%d", i)
		if isBadAt[i] {
			name = fmt.Sprintf("bad%d", i)
		}
		res, err := w.Create(t.Context(), crmTarget("companies"), company(name), autoBatch(time.Second))
		require.NoError(t, err)
		ids = append(ids, res.OperationID)
	}
	return requireSame(t, ids)
}

// requirePoisonIsolated asserts that exactly the bad records failed, with
// ClassInvalid and their own index, and every other record was written once.
func requirePoisonIsolated(t *testing.T, fake *providertest.Fake, op *writeback.Operation, n int, bad []int) {
	t.Helper()
	require.Len(t, op.Results, n)
	isBadAt := map[int]bool{}
	for _, i := range bad {
		isBadAt[i] = true
	}
	for i, r := range op.Results {
		if isBadAt[i] {
			require.NotNil(t, r.Err, "record %d", i)
			require.Equal(t, writeback.ClassInvalid, r.Err.Class)
			require.Equal(t, i, r.Err.RecordIndex)
			require.Empty(t, r.ID)
			continue
		}
		require.Nil(t, r.Err, "record %d", i)
		rec, ok := fake.Record("companies", r.ID)
		require.True(t, ok)
		require.Equal(t, fmt.Sprintf("good%d", i), rec["name"])
	}
	require.Equal(t, n-len(bad), fake.Count("companies"), "every good record written exactly once")
	require.Len(t, op.SuccessfulRecordIDs, n-len(bad))
	if len(bad) < n {
		require.Equal(t, writeback.OperationSuccess, op.Status)
	} else {
		require.Equal(t, writeback.OperationFailure, op.Status)
	}
}

func allOf(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

var poisonCases = []struct {
	name string
	n    int
	bad  []int
	// maxCalls bounds the provider calls of a provider without per-record
	// errors: the failed batch, then ceil(log2 n) + 1 per bad record.
	maxCalls int
}{
	{"FirstOf100", 100, []int{0}, 1 + 8},
	{"MiddleOf100", 100, []int{37}, 1 + 8},
	{"LastOf100", 100, []int{99}, 1 + 8},
	// With several bad records, the search after the first tests both
	// halves of every failing set: at most 2*ceil(log2 n) more each.
	{"TwoOf100", 100, []int{12, 81}, 1 + 8 + 2*7},
	// At most two calls per record, after the first search and the
	// records it set aside.
	{"AllOf4", 4, []int{0, 1, 2, 3}, 1 + 2 + 1 + 2*4},
	{"AllOf100", 100, allOf(100), 1 + 7 + 1 + 2*100},
	{"NoneOf5", 5, nil, 1},
}

func TestAutoBatchPoisonRecordsPerRecordErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range poisonCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t)
				b.hub.FailRecords(func(_ *writeback.ProviderRequest, _ int, r writeback.Record) *writeback.ProviderError {
					if isBad(r) {
						return &writeback.ProviderError{Class: writeback.ClassInvalid, StatusCode: 400, Code: "VALIDATION_ERROR",
							Message: fmt.Sprintf("bad name %q", r.Fields["name"])}
					}
					return nil
				})
				startWriter(t, b.w)
				op := waitOp(t, b.w, createMixed(t, b.w, tc.n, tc.bad))
				requirePoisonIsolated(t, b.hub, op, tc.n, tc.bad)
				// Per-record errors isolate the bad records in the one call.
				writes := b.hub.Writes()
				require.Len(t, writes, 1)
				require.False(t, writes[0].AllOrNone)
			})
		})
	}
}

func TestAutoBatchPoisonRecordsWholeBatchErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range poisonCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t)
				strict := &wholeBatchRejecter{Fake: b.hub, bad: isBad}
				w := setup(t, withStore(b.store), withProviders(strict, b.sf)).w
				startWriter(t, w)
				op := waitOp(t, w, createMixed(t, w, tc.n, tc.bad))
				requirePoisonIsolated(t, b.hub, op, tc.n, tc.bad)
				calls := int(strict.calls.Load())
				require.LessOrEqual(t, calls, tc.maxCalls)
				t.Logf("%d provider calls", calls)
			})
		})
	}
}

// recordNamer is a provider that fails a whole call with a 400 naming the
// first bad record, as an all-or-none provider does; good calls go to the
// Fake.
type recordNamer struct {
	*providertest.Fake
	calls atomic.Int64
}

func (p *recordNamer) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	p.calls.Add(1)
	for i, r := range req.Records {
		if isBad(r) {
			return nil, &writeback.ProviderError{Provider: p.Name(), Class: writeback.ClassInvalid, StatusCode: 400,
				Code: "INVALID_FIELD", Message: "bad name", RecordIndex: i}
		}
	}
	return p.Fake.Write(ctx, req)
}

func TestAutoBatchPoisonRecordsNamedInWholeBatchErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range poisonCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				b := setup(t)
				namer := &recordNamer{Fake: b.hub}
				w := setup(t, withStore(b.store), withProviders(namer, b.sf)).w
				startWriter(t, w)
				op := waitOp(t, w, createMixed(t, w, tc.n, tc.bad))
				requirePoisonIsolated(t, b.hub, op, tc.n, tc.bad)
				// Each call removes the record it names.
				require.LessOrEqual(t, int(namer.calls.Load()), max(1, len(tc.bad)+1))
			})
		})
	}
}
