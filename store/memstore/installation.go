package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/writebackhq/writeback/store"
)

// InsertInstallation implements [store.Installations].
func (s *Store) InsertInstallation(ctx context.Context, rec store.Installation) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.installations[rec.ID]; ok {
		return fmt.Errorf("memstore: installation %s: %w", rec.ID, store.ErrConflict)
	}
	g := groupRef{rec.Integration, rec.GroupRef}
	if id, ok := s.groupRefs[g]; ok {
		return fmt.Errorf("memstore: installation of %s for group %s exists as %s: %w", rec.Integration, rec.GroupRef, id, store.ErrConflict)
	}
	rec.Data = cloneBytes(rec.Data)
	s.installations[rec.ID] = rec
	s.groupRefs[g] = rec.ID
	return nil
}

// ReplaceInstallation implements [store.Installations]. Changing
// Integration or GroupRef fails with a [*store.InputError]
// (integration and groupRef cannot change).
func (s *Store) ReplaceInstallation(ctx context.Context, rec store.Installation) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, ok := s.installations[rec.ID]
	if !ok {
		return fmt.Errorf("memstore: installation %s: %w", rec.ID, store.ErrNotFound)
	}
	if old.Integration != rec.Integration || old.GroupRef != rec.GroupRef {
		return &store.InputError{Field: "rec", Reason: "integration and groupRef cannot change"}
	}
	if old.Revision != rec.Revision-1 {
		return fmt.Errorf("memstore: installation %s is at revision %d, not %d: %w", rec.ID, old.Revision, rec.Revision-1, store.ErrConflict)
	}
	rec.Data = cloneBytes(rec.Data)
	s.installations[rec.ID] = rec
	return nil
}

// DeleteInstallation implements [store.Installations].
func (s *Store) DeleteInstallation(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, ok := s.installations[id]
	if !ok {
		return fmt.Errorf("memstore: installation %s: %w", id, store.ErrNotFound)
	}
	delete(s.installations, id)
	delete(s.groupRefs, groupRef{old.Integration, old.GroupRef})
	return nil
}

// Installation implements [store.Installations].
func (s *Store) Installation(ctx context.Context, id string) (store.Installation, error) {
	if err := s.lock(ctx); err != nil {
		return store.Installation{}, err
	}
	defer s.mu.Unlock()
	rec, ok := s.installations[id]
	if !ok {
		return store.Installation{}, fmt.Errorf("memstore: installation %s: %w", id, store.ErrNotFound)
	}
	rec.Data = cloneBytes(rec.Data)
	return rec, nil
}

// InstallationByGroup implements [store.Installations].
func (s *Store) InstallationByGroup(ctx context.Context, integration, ref string) (store.Installation, error) {
	if err := s.lock(ctx); err != nil {
		return store.Installation{}, err
	}
	defer s.mu.Unlock()
	id, ok := s.groupRefs[groupRef{integration, ref}]
	if !ok {
		return store.Installation{}, fmt.Errorf("memstore: installation of %s for group %s: %w", integration, ref, store.ErrNotFound)
	}
	rec := s.installations[id]
	rec.Data = cloneBytes(rec.Data)
	return rec, nil
}

// Installations implements [store.Installations].
func (s *Store) Installations(ctx context.Context, integration string) ([]store.Installation, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []store.Installation
	for _, rec := range s.installations {
		if integration == "" || rec.Integration == integration {
			rec.Data = cloneBytes(rec.Data)
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b store.Installation) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
