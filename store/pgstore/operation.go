package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/writebackhq/writeback/store"
)

// UpdateOperation implements [store.Operations].
func (s *Store) UpdateOperation(ctx context.Context, rec store.Operation) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	return s.replaceOperation(ctx, s.pool, rec)
}

// Operation implements [store.Operations].
func (s *Store) Operation(ctx context.Context, id string) (store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return store.Operation{}, err
	}
	rec := store.Operation{ID: id}
	err := s.pool.QueryRow(ctx, s.sql(`SELECT installation_id, data FROM {schema}.operations WHERE id = $1`), id).Scan(&rec.InstallationID, &rec.Data)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Operation{}, fmt.Errorf("pgstore: operation %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Operation{}, wrap(err, "operation %s", id)
	}
	return rec, nil
}

// Operations implements [store.Operations], from the
// operations_by_installation index (every installation's from the primary
// key). A limit below one returns no records.
func (s *Store) Operations(ctx context.Context, installationID, after string, limit int) ([]store.Operation, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, nil
	}
	query := `
SELECT id, installation_id, data FROM {schema}.operations
WHERE installation_id = $1 AND id > $2 ORDER BY id LIMIT $3`
	if installationID == "" {
		// Every installation's, from the primary key.
		query = `
SELECT id, installation_id, data FROM {schema}.operations
WHERE $1 = '' AND id > $2 ORDER BY id LIMIT $3`
	}
	rows, err := s.pool.Query(ctx, s.sql(query), installationID, after, limit)
	if err != nil {
		return nil, wrap(err, "operations of %s", installationID)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Operation, error) {
		var r store.Operation
		err := row.Scan(&r.ID, &r.InstallationID, &r.Data)
		return r, err
	})
	return out, wrap(err, "operations of %s", installationID)
}

// IdempotencyKey implements [store.Operations].
func (s *Store) IdempotencyKey(ctx context.Context, key string, now time.Time) (store.IdempotencyKey, error) {
	if err := s.begin(ctx); err != nil {
		return store.IdempotencyKey{}, err
	}
	k := store.IdempotencyKey{Key: key}
	err := s.pool.QueryRow(ctx, s.sql(`
SELECT request_hash, operation_id, expires_at FROM {schema}.idempotency_keys
WHERE key = $1 AND expires_at > $2`), key, now).Scan(&k.RequestHash, &k.OperationID, &k.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.IdempotencyKey{}, fmt.Errorf("pgstore: idempotency key: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.IdempotencyKey{}, wrap(err, "idempotency key")
	}
	return k, nil
}

// lockOperation locks operation id's row for the rest of tx, or fails
// with [store.ErrNotFound].
func (s *Store) lockOperation(ctx context.Context, tx pgx.Tx, id string) error {
	var one int
	err := tx.QueryRow(ctx, s.sql(`SELECT 1 FROM {schema}.operations WHERE id = $1 FOR UPDATE`), id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: operation %s: %w", id, store.ErrNotFound)
	}
	return wrap(err, "lock operation %s", id)
}

// replaceOperation stores rec over the existing record, or fails with
// [store.ErrNotFound].
func (s *Store) replaceOperation(ctx context.Context, q querier, rec store.Operation) error {
	tag, err := q.Exec(ctx, s.sql(`UPDATE {schema}.operations SET installation_id = $2, data = $3 WHERE id = $1`), rec.ID, rec.InstallationID, nonNil(rec.Data))
	if err != nil {
		return wrap(err, "store operation %s", rec.ID)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: operation %s: %w", rec.ID, store.ErrNotFound)
	}
	return nil
}
