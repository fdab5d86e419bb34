package writeback

import (
	"context"
	"fmt"
	"time"
)

// Store is the durable state behind a [Writer]: installations, operation
// records and the async queue. store/boltstore keeps it in a bbolt file,
// store/memstore in memory; store/storetest checks any implementation.
//
// The store is dumb, ordered storage: the engine owns every state machine and
// every encoding. Records carry their payload as opaque bytes next to the few
// keys the store must index, so a shared store (say on Postgres, for several
// processes) can implement the same methods with one table per record kind.
//
// Every method honours ctx at least before it starts, is safe for concurrent
// use, and has completed durably (fsync'd, for a disk store) when it returns
// nil. Times are parameters: a store never reads the clock. The Writer never
// closes the store it was given; whoever opened it closes it.
type Store interface {
	InstallationStore
	OperationStore
	Queue
}

// InstallationRecord is a stored installation: the keys the store indexes
// and the engine's encoding of the rest.
type InstallationRecord struct {
	// ID is the installation's unique ID.
	ID string
	// Integration is the manifest integration name.
	Integration string
	// GroupRef is the customer's group; unique per integration.
	GroupRef string
	// Revision increases by one with every change; see
	// [InstallationStore.ReplaceInstallation].
	Revision int64
	// Data is the engine's encoding of the installation.
	Data []byte
}

// InstallationStore stores installations.
type InstallationStore interface {
	// InsertInstallation stores a new installation. It fails with
	// [ErrConflict] if the ID, or the (Integration, GroupRef) pair, exists.
	InsertInstallation(ctx context.Context, rec InstallationRecord) error
	// ReplaceInstallation replaces an installation if the stored revision is
	// rec.Revision-1 (optimistic concurrency), failing with [ErrConflict]
	// otherwise and with [ErrNotFound] if it does not exist. Integration and
	// GroupRef cannot change.
	ReplaceInstallation(ctx context.Context, rec InstallationRecord) error
	// DeleteInstallation removes an installation, or fails with [ErrNotFound].
	DeleteInstallation(ctx context.Context, id string) error
	// Installation returns an installation by ID, or [ErrNotFound].
	Installation(ctx context.Context, id string) (InstallationRecord, error)
	// InstallationByGroup returns the installation of an integration for a
	// groupRef, or [ErrNotFound].
	InstallationByGroup(ctx context.Context, integration, groupRef string) (InstallationRecord, error)
	// Installations lists installations ordered by ID; an empty integration
	// lists all of them.
	Installations(ctx context.Context, integration string) ([]InstallationRecord, error)
}

// OperationRecord is a stored operation: the keys the store indexes and the
// engine's encoding of the rest.
type OperationRecord struct {
	// ID is the operation's unique ID. IDs are time-ordered, so ordering by
	// ID is ordering by creation.
	ID string
	// InstallationID is the installation the operation writes for.
	InstallationID string
	// Data is the engine's encoding of the operation.
	Data []byte
}

// IdempotencyKey reserves a caller's idempotency key for an operation.
type IdempotencyKey struct {
	// Key is the caller's key, scoped by the engine (it includes the
	// installation).
	Key string
	// RequestHash identifies the request the key was first used with.
	RequestHash string
	// OperationID is the operation the key leads to.
	OperationID string
	// ExpiresAt is when the key may be used again for a new request.
	ExpiresAt time.Time
}

// KeyExistsError is returned by [OperationStore.CreateOperation] and
// [Queue.Enqueue] when an unexpired idempotency key is already reserved. It
// wraps [ErrConflict]. Nothing was stored.
type KeyExistsError struct {
	// Existing is the reservation that won.
	Existing IdempotencyKey
}

// Error implements error.
func (e *KeyExistsError) Error() string {
	return fmt.Sprintf("idempotency key in use by operation %s", e.Existing.OperationID)
}

// Unwrap returns [ErrConflict].
func (e *KeyExistsError) Unwrap() error { return ErrConflict }

// OperationStore stores operation records.
type OperationStore interface {
	// CreateOperation stores a new operation record, failing with
	// [ErrConflict] if the ID exists. With a non-nil key it also reserves
	// the key in the same transaction, failing with a [*KeyExistsError] if
	// an unexpired reservation exists at now.
	CreateOperation(ctx context.Context, rec OperationRecord, key *IdempotencyKey, now time.Time) error
	// UpdateOperation replaces a stored operation record, or fails with [ErrNotFound].
	UpdateOperation(ctx context.Context, rec OperationRecord) error
	// Operation returns an operation record by ID, or [ErrNotFound].
	Operation(ctx context.Context, id string) (OperationRecord, error)
	// Operations lists an installation's operation records in ID order,
	// starting after the ID after (empty: from the first), at most limit of
	// them. A shorter page than limit means there are no more.
	Operations(ctx context.Context, installationID, after string, limit int) ([]OperationRecord, error)
	// IdempotencyKey returns the unexpired reservation of key at now, or [ErrNotFound].
	IdempotencyKey(ctx context.Context, key string, now time.Time) (IdempotencyKey, error)
}

// Job is one unit of queued async work: the execution of one operation. An
// auto-batch group is a job too, whose records are its members.
type Job struct {
	// ID equals the ID of the operation the job executes.
	ID string
	// InstallationID is the installation the job writes for.
	InstallationID string
	// Provider is the provider's name, for per-provider concurrency.
	Provider string
	// Group is the auto-batch group key (installation, object and write
	// type) for a group job, and empty for a plain async job.
	Group string
	// RunAt is when the job is next due. While the job is claimed it is the
	// lease's expiry, so work left running by a crash becomes due again.
	// For an open group it is the flush time (first record + max delay).
	RunAt time.Time
	// Attempts counts claims: it is incremented by every [Queue.Claim].
	Attempts int
	// Payload is the engine's encoding of the work. For a group job it is
	// the group's common part; the records are its members.
	Payload []byte
}

// JoinRequest adds one record to the open auto-batch group of a key, opening
// a new group if there is none.
type JoinRequest struct {
	// Group is the group key.
	Group string
	// Member is the engine's encoding of the record.
	Member []byte
	// MaxSize is the group's capacity: the member that fills it seals the
	// group and makes its job due at Now.
	MaxSize int
	// Now is the current time.
	Now time.Time
	// NewOperation is stored as the group's master operation if a new group
	// is opened; otherwise it is ignored.
	NewOperation OperationRecord
	// NewJob is stored as the group's job if a new group is opened (its ID
	// must equal NewOperation.ID, its Group the key, its RunAt the flush
	// time); otherwise it is ignored.
	NewJob Job
}

// JoinResult says which group a record joined.
type JoinResult struct {
	// JobID is the ID of the group's job, which is its master operation's ID.
	JobID string
	// Size is the number of members after the join.
	Size int
	// Opened reports that the join opened a new group.
	Opened bool
	// Sealed reports that the join filled the group: it takes no more
	// members and its job is due now.
	Sealed bool
}

// Queue is the durable async queue. A job is due when its RunAt is at or
// before now. Claiming a due job leases it (moves its RunAt to the lease
// expiry), so at-least-once delivery survives crashes without a recovery
// scan.
type Queue interface {
	// Enqueue stores an operation record and the job that executes it in
	// one transaction, durable before it returns. Implementations group
	// concurrent calls into shared transactions (group commit). With a
	// non-nil key it reserves the key in the same transaction and fails
	// with a [*KeyExistsError] if an unexpired reservation exists at now.
	Enqueue(ctx context.Context, op OperationRecord, job Job, key *IdempotencyKey, now time.Time) error
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
	// RunAt in one transaction.
	Reschedule(ctx context.Context, op OperationRecord, jobID string, runAt time.Time) error
	// Complete stores the final operation record and removes its job (and
	// members) in one transaction.
	Complete(ctx context.Context, op OperationRecord, jobID string) error
	// NextDue returns the earliest RunAt of any job, and false if the queue
	// is empty.
	NextDue(ctx context.Context) (time.Time, bool, error)
}
