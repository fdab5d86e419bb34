package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/writebackhq/writeback/store"
	bolt "go.etcd.io/bbolt"
)

// verifyLimit caps the problems Verify reports.
const verifyLimit = 100

// Verify checks the whole store and reports every problem it finds (up to
// 100) as [*CorruptError]s joined in one error, nil if there are none:
//
//   - the file's pages: each page below the high-water mark is in use
//     exactly once or free, never both;
//   - every entry of every bucket: its checksum, and that its record
//     decodes and holds the ID of its key;
//   - each bucket's entry count against the count kept with it, so that
//     entries that vanished are noticed;
//   - that the indexes agree: each job has its due-index entry and each
//     due-index entry its job; each operation its per-installation index
//     entry and back; each installation its group index entry and back;
//     each job its operation; each member and open group its group job
//     (with as many members as the open group counts); each idempotency
//     key its operation.
//
// Entries in quarantine (see [Store.Quarantine]) are checked for damage
// but not reported: they were found and set aside. Verify reads the whole
// file, and writes wait while it runs. [Options.Verify] runs it in Open.
func (s *Store) Verify(ctx context.Context) error {
	path := s.db.Path()
	var res error
	err := s.write(ctx, func(tx *bolt.Tx) error {
		// Verify writes nothing; running as a write keeps the committer
		// from changing the file while its pages are read.
		res = verify(tx, path)
		return errVerified
	})
	if errors.Is(err, errVerified) {
		return res
	}
	return err
}

// errVerified ends Verify's transaction without writing.
var errVerified = errors.New("verified")

// verify checks the file at path and the records of tx, which must see the
// file's latest commit with no write under way.
func verify(tx *bolt.Tx, path string) (err error) {
	c := &checker{tx: tx}
	defer func() {
		if p := recover(); p != nil {
			c.errs = append(c.errs, &CorruptError{Reason: fmt.Sprintf("reading the file failed: %v", p)})
			err = errors.Join(c.errs...)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("boltstore: verify: %w", err)
	}
	c.errs = checkPages(f, verifyLimit)
	_ = f.Close()
	if len(c.errs) > 0 {
		// The records of a file whose pages are damaged are not read:
		// bbolt trusts its pages.
		return errors.Join(c.errs...)
	}
	c.records()
	return errors.Join(c.errs...)
}

// checker collects the problems verify finds.
type checker struct {
	tx   *bolt.Tx
	errs []error
}

func (c *checker) full() bool { return len(c.errs) >= verifyLimit }

func (c *checker) add(err error) {
	if err != nil && !c.full() {
		c.errs = append(c.errs, err)
	}
}

// each calls fn with the body of every entry of bucket that unseals, and
// checks key order and the entry count.
func (c *checker) each(bucket []byte, fn func(k, body []byte)) {
	b := c.tx.Bucket(bucket)
	if b == nil {
		return
	}
	var (
		prev []byte
		n    uint64
	)
	cur := b.Cursor()
	for k, v := cur.First(); k != nil && !c.full(); k, v = cur.Next() {
		n++
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			c.add(corrupt(bucket, k, "out of order"))
		}
		prev = k
		if v == nil {
			c.add(corrupt(bucket, k, "a bucket where an entry belongs"))
			continue
		}
		body, err := unseal(bucket, k, v)
		if err != nil {
			c.add(err)
			continue
		}
		if fn != nil {
			fn(k, body)
		}
	}
	if !c.full() && n != b.Sequence() {
		c.add(&CorruptError{Bucket: string(bucket), Reason: fmt.Sprintf("holds %d entries; %d were written", n, b.Sequence())})
	}
}

// job returns job id, reporting a problem of the entry k of bucket if it
// is missing or damaged.
func (c *checker) job(bucket, k []byte, id string) (store.Job, bool) {
	j, err := getJob(c.tx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.add(corrupt(bucket, k, "names job %q, which does not exist", id))
	case err != nil:
		c.add(corrupt(bucket, k, "names job %q, which is damaged", id))
	}
	return j, err == nil
}

// records checks every entry and the indexes.
func (c *checker) records() {
	tx := c.tx
	c.each(bucketInstallations, func(k, body []byte) {
		r, err := decodeInstallation(k, body)
		if err != nil {
			c.add(err)
			return
		}
		gk := pairKey(r.Integration, r.GroupRef)
		if id, err := get(tx, bucketGroupRefs, gk); err == nil && string(id) != r.ID {
			c.add(corrupt(bucketInstallations, k, "its group index entry %q names %q", gk, id))
		}
	})
	c.each(bucketGroupRefs, func(k, body []byte) {
		r, err := getInstallation(tx, string(body))
		if err != nil {
			c.add(corrupt(bucketGroupRefs, k, "names installation %q, which is missing or damaged", body))
		} else if !bytes.Equal(pairKey(r.Integration, r.GroupRef), k) {
			c.add(corrupt(bucketGroupRefs, k, "names installation %q of another group", body))
		}
	})
	c.each(bucketOperations, func(k, body []byte) {
		r, err := decodeOperation(k, body)
		if err != nil {
			c.add(err)
			return
		}
		if !has(tx, bucketOpIndex, pairKey(r.InstallationID, r.ID)) {
			c.add(corrupt(bucketOperations, k, "has no entry in %s", bucketOpIndex))
		}
	})
	c.each(bucketOpIndex, func(k, _ []byte) {
		inst, id, ok := splitPairKey(k)
		if !ok {
			c.add(corrupt(bucketOpIndex, k, "key does not decode"))
			return
		}
		r, err := getOperation(tx, string(id))
		if err != nil {
			c.add(corrupt(bucketOpIndex, k, "names operation %q, which is missing or damaged", id))
		} else if r.InstallationID != string(inst) {
			c.add(corrupt(bucketOpIndex, k, "names operation %q of installation %q", id, r.InstallationID))
		}
	})
	c.each(bucketKeys, func(k, body []byte) {
		r, err := decodeKey(k, body)
		if err != nil {
			c.add(err)
			return
		}
		if !has(tx, bucketOperations, []byte(r.OperationID)) {
			c.add(corrupt(bucketKeys, k, "names operation %q, which does not exist", r.OperationID))
		}
	})
	c.each(bucketJobs, func(k, body []byte) {
		j, err := decodeJob(k, body)
		if err != nil {
			c.add(err)
			return
		}
		if !has(tx, bucketDue, dueKey(j.RunAt, j.ID)) {
			c.add(corrupt(bucketJobs, k, "has no entry in %s", bucketDue))
		}
		if !has(tx, bucketOperations, k) {
			c.add(corrupt(bucketJobs, k, "has no operation"))
		}
	})
	c.each(bucketDue, func(k, _ []byte) {
		if len(k) < 8 {
			c.add(corrupt(bucketDue, k, "key is too short"))
			return
		}
		if j, ok := c.job(bucketDue, k, string(k[8:])); ok && !bytes.Equal(dueKey(j.RunAt, j.ID), k) {
			c.add(corrupt(bucketDue, k, "job %q is due at %v, not here", j.ID, j.RunAt))
		}
	})
	c.each(bucketMembers, func(k, _ []byte) {
		id, seq, ok := splitPairKey(k)
		if !ok || len(seq) != 8 {
			c.add(corrupt(bucketMembers, k, "key does not decode"))
			return
		}
		if j, ok := c.job(bucketMembers, k, string(id)); ok && j.Group == "" {
			c.add(corrupt(bucketMembers, k, "job %q is not a group", id))
		}
	})
	c.each(bucketOpenGroups, func(k, body []byte) {
		size, id, err := decodeOpenGroup(k, body)
		if err != nil {
			c.add(err)
			return
		}
		j, ok := c.job(bucketOpenGroups, k, id)
		if !ok {
			return
		}
		if j.Group != string(k) {
			c.add(corrupt(bucketOpenGroups, k, "names job %q of group %q", id, j.Group))
		}
		var n uint64
		prefix := pairKey(id, "")
		cur := tx.Bucket(bucketMembers).Cursor()
		for mk, _ := cur.Seek(prefix); mk != nil && bytes.HasPrefix(mk, prefix); mk, _ = cur.Next() {
			n++
		}
		if n != size {
			c.add(corrupt(bucketOpenGroups, k, "counts %d members; job %q has %d", size, id, n))
		}
	})
	c.each(bucketQuarantine, nil)
}
