package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/writebackhq/writeback/store"
)

// Claim implements [store.Queue]. One statement takes up to limit due
// jobs in (run_at, id) order from the jobs_due index with FOR UPDATE SKIP
// LOCKED, so concurrent claimers in any process never take the same job
// and never wait for each other, and its cost grows with limit, not with
// the queue. Claiming a group job closes it to new members.
func (s *Store) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.Job, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, s.sql(`
WITH due AS (
	SELECT id, run_at FROM {schema}.jobs
	WHERE run_at <= $1
	ORDER BY run_at, id
	LIMIT $3
	FOR UPDATE SKIP LOCKED
)
UPDATE {schema}.jobs j SET run_at = $2, attempts = j.attempts + 1, open = false, leased = true
FROM due WHERE j.id = due.id
RETURNING due.run_at, j.id, j.installation_id, j.provider, j.group_key, j.run_at, j.attempts, j.leased, j.cancel_requested, j.payload`), now, leaseUntil, limit)
	if err != nil {
		return nil, wrap(err, "claim")
	}
	type claimed struct {
		was time.Time
		job store.Job
	}
	var out []claimed
	var c claimed
	_, err = pgx.ForEachRow(rows, []any{&c.was, &c.job.ID, &c.job.InstallationID, &c.job.Provider, &c.job.Group, &c.job.RunAt, &c.job.Attempts, &c.job.Leased, &c.job.CancelRequested, &c.job.Payload}, func() error {
		out = append(out, c)
		c = claimed{}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "claim")
	}
	slices.SortFunc(out, func(a, b claimed) int {
		return cmp.Or(a.was.Compare(b.was), cmp.Compare(a.job.ID, b.job.ID))
	})
	jobs := make([]store.Job, len(out))
	for i, c := range out {
		jobs[i] = c.job
	}
	return jobs, nil
}

// Members implements [store.Queue]. It fails with [store.ErrNotFound]
// if the job does not exist.
func (s *Store) Members(ctx context.Context, jobID string) ([][]byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql(`
SELECT m.member FROM {schema}.jobs j LEFT JOIN {schema}.members m ON m.job_id = j.id
WHERE j.id = $1 ORDER BY m.seq`), jobID)
	if err != nil {
		return nil, wrap(err, "members of %s", jobID)
	}
	var out [][]byte
	found := false
	var m []byte
	_, err = pgx.ForEachRow(rows, []any{&m}, func() error {
		found = true
		if m != nil {
			out = append(out, m)
		}
		m = nil
		return nil
	})
	if err != nil {
		return nil, wrap(err, "members of %s", jobID)
	}
	if !found {
		return nil, fmt.Errorf("pgstore: job %s: %w", jobID, store.ErrNotFound)
	}
	if out == nil {
		out = [][]byte{}
	}
	return out, nil
}

// Reschedule implements [store.Queue]. It fails with
// [store.ErrNotFound], storing nothing, if the operation does not exist.
func (s *Store) Reschedule(ctx context.Context, op store.Operation, lease store.Lease, runAt time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.lockOperation(ctx, tx, op.ID); err != nil {
			return err
		}
		var canceled bool
		err := tx.QueryRow(ctx, s.sql(`SELECT cancel_requested FROM {schema}.jobs WHERE id = $1 AND attempts = $2 FOR UPDATE`), lease.JobID, lease.Attempt).Scan(&canceled)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return leaseLost(lease)
		case err != nil:
			return wrap(err, "reschedule %s", lease.JobID)
		case canceled:
			return fmt.Errorf("pgstore: job %s: %w", lease.JobID, store.ErrCancelRequested)
		}
		if _, err := tx.Exec(ctx, s.sql(`UPDATE {schema}.jobs SET run_at = $2, leased = false WHERE id = $1`), lease.JobID, runAt); err != nil {
			return wrap(err, "reschedule %s", lease.JobID)
		}
		if err := s.replaceOperation(ctx, tx, op); err != nil {
			return err
		}
		return s.notify(ctx, tx, payloadDue)
	})
}

// Renew implements [store.Queue]. It fails with [store.ErrNotFound],
// storing nothing, if the operation does not exist.
func (s *Store) Renew(ctx context.Context, op store.Operation, lease store.Lease, until time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.lockOperation(ctx, tx, op.ID); err != nil {
			return err
		}
		var leased, canceled bool
		err := tx.QueryRow(ctx, s.sql(`SELECT leased, cancel_requested FROM {schema}.jobs WHERE id = $1 AND attempts = $2 FOR UPDATE`), lease.JobID, lease.Attempt).Scan(&leased, &canceled)
		switch {
		case errors.Is(err, pgx.ErrNoRows) || err == nil && !leased:
			return leaseLost(lease)
		case err != nil:
			return wrap(err, "renew %s", lease.JobID)
		case canceled:
			return fmt.Errorf("pgstore: job %s: %w", lease.JobID, store.ErrCancelRequested)
		}
		if _, err := tx.Exec(ctx, s.sql(`UPDATE {schema}.jobs SET run_at = $2 WHERE id = $1`), lease.JobID, until); err != nil {
			return wrap(err, "renew %s", lease.JobID)
		}
		return s.replaceOperation(ctx, tx, op)
	})
}

// Complete implements [store.Queue]. It fails with [store.ErrNotFound]
// if the operation does not exist. Subscribers get an
// [store.EventCompleted] for the operation once it committed.
func (s *Store) Complete(ctx context.Context, op store.Operation, lease store.Lease) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.lockOperation(ctx, tx, op.ID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, s.sql(`DELETE FROM {schema}.jobs WHERE id = $1 AND attempts = $2`), lease.JobID, lease.Attempt)
		if err != nil {
			return wrap(err, "complete %s", lease.JobID)
		}
		if tag.RowsAffected() == 0 {
			return leaseLost(lease)
		}
		if err := s.replaceOperation(ctx, tx, op); err != nil {
			return err
		}
		return s.notify(ctx, tx, payloadCompleted+op.ID)
	})
}

// Extend implements [store.Queue].
func (s *Store) Extend(ctx context.Context, lease store.Lease, until time.Time) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {schema}.jobs SET run_at = $3 WHERE id = $1 AND attempts = $2 AND leased`), lease.JobID, lease.Attempt, until)
	if err != nil {
		return wrap(err, "extend %s", lease.JobID)
	}
	if tag.RowsAffected() == 0 {
		return leaseLost(lease)
	}
	return nil
}

// NextDue implements [store.Queue].
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	if err := s.begin(ctx); err != nil {
		return time.Time{}, false, err
	}
	var next time.Time
	err := s.pool.QueryRow(ctx, s.sql(`SELECT run_at FROM {schema}.jobs ORDER BY run_at LIMIT 1`)).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrap(err, "next due")
	}
	return next, true, nil
}

// leaseLost reports a lease that is no longer its job's latest claim.
func leaseLost(lease store.Lease) error {
	return fmt.Errorf("pgstore: job %s is gone or was claimed again since attempt %d: %w", lease.JobID, lease.Attempt, store.ErrLeaseLost)
}
