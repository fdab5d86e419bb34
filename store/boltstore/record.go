package boltstore

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Records are stored as length-prefixed strings, fixed or variable-width
// integers, and the opaque bytes last, unprefixed; the encoders return the
// body that put seals (see seal).

// errBadRecord reports a stored value that does not decode.
var errBadRecord = errors.New("undecodable record")

// encoder appends a record's fields.
type encoder struct{ b []byte }

func newEncoder(size int) *encoder {
	return &encoder{b: make([]byte, 0, size+16)}
}

func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }

func (e *encoder) varint(v int64) { e.b = binary.AppendVarint(e.b, v) }

func (e *encoder) rest(b []byte) []byte { return append(e.b, b...) }

// decoder reads a record's fields, copying them out of bbolt's memory, and
// remembers the first error.
type decoder struct {
	b   []byte
	err error
}

func newDecoder(b []byte) *decoder {
	return &decoder{b: b}
}

func (d *decoder) str() string {
	if d.err != nil {
		return ""
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) {
		d.err = errBadRecord
		return ""
	}
	s := string(d.b[k : k+int(n)])
	d.b = d.b[k+int(n):]
	return s
}

func (d *decoder) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = errBadRecord
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Varint(d.b)
	if k <= 0 {
		d.err = errBadRecord
		return 0
	}
	d.b = d.b[k:]
	return v
}

// rest copies the remaining bytes; none come back nil.
func (d *decoder) rest() []byte {
	if d.err != nil || len(d.b) == 0 {
		return nil
	}
	return append([]byte(nil), d.b...)
}

// done returns the decoding error as a *CorruptError naming the bucket and
// key, or one if id (the ID the record holds; nil for records without one)
// is not the key.
func (d *decoder) done(bucket, key []byte, id *string) error {
	switch {
	case d.err != nil:
		return corrupt(bucket, key, "%v", d.err)
	case id != nil && *id != string(key):
		return corrupt(bucket, key, "holds the record of %q", *id)
	}
	return nil
}

// Times are stored as sortable unsigned nanoseconds: the zero time is 0, and
// other times are Unix nanoseconds with the sign bit flipped (clamped to the
// years 1678 to 2262), so byte order is time order.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

func timeCode(t time.Time) uint64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minTime):
		t = minTime
	case t.After(maxTime):
		t = maxTime
	}
	return uint64(t.UnixNano()) ^ 1<<63
}

func codeTime(c uint64) time.Time {
	if c == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(c^1<<63)).UTC()
}

func encodeInstallation(r store.Installation) []byte {
	e := newEncoder(len(r.ID) + len(r.Integration) + len(r.GroupRef) + len(r.Data))
	e.str(r.ID)
	e.str(r.Integration)
	e.str(r.GroupRef)
	e.varint(r.Revision)
	return e.rest(r.Data)
}

func decodeInstallation(key, b []byte) (store.Installation, error) {
	d := newDecoder(b)
	r := store.Installation{ID: d.str(), Integration: d.str(), GroupRef: d.str(), Revision: d.varint(), Data: d.rest()}
	return r, d.done(bucketInstallations, key, &r.ID)
}

func encodeOperation(r store.Operation) []byte {
	e := newEncoder(len(r.ID) + len(r.InstallationID) + len(r.Data))
	e.str(r.ID)
	e.str(r.InstallationID)
	return e.rest(r.Data)
}

func decodeOperation(key, b []byte) (store.Operation, error) {
	d := newDecoder(b)
	r := store.Operation{ID: d.str(), InstallationID: d.str(), Data: d.rest()}
	return r, d.done(bucketOperations, key, &r.ID)
}

func encodeKey(k store.IdempotencyKey) []byte {
	e := newEncoder(len(k.RequestHash) + len(k.OperationID) + 8)
	e.str(k.RequestHash)
	e.str(k.OperationID)
	e.u64(timeCode(k.ExpiresAt))
	return e.b
}

func decodeKey(key, b []byte) (store.IdempotencyKey, error) {
	d := newDecoder(b)
	k := store.IdempotencyKey{Key: string(key), RequestHash: d.str(), OperationID: d.str(), ExpiresAt: codeTime(d.u64())}
	if d.err == nil && len(d.b) != 0 {
		d.err = errBadRecord
	}
	return k, d.done(bucketKeys, key, nil)
}

func encodeJob(j store.Job) []byte {
	e := newEncoder(len(j.ID) + len(j.InstallationID) + len(j.Provider) + len(j.Group) + len(j.Payload) + 16)
	e.str(j.ID)
	e.str(j.InstallationID)
	e.str(j.Provider)
	e.str(j.Group)
	e.u64(timeCode(j.RunAt))
	e.varint(int64(j.Attempts))
	return e.rest(j.Payload)
}

func decodeJob(key, b []byte) (store.Job, error) {
	d := newDecoder(b)
	j := store.Job{
		ID:             d.str(),
		InstallationID: d.str(),
		Provider:       d.str(),
		Group:          d.str(),
		RunAt:          codeTime(d.u64()),
		Attempts:       int(d.varint()),
		Payload:        d.rest(),
	}
	return j, d.done(bucketJobs, key, &j.ID)
}

// pairKey is an index key of two strings: the first length-prefixed, so
// that all keys of one first string share a prefix and sort by the second.
func pairKey(first, second string) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(first)+len(second))
	b = binary.AppendUvarint(b, uint64(len(first)))
	b = append(b, first...)
	return append(b, second...)
}

// dueKey is the due index's key: RunAt code, then job ID.
func dueKey(runAt time.Time, id string) []byte {
	b := make([]byte, 0, 8+len(id))
	b = binary.BigEndian.AppendUint64(b, timeCode(runAt))
	return append(b, id...)
}

// memberKey is a group member's key: job ID prefix, then join sequence.
func memberKey(jobID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(pairKey(jobID, ""), seq)
}

// splitPairKey returns the first string of a pairKey and the rest.
func splitPairKey(k []byte) (first, second []byte, ok bool) {
	n, w := binary.Uvarint(k)
	if w <= 0 || n > uint64(len(k)-w) {
		return nil, nil, false
	}
	return k[w : w+int(n)], k[w+int(n):], true
}

// openGroup is the open-group index's value: the member count, then the job ID.
func encodeOpenGroup(size uint64, jobID string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, size), jobID...)
}

func decodeOpenGroup(key, b []byte) (size uint64, jobID string, err error) {
	if len(b) < 9 {
		return 0, "", corrupt(bucketOpenGroups, key, "%v", errBadRecord)
	}
	return binary.BigEndian.Uint64(b), string(b[8:]), nil
}
