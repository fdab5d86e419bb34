package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/writebackhq/writeback"
)

// CreateOperation implements [writeback.OperationStore].
func (s *Store) CreateOperation(ctx context.Context, rec writeback.OperationRecord, key *writeback.IdempotencyKey, now time.Time) error {
	if err := writeback.ValidateNewOperation(rec, key); err != nil {
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

// UpdateOperation implements [writeback.OperationStore].
func (s *Store) UpdateOperation(ctx context.Context, rec writeback.OperationRecord) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.operations[rec.ID]; !ok {
		return fmt.Errorf("memstore: operation %s: %w", rec.ID, writeback.ErrNotFound)
	}
	s.putOperation(rec)
	return nil
}

// Operation implements [writeback.OperationStore].
func (s *Store) Operation(ctx context.Context, id string) (writeback.OperationRecord, error) {
	if err := s.lock(ctx); err != nil {
		return writeback.OperationRecord{}, err
	}
	defer s.mu.Unlock()
	rec, ok := s.operations[id]
	if !ok {
		return writeback.OperationRecord{}, fmt.Errorf("memstore: operation %s: %w", id, writeback.ErrNotFound)
	}
	rec.Data = cloneBytes(rec.Data)
	return rec, nil
}

// Operations implements [writeback.OperationStore]. A limit below one
// returns no records.
func (s *Store) Operations(ctx context.Context, installationID, after string, limit int) ([]writeback.OperationRecord, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	ids := s.opsByInst[installationID]
	i, found := slices.BinarySearch(ids, after)
	if found {
		i++
	}
	var out []writeback.OperationRecord
	for ; i < len(ids) && len(out) < limit; i++ {
		rec := s.operations[ids[i]]
		rec.Data = cloneBytes(rec.Data)
		out = append(out, rec)
	}
	return out, nil
}

// IdempotencyKey implements [writeback.OperationStore].
func (s *Store) IdempotencyKey(ctx context.Context, key string, now time.Time) (writeback.IdempotencyKey, error) {
	if err := s.lock(ctx); err != nil {
		return writeback.IdempotencyKey{}, err
	}
	defer s.mu.Unlock()
	k, ok := s.keys[key]
	if !ok || !now.Before(k.ExpiresAt) {
		return writeback.IdempotencyKey{}, fmt.Errorf("memstore: idempotency key: %w", writeback.ErrNotFound)
	}
	return k, nil
}

// checkCreate reports why rec and key cannot be stored: an unexpired
// reservation of the key, or an existing operation ID. s.mu is held.
func (s *Store) checkCreate(rec writeback.OperationRecord, key *writeback.IdempotencyKey, now time.Time) error {
	if key != nil {
		if k, ok := s.keys[key.Key]; ok && now.Before(k.ExpiresAt) {
			return &writeback.KeyExistsError{Existing: k}
		}
	}
	if _, ok := s.operations[rec.ID]; ok {
		return fmt.Errorf("memstore: operation %s: %w", rec.ID, writeback.ErrConflict)
	}
	return nil
}

// putOperation stores rec and keeps the per-installation index. s.mu is held.
func (s *Store) putOperation(rec writeback.OperationRecord) {
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
	rec.Data = cloneBytes(rec.Data)
	s.operations[rec.ID] = rec
}

// reserve stores key, if any. s.mu is held.
func (s *Store) reserve(key *writeback.IdempotencyKey) {
	if key == nil {
		return
	}
	k := *key
	k.ExpiresAt = normTime(k.ExpiresAt)
	s.keys[k.Key] = k
}
