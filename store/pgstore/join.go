package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/writebackhq/writeback/store"
)

// joinCall is a Join and, once applied, its result.
type joinCall struct {
	req store.JoinRequest
	res store.JoinResult
}

// Join implements [store.Queue]. It shares a transaction with concurrent
// Join, Enqueue and CreateOperation calls. Joins to one group key are
// serialized across every process by a transaction-level advisory lock on
// the key, and at most one group per key is open (a unique index), so a
// group never takes more than MaxSize members whichever process adds them.
// A MaxSize below one, or a new group whose job does not match its
// operation and key, fails with a [*store.InputError].
func (s *Store) Join(ctx context.Context, req store.JoinRequest) (store.JoinResult, error) {
	if err := req.Validate(); err != nil {
		return store.JoinResult{}, err
	}
	req.Member = nonNil(bytes.Clone(req.Member))
	req.NewOperation.Data = nonNil(bytes.Clone(req.NewOperation.Data))
	req.NewJob.Payload = nonNil(bytes.Clone(req.NewJob.Payload))
	c := &joinCall{req: req}
	if err := s.submit(&request{ctx: ctx, join: c}); err != nil {
		return store.JoinResult{}, err
	}
	return c.res, nil
}

// applyJoins applies calls in tx, one group key at a time in key order (so
// two transactions take the keys' locks in the same order), each key's
// calls in arrival order.
func (s *Store) applyJoins(ctx context.Context, tx pgx.Tx, calls []*joinCall) ([]error, error) {
	order := make([]int, len(calls))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(calls[a].req.Group, calls[b].req.Group) })
	errs := make([]error, len(calls))
	for start := 0; start < len(order); {
		end := start + 1
		for end < len(order) && calls[order[end]].req.Group == calls[order[start]].req.Group {
			end++
		}
		if err := s.joinGroup(ctx, tx, calls, order[start:end], errs); err != nil {
			return nil, err
		}
		start = end
	}
	return errs, nil
}

// openGroup is the state of a group that is taking members.
type openGroup struct {
	id   string
	size int
}

// joinGroup adds the members of the calls at idx, which share one group
// key, to the key's open group, opening and sealing groups as they fill.
func (s *Store) joinGroup(ctx context.Context, tx pgx.Tx, calls []*joinCall, idx []int, errs []error) error {
	key := calls[idx[0]].req.Group
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", s.opts.Schema+".join:"+key); err != nil {
		return wrap(err, "lock group %s", key)
	}
	var cur *openGroup
	var g openGroup
	err := tx.QueryRow(ctx, s.sql(`SELECT id, size FROM {schema}.jobs WHERE group_key = $1 AND open FOR UPDATE`), key).Scan(&g.id, &g.size)
	switch {
	case err == nil:
		cur = &g
	case !errors.Is(err, pgx.ErrNoRows):
		return wrap(err, "read group %s", key)
	}
	var memberJob []string
	var memberSeq []int32
	var members [][]byte
	for _, i := range idx {
		c := &calls[i].req
		opened := false
		if cur == nil {
			if err := c.ValidateNewGroup(); err != nil {
				errs[i] = err
				continue
			}
			ok, err := s.openGroup(ctx, tx, c)
			if err != nil {
				return err
			}
			if !ok {
				errs[i] = fmt.Errorf("pgstore: group job %s: %w", c.NewJob.ID, store.ErrConflict)
				continue
			}
			cur, opened = &openGroup{id: c.NewJob.ID}, true
		}
		memberJob = append(memberJob, cur.id)
		memberSeq = append(memberSeq, int32(cur.size))
		members = append(members, nonNil(c.Member))
		cur.size++
		res := store.JoinResult{JobID: cur.id, Size: cur.size, Opened: opened}
		if cur.size >= c.MaxSize {
			// Seal now: the next call may open a new group, and only one
			// group per key may be open.
			res.Sealed = true
			if err := s.sealGroup(ctx, tx, cur, c.Now); err != nil {
				return err
			}
			cur = nil
		}
		calls[i].res = res
	}
	if len(members) > 0 {
		_, err := tx.Exec(ctx, s.sql(`
INSERT INTO {schema}.members (job_id, seq, member)
SELECT * FROM unnest($1::text[], $2::int4[], $3::bytea[])`), memberJob, memberSeq, members)
		if err != nil {
			return wrap(err, "add members to group %s", key)
		}
	}
	if cur != nil {
		if _, err := tx.Exec(ctx, s.sql(`UPDATE {schema}.jobs SET size = $2 WHERE id = $1`), cur.id, cur.size); err != nil {
			return wrap(err, "grow group %s", key)
		}
	}
	return nil
}

// openGroup stores the operation and the open job of a new group, and
// reports false (storing nothing) if either ID exists.
func (s *Store) openGroup(ctx context.Context, tx pgx.Tx, req *store.JoinRequest) (bool, error) {
	op, job := req.NewOperation, req.NewJob
	tag, err := tx.Exec(ctx, s.sql(`
INSERT INTO {schema}.operations (id, installation_id, data) VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING`), op.ID, op.InstallationID, nonNil(op.Data))
	if err != nil {
		return false, wrap(err, "store group operation %s", op.ID)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	tag, err = tx.Exec(ctx, s.sql(`
INSERT INTO {schema}.jobs (id, installation_id, provider, group_key, run_at, attempts, open, size, payload)
VALUES ($1, $2, $3, $4, $5, $6, true, 0, $7)
ON CONFLICT (id) DO NOTHING`), job.ID, job.InstallationID, job.Provider, job.Group, job.RunAt, job.Attempts, nonNil(job.Payload))
	if err != nil {
		return false, wrap(err, "queue group job %s", job.ID)
	}
	if tag.RowsAffected() == 0 {
		_, err := tx.Exec(ctx, s.sql(`DELETE FROM {schema}.operations WHERE id = $1`), op.ID)
		return false, wrap(err, "remove group operation %s", op.ID)
	}
	return true, nil
}

// sealGroup closes g to new members and makes its job due at now.
func (s *Store) sealGroup(ctx context.Context, tx pgx.Tx, g *openGroup, now time.Time) error {
	_, err := tx.Exec(ctx, s.sql(`UPDATE {schema}.jobs SET open = false, size = $2, run_at = $3 WHERE id = $1`), g.id, g.size, now)
	return wrap(err, "seal group job %s", g.id)
}
