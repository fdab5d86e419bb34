package boltstore

import (
	"context"
	"fmt"

	"github.com/writebackhq/writeback/store"
	bolt "go.etcd.io/bbolt"
)

// InsertInstallation implements [store.Installations].
func (s *Store) InsertInstallation(ctx context.Context, rec store.Installation) error {
	if err := rec.Validate(); err != nil {
		return err
	}
	val := encodeInstallation(rec)
	return s.write(ctx, func(tx *bolt.Tx) error {
		insts, groups := tx.Bucket(bucketInstallations), tx.Bucket(bucketGroupRefs)
		if insts.Get([]byte(rec.ID)) != nil {
			return fmt.Errorf("boltstore: installation %s: %w", rec.ID, store.ErrConflict)
		}
		gk := pairKey(rec.Integration, rec.GroupRef)
		if id := groups.Get(gk); id != nil {
			return fmt.Errorf("boltstore: installation of %s for group %s exists as %s: %w", rec.Integration, rec.GroupRef, id, store.ErrConflict)
		}
		if err := put(insts, []byte(rec.ID), val); err != nil {
			return err
		}
		return put(groups, gk, []byte(rec.ID))
	})
}

// ReplaceInstallation implements [store.Installations]. Changing
// Integration or GroupRef fails with a [*store.InputError]
// (integration and groupRef cannot change).
func (s *Store) ReplaceInstallation(ctx context.Context, rec store.Installation) error {
	val := encodeInstallation(rec)
	return s.write(ctx, func(tx *bolt.Tx) error {
		insts := tx.Bucket(bucketInstallations)
		v := insts.Get([]byte(rec.ID))
		if v == nil {
			return fmt.Errorf("boltstore: installation %s: %w", rec.ID, store.ErrNotFound)
		}
		old, err := decodeInstallation([]byte(rec.ID), v)
		if err != nil {
			return err
		}
		if old.Integration != rec.Integration || old.GroupRef != rec.GroupRef {
			return &store.InputError{Field: "rec", Reason: "integration and groupRef cannot change"}
		}
		if old.Revision != rec.Revision-1 {
			return fmt.Errorf("boltstore: installation %s is at revision %d, not %d: %w", rec.ID, old.Revision, rec.Revision-1, store.ErrConflict)
		}
		return put(insts, []byte(rec.ID), val)
	})
}

// DeleteInstallation implements [store.Installations].
func (s *Store) DeleteInstallation(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *bolt.Tx) error {
		insts := tx.Bucket(bucketInstallations)
		v := insts.Get([]byte(id))
		if v == nil {
			return fmt.Errorf("boltstore: installation %s: %w", id, store.ErrNotFound)
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

// Installation implements [store.Installations].
func (s *Store) Installation(ctx context.Context, id string) (rec store.Installation, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		rec, err = getInstallation(tx, id)
		return err
	})
	return rec, err
}

// InstallationByGroup implements [store.Installations].
func (s *Store) InstallationByGroup(ctx context.Context, integration, groupRef string) (rec store.Installation, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketGroupRefs).Get(pairKey(integration, groupRef))
		if id == nil {
			return fmt.Errorf("boltstore: installation of %s for group %s: %w", integration, groupRef, store.ErrNotFound)
		}
		rec, err = getInstallation(tx, string(id))
		return err
	})
	return rec, err
}

// Installations implements [store.Installations].
func (s *Store) Installations(ctx context.Context, integration string) (out []store.Installation, err error) {
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
func getInstallation(tx *bolt.Tx, id string) (store.Installation, error) {
	v := tx.Bucket(bucketInstallations).Get([]byte(id))
	if v == nil {
		return store.Installation{}, fmt.Errorf("boltstore: installation %s: %w", id, store.ErrNotFound)
	}
	return decodeInstallation([]byte(id), v)
}
