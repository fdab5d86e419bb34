package boltstore

import "fmt"

// CorruptError reports a damaged entry of a store file: the bucket, the key
// and what is wrong with it. It wraps [ErrCorrupt].
type CorruptError struct {
	// Bucket names the bucket (the index) holding the entry, such as
	// "jobs" or "jobs-due"; empty for damage to the file's pages.
	Bucket string
	// Key is the entry's key, as stored.
	Key []byte
	// Reason says what is wrong, in lower case.
	Reason string
}

// Error implements error.
func (e *CorruptError) Error() string {
	if e.Bucket == "" {
		return fmt.Sprintf("%v: %s", ErrCorrupt, e.Reason)
	}
	return fmt.Sprintf("%v: bucket %s, key %q: %s", ErrCorrupt, e.Bucket, e.Key, e.Reason)
}

// Unwrap returns [ErrCorrupt].
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// corrupt returns a *CorruptError for key in bucket.
func corrupt(bucket []byte, key []byte, format string, args ...any) *CorruptError {
	return &CorruptError{Bucket: string(bucket), Key: append([]byte(nil), key...), Reason: fmt.Sprintf(format, args...)}
}
