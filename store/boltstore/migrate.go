package boltstore

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Store formats: 1 kept values unsealed (records started with a format
// byte of 1, index values were raw) and kept no entry counts; 2 seals every
// value (see seal) and counts each bucket's entries in its sequence.
var (
	formatV1 = []byte{1}
	formatV2 = []byte{2}
)

// recordBuckets are the buckets whose format-1 values began with a format
// byte of 1.
var recordBuckets = map[string]bool{
	string(bucketInstallations): true, string(bucketOperations): true,
	string(bucketKeys): true, string(bucketJobs): true,
}

// migrateV1 rewrites a format-1 store as format 2 in tx: every value is
// sealed and every bucket's entries counted. A record that does not decode
// fails it with a *CorruptError, and nothing is changed.
func migrateV1(tx *bolt.Tx) error {
	for _, name := range dataBuckets {
		b := tx.Bucket(name)
		var keys, bodies [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if v == nil {
				return corrupt(name, k, "a bucket where an entry belongs")
			}
			body := v
			if recordBuckets[string(name)] {
				if len(v) == 0 || v[0] != formatV1[0] {
					return corrupt(name, k, "not a format-1 record")
				}
				body = v[1:]
				if err := decoders[string(name)](k, body); err != nil {
					return err
				}
			}
			keys, bodies = append(keys, bytes.Clone(k)), append(bodies, bytes.Clone(body))
			return nil
		})
		if err != nil {
			return err
		}
		for i, k := range keys {
			if err := b.Put(k, seal(name, k, bodies[i])); err != nil {
				return fmt.Errorf("boltstore: migrate: %w", err)
			}
		}
		if err := b.SetSequence(uint64(len(keys))); err != nil {
			return fmt.Errorf("boltstore: migrate: %w", err)
		}
	}
	if err := tx.Bucket(bucketMeta).Put(formatKey, formatV2); err != nil {
		return fmt.Errorf("boltstore: migrate: %w", err)
	}
	return nil
}
