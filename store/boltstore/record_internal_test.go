package boltstore

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/writebackhq/writeback/store"
)

func TestTimeCodeOrder(t *testing.T) {
	t.Parallel()
	times := []time.Time{
		{},
		time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), // clamped
		time.Unix(0, math.MinInt64+1),
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Date(2026, 3, 14, 15, 9, 26, 535_897_932, time.FixedZone("x", 3600)),
		time.Date(2026, 3, 14, 15, 9, 26, 535_897_933, time.UTC),
		time.Unix(0, math.MaxInt64),
	}
	for i := 1; i < len(times); i++ {
		a, b := dueKey(times[i-1], "a"), dueKey(times[i], "a")
		require.LessOrEqual(t, bytes.Compare(a, b), 0, "%v before %v", times[i-1], times[i])
	}
	for _, tm := range times[2:] {
		require.True(t, tm.Equal(codeTime(timeCode(tm))), "%v round trip", tm)
	}
	require.True(t, codeTime(timeCode(time.Time{})).IsZero())
}

func FuzzDecodeJob(f *testing.F) {
	f.Add(encodeJob(store.Job{ID: "op-1", InstallationID: "inst-1", Provider: "hubspot", Group: "g", RunAt: time.Unix(5, 6), Attempts: 3, Payload: []byte("p")}))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		job, err := decodeJob([]byte("k"), b)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		again, err := decodeJob([]byte("k"), encodeJob(job))
		require.NoError(t, err)
		require.Equal(t, job.ID, again.ID)
		require.Equal(t, job.Attempts, again.Attempts)
		require.True(t, job.RunAt.Equal(again.RunAt))
		require.Equal(t, job.Payload, again.Payload)
		for _, decode := range []func(k, v []byte) error{
			func(k, v []byte) error { _, err := decodeInstallation(k, v); return err },
			func(k, v []byte) error { _, err := decodeOperation(k, v); return err },
			func(k, v []byte) error { _, err := decodeKey(k, v); return err },
		} {
			_ = decode([]byte("k"), b) // must not panic
		}
	})
}
