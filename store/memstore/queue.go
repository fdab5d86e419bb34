package memstore

import (
	"container/heap"
	"context"
	"fmt"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Enqueue implements [store.Queue]. The job's ID must equal the
// operation's.
func (s *Store) Enqueue(ctx context.Context, op store.Operation, job store.Job, key *store.IdempotencyKey, now time.Time) error {
	if err := store.ValidateEnqueue(op, job, key); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.checkCreate(op, key, now); err != nil {
		return err
	}
	if _, ok := s.jobs[job.ID]; ok {
		return fmt.Errorf("memstore: job %s: %w", job.ID, store.ErrConflict)
	}
	s.putOperation(op)
	s.reserve(key)
	s.addJob(job)
	return nil
}

// Join implements [store.Queue]. A MaxSize below one, or a new group
// whose job does not match its operation and key, fails with a
// [*store.InputError].
func (s *Store) Join(ctx context.Context, req store.JoinRequest) (store.JoinResult, error) {
	if err := req.Validate(); err != nil {
		return store.JoinResult{}, err
	}
	if err := s.lock(ctx); err != nil {
		return store.JoinResult{}, err
	}
	defer s.mu.Unlock()
	opened := false
	id, ok := s.openGroups[req.Group]
	if !ok {
		if err := req.ValidateNewGroup(); err != nil {
			return store.JoinResult{}, err
		}
		if err := s.checkCreate(req.NewOperation, nil, req.Now); err != nil {
			return store.JoinResult{}, err
		}
		if _, ok := s.jobs[req.NewJob.ID]; ok {
			return store.JoinResult{}, fmt.Errorf("memstore: job %s: %w", req.NewJob.ID, store.ErrConflict)
		}
		s.putOperation(req.NewOperation)
		id = req.NewJob.ID
		s.addJob(req.NewJob)
		s.openGroups[req.Group] = id
		opened = true
	}
	e := s.jobs[id]
	e.members = append(e.members, cloneBytes(req.Member))
	res := store.JoinResult{JobID: id, Size: len(e.members), Opened: opened}
	if res.Size >= req.MaxSize {
		delete(s.openGroups, req.Group)
		e.job.RunAt = normTime(req.Now)
		s.due.fix(e)
		res.Sealed = true
	}
	return res, nil
}

// Claim implements [store.Queue].
func (s *Store) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.Job, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var claimed []*entry
	for len(claimed) < limit && len(s.due) > 0 && !s.due[0].job.RunAt.After(now) {
		claimed = append(claimed, heap.Pop(&s.due).(*entry))
	}
	out := make([]store.Job, 0, len(claimed))
	for _, e := range claimed {
		e.job.RunAt = normTime(leaseUntil)
		e.job.Attempts++
		e.job.Leased = true
		if e.job.Group != "" && s.openGroups[e.job.Group] == e.job.ID {
			delete(s.openGroups, e.job.Group)
		}
		s.due.add(e)
		out = append(out, cloneJob(e.job))
	}
	return out, nil
}

// Members implements [store.Queue]. It fails with
// [store.ErrNotFound] if the job does not exist.
func (s *Store) Members(ctx context.Context, jobID string) ([][]byte, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.jobs[jobID]
	if !ok {
		return nil, fmt.Errorf("memstore: job %s: %w", jobID, store.ErrNotFound)
	}
	out := make([][]byte, len(e.members))
	for i, m := range e.members {
		out[i] = cloneBytes(m)
	}
	return out, nil
}

// Reschedule implements [store.Queue]. It fails with
// [store.ErrNotFound], storing nothing, if the operation does not exist.
func (s *Store) Reschedule(ctx context.Context, op store.Operation, lease store.Lease, runAt time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.operations[op.ID]; !ok {
		return fmt.Errorf("memstore: operation %s: %w", op.ID, store.ErrNotFound)
	}
	e, err := s.leased(lease)
	if err != nil {
		return err
	}
	if e.job.CancelRequested {
		return fmt.Errorf("memstore: job %s: %w", e.job.ID, store.ErrCancelRequested)
	}
	s.putOperation(op)
	e.job.RunAt = normTime(runAt)
	e.job.Leased = false
	s.due.fix(e)
	return nil
}

// Complete implements [store.Queue]. It fails with
// [store.ErrNotFound] if the operation does not exist.
func (s *Store) Complete(ctx context.Context, op store.Operation, lease store.Lease) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.operations[op.ID]; !ok {
		return fmt.Errorf("memstore: operation %s: %w", op.ID, store.ErrNotFound)
	}
	e, err := s.leased(lease)
	if err != nil {
		return err
	}
	s.putOperation(op)
	if e.job.Group != "" && s.openGroups[e.job.Group] == e.job.ID {
		delete(s.openGroups, e.job.Group)
	}
	delete(s.jobs, e.job.ID)
	s.due.remove(e)
	return nil
}

// Renew implements [store.Queue]. It fails with [store.ErrNotFound],
// storing nothing, if the operation does not exist.
func (s *Store) Renew(ctx context.Context, op store.Operation, lease store.Lease, until time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.operations[op.ID]; !ok {
		return fmt.Errorf("memstore: operation %s: %w", op.ID, store.ErrNotFound)
	}
	e, err := s.leased(lease)
	if err != nil {
		return err
	}
	switch {
	case !e.job.Leased:
		return fmt.Errorf("memstore: job %s was rescheduled: %w", lease.JobID, store.ErrLeaseLost)
	case e.job.CancelRequested:
		return fmt.Errorf("memstore: job %s: %w", e.job.ID, store.ErrCancelRequested)
	}
	s.putOperation(op)
	e.job.RunAt = normTime(until)
	s.due.fix(e)
	return nil
}

// Extend implements [store.Queue].
func (s *Store) Extend(ctx context.Context, lease store.Lease, until time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, err := s.leased(lease)
	if err != nil {
		return err
	}
	if !e.job.Leased {
		return fmt.Errorf("memstore: job %s was rescheduled: %w", lease.JobID, store.ErrLeaseLost)
	}
	e.job.RunAt = normTime(until)
	s.due.fix(e)
	return nil
}

// leased returns the job entry of lease, failing with [store.ErrLeaseLost]
// if it is gone or was claimed since. s.mu is held.
func (s *Store) leased(lease store.Lease) (*entry, error) {
	e, ok := s.jobs[lease.JobID]
	if !ok {
		return nil, fmt.Errorf("memstore: job %s is gone: %w", lease.JobID, store.ErrLeaseLost)
	}
	if e.job.Attempts != lease.Attempt {
		return nil, fmt.Errorf("memstore: job %s was claimed again (attempt %d, lease of attempt %d): %w", lease.JobID, e.job.Attempts, lease.Attempt, store.ErrLeaseLost)
	}
	return e, nil
}

// NextDue implements [store.Queue].
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	if err := s.lock(ctx); err != nil {
		return time.Time{}, false, err
	}
	defer s.mu.Unlock()
	if len(s.due) == 0 {
		return time.Time{}, false, nil
	}
	return s.due[0].job.RunAt, true, nil
}

// addJob queues a copy of job, neither leased nor canceled. s.mu is held.
func (s *Store) addJob(job store.Job) {
	job.Leased, job.CancelRequested = false, false
	e := &entry{job: cloneJob(job)}
	s.jobs[job.ID] = e
	s.due.add(e)
}

// cloneJob copies j so that it shares nothing with the caller.
func cloneJob(j store.Job) store.Job {
	j.RunAt = normTime(j.RunAt)
	j.Payload = cloneBytes(j.Payload)
	return j
}
