package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/writebackhq/writeback"
)

// CreateOperation implements [writeback.OperationStore].
func (s *Store) CreateOperation(ctx context.Context, rec writeback.OperationRecord, key *writeback.IdempotencyKey, now time.Time) error {
	if err := writeback.ValidateNewOperation(rec, key); err != nil {
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

// UpdateOperation implements [writeback.OperationStore].
func (s *Store) UpdateOperation(ctx context.Context, rec writeback.OperationRecord) error {
	w := newOpWrite(rec)
	return s.write(ctx, func(tx *bolt.Tx) error {
		old, err := getOperation(tx, w.id)
		if err != nil {
			return err
		}
		return putOperation(tx, w, &old)
	})
}

// Operation implements [writeback.OperationStore].
func (s *Store) Operation(ctx context.Context, id string) (rec writeback.OperationRecord, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		rec, err = getOperation(tx, id)
		return err
	})
	return rec, err
}

// Operations implements [writeback.OperationStore]. A limit below one
// returns no records.
func (s *Store) Operations(ctx context.Context, installationID, after string, limit int) (out []writeback.OperationRecord, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		ops := tx.Bucket(bucketOperations)
		prefix := pairKey(installationID, "")
		c := tx.Bucket(bucketOpIndex).Cursor()
		start := pairKey(installationID, after)
		k, _ := c.Seek(start)
		if after != "" && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			id := k[len(prefix):]
			v := ops.Get(id)
			if v == nil {
				return fmt.Errorf("boltstore: operation %s is indexed but missing: %w", id, ErrCorrupt)
			}
			rec, err := decodeOperation(id, v)
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// IdempotencyKey implements [writeback.OperationStore].
func (s *Store) IdempotencyKey(ctx context.Context, key string, now time.Time) (k writeback.IdempotencyKey, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		var ok bool
		k, ok, err = liveKey(tx, key, now)
		if err == nil && !ok {
			err = fmt.Errorf("boltstore: idempotency key: %w", writeback.ErrNotFound)
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

func newOpWrite(rec writeback.OperationRecord) opWrite {
	return opWrite{id: rec.ID, installationID: rec.InstallationID, val: encodeOperation(rec)}
}

// keyWrite is an idempotency key encoded by its caller; the zero value
// reserves nothing.
type keyWrite struct {
	key string
	val []byte
}

func newKeyWrite(key *writeback.IdempotencyKey) keyWrite {
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
			return &writeback.KeyExistsError{Existing: k}
		}
	}
	if tx.Bucket(bucketOperations).Get([]byte(id)) != nil {
		return fmt.Errorf("boltstore: operation %s: %w", id, writeback.ErrConflict)
	}
	return nil
}

// liveKey reads the reservation of key if it is unexpired at now.
func liveKey(tx *bolt.Tx, key string, now time.Time) (writeback.IdempotencyKey, bool, error) {
	v := tx.Bucket(bucketKeys).Get([]byte(key))
	if v == nil {
		return writeback.IdempotencyKey{}, false, nil
	}
	k, err := decodeKey([]byte(key), v)
	if err != nil || !now.Before(k.ExpiresAt) {
		return writeback.IdempotencyKey{}, false, err
	}
	return k, true, nil
}

// reserve stores k, if any.
func reserve(tx *bolt.Tx, k keyWrite) error {
	if k.key == "" {
		return nil
	}
	return put(tx.Bucket(bucketKeys), []byte(k.key), k.val)
}

// getOperation reads operation id.
func getOperation(tx *bolt.Tx, id string) (writeback.OperationRecord, error) {
	v := tx.Bucket(bucketOperations).Get([]byte(id))
	if v == nil {
		return writeback.OperationRecord{}, fmt.Errorf("boltstore: operation %s: %w", id, writeback.ErrNotFound)
	}
	return decodeOperation([]byte(id), v)
}

// putOperation stores w, replacing old (nil for a new record), and keeps
// the per-installation index.
func putOperation(tx *bolt.Tx, w opWrite, old *writeback.OperationRecord) error {
	idx := tx.Bucket(bucketOpIndex)
	if old == nil || old.InstallationID != w.installationID {
		if old != nil {
			if err := del(idx, pairKey(old.InstallationID, old.ID)); err != nil {
				return err
			}
		}
		if err := put(idx, pairKey(w.installationID, w.id), []byte{}); err != nil {
			return err
		}
	}
	return put(tx.Bucket(bucketOperations), []byte(w.id), w.val)
}
