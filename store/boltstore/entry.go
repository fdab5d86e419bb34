package boltstore

import (
	bolt "go.etcd.io/bbolt"
)

// The store reads and writes entries only through get, put and del, which
// seal every value (see seal) and keep each bucket's entry count in the
// bucket's sequence, so that Verify notices entries that went missing.

// get returns the body stored under k in bucket, or nil if there is none.
// The body aliases bbolt's memory.
func get(tx *bolt.Tx, bucket, k []byte) ([]byte, error) {
	v := tx.Bucket(bucket).Get(k)
	if v == nil {
		return nil, nil
	}
	return unseal(bucket, k, v)
}

// has reports whether k is stored in bucket, without reading its value.
func has(tx *bolt.Tx, bucket, k []byte) bool {
	return tx.Bucket(bucket).Get(k) != nil
}

// put stores body under k in bucket.
func put(tx *bolt.Tx, bucket, k, body []byte) error {
	b := tx.Bucket(bucket)
	fresh := b.Get(k) == nil
	if err := b.Put(k, seal(bucket, k, body)); err != nil {
		return &writeError{err}
	}
	if fresh {
		if err := b.SetSequence(b.Sequence() + 1); err != nil {
			return &writeError{err}
		}
	}
	return nil
}

// del deletes k from bucket, if it is there.
func del(tx *bolt.Tx, bucket, k []byte) error {
	b := tx.Bucket(bucket)
	if b.Get(k) == nil {
		return nil
	}
	if err := b.Delete(k); err != nil {
		return &writeError{err}
	}
	if err := b.SetSequence(b.Sequence() - 1); err != nil {
		return &writeError{err}
	}
	return nil
}
