package store

import (
	"fmt"
	"time"
)

// Installation is a stored installation: the keys the store indexes and
// the engine's encoding of the rest.
type Installation struct {
	// ID is the installation's unique ID.
	ID string
	// Integration is the manifest integration name.
	Integration string
	// GroupRef is the customer's group; unique per integration.
	GroupRef string
	// Revision increases by one with every change; see
	// [Installations.ReplaceInstallation].
	Revision int64
	// Data is the engine's encoding of the installation.
	Data []byte
}

// Operation is a stored operation: the keys the store indexes and the
// engine's encoding of the rest.
type Operation struct {
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

// KeyExistsError is returned by [Operations.CreateOperation] and
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
	// Leased reports a job claimed and not rescheduled or completed since:
	// RunAt is then the lease's expiry.
	Leased bool
	// CancelRequested reports a cancel requested while the job was leased
	// (see [Queue.Cancel]).
	CancelRequested bool
	// Payload is the engine's encoding of the work. For a group job it is
	// the group's common part; the records are its members.
	Payload []byte
}

// Lease names one claim of a job: the job and the value of its Attempts
// the claim set. Only the latest claim of a job may complete, reschedule or
// extend it.
type Lease struct {
	// JobID is the claimed job.
	JobID string
	// Attempt is the job's Attempts right after the claim.
	Attempt int
}

// Lease returns the lease of a job as [Queue.Claim] returned it.
func (j Job) Lease() Lease { return Lease{JobID: j.ID, Attempt: j.Attempts} }

// JoinRequest adds one record to the open auto-batch group of a key,
// opening a new group if there is none.
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
	// NewOperation is stored as the group's master operation if a new
	// group is opened; otherwise it is ignored.
	NewOperation Operation
	// NewJob is stored as the group's job if a new group is opened (its ID
	// must equal NewOperation.ID, its Group the key, its RunAt the flush
	// time); otherwise it is ignored.
	NewJob Job
}

// JoinResult says which group a record joined.
type JoinResult struct {
	// JobID is the ID of the group's job, which is its master operation's
	// ID.
	JobID string
	// Size is the number of members after the join.
	Size int
	// Opened reports that the join opened a new group.
	Opened bool
	// Sealed reports that the join filled the group: it takes no more
	// members and its job is due now.
	Sealed bool
}
