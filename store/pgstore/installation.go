package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/writebackhq/writeback/store"
)

// InsertInstallation implements [store.Installations].
func (s *Store) InsertInstallation(ctx context.Context, rec store.Installation) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.sql(`
INSERT INTO {schema}.installations (id, integration, group_ref, revision, data) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING`), rec.ID, rec.Integration, rec.GroupRef, rec.Revision, nonNil(rec.Data))
	if err != nil {
		return wrap(err, "insert installation %s", rec.ID)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: installation %s, or one of %s for group %s, exists: %w", rec.ID, rec.Integration, rec.GroupRef, store.ErrConflict)
	}
	return nil
}

// ReplaceInstallation implements [store.Installations]. Changing
// Integration or GroupRef fails with a [*store.InputError].
func (s *Store) ReplaceInstallation(ctx context.Context, rec store.Installation) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.sql(`
UPDATE {schema}.installations SET revision = $4, data = $5
WHERE id = $1 AND integration = $2 AND group_ref = $3 AND revision = $4 - 1`), rec.ID, rec.Integration, rec.GroupRef, rec.Revision, nonNil(rec.Data))
	if err != nil {
		return wrap(err, "replace installation %s", rec.ID)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	old, err := s.Installation(ctx, rec.ID)
	switch {
	case err != nil:
		return err
	case old.Integration != rec.Integration || old.GroupRef != rec.GroupRef:
		return &store.InputError{Field: "rec", Reason: "integration and groupRef cannot change"}
	default:
		return fmt.Errorf("pgstore: installation %s is at revision %d, not %d: %w", rec.ID, old.Revision, rec.Revision-1, store.ErrConflict)
	}
}

// DeleteInstallation implements [store.Installations].
func (s *Store) DeleteInstallation(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {schema}.installations WHERE id = $1`), id)
	if err != nil {
		return wrap(err, "delete installation %s", id)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: installation %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// Installation implements [store.Installations].
func (s *Store) Installation(ctx context.Context, id string) (store.Installation, error) {
	return s.installation(ctx, "id = $1", id)
}

// InstallationByGroup implements [store.Installations].
func (s *Store) InstallationByGroup(ctx context.Context, integration, groupRef string) (store.Installation, error) {
	return s.installation(ctx, "integration = $1 AND group_ref = $2", integration, groupRef)
}

// installation reads the installation that where selects.
func (s *Store) installation(ctx context.Context, where string, args ...any) (store.Installation, error) {
	if err := s.begin(ctx); err != nil {
		return store.Installation{}, err
	}
	var r store.Installation
	err := s.pool.QueryRow(ctx, s.sql(`SELECT id, integration, group_ref, revision, data FROM {schema}.installations WHERE `+where), args...).
		Scan(&r.ID, &r.Integration, &r.GroupRef, &r.Revision, &r.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Installation{}, fmt.Errorf("pgstore: installation %v: %w", args, store.ErrNotFound)
	}
	if err != nil {
		return store.Installation{}, wrap(err, "installation %v", args)
	}
	return r, nil
}

// Installations implements [store.Installations].
func (s *Store) Installations(ctx context.Context, integration string) ([]store.Installation, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql(`
SELECT id, integration, group_ref, revision, data FROM {schema}.installations
WHERE $1 = '' OR integration = $1 ORDER BY id`), integration)
	if err != nil {
		return nil, wrap(err, "installations")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Installation, error) {
		var r store.Installation
		err := row.Scan(&r.ID, &r.Integration, &r.GroupRef, &r.Revision, &r.Data)
		return r, err
	})
	return out, wrap(err, "installations")
}
