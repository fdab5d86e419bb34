package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/writebackhq/writeback/store"
	bolt "go.etcd.io/bbolt"
)

// Enqueue implements [store.Queue]. The job's ID must equal the
// operation's.
func (s *Store) Enqueue(ctx context.Context, op store.Operation, job store.Job, key *store.IdempotencyKey, now time.Time) error {
	if err := store.ValidateEnqueue(op, job, key); err != nil {
		return err
	}
	w, k := newOpWrite(op), newKeyWrite(key)
	id, runAt, jobVal := job.ID, job.RunAt, encodeJob(job)
	return s.write(ctx, func(tx *bolt.Tx) error {
		if err := checkCreate(tx, w.id, k.key, now); err != nil {
			return err
		}
		if err := checkNewJob(tx, id); err != nil {
			return err
		}
		if err := putOperation(tx, w, nil); err != nil {
			return err
		}
		if err := reserve(tx, k); err != nil {
			return err
		}
		return putJobValue(tx, id, runAt, 0, jobVal, nil)
	})
}

// Join implements [store.Queue]. A MaxSize below one, or a new group
// whose job does not match its operation and key, fails with a
// [*store.InputError].
func (s *Store) Join(ctx context.Context, req store.JoinRequest) (store.JoinResult, error) {
	if err := req.Validate(); err != nil {
		return store.JoinResult{}, err
	}
	// The committer may run the closure after a caller whose ctx ended has
	// returned: it works on copies, and res is read only once it answered.
	req.Member = bytes.Clone(req.Member)
	req.NewOperation.Data = bytes.Clone(req.NewOperation.Data)
	req.NewJob.Payload = bytes.Clone(req.NewJob.Payload)
	var res store.JoinResult
	err := s.write(ctx, func(tx *bolt.Tx) error {
		var err error
		res, err = join(tx, req)
		return err
	})
	if err != nil {
		return store.JoinResult{}, err
	}
	return res, nil
}

// join adds req's member to its group, opening one if none is open.
func join(tx *bolt.Tx, req store.JoinRequest) (store.JoinResult, error) {
	groups := tx.Bucket(bucketOpenGroups)
	gk := []byte(req.Group)
	var (
		job  store.Job
		old  *store.Job
		size uint64
		res  store.JoinResult
	)
	if v := groups.Get(gk); v != nil {
		n, id, err := decodeOpenGroup(gk, v)
		if err != nil {
			return res, err
		}
		if job, err = getJob(tx, id); err != nil {
			return res, err
		}
		prev := job
		old, size = &prev, n
	} else {
		if err := req.ValidateNewGroup(); err != nil {
			return res, err
		}
		if err := checkCreate(tx, req.NewOperation.ID, "", req.Now); err != nil {
			return res, err
		}
		if err := checkNewJob(tx, req.NewJob.ID); err != nil {
			return res, err
		}
		job, res.Opened = req.NewJob, true
		job.Leased, job.CancelRequested = false, false
	}
	res.JobID, res.Size = job.ID, int(size)+1
	res.Sealed = res.Size >= req.MaxSize

	if res.Opened {
		if err := putOperation(tx, newOpWrite(req.NewOperation), nil); err != nil {
			return res, err
		}
	}
	if err := put(tx.Bucket(bucketMembers), memberKey(job.ID, size), req.Member); err != nil {
		return res, err
	}
	if res.Sealed {
		job.RunAt = req.Now
		if !res.Opened {
			if err := del(groups, gk); err != nil {
				return res, err
			}
		}
	} else if err := put(groups, gk, encodeOpenGroup(size+1, job.ID)); err != nil {
		return res, err
	}
	if res.Opened || res.Sealed {
		return res, putJob(tx, job, old)
	}
	return res, nil
}

// Claim implements [store.Queue]. It reads the due index from its
// start and stops at the first job not yet due, so its cost grows with the
// jobs it claims, not with the queue. When nothing is due it answers
// without a write transaction.
func (s *Store) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.Job, error) {
	if limit < 1 {
		return nil, ctx.Err()
	}
	var due bool
	if err := s.read(ctx, func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketDue).Cursor().First()
		due = k != nil && isDue(k, now)
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

// claim leases up to limit due jobs.
func claim(tx *bolt.Tx, now, leaseUntil time.Time, limit int) ([]store.Job, error) {
	var ids []string
	c := tx.Bucket(bucketDue).Cursor()
	for k, _ := c.First(); k != nil && isDue(k, now) && len(ids) < limit; k, _ = c.Next() {
		ids = append(ids, string(k[8:]))
	}
	jobs := make([]store.Job, 0, len(ids))
	for _, id := range ids {
		job, err := getJob(tx, id)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
	}
	groups := tx.Bucket(bucketOpenGroups)
	for i := range jobs {
		old := jobs[i]
		jobs[i].RunAt = leaseUntil
		jobs[i].Attempts++
		jobs[i].Leased = true
		if g := old.Group; g != "" {
			if v := groups.Get([]byte(g)); v != nil {
				if _, id, err := decodeOpenGroup([]byte(g), v); err == nil && id == old.ID {
					if err := del(groups, []byte(g)); err != nil {
						return nil, err
					}
				}
			}
		}
		if err := putJob(tx, jobs[i], &old); err != nil {
			return nil, err
		}
	}
	return jobs, nil
}

// Members implements [store.Queue]. It fails with
// [store.ErrNotFound] if the job does not exist.
func (s *Store) Members(ctx context.Context, jobID string) (out [][]byte, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketJobs).Get([]byte(jobID)) == nil {
			return fmt.Errorf("boltstore: job %s: %w", jobID, store.ErrNotFound)
		}
		out = [][]byte{}
		prefix := pairKey(jobID, "")
		c := tx.Bucket(bucketMembers).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			out = append(out, bytes.Clone(v))
		}
		return nil
	})
	return out, err
}

// Reschedule implements [store.Queue]. It fails with
// [store.ErrNotFound], storing nothing, if the operation does not exist.
func (s *Store) Reschedule(ctx context.Context, op store.Operation, lease store.Lease, runAt time.Time) error {
	w := newOpWrite(op)
	return s.write(ctx, func(tx *bolt.Tx) error {
		oldOp, err := getOperation(tx, w.id)
		if err != nil {
			return err
		}
		job, err := leasedJob(tx, lease)
		if err != nil {
			return err
		}
		if job.CancelRequested {
			return fmt.Errorf("boltstore: job %s: %w", job.ID, store.ErrCancelRequested)
		}
		if err := putOperation(tx, w, &oldOp); err != nil {
			return err
		}
		old := job
		job.RunAt, job.Leased = runAt, false
		return putJob(tx, job, &old)
	})
}

// Complete implements [store.Queue]. It fails with
// [store.ErrNotFound] if the operation does not exist.
func (s *Store) Complete(ctx context.Context, op store.Operation, lease store.Lease) error {
	w := newOpWrite(op)
	return s.write(ctx, func(tx *bolt.Tx) error {
		oldOp, err := getOperation(tx, w.id)
		if err != nil {
			return err
		}
		job, err := leasedJob(tx, lease)
		if err != nil {
			return err
		}
		if err := putOperation(tx, w, &oldOp); err != nil {
			return err
		}
		return deleteJob(tx, job)
	})
}

// Extend implements [store.Queue].
func (s *Store) Extend(ctx context.Context, lease store.Lease, until time.Time) error {
	return s.write(ctx, func(tx *bolt.Tx) error {
		job, err := leasedJob(tx, lease)
		if err != nil {
			return err
		}
		old := job
		job.RunAt = until
		return putJob(tx, job, &old)
	})
}

// leasedJob reads the job of lease, failing with [store.ErrLeaseLost] if
// it is gone or was claimed since.
func leasedJob(tx *bolt.Tx, lease store.Lease) (store.Job, error) {
	if tx.Bucket(bucketJobs).Get([]byte(lease.JobID)) == nil {
		return store.Job{}, fmt.Errorf("boltstore: job %s is gone: %w", lease.JobID, store.ErrLeaseLost)
	}
	job, err := getJob(tx, lease.JobID)
	if err != nil {
		return store.Job{}, err
	}
	if job.Attempts != lease.Attempt {
		return store.Job{}, fmt.Errorf("boltstore: job %s was claimed again (attempt %d, lease of attempt %d): %w", job.ID, job.Attempts, lease.Attempt, store.ErrLeaseLost)
	}
	return job, nil
}

// NextDue implements [store.Queue].
func (s *Store) NextDue(ctx context.Context) (next time.Time, ok bool, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketDue).Cursor().First()
		if k == nil {
			return nil
		}
		if len(k) < 8 {
			return fmt.Errorf("boltstore: due index key %q: %w", k, ErrCorrupt)
		}
		next, ok = codeTime(binary.BigEndian.Uint64(k)), true
		return nil
	})
	return next, ok, err
}

// checkNewJob fails if job id exists.
func checkNewJob(tx *bolt.Tx, id string) error {
	if tx.Bucket(bucketJobs).Get([]byte(id)) != nil {
		return fmt.Errorf("boltstore: job %s: %w", id, store.ErrConflict)
	}
	return nil
}

// getJob reads job id, with the flags of its due-index entry.
func getJob(tx *bolt.Tx, id string) (store.Job, error) {
	v := tx.Bucket(bucketJobs).Get([]byte(id))
	if v == nil {
		return store.Job{}, fmt.Errorf("boltstore: job %s: %w", id, store.ErrNotFound)
	}
	job, err := decodeJob([]byte(id), v)
	if err != nil {
		return job, err
	}
	setDueFlags(&job, tx.Bucket(bucketDue).Get(dueKey(job.RunAt, id)))
	return job, nil
}

// putJob stores job, replacing old (nil for a new job), and moves its
// due-index entry.
func putJob(tx *bolt.Tx, job store.Job, old *store.Job) error {
	return putJobValue(tx, job.ID, job.RunAt, dueFlags(job), encodeJob(job), old)
}

// putJobValue stores the encoded job id due at runAt with the due-index
// flags, replacing old (nil for a new job), and moves its due-index entry.
func putJobValue(tx *bolt.Tx, id string, runAt time.Time, flags byte, val []byte, old *store.Job) error {
	due := tx.Bucket(bucketDue)
	if old == nil || !old.RunAt.Equal(runAt) || dueFlags(*old) != flags {
		if old != nil {
			if err := del(due, dueKey(old.RunAt, old.ID)); err != nil {
				return err
			}
		}
		if err := put(due, dueKey(runAt, id), dueValue(flags)); err != nil {
			return err
		}
	}
	return put(tx.Bucket(bucketJobs), []byte(id), val)
}

// deleteJob removes job, its due-index entry, its members and its open-group
// entry.
func deleteJob(tx *bolt.Tx, job store.Job) error {
	if err := del(tx.Bucket(bucketDue), dueKey(job.RunAt, job.ID)); err != nil {
		return err
	}
	if g := job.Group; g != "" {
		groups := tx.Bucket(bucketOpenGroups)
		if v := groups.Get([]byte(g)); v != nil {
			if _, id, err := decodeOpenGroup([]byte(g), v); err == nil && id == job.ID {
				if err := del(groups, []byte(g)); err != nil {
					return err
				}
			}
		}
	}
	members := tx.Bucket(bucketMembers)
	prefix := pairKey(job.ID, "")
	var keys [][]byte
	c := members.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := del(members, k); err != nil {
			return err
		}
	}
	return del(tx.Bucket(bucketJobs), []byte(job.ID))
}
