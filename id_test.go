package writeback

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewIDIsOrdered(t *testing.T) {
	t.Parallel()
	now := time.Now()
	prev := newID(now)
	for i := range 10000 {
		// The same millisecond, and now and then a clock step back.
		at := now
		if i%1000 == 999 {
			at = now.Add(-time.Second)
		}
		id := newID(at)
		require.Greater(t, id, prev, "id %d", i)
		prev = id
	}
}
