package memstore

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Job implements [store.Queue].
func (s *Store) Job(ctx context.Context, id string) (store.Job, error) {
	if err := s.lock(ctx); err != nil {
		return store.Job{}, err
	}
	defer s.mu.Unlock()
	e, ok := s.jobs[id]
	if !ok {
		return store.Job{}, fmt.Errorf("memstore: job %s: %w", id, store.ErrNotFound)
	}
	return cloneJob(e.job), nil
}

// Cancel implements [store.Queue].
func (s *Store) Cancel(ctx context.Context, req store.CancelRequest) (bool, error) {
	if err := req.Validate(); err != nil {
		return false, err
	}
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	id := req.Op.ID
	old, ok := s.operations[id]
	if !ok {
		return false, fmt.Errorf("memstore: operation %s: %w", id, store.ErrNotFound)
	}
	e, ok := s.jobs[id]
	if !ok {
		return false, fmt.Errorf("memstore: job %s: %w", id, store.ErrNotFound)
	}
	if !bytes.Equal(old.Data, req.Prev) {
		return false, fmt.Errorf("memstore: operation %s changed: %w", id, store.ErrConflict)
	}
	if e.job.Group != "" && len(e.members) != req.Members {
		return false, fmt.Errorf("memstore: group %s has %d members, not %d: %w", id, len(e.members), req.Members, store.ErrConflict)
	}
	if e.job.Leased && e.job.RunAt.After(req.Now) {
		e.job.CancelRequested = true
		return false, nil
	}
	s.putOperation(req.Op)
	if e.job.Group != "" && s.openGroups[e.job.Group] == id {
		delete(s.openGroups, e.job.Group)
	}
	delete(s.jobs, id)
	s.due.remove(e)
	return true, nil
}

// Requeue implements [store.Queue].
func (s *Store) Requeue(ctx context.Context, req store.RequeueRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	id := req.Op.ID
	old, ok := s.operations[id]
	if !ok {
		return fmt.Errorf("memstore: operation %s: %w", id, store.ErrNotFound)
	}
	if _, ok := s.jobs[id]; ok {
		return fmt.Errorf("memstore: operation %s is queued: %w", id, store.ErrConflict)
	}
	if !bytes.Equal(old.Data, req.Prev) {
		return fmt.Errorf("memstore: operation %s changed: %w", id, store.ErrConflict)
	}
	s.putOperation(req.Op)
	s.addJob(req.Job)
	return nil
}

// Stats implements [store.Queue]. It looks at every job.
func (s *Store) Stats(ctx context.Context, now time.Time) (store.QueueStats, error) {
	if err := s.lock(ctx); err != nil {
		return store.QueueStats{}, err
	}
	defer s.mu.Unlock()
	var st store.QueueStats
	for id, e := range s.jobs {
		open := e.job.Group != "" && s.openGroups[e.job.Group] == id
		st.Add(cloneJob(e.job), open, len(e.members), now)
	}
	st.Sort()
	return st, nil
}

// DeleteOperations implements [store.Operations].
func (s *Store) DeleteOperations(ctx context.Context, ids []string) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	gone := map[string]bool{}
	for _, id := range ids {
		rec, ok := s.operations[id]
		if !ok || gone[id] {
			continue
		}
		if _, queued := s.jobs[id]; queued {
			continue
		}
		gone[id] = true
		delete(s.operations, id)
		byInst := s.opsByInst[rec.InstallationID]
		if i, found := slices.BinarySearch(byInst, id); found {
			byInst = slices.Delete(byInst, i, i+1)
		}
		if len(byInst) == 0 {
			delete(s.opsByInst, rec.InstallationID)
		} else {
			s.opsByInst[rec.InstallationID] = byInst
		}
	}
	if len(gone) > 0 {
		s.opIDs = slices.DeleteFunc(s.opIDs, func(id string) bool { return gone[id] })
	}
	return len(gone), nil
}

// DeleteExpiredKeys implements [store.Operations]. It sorts the keys
// on every call: memstore is for tests.
func (s *Store) DeleteExpiredKeys(ctx context.Context, now time.Time, after string, limit int) (string, int, error) {
	if err := s.lock(ctx); err != nil {
		return "", 0, err
	}
	defer s.mu.Unlock()
	if limit < 1 {
		return after, 0, nil
	}
	keys := slices.Sorted(maps.Keys(s.keys))
	i, found := slices.BinarySearch(keys, after)
	if found {
		i++
	}
	deleted, last := 0, ""
	for n := 0; i < len(keys) && n < limit; i, n = i+1, n+1 {
		last = keys[i]
		if !now.Before(s.keys[last].ExpiresAt) {
			delete(s.keys, last)
			deleted++
		}
	}
	if i == len(keys) {
		last = ""
	}
	return last, deleted, nil
}
