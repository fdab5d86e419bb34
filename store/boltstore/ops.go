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

// The due index's value holds a job's flags; an empty body (every entry
// written before the flags existed) means none. While a job is leased,
// its due entry is the lease's expiry.
const (
	flagLeased          byte = 1 << iota // claimed, not rescheduled since
	flagCancelRequested                  // cancel requested while leased
)

// dueFlags returns the due-index flags of job.
func dueFlags(job store.Job) byte {
	var f byte
	if job.Leased {
		f |= flagLeased
	}
	if job.CancelRequested {
		f |= flagCancelRequested
	}
	return f
}

// dueValue is the due-index body of flags.
func dueValue(flags byte) []byte {
	if flags == 0 {
		return nil
	}
	return []byte{flags}
}

// setDueFlags sets job's flags from its due-index body.
func setDueFlags(job *store.Job, v []byte) {
	var f byte
	if len(v) > 0 {
		f = v[0]
	}
	job.Leased = f&flagLeased != 0
	job.CancelRequested = f&flagCancelRequested != 0
}

// allOperations lists every installation's operations in ID order.
func (s *Store) allOperations(ctx context.Context, after string, limit int) (out []store.Operation, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOperations).Cursor()
		k, _ := c.Seek([]byte(after))
		if after != "" && string(k) == after {
			k, _ = c.Next()
		}
		for ; k != nil && len(out) < limit; k, _ = c.Next() {
			rec, err := getOperation(tx, string(k))
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// Job implements [store.Queue].
func (s *Store) Job(ctx context.Context, id string) (job store.Job, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		job, err = getJob(tx, id)
		return err
	})
	return job, err
}

// Cancel implements [store.Queue].
func (s *Store) Cancel(ctx context.Context, req store.CancelRequest) (bool, error) {
	if err := req.Validate(); err != nil {
		return false, err
	}
	w, prev, members, now := newOpWrite(req.Op), bytes.Clone(req.Prev), req.Members, req.Now
	// removed is read only once the committer has answered, as in Join.
	var removed bool
	err := s.write(ctx, func(tx *bolt.Tx) error {
		oldOp, err := getOperation(tx, w.id)
		if err != nil {
			return err
		}
		job, err := getJob(tx, w.id)
		if err != nil {
			return err
		}
		if !bytes.Equal(oldOp.Data, prev) {
			return fmt.Errorf("boltstore: operation %s changed: %w", w.id, store.ErrConflict)
		}
		if job.Group != "" {
			if n := countMembers(tx, job.ID); n != members {
				return fmt.Errorf("boltstore: group %s has %d members, not %d: %w", job.ID, n, members, store.ErrConflict)
			}
		}
		if job.Leased && job.RunAt.After(now) {
			old := job
			job.CancelRequested = true
			return putJob(tx, job, &old)
		}
		if err := putOperation(tx, w, &oldOp); err != nil {
			return err
		}
		removed = true
		return deleteJob(tx, job)
	})
	if err != nil {
		return false, err
	}
	return removed, nil
}

// countMembers counts the members of group job id.
func countMembers(tx *bolt.Tx, id string) int {
	n := 0
	prefix := pairKey(id, "")
	c := tx.Bucket(bucketMembers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// Requeue implements [store.Queue].
func (s *Store) Requeue(ctx context.Context, req store.RequeueRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	req.Job.Leased, req.Job.CancelRequested = false, false
	w, prev := newOpWrite(req.Op), bytes.Clone(req.Prev)
	runAt, jobVal := req.Job.RunAt, encodeJob(req.Job)
	return s.write(ctx, func(tx *bolt.Tx) error {
		oldOp, err := getOperation(tx, w.id)
		if err != nil {
			return err
		}
		if has(tx, bucketJobs, []byte(w.id)) {
			return fmt.Errorf("boltstore: operation %s is queued: %w", w.id, store.ErrConflict)
		}
		if !bytes.Equal(oldOp.Data, prev) {
			return fmt.Errorf("boltstore: operation %s changed: %w", w.id, store.ErrConflict)
		}
		if err := putOperation(tx, w, &oldOp); err != nil {
			return err
		}
		return putJobValue(tx, w.id, runAt, 0, jobVal, nil)
	})
}

// Stats implements [store.Queue]. It reads the due index and every job's
// keys (not its payload), so its cost grows with the queue.
func (s *Store) Stats(ctx context.Context, now time.Time) (st store.QueueStats, err error) {
	err = s.read(ctx, func(tx *bolt.Tx) error {
		open := map[string]int{}
		// Damaged entries are left out: Claim and Join quarantine them.
		gc := tx.Bucket(bucketOpenGroups).Cursor()
		for k, v := gc.First(); k != nil; k, v = gc.Next() {
			body, err := unseal(bucketOpenGroups, k, v)
			if err != nil {
				continue
			}
			if size, id, err := decodeOpenGroup(k, body); err == nil {
				open[id] = int(size)
			}
		}
		c := tx.Bucket(bucketDue).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) < 8 {
				continue
			}
			id := k[8:]
			size, isOpen := open[string(id)]
			var job store.Job
			var err error
			if isOpen {
				job, err = getJob(tx, string(id))
			} else {
				var body []byte
				if body, err = get(tx, bucketJobs, id); err == nil && body != nil {
					job, err = decodeJobKeys(id, body)
				} else if body == nil {
					continue
				}
			}
			if err != nil {
				continue
			}
			job.RunAt = codeTime(binary.BigEndian.Uint64(k))
			flags, _ := unseal(bucketDue, k, v)
			setDueFlags(&job, flags)
			st.Add(job, isOpen, size, now)
		}
		return nil
	})
	st.Sort()
	return st, err
}

// decodeJobKeys decodes a job without copying its payload.
func decodeJobKeys(key, b []byte) (store.Job, error) {
	d := newDecoder(b)
	j := store.Job{
		ID:             d.str(),
		InstallationID: d.str(),
		Provider:       d.str(),
		Group:          d.str(),
		RunAt:          codeTime(d.u64()),
		Attempts:       int(d.varint()),
	}
	return j, d.done(bucketJobs, key, &j.ID)
}

// DeleteOperations implements [store.Operations].
func (s *Store) DeleteOperations(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, ctx.Err()
	}
	ids = append([]string(nil), ids...)
	// n is read only once the committer has answered, as in Join.
	var n int
	err := s.write(ctx, func(tx *bolt.Tx) error {
		// Read first: a call fails before it writes anything. A damaged
		// record is left alone.
		gone := map[string]string{} // ID -> installation ID
		for _, id := range ids {
			if has(tx, bucketJobs, []byte(id)) {
				continue
			}
			if rec, err := getOperation(tx, id); err == nil {
				gone[id] = rec.InstallationID
			}
		}
		for id, inst := range gone {
			if err := del(tx, bucketOpIndex, pairKey(inst, id)); err != nil {
				return err
			}
			if err := del(tx, bucketOperations, []byte(id)); err != nil {
				return err
			}
		}
		n = len(gone)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteExpiredKeys implements [store.Operations]. It looks for expired
// keys in a read transaction and takes a write transaction only to remove
// those it found.
func (s *Store) DeleteExpiredKeys(ctx context.Context, now time.Time, after string, limit int) (string, int, error) {
	if limit < 1 {
		return after, 0, ctx.Err()
	}
	var expired [][]byte
	next := ""
	err := s.read(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketKeys).Cursor()
		k, v := c.Seek([]byte(after))
		if after != "" && string(k) == after {
			k, v = c.Next()
		}
		for n := 0; k != nil && n < limit; k, v = c.Next() {
			n++
			next = string(k)
			body, err := unseal(bucketKeys, k, v)
			if err != nil {
				continue // damaged: not this call's to judge
			}
			key, err := decodeKey(k, body)
			if err == nil && !now.Before(key.ExpiresAt) {
				expired = append(expired, bytes.Clone(k))
			}
		}
		if k == nil {
			next = ""
		}
		return nil
	})
	if err != nil || len(expired) == 0 {
		return next, 0, err
	}
	var deleted int
	err = s.write(ctx, func(tx *bolt.Tx) error {
		// Read first: a call fails before it writes anything.
		var gone [][]byte
		for _, k := range expired {
			body, err := get(tx, bucketKeys, k)
			if err != nil || body == nil {
				continue
			}
			key, err := decodeKey(k, body)
			if err == nil && !now.Before(key.ExpiresAt) { // not reserved again since
				gone = append(gone, k)
			}
		}
		for _, k := range gone {
			if err := del(tx, bucketKeys, k); err != nil {
				return err
			}
		}
		deleted = len(gone)
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	return next, deleted, nil
}
