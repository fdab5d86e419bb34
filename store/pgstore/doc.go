// Package pgstore keeps a [store.Interface] in PostgreSQL, shared by every
// replica of an application: installations, operation records and the
// durable async queue, with the same guarantees across processes that
// store/boltstore gives one process. It uses github.com/jackc/pgx/v5
// through a *pgxpool.Pool the application opens and closes:
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	if err := pgstore.Migrate(ctx, pool, nil); err != nil { ... } // at deploy or start
//	st, err := pgstore.New(ctx, pool, nil)
//	...
//	defer st.Close()
//
// # Schema
//
// [Migrate] applies embedded, numbered migrations (migrations/NNN_name.up.sql)
// in a schema of their own ([Options.Schema], default "writeback"), each in
// a transaction, under a session advisory lock so that any number of
// replicas may run it at once. [New] only checks the version. The tables:
//
//	migrations        version (PK), name, applied_at: the applied migrations.
//	installations     id (PK), integration, group_ref, revision, data;
//	                  UNIQUE (integration, group_ref).
//	operations        id (PK), installation_id, data;
//	                  operations_by_installation (installation_id, id) for
//	                  listing an installation's operations in ID order
//	                  (every installation's are listed from the key).
//	idempotency_keys  key (PK), request_hash, operation_id, reserved_at,
//	                  expires_at. An expired reservation is replaced in place.
//	jobs              id (PK), installation_id, provider, group_key, run_at,
//	                  attempts, open, size, payload, leased,
//	                  cancel_requested (version 2: a claim sets leased, a
//	                  reschedule clears it; Cancel of a leased job sets
//	                  cancel_requested);
//	                  jobs_due (run_at, id): the claim order;
//	                  jobs_open_group UNIQUE (group_key) WHERE open: at most
//	                  one open auto-batch group per key.
//	members           (job_id, seq) PK, member; job_id references jobs and
//	                  is deleted with its job.
//
// Keys are text in the "C" collation, so ID order is byte order whatever
// the database's locale. Times are timestamptz: they are kept to the
// microsecond (the Go value's nanoseconds are truncated).
//
// # Concurrency across processes
//
// Enqueue, CreateOperation and Join calls share transactions (group
// commit): a few committer goroutines ([Options.Committers]) each take
// every call waiting when they are free and write them with multi-row
// statements (INSERT ... SELECT FROM unnest) in one transaction; a batch of
// calls without idempotency keys is one self-committing statement. A call
// returns only after its transaction committed, with synchronous_commit as
// the server has it (on by default; never turned off here). A call refused
// alone (a taken idempotency key, an existing ID) fails alone: keys are
// reserved with INSERT ... ON CONFLICT DO UPDATE ... WHERE expired
// RETURNING, operations with ON CONFLICT DO NOTHING RETURNING, and what a
// refused call wrote is taken back in the same transaction.
//
// [Store.Claim] is one statement: it selects due jobs in (run_at, id)
// order from jobs_due with FOR UPDATE SKIP LOCKED, and moves them to the
// lease's end with attempts + 1. Concurrent claimers never take the same
// job nor wait for each other, and a claim reads only the rows it takes.
// Complete, Reschedule and Extend match the lease's attempt in their WHERE
// clause, so a holder whose lease ran out and was claimed again by any
// process changes nothing ([store.ErrLeaseLost]).
//
// Joins to one group key take a transaction advisory lock on the key (keys
// in sorted order, so two batches never deadlock), then lock the key's open
// group row; the unique index above makes a second open group impossible.
// Groups therefore fill exactly as in one process.
//
// # Notifications
//
// The Store is a [store.Notifier]. A transaction that queues work (an
// enqueue, a group opened or sealed, a reschedule) sends one "due"
// notification on the channel <schema>_events, and Complete sends
// "completed:<operation ID>"; both are delivered, to every Store that
// subscribed on any replica, only once the transaction committed.
// Subscriptions listen on a connection of their own, reconnect with
// backoff and then report [store.EventResync].
//
// # Failures
//
// While the server is unreachable, calls fail with the driver's error
// (never a panic); pgxpool reconnects, so the same Store works again once
// the server is back. A call whose connection broke while it committed may
// or may not have committed, as with any lost answer. A caller whose ctx
// ends while its call waits for a committer gets ctx.Err(); the call may
// still be committed.
package pgstore
