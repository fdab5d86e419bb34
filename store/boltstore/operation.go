package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/writebackhq/writeback/store"
	bolt "go.etcd.io/bbolt"
)

// CreateOperation implements [store.Operations].
func (s *Store) CreateOperation(ctx context.Context, rec store.Operation, key *store.IdempotencyKey, now time.Time) error {
	if err := store.ValidateNewOperation(rec, key); err != nil {
		return err
	}
	w, k := newOpWrite(rec), newKeyWrite(key)
	return s.write(ctx, func(tx *bolt.Tx) error {
		if err := checkCreate(tx, w.id, k.key, now); err != nil {
			return err
		}
		if err := putOperation(tx, w, nil); err != nil {
			return err
		}
		return reserve(tx, k)
	})
}

// UpdateOperation implements [store.Operations].
func (s *Store) UpdateOperation(ctx context.Context, rec store.Operation) error {
	w := newOpWrite(rec)
	return s.write(ctx, func(tx *bolt.Tx) error {
		old, err := getOperation(tx, w.id)
		if err != nil {
			return err
		}
		return putOperation(tx, w, &old)
	})
}

// Operation implements [store.Operations].
func (s *Store) Operation(ctx context.Context, id string) (rec store.Operation, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		rec, err = getOperation(tx, id)
		return err
	})
	return rec, err
}

// Operations implements [store.Operations]. A limit below one
// returns no records.
func (s *Store) Operations(ctx context.Context, installationID, after string, limit int) (out []store.Operation, err error) {
	if installationID == "" {
		return s.allOperations(ctx, after, limit)
	}
	err = s.read(ctx, func(tx *bolt.Tx) error {
		prefix := pairKey(installationID, "")
		c := tx.Bucket(bucketOpIndex).Cursor()
		start := pairKey(installationID, after)
		k, _ := c.Seek(start)
		if after != "" && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			id := k[len(prefix):]
			rec, err := getOperation(tx, string(id))
			if errors.Is(err, store.ErrNotFound) {
				return corrupt(bucketOpIndex, k, "names operation %q, which does not exist", id)
			}
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// IdempotencyKey implements [store.Operations].
func (s *Store) IdempotencyKey(ctx context.Context, key string, now time.Time) (k store.IdempotencyKey, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		var ok bool
		k, ok, err = liveKey(tx, key, now)
		if err == nil && !ok {
			err = fmt.Errorf("boltstore: idempotency key: %w", store.ErrNotFound)
		}
		return err
	})
	return k, err
}

// opWrite is an operation record encoded by its caller, before it is
// handed to the committer, so that the committer never reads the caller's
// byte slices (the caller may have returned and reused them).
type opWrite struct {
	id, installationID string
	val                []byte
}

func newOpWrite(rec store.Operation) opWrite {
	return opWrite{id: rec.ID, installationID: rec.InstallationID, val: encodeOperation(rec)}
}

// keyWrite is an idempotency key encoded by its caller; the zero value
// reserves nothing.
type keyWrite struct {
	key string
	val []byte
}

func newKeyWrite(key *store.IdempotencyKey) keyWrite {
	if key == nil {
		return keyWrite{}
	}
	return keyWrite{key: key.Key, val: encodeKey(*key)}
}

// checkCreate reports why operation id and key (empty for none) cannot be
// stored: an unexpired reservation of the key, or an existing operation ID.
func checkCreate(tx *bolt.Tx, id, key string, now time.Time) error {
	if key != "" {
		k, ok, err := liveKey(tx, key, now)
		if err != nil {
			return err
		}
		if ok {
			return &store.KeyExistsError{Existing: k}
		}
	}
	if has(tx, bucketOperations, []byte(id)) {
		return fmt.Errorf("boltstore: operation %s: %w", id, store.ErrConflict)
	}
	return nil
}

// liveKey reads the reservation of key if it is unexpired at now.
func liveKey(tx *bolt.Tx, key string, now time.Time) (store.IdempotencyKey, bool, error) {
	v, err := get(tx, bucketKeys, []byte(key))
	if err != nil || v == nil {
		return store.IdempotencyKey{}, false, err
	}
	k, err := decodeKey([]byte(key), v)
	if err != nil || !now.Before(k.ExpiresAt) {
		return store.IdempotencyKey{}, false, err
	}
	return k, true, nil
}

// reserve stores k, if any.
func reserve(tx *bolt.Tx, k keyWrite) error {
	if k.key == "" {
		return nil
	}
	return put(tx, bucketKeys, []byte(k.key), k.val)
}

// getOperation reads operation id.
func getOperation(tx *bolt.Tx, id string) (store.Operation, error) {
	v, err := get(tx, bucketOperations, []byte(id))
	if err != nil {
		return store.Operation{}, err
	}
	if v == nil {
		return store.Operation{}, fmt.Errorf("boltstore: operation %s: %w", id, store.ErrNotFound)
	}
	return decodeOperation([]byte(id), v)
}

// putOperation stores w, replacing old (nil for a new record), and keeps
// the per-installation index.
func putOperation(tx *bolt.Tx, w opWrite, old *store.Operation) error {
	if old == nil || old.InstallationID != w.installationID {
		if old != nil {
			if err := del(tx, bucketOpIndex, pairKey(old.InstallationID, old.ID)); err != nil {
				return err
			}
		}
		if err := put(tx, bucketOpIndex, pairKey(w.installationID, w.id), nil); err != nil {
			return err
		}
	}
	return put(tx, bucketOperations, []byte(w.id), w.val)
}
