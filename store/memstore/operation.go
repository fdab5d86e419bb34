package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/writebackhq/writeback/store"
)

// CreateOperation implements [store.Operations].
func (s *Store) CreateOperation(ctx context.Context, rec store.Operation, key *store.IdempotencyKey, now time.Time) error {
	if err := store.ValidateNewOperation(rec, key); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.checkCreate(rec, key, now); err != nil {
		return err
	}
	s.putOperation(rec)
	s.reserve(key)
	return nil
}

// UpdateOperation implements [store.Operations].
func (s *Store) UpdateOperation(ctx context.Context, rec store.Operation) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.operations[rec.ID]; !ok {
		return fmt.Errorf("memstore: operation %s: %w", rec.ID, store.ErrNotFound)
	}
	s.putOperation(rec)
	return nil
}

// Operation implements [store.Operations].
func (s *Store) Operation(ctx context.Context, id string) (store.Operation, error) {
	if err := s.lock(ctx); err != nil {
		return store.Operation{}, err
	}
	defer s.mu.Unlock()
	rec, ok := s.operations[id]
	if !ok {
		return store.Operation{}, fmt.Errorf("memstore: operation %s: %w", id, store.ErrNotFound)
	}
	rec.Data = cloneBytes(rec.Data)
	return rec, nil
}

// Operations implements [store.Operations]. A limit below one
// returns no records.
func (s *Store) Operations(ctx context.Context, installationID, after string, limit int) ([]store.Operation, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	ids := s.opIDs
	if installationID != "" {
		ids = s.opsByInst[installationID]
	}
	i, found := slices.BinarySearch(ids, after)
	if found {
		i++
	}
	var out []store.Operation
	for ; i < len(ids) && len(out) < limit; i++ {
		rec := s.operations[ids[i]]
		rec.Data = cloneBytes(rec.Data)
		out = append(out, rec)
	}
	return out, nil
}

// IdempotencyKey implements [store.Operations].
func (s *Store) IdempotencyKey(ctx context.Context, key string, now time.Time) (store.IdempotencyKey, error) {
	if err := s.lock(ctx); err != nil {
		return store.IdempotencyKey{}, err
	}
	defer s.mu.Unlock()
	k, ok := s.keys[key]
	if !ok || !now.Before(k.ExpiresAt) {
		return store.IdempotencyKey{}, fmt.Errorf("memstore: idempotency key: %w", store.ErrNotFound)
	}
	return k, nil
}

// checkCreate reports why rec and key cannot be stored: an unexpired
// reservation of the key, or an existing operation ID. s.mu is held.
func (s *Store) checkCreate(rec store.Operation, key *store.IdempotencyKey, now time.Time) error {
	if key != nil {
		if k, ok := s.keys[key.Key]; ok && now.Before(k.ExpiresAt) {
			return &store.KeyExistsError{Existing: k}
		}
	}
	if _, ok := s.operations[rec.ID]; ok {
		return fmt.Errorf("memstore: operation %s: %w", rec.ID, store.ErrConflict)
	}
	return nil
}

// putOperation stores rec and keeps the per-installation index. s.mu is held.
func (s *Store) putOperation(rec store.Operation) {
	if old, ok := s.operations[rec.ID]; ok && old.InstallationID != rec.InstallationID {
		ids := s.opsByInst[old.InstallationID]
		if i, found := slices.BinarySearch(ids, rec.ID); found {
			s.opsByInst[old.InstallationID] = slices.Delete(ids, i, i+1)
		}
	}
	ids := s.opsByInst[rec.InstallationID]
	if i, found := slices.BinarySearch(ids, rec.ID); !found {
		s.opsByInst[rec.InstallationID] = slices.Insert(ids, i, rec.ID)
	}
	if i, found := slices.BinarySearch(s.opIDs, rec.ID); !found {
		s.opIDs = slices.Insert(s.opIDs, i, rec.ID)
	}
	rec.Data = cloneBytes(rec.Data)
	s.operations[rec.ID] = rec
}

// reserve stores key, if any. s.mu is held.
func (s *Store) reserve(key *store.IdempotencyKey) {
	if key == nil {
		return
	}
	k := *key
	k.ExpiresAt = normTime(k.ExpiresAt)
	s.keys[k.Key] = k
}
