package boltstore

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/writebackhq/writeback/store"
)

// TestClaimAroundDamage damages a queue of 2,000 jobs in several ways and
// claims it empty: Claim never fails, every undamaged job is claimed
// exactly once with its payload, the damaged jobs come back saying so,
// and the entries that lead nowhere end in quarantine.
func TestClaimAroundDamage(t *testing.T) {
	t.Parallel()
	const n = 2000
	path := filepath.Join(t.TempDir(), "store.db")
	buildStore(t, path, n)

	damagedJobs := map[string]bool{}
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		jobs, due := tx.Bucket(bucketJobs), tx.Bucket(bucketDue)
		dk := func(i int) []byte { return dueKey(dmgT0.Add(time.Duration(i)*time.Second), dmgID(i)) }
		for i := 100; i < n; i += 150 {
			// A job record that no longer decodes.
			require.NoError(t, jobs.Put([]byte(dmgID(i)), []byte("garbage")))
			damagedJobs[dmgID(i)] = true
			// A bit flipped in a job's payload.
			v := bytes.Clone(jobs.Get([]byte(dmgID(i + 1))))
			v[len(v)-10] ^= 0x10
			require.NoError(t, jobs.Put([]byte(dmgID(i+1)), v))
			damagedJobs[dmgID(i+1)] = true
			// Due entries naming jobs that do not exist.
			require.NoError(t, due.Put(dueKey(dmgT0.Add(time.Duration(i)*time.Second), "ghost-"+dmgID(i)), seal(bucketDue, nil, nil)))
			// A second, earlier entry for a good job.
			require.NoError(t, due.Put(dueKey(dmgT0.Add(-time.Minute), dmgID(i+2)), nil))
			// A good job's entry with a damaged value.
			require.NoError(t, due.Put(dk(i+3), []byte{0}))
		}
		require.NoError(t, due.Put([]byte{0, 1}, nil)) // a key too short to name a job
		return nil
	})

	s, err := Open(path, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	require.ErrorIs(t, s.Verify(t.Context()), ErrCorrupt)

	seen := map[string]int{}
	for {
		jobs, err := s.Claim(t.Context(), farFuture, farFuture.Add(time.Hour), 64)
		require.NoError(t, err, "Claim never fails on damage")
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			seen[j.ID]++
			require.Equal(t, 1, seen[j.ID], "job %s claimed twice", j.ID)
			if damagedJobs[j.ID] {
				require.Contains(t, string(j.Payload), "record is damaged")
				require.Empty(t, j.Group)
				require.Equal(t, farFuture.Add(time.Hour), j.RunAt, "leased like any other")
				// The engine fails it and completes it; that works.
				require.NoError(t, s.Complete(t.Context(), store.Operation{ID: j.ID, InstallationID: "inst-1", Data: []byte("failed")}, j.Lease()))
				continue
			}
			if i, ok := jobIndex(j.ID); ok {
				require.Equal(t, dmgPayload(i), j.Payload, "job %s", j.ID)
			}
		}
	}
	for i := range n {
		require.Equal(t, 1, seen[dmgID(i)], "job %s", dmgID(i))
	}
	require.Equal(t, n+2, len(seen), "the jobs and the two groups, nothing else")

	q, err := s.Quarantine(t.Context())
	require.NoError(t, err)
	var dangling, duplicates, records int
	for _, e := range q {
		switch {
		case e.Bucket == string(bucketJobs):
			records++
		case bytes.Contains(e.Key, []byte("ghost-")):
			dangling++
		case bytes.HasPrefix(e.Key, dueKey(dmgT0.Add(-time.Minute), "")):
			duplicates++
		}
	}
	require.Equal(t, 2*len(damagedJobs)/2, records, "damaged job records kept")
	require.Equal(t, len(damagedJobs)/2, dangling)
	require.Equal(t, len(damagedJobs)/2, duplicates)
	require.Len(t, q, records+dangling+duplicates+1)
}
