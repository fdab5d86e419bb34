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

// join adds req's member to its group, opening one if none is open. An
// open-group entry that is damaged, or names a job that is missing or
// damaged, is moved to quarantine and a new group is opened in its place.
func join(tx *bolt.Tx, req store.JoinRequest) (store.JoinResult, error) {
	gk := []byte(req.Group)
	var (
		job  store.Job
		old  *store.Job
		size uint64
		res  store.JoinResult
	)
	cur, n, stale := openGroup(tx, gk)
	if cur != nil {
		prev := *cur
		job, old, size = *cur, &prev, n
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
	if stale != nil {
		if err := quarantine(tx, bucketOpenGroups, gk, stale.Reason); err != nil {
			return res, err
		}
	}
	res.JobID, res.Size = job.ID, int(size)+1
	res.Sealed = res.Size >= req.MaxSize

	if res.Opened {
		if err := putOperation(tx, newOpWrite(req.NewOperation), nil); err != nil {
			return res, err
		}
	}
	if err := put(tx, bucketMembers, memberKey(job.ID, size), req.Member); err != nil {
		return res, err
	}
	if res.Sealed {
		job.RunAt = req.Now
		if !res.Opened {
			if err := del(tx, bucketOpenGroups, gk); err != nil {
				return res, err
			}
		}
	} else if err := put(tx, bucketOpenGroups, gk, encodeOpenGroup(size+1, job.ID)); err != nil {
		return res, err
	}
	if res.Opened || res.Sealed {
		return res, putJob(tx, job, old)
	}
	return res, nil
}

// openGroup returns the job of the open group gk and its member count, or
// nil if none is open. An entry that cannot be used (damaged, or naming a
// job that is missing, damaged or of another group) comes back as stale.
func openGroup(tx *bolt.Tx, gk []byte) (job *store.Job, size uint64, stale *CorruptError) {
	body, err := get(tx, bucketOpenGroups, gk)
	if err != nil {
		return nil, 0, asCorrupt(err)
	}
	if body == nil {
		return nil, 0, nil
	}
	size, id, err := decodeOpenGroup(gk, body)
	if err != nil {
		return nil, 0, asCorrupt(err)
	}
	j, err := getJob(tx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, 0, corrupt(bucketOpenGroups, gk, "names job %q, which does not exist", id)
	case err != nil:
		return nil, 0, corrupt(bucketOpenGroups, gk, "names job %q, which is damaged", id)
	case j.Group != string(gk):
		return nil, 0, corrupt(bucketOpenGroups, gk, "names job %q of group %q", id, j.Group)
	}
	return &j, size, nil
}

// Members implements [store.Queue]. It fails with
// [store.ErrNotFound] if the job does not exist.
func (s *Store) Members(ctx context.Context, jobID string) (out [][]byte, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		if !has(tx, bucketJobs, []byte(jobID)) {
			return fmt.Errorf("boltstore: job %s: %w", jobID, store.ErrNotFound)
		}
		out = [][]byte{}
		prefix := pairKey(jobID, "")
		c := tx.Bucket(bucketMembers).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			body, err := unseal(bucketMembers, k, v)
			if err != nil {
				return err
			}
			out = append(out, bytes.Clone(body))
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
		var c *CorruptError
		if errors.As(err, &c) && c.Bucket == string(bucketOperations) {
			// A damaged record: keep it in quarantine and store the final
			// one. An operation belongs to its job's installation.
			if err := quarantine(tx, bucketOperations, []byte(w.id), c.Reason); err != nil {
				return err
			}
			if err := put(tx, bucketOpIndex, pairKey(w.installationID, w.id), nil); err != nil {
				return err
			}
			oldOp, err = store.Operation{ID: w.id, InstallationID: w.installationID}, nil
		}
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

// Renew implements [store.Queue]. It fails with [store.ErrNotFound],
// storing nothing, if the operation does not exist.
func (s *Store) Renew(ctx context.Context, op store.Operation, lease store.Lease, until time.Time) error {
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
		switch {
		case !job.Leased:
			return fmt.Errorf("boltstore: job %s was rescheduled: %w", lease.JobID, store.ErrLeaseLost)
		case job.CancelRequested:
			return fmt.Errorf("boltstore: job %s: %w", job.ID, store.ErrCancelRequested)
		}
		if err := putOperation(tx, w, &oldOp); err != nil {
			return err
		}
		old := job
		job.RunAt = until
		return putJob(tx, job, &old)
	})
}

// Extend implements [store.Queue].
func (s *Store) Extend(ctx context.Context, lease store.Lease, until time.Time) error {
	return s.write(ctx, func(tx *bolt.Tx) error {
		job, err := leasedJob(tx, lease)
		if err != nil {
			return err
		}
		if !job.Leased {
			return fmt.Errorf("boltstore: job %s was rescheduled: %w", lease.JobID, store.ErrLeaseLost)
		}
		old := job
		job.RunAt = until
		return putJob(tx, job, &old)
	})
}

// leasedJob reads the job of lease, failing with [store.ErrLeaseLost] if
// it is gone or was claimed since.
func leasedJob(tx *bolt.Tx, lease store.Lease) (store.Job, error) {
	if !has(tx, bucketJobs, []byte(lease.JobID)) {
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
			return corrupt(bucketDue, k, "key is too short")
		}
		next, ok = codeTime(binary.BigEndian.Uint64(k)), true
		return nil
	})
	return next, ok, err
}

// checkNewJob fails if job id exists.
func checkNewJob(tx *bolt.Tx, id string) error {
	if has(tx, bucketJobs, []byte(id)) {
		return fmt.Errorf("boltstore: job %s: %w", id, store.ErrConflict)
	}
	return nil
}

// getJob reads job id, with the flags of its due-index entry.
func getJob(tx *bolt.Tx, id string) (store.Job, error) {
	v, err := get(tx, bucketJobs, []byte(id))
	if err != nil {
		return store.Job{}, err
	}
	if v == nil {
		return store.Job{}, fmt.Errorf("boltstore: job %s: %w", id, store.ErrNotFound)
	}
	job, err := decodeJob([]byte(id), v)
	if err != nil {
		return job, err
	}
	// A damaged due entry has no flags; Claim quarantines it.
	flags, _ := get(tx, bucketDue, dueKey(job.RunAt, id))
	setDueFlags(&job, flags)
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
	if old == nil || !old.RunAt.Equal(runAt) || dueFlags(*old) != flags {
		if old != nil {
			if err := del(tx, bucketDue, dueKey(old.RunAt, old.ID)); err != nil {
				return err
			}
		}
		if err := put(tx, bucketDue, dueKey(runAt, id), dueValue(flags)); err != nil {
			return err
		}
	}
	return put(tx, bucketJobs, []byte(id), val)
}

// deleteJob removes job, its due-index entry, its members and its open-group
// entry.
func deleteJob(tx *bolt.Tx, job store.Job) error {
	if err := del(tx, bucketDue, dueKey(job.RunAt, job.ID)); err != nil {
		return err
	}
	if err := closeGroup(tx, job); err != nil {
		return err
	}
	prefix := pairKey(job.ID, "")
	var keys [][]byte
	c := tx.Bucket(bucketMembers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := del(tx, bucketMembers, k); err != nil {
			return err
		}
	}
	return del(tx, bucketJobs, []byte(job.ID))
}

// closeGroup removes the open-group entry of a group job, if it names the
// job, so that no member joins it any more.
func closeGroup(tx *bolt.Tx, job store.Job) error {
	if job.Group == "" {
		return nil
	}
	gk := []byte(job.Group)
	body, err := get(tx, bucketOpenGroups, gk)
	if body == nil || err != nil {
		// A damaged entry is Join's to quarantine.
		return nil
	}
	if _, id, err := decodeOpenGroup(gk, body); err == nil && id == job.ID {
		return del(tx, bucketOpenGroups, gk)
	}
	return nil
}
