package boltstore

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/writebackhq/writeback"
)

// InsertInstallation implements [writeback.InstallationStore].
func (s *Store) InsertInstallation(ctx context.Context, rec writeback.InstallationRecord) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	val := encodeInstallation(rec)
	return s.write(ctx, func(tx *bolt.Tx) error {
		insts, groups := tx.Bucket(bucketInstallations), tx.Bucket(bucketGroupRefs)
		if insts.Get([]byte(rec.ID)) != nil {
			return fmt.Errorf("boltstore: installation %s: %w", rec.ID, writeback.ErrConflict)
		}
		gk := pairKey(rec.Integration, rec.GroupRef)
		if id := groups.Get(gk); id != nil {
			return fmt.Errorf("boltstore: installation of %s for group %s exists as %s: %w", rec.Integration, rec.GroupRef, id, writeback.ErrConflict)
		}
		if err := put(insts, []byte(rec.ID), val); err != nil {
			return err
		}
		return put(groups, gk, []byte(rec.ID))
	})
}

// ReplaceInstallation implements [writeback.InstallationStore]. Changing
// Integration or GroupRef fails with a [*writeback.ValidationError] wrapping
// [writeback.ErrInvalidInstallation].
func (s *Store) ReplaceInstallation(ctx context.Context, rec writeback.InstallationRecord) error {
	val := encodeInstallation(rec)
	return s.write(ctx, func(tx *bolt.Tx) error {
		insts := tx.Bucket(bucketInstallations)
		v := insts.Get([]byte(rec.ID))
		if v == nil {
			return fmt.Errorf("boltstore: installation %s: %w", rec.ID, writeback.ErrNotFound)
		}
		old, err := decodeInstallation([]byte(rec.ID), v)
		if err != nil {
			return err
		}
		if old.Integration != rec.Integration || old.GroupRef != rec.GroupRef {
			return &writeback.ValidationError{Field: "rec", Reason: "integration and groupRef cannot change", Err: writeback.ErrInvalidInstallation}
		}
		if old.Revision != rec.Revision-1 {
			return fmt.Errorf("boltstore: installation %s is at revision %d, not %d: %w", rec.ID, old.Revision, rec.Revision-1, writeback.ErrConflict)
		}
		return put(insts, []byte(rec.ID), val)
	})
}

// DeleteInstallation implements [writeback.InstallationStore].
func (s *Store) DeleteInstallation(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *bolt.Tx) error {
		insts := tx.Bucket(bucketInstallations)
		v := insts.Get([]byte(id))
		if v == nil {
			return fmt.Errorf("boltstore: installation %s: %w", id, writeback.ErrNotFound)
		}
		old, err := decodeInstallation([]byte(id), v)
		if err != nil {
			return err
		}
		if err := del(insts, []byte(id)); err != nil {
			return err
		}
		return del(tx.Bucket(bucketGroupRefs), pairKey(old.Integration, old.GroupRef))
	})
}

// Installation implements [writeback.InstallationStore].
func (s *Store) Installation(ctx context.Context, id string) (rec writeback.InstallationRecord, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		rec, err = getInstallation(tx, id)
		return err
	})
	return rec, err
}

// InstallationByGroup implements [writeback.InstallationStore].
func (s *Store) InstallationByGroup(ctx context.Context, integration, groupRef string) (rec writeback.InstallationRecord, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketGroupRefs).Get(pairKey(integration, groupRef))
		if id == nil {
			return fmt.Errorf("boltstore: installation of %s for group %s: %w", integration, groupRef, writeback.ErrNotFound)
		}
		rec, err = getInstallation(tx, string(id))
		return err
	})
	return rec, err
}

// Installations implements [writeback.InstallationStore].
func (s *Store) Installations(ctx context.Context, integration string) (out []writeback.InstallationRecord, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInstallations).ForEach(func(k, v []byte) error {
			rec, err := decodeInstallation(k, v)
			if err != nil {
				return err
			}
			if integration == "" || rec.Integration == integration {
				out = append(out, rec)
			}
			return nil
		})
	})
	return out, err
}

// getInstallation reads installation id.
func getInstallation(tx *bolt.Tx, id string) (writeback.InstallationRecord, error) {
	v := tx.Bucket(bucketInstallations).Get([]byte(id))
	if v == nil {
		return writeback.InstallationRecord{}, fmt.Errorf("boltstore: installation %s: %w", id, writeback.ErrNotFound)
	}
	return decodeInstallation([]byte(id), v)
}
