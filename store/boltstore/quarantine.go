package boltstore

import (
	"bytes"
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// bucketQuarantine holds the entries that the store found damaged while
// working and set aside so that they stop no one: an index entry naming a
// job that does not exist, a job record that does not decode. It is made
// when first needed.
var bucketQuarantine = []byte("quarantine")

// QuarantineEntry is an entry the store found damaged and moved out of
// the way; see [Store.Quarantine].
type QuarantineEntry struct {
	// Bucket is the bucket the entry was in, such as "jobs-due".
	Bucket string
	// Key is the entry's key there.
	Key []byte
	// Reason says what was wrong with it.
	Reason string
	// Value is the entry's value as it was stored.
	Value []byte
}

// Quarantine lists the entries the store moved to quarantine, ordered by
// bucket and key. [Store.Claim] and [Store.Join] move a damaged entry there
// instead of failing on it, so the rest of the queue runs; a non-empty list
// means the file was damaged, and its file and the listed entries are worth
// keeping for a look.
func (s *Store) Quarantine(ctx context.Context) (out []QuarantineEntry, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQuarantine)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			e, err := decodeQuarantine(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// quarantine moves the entry k of bucket, as stored, to the quarantine
// bucket with the reason, replacing an earlier quarantined copy.
func quarantine(tx *bolt.Tx, bucket, k []byte, reason string) error {
	if _, err := tx.CreateBucketIfNotExists(bucketQuarantine); err != nil {
		return &writeError{err}
	}
	v := bytes.Clone(tx.Bucket(bucket).Get(k))
	e := newEncoder(len(bucket) + len(reason) + len(v))
	e.str(reason)
	qk := pairKey(string(bucket), string(k))
	if err := put(tx, bucketQuarantine, qk, e.rest(v)); err != nil {
		return err
	}
	return del(tx, bucket, k)
}

func decodeQuarantine(k, v []byte) (QuarantineEntry, error) {
	body, err := unseal(bucketQuarantine, k, v)
	if err != nil {
		return QuarantineEntry{}, err
	}
	bucket, key, ok := splitPairKey(k)
	if !ok {
		return QuarantineEntry{}, corrupt(bucketQuarantine, k, "key does not decode")
	}
	d := newDecoder(body)
	e := QuarantineEntry{Bucket: string(bucket), Key: bytes.Clone(key), Reason: d.str(), Value: d.rest()}
	return e, d.done(bucketQuarantine, k, nil)
}

// asCorrupt returns err as a *CorruptError.
func asCorrupt(err error) *CorruptError {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce
	}
	return &CorruptError{Reason: err.Error()}
}
