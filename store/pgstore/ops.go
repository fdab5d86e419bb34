package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/writebackhq/writeback/store"
)

// Job implements [store.Queue].
func (s *Store) Job(ctx context.Context, id string) (store.Job, error) {
	if err := s.begin(ctx); err != nil {
		return store.Job{}, err
	}
	j := store.Job{ID: id}
	err := s.pool.QueryRow(ctx, s.sql(`
SELECT installation_id, provider, group_key, run_at, attempts, leased, cancel_requested, payload
FROM {schema}.jobs WHERE id = $1`), id).Scan(&j.InstallationID, &j.Provider, &j.Group, &j.RunAt, &j.Attempts, &j.Leased, &j.CancelRequested, &j.Payload)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Job{}, fmt.Errorf("pgstore: job %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Job{}, wrap(err, "job %s", id)
	}
	return j, nil
}

// lockedOperation locks operation id's row for the rest of tx and returns
// its data, or fails with [store.ErrNotFound].
func (s *Store) lockedOperation(ctx context.Context, tx pgx.Tx, id string) ([]byte, error) {
	var data []byte
	err := tx.QueryRow(ctx, s.sql(`SELECT data FROM {schema}.operations WHERE id = $1 FOR UPDATE`), id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: operation %s: %w", id, store.ErrNotFound)
	}
	return data, wrap(err, "lock operation %s", id)
}

// Cancel implements [store.Queue]. Subscribers get an
// [store.EventCompleted] for an operation whose job it removed.
func (s *Store) Cancel(ctx context.Context, req store.CancelRequest) (bool, error) {
	if err := req.Validate(); err != nil {
		return false, err
	}
	if err := s.begin(ctx); err != nil {
		return false, err
	}
	id := req.Op.ID
	removed := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		removed = false
		data, err := s.lockedOperation(ctx, tx, id)
		if err != nil {
			return err
		}
		var (
			group          string
			runAt          time.Time
			leased         bool
			members, count int
		)
		err = tx.QueryRow(ctx, s.sql(`
SELECT group_key, run_at, leased, (SELECT count(*) FROM {schema}.members m WHERE m.job_id = j.id)
FROM {schema}.jobs j WHERE id = $1 FOR UPDATE`), id).Scan(&group, &runAt, &leased, &count)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("pgstore: job %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return wrap(err, "cancel %s", id)
		}
		members = req.Members
		switch {
		case !bytes.Equal(data, req.Prev) && !(len(data) == 0 && len(req.Prev) == 0):
			return fmt.Errorf("pgstore: operation %s changed: %w", id, store.ErrConflict)
		case group != "" && count != members:
			return fmt.Errorf("pgstore: group %s has %d members, not %d: %w", id, count, members, store.ErrConflict)
		case leased && runAt.After(req.Now):
			_, err := tx.Exec(ctx, s.sql(`UPDATE {schema}.jobs SET cancel_requested = true WHERE id = $1`), id)
			return wrap(err, "cancel %s", id)
		}
		if _, err := tx.Exec(ctx, s.sql(`DELETE FROM {schema}.jobs WHERE id = $1`), id); err != nil {
			return wrap(err, "cancel %s", id)
		}
		if err := s.replaceOperation(ctx, tx, req.Op); err != nil {
			return err
		}
		removed = true
		return s.notify(ctx, tx, payloadCompleted+id)
	})
	if err != nil {
		return false, err
	}
	return removed, nil
}

// Requeue implements [store.Queue].
func (s *Store) Requeue(ctx context.Context, req store.RequeueRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	id, job := req.Op.ID, req.Job
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		data, err := s.lockedOperation(ctx, tx, id)
		if err != nil {
			return err
		}
		if !bytes.Equal(data, req.Prev) && !(len(data) == 0 && len(req.Prev) == 0) {
			return fmt.Errorf("pgstore: operation %s changed: %w", id, store.ErrConflict)
		}
		tag, err := tx.Exec(ctx, s.sql(`
INSERT INTO {schema}.jobs (id, installation_id, provider, run_at, attempts, payload)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`), id, job.InstallationID, job.Provider, job.RunAt, job.Attempts, nonNil(job.Payload))
		if err != nil {
			return wrap(err, "requeue %s", id)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("pgstore: operation %s is queued: %w", id, store.ErrConflict)
		}
		if err := s.replaceOperation(ctx, tx, req.Op); err != nil {
			return err
		}
		return s.notify(ctx, tx, payloadDue)
	})
}

// Stats implements [store.Queue]: one aggregate over the jobs, then the
// open groups and the jobs in flight (a few rows each).
func (s *Store) Stats(ctx context.Context, now time.Time) (store.QueueStats, error) {
	var st store.QueueStats
	if err := s.begin(ctx); err != nil {
		return st, err
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, s.sql(`
SELECT provider,
	count(*) FILTER (WHERE NOT leased AND NOT open AND attempts = 0),
	count(*) FILTER (WHERE NOT leased AND open),
	count(*) FILTER (WHERE NOT leased AND NOT open AND attempts > 0),
	count(*) FILTER (WHERE leased AND run_at > $1),
	count(*) FILTER (WHERE leased AND run_at <= $1),
	count(*) FILTER (WHERE run_at <= $1),
	min(run_at) FILTER (WHERE run_at <= $1)
FROM {schema}.jobs GROUP BY provider ORDER BY provider COLLATE "C"`), now)
		if err != nil {
			return err
		}
		var p store.ProviderStats
		var oldest *time.Time
		_, err = pgx.ForEachRow(rows, []any{&p.Provider, &p.Queued, &p.Open, &p.Retrying, &p.InFlight, &p.Expired, &p.Due, &oldest}, func() error {
			if oldest != nil {
				p.OldestDue = *oldest
			}
			st.Providers = append(st.Providers, p)
			p, oldest = store.ProviderStats{}, nil
			return nil
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, s.sql(`
SELECT id, installation_id, provider, group_key, run_at, attempts, payload,
	(SELECT count(*) FROM {schema}.members m WHERE m.job_id = j.id)
FROM {schema}.jobs j WHERE open AND NOT leased ORDER BY run_at, id`))
		if err != nil {
			return err
		}
		var g store.OpenGroup
		_, err = pgx.ForEachRow(rows, []any{&g.Job.ID, &g.Job.InstallationID, &g.Job.Provider, &g.Job.Group, &g.Job.RunAt, &g.Job.Attempts, &g.Job.Payload, &g.Size}, func() error {
			st.OpenGroups = append(st.OpenGroups, g)
			g = store.OpenGroup{}
			return nil
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, s.sql(`
SELECT id, installation_id, provider, group_key, run_at, attempts, cancel_requested
FROM {schema}.jobs WHERE leased AND run_at > $1 ORDER BY run_at, id`), now)
		if err != nil {
			return err
		}
		j := store.Job{Leased: true}
		_, err = pgx.ForEachRow(rows, []any{&j.ID, &j.InstallationID, &j.Provider, &j.Group, &j.RunAt, &j.Attempts, &j.CancelRequested}, func() error {
			st.InFlight = append(st.InFlight, j)
			j = store.Job{Leased: true}
			return nil
		})
		return err
	})
	return st, wrap(err, "stats")
}

// DeleteOperations implements [store.Operations]. It locks the
// operations first, so that an operation queued again at the same time
// (Requeue locks it too) is either kept or never queued.
func (s *Store) DeleteOperations(ctx context.Context, ids []string) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.sql(`SELECT 1 FROM {schema}.operations WHERE id = ANY($1) ORDER BY id FOR UPDATE`), ids); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, s.sql(`
DELETE FROM {schema}.operations o WHERE o.id = ANY($1)
AND NOT EXISTS (SELECT 1 FROM {schema}.jobs j WHERE j.id = o.id)`), ids)
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, wrap(err, "delete operations")
	}
	return n, nil
}

// DeleteExpiredKeys implements [store.Operations]: one statement looks at
// the next limit keys and deletes those expired.
func (s *Store) DeleteExpiredKeys(ctx context.Context, now time.Time, after string, limit int) (string, int, error) {
	if err := s.begin(ctx); err != nil {
		return "", 0, err
	}
	if limit < 1 {
		return after, 0, nil
	}
	var (
		last          *string
		seen, deleted int
	)
	err := s.pool.QueryRow(ctx, s.sql(`
WITH seen AS (
	SELECT key FROM {schema}.idempotency_keys WHERE key > $2 ORDER BY key LIMIT $3
), gone AS (
	DELETE FROM {schema}.idempotency_keys k USING seen
	WHERE k.key = seen.key AND k.expires_at <= $1 RETURNING 1
)
SELECT (SELECT max(key) FROM seen), (SELECT count(*) FROM seen), (SELECT count(*) FROM gone)`), now, after, limit).Scan(&last, &seen, &deleted)
	if err != nil {
		return "", 0, wrap(err, "delete expired keys")
	}
	next := ""
	if last != nil && seen == limit {
		next = *last
	}
	return next, deleted, nil
}
