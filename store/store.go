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
	// Operations lists an installation's operation records in ID order,
	// starting after the ID after (empty: from the first), at most limit
	// of them. A shorter page than limit means there are no more.
	Operations(ctx context.Context, installationID, after string, limit int) ([]Operation, error)
	// IdempotencyKey returns the unexpired reservation of key at now, or
	// [ErrNotFound].
	IdempotencyKey(ctx context.Context, key string, now time.Time) (IdempotencyKey, error)
}

// Queue is the durable async queue. A job is due when its RunAt is at or
// before now. Claiming a due job leases it (moves its RunAt to the lease
// expiry), so at-least-once delivery survives crashes without a recovery
// scan. Every claim increments the job's Attempts, which makes the claim's
// [Lease] a fencing token: a holder whose lease ran out and was claimed by
// someone else can no longer complete or reschedule the job.
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
	// order: it sets their RunAt to leaseUntil, increments Attempts, seals
	// group jobs against new members, and returns them.
	Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Job, error)
	// Members returns a group job's member records in join order.
	Members(ctx context.Context, jobID string) ([][]byte, error)
	// Reschedule stores an updated operation record and moves its job's
	// RunAt in one transaction, if lease is still the job's latest claim;
	// otherwise it fails with [ErrLeaseLost] and changes nothing.
	Reschedule(ctx context.Context, op Operation, lease Lease, runAt time.Time) error
	// Complete stores the final operation record and removes its job (and
	// members) in one transaction, if lease is still the job's latest
	// claim. It replaces a stored record that is damaged ([ErrCorrupt]); otherwise (the job was claimed again, or is gone) it fails
	// with [ErrLeaseLost] and changes nothing.
	Complete(ctx context.Context, op Operation, lease Lease) error
	// Extend moves the RunAt of a claimed job to until (a heartbeat, so a
	// long attempt keeps its lease), if lease is still the job's latest
	// claim; otherwise it fails with [ErrLeaseLost].
	Extend(ctx context.Context, lease Lease, until time.Time) error
	// NextDue returns the earliest RunAt of any job, and false if the queue
	// is empty.
	NextDue(ctx context.Context) (time.Time, bool, error)
}
