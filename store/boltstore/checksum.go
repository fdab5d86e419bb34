package boltstore

import (
	"encoding/binary"
	"hash/crc32"
)

// Every value the store writes, in every bucket, is sealed: a format byte,
// the body, and a CRC-32C of the bucket name, the key, the format byte and
// the body. A bit that flips in a key or a value, or a value that ends up
// under another key or in another bucket, fails its checksum when read, and
// the read reports a [*CorruptError] naming the bucket and the key instead
// of returning wrong data.
const (
	sealFormat = 2
	sealSize   = 1 + crc32.Size
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sealSum is the checksum of an entry of bucket with key k and the sealed
// value v without its checksum.
func sealSum(bucket, k, v []byte) uint32 {
	var n [binary.MaxVarintLen64]byte
	sum := crc32.Update(0, castagnoli, bucket)
	sum = crc32.Update(sum, castagnoli, n[:binary.PutUvarint(n[:], uint64(len(k)))])
	sum = crc32.Update(sum, castagnoli, k)
	return crc32.Update(sum, castagnoli, v)
}

// seal returns the stored value of body under key k in bucket.
func seal(bucket, k, body []byte) []byte {
	v := make([]byte, 0, len(body)+sealSize)
	v = append(v, sealFormat)
	v = append(v, body...)
	return binary.BigEndian.AppendUint32(v, sealSum(bucket, k, v))
}

// unseal checks a stored value and returns its body, which aliases v (and
// so bbolt's memory: copy what outlives the transaction).
func unseal(bucket, k, v []byte) ([]byte, error) {
	switch {
	case len(v) < sealSize:
		return nil, corrupt(bucket, k, "value of %d bytes is too short", len(v))
	case v[0] != sealFormat:
		return nil, corrupt(bucket, k, "unknown value format %d", v[0])
	}
	n := len(v) - crc32.Size
	if got, want := binary.BigEndian.Uint32(v[n:]), sealSum(bucket, k, v[:n]); got != want {
		return nil, corrupt(bucket, k, "checksum mismatch")
	}
	return v[1:n], nil
}
