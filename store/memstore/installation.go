package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/writebackhq/writeback"
)

// InsertInstallation implements [writeback.InstallationStore].
func (s *Store) InsertInstallation(ctx context.Context, rec writeback.InstallationRecord) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.installations[rec.ID]; ok {
		return fmt.Errorf("memstore: installation %s: %w", rec.ID, writeback.ErrConflict)
	}
	g := groupRef{rec.Integration, rec.GroupRef}
	if id, ok := s.groupRefs[g]; ok {
		return fmt.Errorf("memstore: installation of %s for group %s exists as %s: %w", rec.Integration, rec.GroupRef, id, writeback.ErrConflict)
	}
	rec.Data = cloneBytes(rec.Data)
	s.installations[rec.ID] = rec
	s.groupRefs[g] = rec.ID
	return nil
}

// ReplaceInstallation implements [writeback.InstallationStore]. Changing
// Integration or GroupRef fails with a [*writeback.ValidationError] wrapping
// [writeback.ErrInvalidInstallation].
func (s *Store) ReplaceInstallation(ctx context.Context, rec writeback.InstallationRecord) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, ok := s.installations[rec.ID]
	if !ok {
		return fmt.Errorf("memstore: installation %s: %w", rec.ID, writeback.ErrNotFound)
	}
	if old.Integration != rec.Integration || old.GroupRef != rec.GroupRef {
		return &writeback.ValidationError{Field: "rec", Reason: "integration and groupRef cannot change", Err: writeback.ErrInvalidInstallation}
	}
	if old.Revision != rec.Revision-1 {
		return fmt.Errorf("memstore: installation %s is at revision %d, not %d: %w", rec.ID, old.Revision, rec.Revision-1, writeback.ErrConflict)
	}
	rec.Data = cloneBytes(rec.Data)
	s.installations[rec.ID] = rec
	return nil
}

// DeleteInstallation implements [writeback.InstallationStore].
func (s *Store) DeleteInstallation(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, ok := s.installations[id]
	if !ok {
		return fmt.Errorf("memstore: installation %s: %w", id, writeback.ErrNotFound)
	}
	delete(s.installations, id)
	delete(s.groupRefs, groupRef{old.Integration, old.GroupRef})
	return nil
}

// Installation implements [writeback.InstallationStore].
func (s *Store) Installation(ctx context.Context, id string) (writeback.InstallationRecord, error) {
	if err := s.lock(ctx); err != nil {
		return writeback.InstallationRecord{}, err
	}
	defer s.mu.Unlock()
	rec, ok := s.installations[id]
	if !ok {
		return writeback.InstallationRecord{}, fmt.Errorf("memstore: installation %s: %w", id, writeback.ErrNotFound)
	}
	rec.Data = cloneBytes(rec.Data)
	return rec, nil
}

// InstallationByGroup implements [writeback.InstallationStore].
func (s *Store) InstallationByGroup(ctx context.Context, integration, ref string) (writeback.InstallationRecord, error) {
	if err := s.lock(ctx); err != nil {
		return writeback.InstallationRecord{}, err
	}
	defer s.mu.Unlock()
	id, ok := s.groupRefs[groupRef{integration, ref}]
	if !ok {
		return writeback.InstallationRecord{}, fmt.Errorf("memstore: installation of %s for group %s: %w", integration, ref, writeback.ErrNotFound)
	}
	rec := s.installations[id]
	rec.Data = cloneBytes(rec.Data)
	return rec, nil
}

// Installations implements [writeback.InstallationStore].
func (s *Store) Installations(ctx context.Context, integration string) ([]writeback.InstallationRecord, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []writeback.InstallationRecord
	for _, rec := range s.installations {
		if integration == "" || rec.Integration == integration {
			rec.Data = cloneBytes(rec.Data)
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b writeback.InstallationRecord) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
