package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/writebackhq/writeback/store"
	bolt "go.etcd.io/bbolt"
)

// Claim implements [store.Queue]. It reads the due index from its start
// and stops at the first job not yet due, so its cost grows with the jobs
// it claims, not with the queue. When nothing is due it answers without a
// write transaction.
//
// Damage never stops the queue. A due-index entry that is damaged, names a
// job that does not exist, or duplicates the job's own entry is moved to
// quarantine (see [Store.Quarantine]) and skipped. A job whose record
// does not decode is claimed all the same, so that its operation fails
// rather than waits forever: it comes back with its ID (from its key), the
// lease set (RunAt is leaseUntil, Attempts one more than the damaged record
// held, where that can be read) and, as its Payload, a message saying that
// its record was damaged, which no engine decodes as work; its Group is
// empty, so it is run as a plain job, and the damaged record is kept in
// quarantine. Completing it removes it and its members as usual.
func (s *Store) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.Job, error) {
	if limit < 1 {
		return nil, ctx.Err()
	}
	var due bool
	if err := s.read(ctx, func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketDue).Cursor().First()
		due = k != nil && (len(k) < 8 || isDue(k, now))
		return nil
	}); err != nil || !due {
		return nil, err
	}
	// jobs is read only once the committer has answered, as in Join.
	var jobs []store.Job
	err := s.write(ctx, func(tx *bolt.Tx) error {
		var err error
		jobs, err = claim(tx, now, leaseUntil, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// isDue reports whether a due-index key is at or before now.
func isDue(k []byte, now time.Time) bool {
	return len(k) >= 8 && binary.BigEndian.Uint64(k) <= timeCode(now)
}

// claimed is a due-index entry claim takes: the job it leads to, or the
// damage of the job's record.
type claimed struct {
	key    []byte
	job    store.Job
	damage error
}

// claim leases up to limit due jobs, quarantining the damaged entries it
// meets on the way.
func claim(tx *bolt.Tx, now, leaseUntil time.Time, limit int) ([]store.Job, error) {
	var (
		picks []claimed
		drops []*CorruptError
		seen  = map[string]bool{}
	)
	c := tx.Bucket(bucketDue).Cursor()
	for k, v := c.First(); k != nil && len(picks) < limit; k, v = c.Next() {
		if len(k) < 8 {
			drops = append(drops, corrupt(bucketDue, k, "key is too short"))
			continue
		}
		if !isDue(k, now) {
			break
		}
		_, sealErr := unseal(bucketDue, k, v)
		id := string(k[8:])
		job, err := getJob(tx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			drops = append(drops, corrupt(bucketDue, k, "names job %q, which does not exist", id))
		case err != nil && sealErr != nil:
			// Neither the entry nor the job can be trusted to name it.
			drops = append(drops, corrupt(bucketDue, k, "damaged, and names job %q, which is damaged too", id))
		case err != nil:
			if seen[id] {
				drops = append(drops, corrupt(bucketDue, k, "a second entry of job %q", id))
				break
			}
			seen[id] = true
			picks = append(picks, claimed{key: bytes.Clone(k), job: store.Job{ID: id}, damage: err})
		case !bytes.Equal(dueKey(job.RunAt, id), k) && (seen[id] || has(tx, bucketDue, dueKey(job.RunAt, id))):
			drops = append(drops, corrupt(bucketDue, k, "job %q is due at %v, not here", id, job.RunAt))
		case seen[id]:
			drops = append(drops, corrupt(bucketDue, k, "a second entry of job %q", id))
		default:
			// A matching entry, or the only one the job has: it stands in
			// for the job's own. A damaged value is rewritten below.
			seen[id] = true
			picks = append(picks, claimed{key: bytes.Clone(k), job: job})
		}
	}
	for _, d := range drops {
		if err := quarantine(tx, bucketDue, d.Key, d.Reason); err != nil {
			return nil, err
		}
	}
	jobs := make([]store.Job, 0, len(picks))
	for _, p := range picks {
		if err := del(tx, bucketDue, p.key); err != nil {
			return nil, err
		}
		var job store.Job
		var err error
		if p.damage != nil {
			job, err = claimDamaged(tx, p.job.ID, p.damage, leaseUntil)
		} else {
			job, err = claimJob(tx, p.job, leaseUntil)
		}
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

// claimJob leases job (whose due entry is gone) until leaseUntil.
func claimJob(tx *bolt.Tx, job store.Job, leaseUntil time.Time) (store.Job, error) {
	if err := closeGroup(tx, job); err != nil {
		return store.Job{}, err
	}
	job.RunAt = leaseUntil
	job.Attempts++
	job.Leased = true
	return job, putJob(tx, job, nil)
}

// claimDamaged leases job id, whose record does not decode: the record is
// kept in quarantine and replaced by one the engine will fail (see Claim),
// and open groups naming the job are closed.
func claimDamaged(tx *bolt.Tx, id string, damage error, leaseUntil time.Time) (store.Job, error) {
	job := store.Job{ID: id, RunAt: leaseUntil, Attempts: 1, Leased: true}
	if old, err := decodeJob([]byte(id), salvage(tx.Bucket(bucketJobs).Get([]byte(id)))); err == nil && old.ID == id && old.Attempts >= 0 {
		job.InstallationID, job.Provider, job.Attempts = old.InstallationID, old.Provider, old.Attempts+1
	}
	job.Payload = []byte(fmt.Sprintf("boltstore: job %s cannot run: its stored record is damaged (%v)", id, damage))
	if err := quarantine(tx, bucketJobs, []byte(id), asCorrupt(damage).Reason); err != nil {
		return store.Job{}, err
	}
	var groups [][]byte
	err := tx.Bucket(bucketOpenGroups).ForEach(func(k, v []byte) error {
		if body, err := unseal(bucketOpenGroups, k, v); err == nil {
			if _, jid, err := decodeOpenGroup(k, body); err == nil && jid == id {
				groups = append(groups, bytes.Clone(k))
			}
		}
		return nil
	})
	if err != nil {
		return store.Job{}, err
	}
	for _, g := range groups {
		if err := del(tx, bucketOpenGroups, g); err != nil {
			return store.Job{}, err
		}
	}
	return job, putJob(tx, job, nil)
}

// salvage returns the body of a stored value whose checksum may be wrong,
// for a best-effort read of what it still holds.
func salvage(v []byte) []byte {
	if len(v) < sealSize {
		return nil
	}
	return v[1 : len(v)-4]
}
