package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

// newInstallation returns an installation record at revision 1.
func newInstallation(id, integration, groupRef string) store.Installation {
	return store.Installation{
		ID:          id,
		Integration: integration,
		GroupRef:    groupRef,
		Revision:    1,
		Data:        []byte("config of " + id),
	}
}

var installationTests = []test{
	{"InsertAndGet", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		rec := newInstallation("inst-1", "crm", "acme")
		require.NoError(t, s.InsertInstallation(ctx, rec))

		got, err := s.Installation(ctx, "inst-1")
		require.NoError(t, err)
		requireInstallation(t, rec, got)

		got, err = s.InstallationByGroup(ctx, "crm", "acme")
		require.NoError(t, err)
		requireInstallation(t, rec, got)

		_, err = s.Installation(ctx, "inst-2")
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.InstallationByGroup(ctx, "crm", "globex")
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.InstallationByGroup(ctx, "marketing", "acme")
		require.ErrorIs(t, err, store.ErrNotFound)
	}},
	{"InsertConflicts", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		first := newInstallation("inst-1", "crm", "acme")
		require.NoError(t, s.InsertInstallation(ctx, first))

		sameID := newInstallation("inst-1", "crm", "globex")
		require.ErrorIs(t, s.InsertInstallation(ctx, sameID), store.ErrConflict)
		_, err := s.InstallationByGroup(ctx, "crm", "globex")
		require.ErrorIs(t, err, store.ErrNotFound, "a failed insert stores nothing")

		sameGroup := newInstallation("inst-2", "crm", "acme")
		require.ErrorIs(t, s.InsertInstallation(ctx, sameGroup), store.ErrConflict)
		_, err = s.Installation(ctx, "inst-2")
		require.ErrorIs(t, err, store.ErrNotFound, "a failed insert stores nothing")

		otherIntegration := newInstallation("inst-3", "marketing", "acme")
		require.NoError(t, s.InsertInstallation(ctx, otherIntegration), "groupRef is unique per integration only")

		got, err := s.Installation(ctx, "inst-1")
		require.NoError(t, err)
		requireInstallation(t, first, got)
	}},
	{"Replace", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		rec := newInstallation("inst-1", "crm", "acme")
		require.NoError(t, s.InsertInstallation(ctx, rec))

		rec.Revision, rec.Data = 2, []byte("second config")
		require.NoError(t, s.ReplaceInstallation(ctx, rec))
		got, err := s.InstallationByGroup(ctx, "crm", "acme")
		require.NoError(t, err)
		requireInstallation(t, rec, got)

		stale := rec
		stale.Data = []byte("lost update")
		require.ErrorIs(t, s.ReplaceInstallation(ctx, stale), store.ErrConflict, "revision 2 again")
		stale.Revision = 5
		require.ErrorIs(t, s.ReplaceInstallation(ctx, stale), store.ErrConflict, "revision skipped")

		moved := rec
		moved.Revision, moved.GroupRef = 3, "globex"
		require.Error(t, s.ReplaceInstallation(ctx, moved), "groupRef cannot change")

		got, err = s.Installation(ctx, "inst-1")
		require.NoError(t, err)
		requireInstallation(t, rec, got)

		missing := newInstallation("inst-9", "crm", "initech")
		missing.Revision = 2
		require.ErrorIs(t, s.ReplaceInstallation(ctx, missing), store.ErrNotFound)
	}},
	{"Delete", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		require.NoError(t, s.InsertInstallation(ctx, newInstallation("inst-1", "crm", "acme")))
		require.NoError(t, s.InsertInstallation(ctx, newInstallation("inst-2", "crm", "globex")))

		require.NoError(t, s.DeleteInstallation(ctx, "inst-1"))
		_, err := s.Installation(ctx, "inst-1")
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = s.InstallationByGroup(ctx, "crm", "acme")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, s.DeleteInstallation(ctx, "inst-1"), store.ErrNotFound)

		_, err = s.Installation(ctx, "inst-2")
		require.NoError(t, err, "other installations stay")

		again := newInstallation("inst-3", "crm", "acme")
		require.NoError(t, s.InsertInstallation(ctx, again), "the groupRef is free again")
		got, err := s.InstallationByGroup(ctx, "crm", "acme")
		require.NoError(t, err)
		requireInstallation(t, again, got)
	}},
	{"List", func(t *testing.T, s store.Interface) {
		ctx := t.Context()
		all, err := s.Installations(ctx, "")
		require.NoError(t, err)
		require.Empty(t, all)

		recs := []store.Installation{
			newInstallation("inst-c", "crm", "acme"),
			newInstallation("inst-a", "marketing", "acme"),
			newInstallation("inst-b", "crm", "globex"),
			newInstallation("inst-d", "crm", "initech"),
		}
		for _, r := range recs {
			require.NoError(t, s.InsertInstallation(ctx, r))
		}
		crm, err := s.Installations(ctx, "crm")
		require.NoError(t, err)
		require.Len(t, crm, 3)
		for i, want := range []store.Installation{recs[2], recs[0], recs[3]} {
			requireInstallation(t, want, crm[i])
		}

		all, err = s.Installations(ctx, "")
		require.NoError(t, err)
		ids := make([]string, len(all))
		for i, r := range all {
			ids[i] = r.ID
		}
		require.Equal(t, []string{"inst-a", "inst-b", "inst-c", "inst-d"}, ids)

		none, err := s.Installations(ctx, "erp")
		require.NoError(t, err)
		require.Empty(t, none)
	}},
}
