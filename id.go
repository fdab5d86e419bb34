package writeback

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// ids keeps newID monotonic within the process.
var ids struct {
	mu     sync.Mutex
	lastMS int64
	seq    uint16 // 12-bit counter within one millisecond
}

// newID returns a time-ordered unique ID in UUIDv7 layout (RFC 9562): 48 bits
// of Unix milliseconds, a 12-bit counter that keeps IDs of the same
// millisecond in order (RFC 9562 §6.2, method 1), then random bits. IDs sort
// by creation time, which the store's ordered listings rely on.
func newID(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[6:])

	ms := now.UnixMilli()
	ids.mu.Lock()
	if ms <= ids.lastMS {
		ms = ids.lastMS
		ids.seq++
		if ids.seq > 0x0fff {
			ms++
			ids.seq = 0
		}
	} else {
		// Start low in the counter's range to leave room for increments.
		ids.seq = uint16(b[6]&0x07)<<8 | uint16(b[7])
	}
	ids.lastMS = ms
	seq := ids.seq
	ids.mu.Unlock()

	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)
	b[6] = 0x70 | byte(seq>>8)
	b[7] = byte(seq)
	b[8] = 0x80 | b[8]&0x3f
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
