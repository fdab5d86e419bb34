package storetest

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

// listAll pages through an installation's operations (every
// installation's for an empty inst) with the given page size and returns
// the IDs of each page.
func listAll(t *testing.T, s store.Interface, inst string, limit int) [][]string {
	t.Helper()
	var pages [][]string
	after := ""
	for {
		page, err := s.Operations(t.Context(), inst, after, limit)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), limit)
		ids := make([]string, len(page))
		for i, r := range page {
			if inst != "" {
				require.Equal(t, inst, r.InstallationID)
			}
			ids[i] = r.ID
		}
		pages = append(pages, ids)
		if len(page) < limit {
			return pages
		}
		after = page[len(page)-1].ID
	}
}

var operationTests = []test{
	{"CreateGetUpdate", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		rec := newOp(opID(1), "inst-1")
		require.NoError(t, s.CreateOperation(ctx, rec, nil, t0))
		requireOp(t, s, rec)

		dup := newOp(opID(1), "inst-2")
		require.ErrorIs(t, s.CreateOperation(ctx, dup, nil, t0), store.ErrConflict)
		requireOp(t, s, rec)

		rec.Data = []byte("finished")
		require.NoError(t, s.UpdateOperation(ctx, rec))
		requireOp(t, s, rec)

		require.ErrorIs(t, s.UpdateOperation(ctx, newOp(opID(2), "inst-1")), store.ErrNotFound)
		_, err := s.Operation(ctx, opID(2))
		require.ErrorIs(t, err, store.ErrNotFound, "a failed update creates nothing")
	}},
	{"ListPages", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		const n = 25
		order := rand.Perm(n)
		for _, i := range order {
			require.NoError(t, s.CreateOperation(ctx, newOp(opID(2*i+10), "inst-a"), nil, t0))
			if i%5 == 0 {
				require.NoError(t, s.CreateOperation(ctx, newOp(opID(2*i+11), "inst-b"), nil, t0))
			}
		}
		var want []string
		for i := range n {
			want = append(want, opID(2*i+10))
		}

		pages := listAll(t, s, "inst-a", 10)
		require.Equal(t, [][]string{want[:10], want[10:20], want[20:]}, pages)

		pages = listAll(t, s, "inst-a", 5)
		require.Len(t, pages, 6, "five full pages, then an empty one")
		require.Empty(t, pages[5])

		page, err := s.Operations(ctx, "inst-a", "", 100)
		require.NoError(t, err)
		require.Len(t, page, n)
		for i, r := range page {
			requireOps(t, []store.Operation{newOp(want[i], "inst-a")}, []store.Operation{r})
		}

		page, err = s.Operations(ctx, "inst-a", want[n-1], 10)
		require.NoError(t, err)
		require.Empty(t, page, "nothing after the last")

		page, err = s.Operations(ctx, "inst-a", opID(15), 3)
		require.NoError(t, err, "the cursor need not be a stored ID")
		require.Equal(t, []string{opID(16), opID(18), opID(20)}, []string{page[0].ID, page[1].ID, page[2].ID})

		pages = listAll(t, s, "inst-b", 10)
		require.Equal(t, [][]string{{opID(11), opID(21), opID(31), opID(41), opID(51)}}, pages)

		page, err = s.Operations(ctx, "inst-c", "", 10)
		require.NoError(t, err)
		require.Empty(t, page)
	}},
	{"UpdateMovesInstallation", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		rec := newOp(opID(1), "inst-a")
		require.NoError(t, s.CreateOperation(ctx, rec, nil, t0))
		rec.InstallationID = "inst-b"
		require.NoError(t, s.UpdateOperation(ctx, rec))
		require.Equal(t, [][]string{{}}, listAll(t, s, "inst-a", 10))
		require.Equal(t, [][]string{{opID(1)}}, listAll(t, s, "inst-b", 10))
	}},
	{"IdempotencyKey", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		key := store.IdempotencyKey{Key: "inst-1/k1", RequestHash: "h1", OperationID: opID(1), ExpiresAt: at(3600)}
		_, err := s.IdempotencyKey(ctx, key.Key, t0)
		require.ErrorIs(t, err, store.ErrNotFound)

		require.NoError(t, s.CreateOperation(ctx, newOp(opID(1), "inst-1"), &key, t0))
		got, err := s.IdempotencyKey(ctx, key.Key, at(10))
		require.NoError(t, err)
		requireKey(t, key, got)

		second := store.IdempotencyKey{Key: key.Key, RequestHash: "h2", OperationID: opID(2), ExpiresAt: at(7200)}
		err = s.CreateOperation(ctx, newOp(opID(2), "inst-1"), &second, at(20))
		require.ErrorIs(t, err, store.ErrConflict)
		var exists *store.KeyExistsError
		require.ErrorAs(t, err, &exists)
		requireKey(t, key, exists.Existing)
		_, err = s.Operation(ctx, opID(2))
		require.ErrorIs(t, err, store.ErrNotFound, "a refused reservation stores no operation")

		_, err = s.IdempotencyKey(ctx, key.Key, at(3600))
		require.ErrorIs(t, err, store.ErrNotFound, "expired at ExpiresAt")
		got, err = s.IdempotencyKey(ctx, key.Key, at(3599))
		require.NoError(t, err)
		requireKey(t, key, got)

		third := store.IdempotencyKey{Key: key.Key, RequestHash: "h3", OperationID: opID(3), ExpiresAt: at(9000)}
		require.NoError(t, s.CreateOperation(ctx, newOp(opID(3), "inst-1"), &third, at(3600)), "an expired key may be reserved again")
		got, err = s.IdempotencyKey(ctx, key.Key, at(3600))
		require.NoError(t, err)
		requireKey(t, third, got)

		other := store.IdempotencyKey{Key: "inst-1/k2", RequestHash: "h4", OperationID: opID(4), ExpiresAt: at(100)}
		require.NoError(t, s.CreateOperation(ctx, newOp(opID(4), "inst-1"), &other, t0), "keys are independent")
	}},
	{"IdempotencyKeyWithIDConflict", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		require.NoError(t, s.CreateOperation(ctx, newOp(opID(1), "inst-1"), nil, t0))
		key := store.IdempotencyKey{Key: "k", RequestHash: "h", OperationID: opID(1), ExpiresAt: at(60)}
		err := s.CreateOperation(ctx, newOp(opID(1), "inst-1"), &key, t0)
		require.ErrorIs(t, err, store.ErrConflict)
		var exists *store.KeyExistsError
		require.False(t, errors.As(err, &exists), "the key was free; the ID was not")
		_, err = s.IdempotencyKey(ctx, "k", t0)
		require.ErrorIs(t, err, store.ErrNotFound, "a failed create reserves nothing")
	}},
}
