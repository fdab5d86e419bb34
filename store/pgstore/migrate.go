package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.up.sql
var migrationFiles embed.FS

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. Their file
// names are NNN_name.up.sql.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.up.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, path := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".up.sql")
		num, name, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version < 1 {
			return nil, fmt.Errorf("pgstore: migration file %s: want NNN_name.up.sql", path)
		}
		b, err := migrationFiles.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: version, name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("pgstore: migration %d is missing", i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this package reads and writes: the
// number of its embedded migrations.
const SchemaVersion = 2

// ErrSchemaVersion reports a schema that [Migrate] has not brought to
// [SchemaVersion], or that a newer version of this package migrated past it.
var ErrSchemaVersion = errors.New("pgstore: schema version mismatch")

// Migrate creates the schema named by opts (and its tables) if needed and
// applies the embedded migrations it lacks, each in its own transaction. It
// holds a session advisory lock while it works, so any number of replicas
// may call it at once: one migrates, the others wait and find nothing left
// to do. It fails with [ErrSchemaVersion] if the schema is newer than this
// package. The role needs CREATE on the database (or an existing schema
// it may create tables in).
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts *Options) error {
	o, err := opts.resolve()
	if err != nil {
		return err
	}
	all, err := migrations()
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer conn.Release()
	lockKey := "writeback.migrate:" + o.Schema
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", lockKey); err != nil {
		return fmt.Errorf("pgstore: migrate: lock: %w", err)
	}
	defer func() {
		// Unlock on a context of its own: the caller's may have ended. If
		// the unlock fails the session still holds the lock, so close it.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtextextended($1, 0))", lockKey); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	schema := quote(o.Schema)
	setup := "CREATE SCHEMA IF NOT EXISTS " + schema + ";\n" +
		"CREATE TABLE IF NOT EXISTS " + schema + `.migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`
	if _, err := conn.Exec(ctx, setup); err != nil {
		return fmt.Errorf("pgstore: migrate: create schema %s: %w", o.Schema, err)
	}
	current, err := schemaVersion(ctx, conn.Conn(), schema)
	if err != nil {
		return err
	}
	if current > len(all) {
		return fmt.Errorf("%w: schema %s is at version %d, this writeback knows %d", ErrSchemaVersion, o.Schema, current, len(all))
	}
	for _, m := range all[current:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, strings.ReplaceAll(m.sql, "{schema}", schema)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO "+schema+".migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("pgstore: migrate %s to version %d (%s): %w", o.Schema, m.version, m.name, err)
		}
	}
	return nil
}

// schemaVersion returns the highest applied migration, 0 for none.
func schemaVersion(ctx context.Context, q querier, schema string) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+schema+".migrations").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("pgstore: read schema version: %w", err)
	}
	return v, nil
}

// quote quotes an identifier.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }
