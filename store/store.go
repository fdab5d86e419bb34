package store

import (
	"context"
	"time"
)

// Interface is the durable state behind a writeback Writer: installations,
// operation records and the async queue.
//
// Every method honours ctx at least before it starts, is safe for
// concurrent use, and has completed durably (fsync'd, for a disk store)
// when it returns nil. Times are parameters: a store never reads the
// clock. The Writer never closes the store it was given; whoever opened it
// closes it.
type Interface interface {
	Installations
	Operations
	Queue
}

// Installations stores installations.
type Installations interface {
	// InsertInstallation stores a new installation. It fails with
	// [ErrConflict] if the ID, or the (Integration, GroupRef) pair, exists.
	InsertInstallation(ctx context.Context, rec Installation) error
	// ReplaceInstallation replaces an installation if the stored revision
	// is rec.Revision-1 (optimistic concurrency), failing with
	// [ErrConflict] otherwise and with [ErrNotFound] if it does not exist.
	// Integration and GroupRef cannot change ([ErrInvalidInput]).
	ReplaceInstallation(ctx context.Context, rec Installation) error
	// DeleteInstallation removes an installation, or fails with [ErrNotFound].
	DeleteInstallation(ctx context.Context, id string) error
	// Installation returns an installation by ID, or [ErrNotFound].
	Installation(ctx context.Context, id string) (Installation, error)
	// InstallationByGroup returns the installation of an integration for a
	// groupRef, or [ErrNotFound].
	InstallationByGroup(ctx context.Context, integration, groupRef string) (Installation, error)
	// Installations lists installations ordered by ID; an empty integration
	// lists all of them.
	Installations(ctx context.Context, integration string) ([]Installation, error)
}

// Operations stores operation records.
type Operations interface {
	// CreateOperation stores a new operation record, failing with
	// [ErrConflict] if the ID exists. With a non-nil key it also reserves
	// the key in the same transaction, failing with a [*KeyExistsError] if
	// an unexpired reservation exists at now.
	CreateOperation(ctx context.Context, rec Operation, key *IdempotencyKey, now time.Time) error
	// UpdateOperation replaces a stored operation record, or fails with
	// [ErrNotFound].
	UpdateOperation(ctx context.Context, rec Operation) error
	// Operation returns an operation record by ID, or [ErrNotFound].
	Operation(ctx context.Context, id string) (Operation, error)
	// Operations lists operation records in ID order, starting after the
	// ID after (empty: from the first), at most limit of them: those of
	// one installation, or with an empty installationID those of every
	// installation. A shorter page than limit means there are no more.
	Operations(ctx context.Context, installationID, after string, limit int) ([]Operation, error)
	// IdempotencyKey returns the unexpired reservation of key at now, or
	// [ErrNotFound].
	IdempotencyKey(ctx context.Context, key string, now time.Time) (IdempotencyKey, error)
	// DeleteOperations removes the operation records with the given IDs
	// in one transaction, and returns how many it removed. It leaves
	// alone an ID that does not exist and an operation that still has a
	// job (it is unfinished, or was queued again since the caller looked).
	DeleteOperations(ctx context.Context, ids []string) (int, error)
	// DeleteExpiredKeys removes idempotency keys expired at now. It looks
	// at up to limit keys, in key order, after the key after (empty: from
	// the first), and returns the last key it looked at, or "" once there
	// are no more, with the number it removed.
	DeleteExpiredKeys(ctx context.Context, now time.Time, after string, limit int) (next string, deleted int, err error)
}

// Queue is the durable async queue. A job is due when its RunAt is at or
// before now. Claiming a due job leases it (moves its RunAt to the lease
// expiry and sets Leased), so at-least-once delivery survives crashes
// without a recovery scan. Every claim increments the job's Attempts,
// which makes the claim's [Lease] a fencing token: a holder whose lease
// ran out and was claimed by someone else can no longer complete or
// reschedule the job.
//
// A job is leased from a claim until its holder reschedules or completes
// it; a lease whose RunAt has passed has expired (its holder stopped or
// crashed) and the job is due again. Jobs stored by Enqueue, Join and
// Requeue are not leased and have no cancel request, whatever the Job
// given says.
type Queue interface {
	// Enqueue stores an operation record and the job that executes it in
	// one transaction, durable before it returns. Implementations group
	// concurrent calls into shared transactions (group commit). With a
	// non-nil key it reserves the key in the same transaction and fails
	// with a [*KeyExistsError] if an unexpired reservation exists at now.
	Enqueue(ctx context.Context, op Operation, job Job, key *IdempotencyKey, now time.Time) error
	// Join adds a record to the open group of req.Group in one durable
	// transaction; see [JoinRequest].
	Join(ctx context.Context, req JoinRequest) (JoinResult, error)
	// Claim leases up to limit due jobs (RunAt <= now), in (RunAt, ID)
	// order: it sets their RunAt to leaseUntil and Leased, increments
	// Attempts, seals group jobs against new members, and returns them
	// (with CancelRequested if a cancel was requested while an earlier
	// lease ran).
	Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Job, error)
	// Members returns a group job's member records in join order.
	Members(ctx context.Context, jobID string) ([][]byte, error)
	// Reschedule stores an updated operation record and moves its job's
	// RunAt in one transaction, ending the lease, if lease is still the
	// job's latest claim; otherwise it fails with [ErrLeaseLost] and
	// changes nothing. If a cancel was requested (see [Queue.Cancel]) it
	// fails with [ErrCancelRequested] and changes nothing: the holder
	// completes the job instead.
	Reschedule(ctx context.Context, op Operation, lease Lease, runAt time.Time) error
	// Complete stores the final operation record and removes its job (and
	// members) in one transaction, if lease is still the job's latest
	// claim. It replaces a stored record that is damaged ([ErrCorrupt]); otherwise (the job was claimed again, or is gone) it fails
	// with [ErrLeaseLost] and changes nothing.
	Complete(ctx context.Context, op Operation, lease Lease) error
	// Renew stores an updated operation record and moves a claimed job's
	// lease expiry (its RunAt) to until in one transaction, keeping the
	// lease: a heartbeat that also records what the holder is about to do.
	// It fails with [ErrLeaseLost], changing nothing, if lease is not the
	// job's latest claim or the job was rescheduled since, and with
	// [ErrCancelRequested], changing nothing, if a cancel was requested:
	// the holder then completes the job instead.
	Renew(ctx context.Context, op Operation, lease Lease, until time.Time) error
	// Extend moves the RunAt of a claimed job to until (a heartbeat, so a
	// long attempt keeps its lease), if lease is still the job's latest
	// claim and the job was not rescheduled since; otherwise it fails with
	// [ErrLeaseLost].
	Extend(ctx context.Context, lease Lease, until time.Time) error
	// NextDue returns the earliest RunAt of any job, and false if the queue
	// is empty.
	NextDue(ctx context.Context) (time.Time, bool, error)
	// Job returns the job of an operation, or [ErrNotFound] if it has
	// none (it was never queued, or is finished).
	Job(ctx context.Context, id string) (Job, error)
	// Cancel cancels an operation's job; see [CancelRequest]. If the job
	// is not leased at req.Now (never claimed, waiting for a retry, or its
	// lease expired) it removes the job with its members and stores
	// req.Op, the operation's final record, in one transaction, and
	// returns true. If the job is leased, it records a cancel request,
	// which makes the holder's [Queue.Reschedule] fail with
	// [ErrCancelRequested] and a later claim return the job with
	// CancelRequested, stores nothing else and returns false. It fails with
	// [ErrNotFound] if the operation or its job does not exist, and with
	// [ErrConflict], changing nothing, if the operation record or the
	// group's members changed since the caller read them.
	Cancel(ctx context.Context, req CancelRequest) (removed bool, err error)
	// Requeue queues a finished operation again: it replaces the
	// operation record with req.Op and stores req.Job (not leased, with
	// its Attempts as given) in one transaction. It fails with
	// [ErrNotFound] if the operation does not exist, and with
	// [ErrConflict], changing nothing, if it has a job or its record
	// changed since the caller read it.
	Requeue(ctx context.Context, req RequeueRequest) error
	// Stats counts the queue's jobs at now; see [QueueStats].
	Stats(ctx context.Context, now time.Time) (QueueStats, error)
}
