package boltstore

import (
	"context"
	"errors"
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
		if has(tx, bucketInstallations, []byte(rec.ID)) {
			return fmt.Errorf("boltstore: installation %s: %w", rec.ID, store.ErrConflict)
		}
		gk := pairKey(rec.Integration, rec.GroupRef)
		if has(tx, bucketGroupRefs, gk) {
			id, err := get(tx, bucketGroupRefs, gk)
			if err != nil {
				return err
			}
			return fmt.Errorf("boltstore: installation of %s for group %s exists as %s: %w", rec.Integration, rec.GroupRef, id, store.ErrConflict)
		}
		if err := put(tx, bucketInstallations, []byte(rec.ID), val); err != nil {
			return err
		}
		return put(tx, bucketGroupRefs, gk, []byte(rec.ID))
	})
}

// ReplaceInstallation implements [store.Installations]. Changing
// Integration or GroupRef fails with a [*store.InputError]
// (integration and groupRef cannot change).
func (s *Store) ReplaceInstallation(ctx context.Context, rec store.Installation) error {
	val := encodeInstallation(rec)
	return s.write(ctx, func(tx *bolt.Tx) error {
		old, err := getInstallation(tx, rec.ID)
		if err != nil {
			return err
		}
		if old.Integration != rec.Integration || old.GroupRef != rec.GroupRef {
			return &store.InputError{Field: "rec", Reason: "integration and groupRef cannot change"}
		}
		if old.Revision != rec.Revision-1 {
			return fmt.Errorf("boltstore: installation %s is at revision %d, not %d: %w", rec.ID, old.Revision, rec.Revision-1, store.ErrConflict)
		}
		return put(tx, bucketInstallations, []byte(rec.ID), val)
	})
}

// DeleteInstallation implements [store.Installations].
func (s *Store) DeleteInstallation(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *bolt.Tx) error {
		old, err := getInstallation(tx, id)
		if err != nil {
			return err
		}
		if err := del(tx, bucketInstallations, []byte(id)); err != nil {
			return err
		}
		return del(tx, bucketGroupRefs, pairKey(old.Integration, old.GroupRef))
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
		gk := pairKey(integration, groupRef)
		id, err := get(tx, bucketGroupRefs, gk)
		if err != nil {
			return err
		}
		if id == nil {
			return fmt.Errorf("boltstore: installation of %s for group %s: %w", integration, groupRef, store.ErrNotFound)
		}
		rec, err = getInstallation(tx, string(id))
		if errors.Is(err, store.ErrNotFound) {
			return corrupt(bucketGroupRefs, gk, "names installation %q, which does not exist", id)
		}
		return err
	})
	return rec, err
}

// Installations implements [store.Installations].
func (s *Store) Installations(ctx context.Context, integration string) (out []store.Installation, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInstallations).ForEach(func(k, v []byte) error {
			body, err := unseal(bucketInstallations, k, v)
			if err != nil {
				return err
			}
			rec, err := decodeInstallation(k, body)
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
	v, err := get(tx, bucketInstallations, []byte(id))
	if err != nil {
		return store.Installation{}, err
	}
	if v == nil {
		return store.Installation{}, fmt.Errorf("boltstore: installation %s: %w", id, store.ErrNotFound)
	}
	return decodeInstallation([]byte(id), v)
}
