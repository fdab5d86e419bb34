package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/writebackhq/writeback/store"
)

// createCall is a CreateOperation (job nil) or an Enqueue.
type createCall struct {
	op  store.Operation
	job *store.Job
	key *store.IdempotencyKey
	now time.Time
}

// CreateOperation implements [store.Operations]. It shares a transaction
// with concurrent CreateOperation, Enqueue and Join calls.
func (s *Store) CreateOperation(ctx context.Context, rec store.Operation, key *store.IdempotencyKey, now time.Time) error {
	if err := store.ValidateNewOperation(rec, key); err != nil {
		return err
	}
	return s.submit(&request{ctx: ctx, create: newCreateCall(rec, nil, key, now)})
}

// Enqueue implements [store.Queue]. It shares a transaction with
// concurrent Enqueue, CreateOperation and Join calls (group commit), and
// returns once that transaction committed. The job's ID must equal the
// operation's.
func (s *Store) Enqueue(ctx context.Context, op store.Operation, job store.Job, key *store.IdempotencyKey, now time.Time) error {
	if err := store.ValidateEnqueue(op, job, key); err != nil {
		return err
	}
	return s.submit(&request{ctx: ctx, create: newCreateCall(op, &job, key, now)})
}

// newCreateCall copies what the call keeps of the caller's values.
func newCreateCall(op store.Operation, job *store.Job, key *store.IdempotencyKey, now time.Time) *createCall {
	c := &createCall{op: op, now: now}
	c.op.Data = nonNil(bytes.Clone(op.Data))
	if job != nil {
		j := *job
		j.Payload = nonNil(bytes.Clone(j.Payload))
		c.job = &j
	}
	if key != nil {
		k := *key
		c.key = &k
	}
	return c
}

// applyCreates stores calls in tx with a few multi-row statements. It
// returns each call's own error (a taken key, an existing ID). Calls that
// repeat an earlier call's operation ID or key go in a later round, so
// that they see its outcome exactly as if they had come after it.
func (s *Store) applyCreates(ctx context.Context, tx pgx.Tx, calls []*createCall) ([]error, error) {
	errs := make([]error, len(calls))
	pending := make([]int, len(calls))
	for i := range calls {
		pending[i] = i
	}
	for len(pending) > 0 {
		var round, later []int
		ids, keys := map[string]bool{}, map[string]bool{}
		for _, i := range pending {
			c := calls[i]
			if ids[c.op.ID] || (c.key != nil && keys[c.key.Key]) {
				later = append(later, i)
				continue
			}
			ids[c.op.ID] = true
			if c.key != nil {
				keys[c.key.Key] = true
			}
			round = append(round, i)
		}
		if err := s.createRound(ctx, tx, calls, round, errs); err != nil {
			return nil, err
		}
		pending = later
	}
	return errs, nil
}

// createRound stores the calls at idx, whose IDs and keys are distinct.
// Rows are written in key order, so that two transactions never wait for
// each other's rows in opposite orders.
func (s *Store) createRound(ctx context.Context, tx pgx.Tx, calls []*createCall, idx []int, errs []error) error {
	// 1. Reserve the keys: a live reservation stays and refuses its call.
	var keyed []int
	for _, i := range idx {
		if calls[i].key != nil {
			keyed = append(keyed, i)
		}
	}
	slices.SortFunc(keyed, func(a, b int) int { return strings.Compare(calls[a].key.Key, calls[b].key.Key) })
	reserved := map[string]bool{}
	if len(keyed) > 0 {
		n := len(keyed)
		k, hash, opID := make([]string, n), make([]string, n), make([]string, n)
		at, exp := make([]time.Time, n), make([]time.Time, n)
		for j, i := range keyed {
			c := calls[i]
			k[j], hash[j], opID[j], at[j], exp[j] = c.key.Key, c.key.RequestHash, c.key.OperationID, c.now, c.key.ExpiresAt
		}
		rows, err := tx.Query(ctx, s.sql(`
INSERT INTO {schema}.idempotency_keys AS k (key, request_hash, operation_id, reserved_at, expires_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, operation_id = excluded.operation_id,
	reserved_at = excluded.reserved_at, expires_at = excluded.expires_at
WHERE k.expires_at <= excluded.reserved_at
RETURNING key`), k, hash, opID, at, exp)
		if err != nil {
			return wrap(err, "reserve keys")
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return wrap(err, "reserve keys")
		}
		for _, key := range got {
			reserved[key] = true
		}
		var taken []string
		for _, i := range keyed {
			if !reserved[calls[i].key.Key] {
				taken = append(taken, calls[i].key.Key)
			}
		}
		if len(taken) > 0 {
			existing, err := s.keys(ctx, tx, taken)
			if err != nil {
				return err
			}
			for _, i := range keyed {
				key := calls[i].key.Key
				if reserved[key] {
					continue
				}
				if k, ok := existing[key]; ok {
					errs[i] = &store.KeyExistsError{Existing: k}
				} else {
					errs[i] = fmt.Errorf("pgstore: idempotency key %s changed while reserving it: %w", key, store.ErrConflict)
				}
			}
		}
	}

	// 2. Store the operations and queue their jobs.
	var ops []int
	for _, i := range idx {
		if errs[i] == nil {
			ops = append(ops, i)
		}
	}
	undoKeys, undoOps, err := s.storeOps(ctx, tx, calls, ops, errs, false)
	if err != nil {
		return err
	}

	// 3. Take back what the refused calls wrote before they were refused.
	if len(undoKeys) > 0 {
		if _, err := tx.Exec(ctx, s.sql(`DELETE FROM {schema}.idempotency_keys WHERE key = ANY($1)`), undoKeys); err != nil {
			return wrap(err, "release keys")
		}
	}
	if len(undoOps) > 0 {
		if _, err := tx.Exec(ctx, s.sql(`DELETE FROM {schema}.operations WHERE id = ANY($1)`), undoOps); err != nil {
			return wrap(err, "remove operations")
		}
	}
	return nil
}

// storeOps stores the operations of the calls at idx and queues their jobs
// in one statement (with notify, it also notifies subscribers when it
// commits): a job is queued only if its operation was new. An existing
// operation ID (or job ID) refuses its call. It returns the keys and
// operations the refused calls had written, to be taken back.
func (s *Store) storeOps(ctx context.Context, q querier, calls []*createCall, idx []int, errs []error, notify bool) (undoKeys, undoOps []string, err error) {
	if len(idx) == 0 {
		return nil, nil, nil
	}
	ops := slices.Clone(idx)
	slices.SortFunc(ops, func(a, b int) int { return strings.Compare(calls[a].op.ID, calls[b].op.ID) })
	n := len(ops)
	id, inst, data := make([]string, n), make([]string, n), make([][]byte, n)
	var jID, jInst, jProv, jGroup []string
	var jRunAt []time.Time
	var jAttempts []int32
	var jPayload [][]byte
	for k, i := range ops {
		c := calls[i]
		id[k], inst[k], data[k] = c.op.ID, c.op.InstallationID, c.op.Data
		if job := c.job; job != nil {
			jID, jInst, jProv, jGroup = append(jID, job.ID), append(jInst, job.InstallationID), append(jProv, job.Provider), append(jGroup, job.Group)
			jRunAt, jAttempts, jPayload = append(jRunAt, job.RunAt), append(jAttempts, int32(job.Attempts)), append(jPayload, job.Payload)
		}
	}
	channel := ""
	if notify && len(jID) > 0 {
		channel = s.channel
	}
	rows, err := q.Query(ctx, s.sql(`
WITH ops AS (
	INSERT INTO {schema}.operations (id, installation_id, data)
	SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
	ON CONFLICT (id) DO NOTHING
	RETURNING id
), jobs AS (
	INSERT INTO {schema}.jobs (id, installation_id, provider, group_key, run_at, attempts, payload)
	SELECT j.* FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::int4[], $10::bytea[])
		AS j (id, installation_id, provider, group_key, run_at, attempts, payload)
	WHERE j.id IN (SELECT id FROM ops)
	ON CONFLICT (id) DO NOTHING
	RETURNING id
), notified AS (
	SELECT pg_notify($11, 'due') WHERE $11 <> '' AND EXISTS (SELECT 1 FROM jobs)
)
SELECT ops.id, jobs.id IS NOT NULL FROM ops LEFT JOIN jobs ON jobs.id = ops.id
	LEFT JOIN notified ON true`),
		id, inst, data, jID, jInst, jProv, jGroup, jRunAt, jAttempts, jPayload, channel)
	if err != nil {
		return nil, nil, wrap(err, "store operations")
	}
	stored, queued := map[string]bool{}, map[string]bool{}
	var opID string
	var jobQueued bool
	_, err = pgx.ForEachRow(rows, []any{&opID, &jobQueued}, func() error {
		stored[opID], queued[opID] = true, jobQueued
		return nil
	})
	if err != nil {
		return nil, nil, wrap(err, "store operations")
	}
	for _, i := range ops {
		c := calls[i]
		switch {
		case !stored[c.op.ID]:
			errs[i] = fmt.Errorf("pgstore: operation %s: %w", c.op.ID, store.ErrConflict)
		case c.job != nil && !queued[c.op.ID]:
			errs[i] = fmt.Errorf("pgstore: job %s: %w", c.job.ID, store.ErrConflict)
			undoOps = append(undoOps, c.op.ID)
		default:
			continue
		}
		if c.key != nil {
			undoKeys = append(undoKeys, c.key.Key)
		}
	}
	return undoKeys, undoOps, nil
}

// commitWithoutKeys stores calls, none of which reserves an idempotency key
// and whose operation IDs are distinct, with one statement that commits by
// itself: one round trip and one commit for the whole batch. A call
// refused for an existing job (whose operation was missing, so was stored)
// has its operation removed by a second statement.
func (s *Store) commitWithoutKeys(ctx context.Context, calls []*createCall) ([]error, error) {
	errs := make([]error, len(calls))
	idx := make([]int, len(calls))
	for i := range idx {
		idx[i] = i
	}
	_, undoOps, err := s.storeOps(ctx, s.pool, calls, idx, errs, true)
	if err != nil {
		return nil, err
	}
	if len(undoOps) > 0 {
		if _, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {schema}.operations WHERE id = ANY($1)`), undoOps); err != nil {
			return nil, wrap(err, "remove operations")
		}
	}
	return errs, nil
}

// keys reads the reservations of keys, whatever their expiry.
func (s *Store) keys(ctx context.Context, q querier, keys []string) (map[string]store.IdempotencyKey, error) {
	rows, err := q.Query(ctx, s.sql(`
SELECT key, request_hash, operation_id, expires_at FROM {schema}.idempotency_keys WHERE key = ANY($1)`), keys)
	if err != nil {
		return nil, wrap(err, "read keys")
	}
	out := map[string]store.IdempotencyKey{}
	var k store.IdempotencyKey
	_, err = pgx.ForEachRow(rows, []any{&k.Key, &k.RequestHash, &k.OperationID, &k.ExpiresAt}, func() error {
		out[k.Key] = k
		return nil
	})
	return out, wrap(err, "read keys")
}
