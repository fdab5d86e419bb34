package boltstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/writebackhq/writeback/store"
)

// outcome is what a damaged file does to the store.
type outcome string

const (
	// refused: Open fails with ErrCorrupt.
	refused outcome = "refused at Open"
	// verified: Open succeeds, Verify reports ErrCorrupt.
	verified outcome = "detected by Verify"
	// quarantined: Verify reports it, and claiming the queue skips or
	// fails the damaged job while every other job is claimed exactly once.
	quarantined outcome = "quarantined at Claim"
)

// corruption is one way to damage a store file and what it must lead to.
type corruption struct {
	name   string
	damage func(t *testing.T, path string)
	want   outcome
	// orRefused accepts a refusal at Open too: page damage that Open's
	// probe of the first and last entries may or may not meet, depending
	// on where bbolt placed the pages.
	orRefused bool
	// names is a text the ErrCorrupt must contain (a bucket or key).
	names string
	// lost are the jobs the damage took: Claim either cannot reach them or
	// returns them as damaged (a payload saying so), never as good work.
	// Every other job is claimed exactly once, with its payload.
	lost []string
}

// TestCorruption damages copies of one store file in many ways and checks
// that each damage is refused at Open, reported by Verify or worked around
// by Claim, never silently read as good data.
func TestCorruption(t *testing.T) {
	t.Parallel()
	tmpl := dmgTemplate(t)
	m := func() meta {
		path := filepath.Join(t.TempDir(), "m.db")
		require.NoError(t, os.WriteFile(path, tmpl, 0o600))
		return fileMeta(t, path)
	}()
	ps := int64(m.pageSize)
	hw := int64(m.pgid) * ps
	truncate := func(size int64) func(*testing.T, string) {
		return func(t *testing.T, path string) { require.NoError(t, os.Truncate(path, size)) }
	}
	flip := func(off int64, bit uint) func(*testing.T, string) {
		return func(t *testing.T, path string) { flipBit(t, path, off, bit) }
	}
	// flipIn flips a bit at delta from the start of needle in the file.
	flipIn := func(needle []byte, delta int64, bit uint) func(*testing.T, string) {
		return func(t *testing.T, path string) { flipBit(t, path, offsetOf(t, path, 2*ps, needle)+delta, bit) }
	}
	page := func(flags uint16, needle []byte) int64 { return int64(pageOf(t, tmpl, m, flags, needle)) * ps }
	leaf250 := page(leafPageFlag, jobNeedle(250))
	branch := page(branchPageFlag, nil)
	freelist := int64(m.freelist) * ps
	metaOff := func(i int64) int64 { return i*ps + pageHeaderSize }
	raw := func(fn func(tx *bolt.Tx) error) func(*testing.T, string) {
		return func(t *testing.T, path string) { rawUpdate(t, path, fn) }
	}
	// rawPut stores v under k in bucket, sealed or not, keeping the count.
	rawPut := func(bucket, k, v []byte, sealed bool) func(*testing.T, string) {
		return raw(func(tx *bolt.Tx) error {
			if sealed {
				return put(tx, bucket, k, v)
			}
			return tx.Bucket(bucket).Put(k, v)
		})
	}
	rawDel := func(bucket, k []byte) func(*testing.T, string) {
		return raw(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete(k) })
	}
	dk := func(i int) []byte { return dueKey(dmgT0.Add(time.Duration(i)*time.Second), dmgID(i)) }

	cases := []corruption{
		{name: "TruncatedToZero", damage: truncate(0), want: refused, names: "empty"},
		{name: "TruncatedMidMeta0", damage: truncate(40), want: refused},
		{name: "TruncatedMidMeta1", damage: truncate(ps + 40), want: refused, names: "meta page 1"},
		{name: "TruncatedAfterMeta", damage: truncate(2 * ps), want: refused, names: "truncated"},
		{name: "TruncatedToHalf", damage: truncate(hw / 2), want: refused, names: "truncated"},
		{name: "TruncatedMidPage", damage: truncate(hw - ps/2), want: refused, names: "truncated"},
		{name: "TruncatedLastPage", damage: truncate(hw - ps), want: refused, names: "truncated"},
		{name: "Meta0Magic", damage: flip(metaOff(0), 3), want: refused, names: "meta page 0"},
		{name: "Meta0Root", damage: flip(metaOff(0)+16, 0), want: refused, names: "meta page 0"},
		{name: "Meta0Txid", damage: flip(metaOff(0)+48, 5), want: refused, names: "meta page 0"},
		{name: "Meta1Freelist", damage: flip(metaOff(1)+32, 1), want: refused, names: "meta page 1"},
		{name: "Meta1HighWater", damage: flip(metaOff(1)+40, 2), want: refused, names: "meta page 1"},
		{name: "Meta1Checksum", damage: flip(metaOff(1)+56, 7), want: refused, names: "meta page 1"},
		{name: "FreelistFlags", damage: flip(freelist+8, 1), want: refused, names: "freelist"},
		{name: "FreelistCount", damage: flip(freelist+11, 6), want: refused, names: "freelist"},
		{name: "FreelistEntryHighBit", damage: flip(freelist+pageHeaderSize+5, 0), want: refused, names: "freelist"},
		{name: "FreelistEntryLowBit", damage: flip(freelist+pageHeaderSize, 0), want: verified, orRefused: true, names: "page"},
		{name: "FreelistZeroed", damage: func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteAt(make([]byte, ps), freelist)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, want: refused, names: "freelist"},
		{name: "BranchChildPointer", damage: flip(branch+pageHeaderSize+8, 1), want: verified, orRefused: true},
		{name: "LeafPageID", damage: flip(leaf250, 0), want: verified, orRefused: true, names: "page"},
		{name: "LeafPageFlags", damage: flip(leaf250+8, 4), want: verified, orRefused: true, names: "page"},
		{name: "LeafPageCount", damage: flip(leaf250+10, 0), want: verified, orRefused: true},
		{name: "JobPayloadBit", damage: flipIn(jobNeedle(250), int64(len(jobNeedle(250)))+40, 3), want: quarantined, names: `key "op-000250"`, lost: []string{dmgID(250)}},
		{name: "JobRunAtBit", damage: flipIn(jobNeedle(251), int64(len(jobNeedle(251)))+4, 0), want: quarantined, names: `key "op-000251"`, lost: []string{dmgID(251)}},
		{name: "JobKeyBit", damage: flipIn(jobNeedle(252), 8, 0), want: verified, names: "jobs", lost: []string{dmgID(252), dmgID(253)}},
		{name: "OperationValueBit", damage: flipIn([]byte("operation "+dmgID(7)), 3, 1), want: verified, names: `operations, key "op-000007"`},
		{name: "DueKeyBit", damage: flipIn(append(dk(253), 0x02), 12, 0), want: verified, names: "jobs-due", lost: []string{dmgID(253)}},
		{name: "DueEntryDangling", damage: rawPut(bucketDue, dueKey(dmgT0, "op-ghost"), nil, true), want: quarantined, names: "op-ghost"},
		{name: "DueEntryUnsealed", damage: rawPut(bucketDue, dk(10), []byte("junk"), false), want: verified, names: "jobs-due"},
		{name: "DueKeyTooShort", damage: rawPut(bucketDue, []byte{1, 2, 3}, nil, true), want: quarantined, names: "too short"},
		{name: "DueEntryDuplicate", damage: rawPut(bucketDue, dueKey(dmgT0.Add(-time.Hour), dmgID(20)), nil, true), want: quarantined, names: dmgID(20)},
		{name: "DueEntryMissing", damage: rawDel(bucketDue, dk(30)), want: verified, names: dmgID(30), lost: []string{dmgID(30)}},
		{name: "JobRecordGarbage", damage: rawPut(bucketJobs, []byte(dmgID(40)), []byte("garbage"), false), want: quarantined, names: dmgID(40), lost: []string{dmgID(40)}},
		{name: "JobRecordUndecodable", damage: rawPut(bucketJobs, []byte(dmgID(41)), []byte{0xff, 0xff, 0xff}, true), want: quarantined, names: dmgID(41), lost: []string{dmgID(41)}},
		{name: "JobRecordOfAnotherJob", damage: rawPut(bucketJobs, []byte(dmgID(42)), encodeJob(store.Job{ID: dmgID(43), RunAt: dmgT0}), true), want: quarantined, names: dmgID(42), lost: []string{dmgID(42)}},
		{name: "JobRecordMissing", damage: rawDel(bucketJobs, []byte(dmgID(44))), want: quarantined, names: dmgID(44), lost: []string{dmgID(44)}},
		{name: "OperationGarbage", damage: rawPut(bucketOperations, []byte(dmgID(50)), []byte("garbage"), false), want: verified, names: dmgID(50)},
		{name: "OperationIndexDangling", damage: rawPut(bucketOpIndex, pairKey("inst-1", "op-ghost"), nil, true), want: verified, names: "op-ghost"},
		{name: "InstallationGarbage", damage: rawPut(bucketInstallations, []byte("inst-2"), seal(bucketInstallations, []byte("inst-2"), []byte{9}), false), want: verified, names: "inst-2"},
		{name: "InstallationChecksum", damage: rawPut(bucketInstallations, []byte("inst-1"), append(seal(bucketInstallations, []byte("inst-1"), encodeInstallation(store.Installation{ID: "inst-1", Integration: "crm", GroupRef: "acme", Revision: 1, Data: []byte("acme")})), 0), false), want: verified, names: "inst-1"},
		{name: "GroupIndexDangling", damage: rawPut(bucketGroupRefs, pairKey("crm", "ghost"), []byte("inst-ghost"), true), want: verified, names: "inst-ghost"},
		{name: "IdempotencyKeyGarbage", damage: rawPut(bucketKeys, []byte("inst-1/key-"+dmgID(3)), []byte("garbage"), false), want: verified, names: "key-" + dmgID(3)},
		{name: "IdempotencyKeyVanished", damage: rawDel(bucketKeys, []byte("inst-1/key-"+dmgID(4))), want: verified, names: "idempotency-keys"},
		{name: "OpenGroupDangling", damage: rawPut(bucketOpenGroups, []byte("ghost-group"), encodeOpenGroup(1, "g-ghost"), true), want: verified, names: "g-ghost"},
		{name: "MemberGarbage", damage: rawPut(bucketMembers, memberKey("g-sealed", 0), []byte("garbage"), false), want: verified, names: "group-members"},
		{name: "NestedBucket", damage: raw(func(tx *bolt.Tx) error {
			_, err := tx.Bucket(bucketJobs).CreateBucket([]byte("nested"))
			return err
		}), want: verified, names: "nested"},
		{name: "FormatUnknown", damage: raw(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(formatKey, []byte{9}) }), want: refused, names: "format"},
		{name: "IndexMissing", damage: raw(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketDue) }), want: refused, names: "jobs-due"},
	}
	tally := map[outcome]int{}
	var tallyMu = make(chan struct{}, 1)
	t.Cleanup(func() {
		t.Logf("corruptions: %d; %s: %d; %s: %d; %s: %d; undetected: 0",
			len(cases), refused, tally[refused], verified, tally[verified], quarantined, tally[quarantined])
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "store.db")
			require.NoError(t, os.WriteFile(path, tmpl, 0o600))
			c.damage(t, path)
			got := assess(t, path, c)
			tallyMu <- struct{}{}
			tally[got]++
			<-tallyMu
		})
	}
}

// assess opens the damaged file at path and returns the outcome c must
// have, failing t if it has another or if anything reads wrong.
func assess(t *testing.T, path string, c corruption) outcome {
	t.Helper()
	s, err := Open(path, nil)
	if err != nil {
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, path)
		require.True(t, c.want == refused || c.orRefused, "refused at Open, want %s: %v", c.want, err)
		if c.names != "" && c.want == refused {
			require.ErrorContains(t, err, c.names)
		}
		return refused
	}
	defer func() { require.NoError(t, s.Close()) }()
	require.NotEqual(t, refused, c.want, "Open accepted the file")

	verr := s.Verify(t.Context())
	require.Error(t, verr, "damage went undetected by Verify")
	require.ErrorIs(t, verr, ErrCorrupt)
	var ce *CorruptError
	require.ErrorAs(t, verr, &ce)
	if c.names != "" {
		require.ErrorContains(t, verr, c.names)
	}
	if ce.Bucket == "" {
		// Page damage: the records are not to be trusted at all.
		return verified
	}

	// The queue runs on: every job but the damaged ones is claimed
	// exactly once, and Claim never fails.
	seen := map[string]int{}
	var damaged []string
	for range 1000 {
		jobs, err := s.Claim(t.Context(), farFuture, farFuture.Add(time.Hour), 37)
		require.NoError(t, err)
		if len(jobs) == 0 {
			break
		}
		for _, j := range jobs {
			seen[j.ID]++
			if bytes.Contains(j.Payload, []byte("record is damaged")) {
				damaged = append(damaged, j.ID)
				continue
			}
			if i, ok := jobIndex(j.ID); ok {
				require.Equal(t, dmgPayload(i), j.Payload, "job %s read wrong", j.ID)
			}
		}
	}
	for _, id := range damaged {
		require.Contains(t, c.lost, id, "job %s claimed as damaged", id)
	}
	for i := range 500 {
		id := dmgID(i)
		if contains(c.lost, id) {
			require.True(t, seen[id] == 0 || contains(damaged, id), "job %s was damaged but claimed as good", id)
			continue
		}
		require.Equal(t, 1, seen[id], "job %s claims", id)
	}
	require.Equal(t, 1, seen["g-sealed"], "the sealed group")
	for id, n := range seen {
		require.Equal(t, 1, n, "job %s claimed %d times", id, n)
	}
	q, err := s.Quarantine(t.Context())
	require.NoError(t, err)
	if c.want == quarantined {
		require.NotEmpty(t, q, "damage was set aside")
		return quarantined
	}
	return verified
}

func jobIndex(id string) (int, bool) {
	var i int
	_, err := fmt.Sscanf(id, "op-%06d", &i)
	return i, err == nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
