package store

import (
	"errors"
	"fmt"
)

// Errors a store returns. The writeback package re-exports ErrNotFound and
// ErrConflict, so an application's errors.Is checks hold whichever layer
// reported them.
var (
	// ErrNotFound reports that an installation, operation, job or
	// idempotency key does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports that a create collided with an existing entry,
	// or that a concurrent change won a race (an optimistic revision).
	ErrConflict = errors.New("conflict")
	// ErrLeaseLost reports a completion, reschedule or heartbeat from a
	// claim that is no longer the job's latest: its lease ran out and the
	// job was claimed again, or the job is gone. Nothing was changed.
	ErrLeaseLost = errors.New("lease lost")
	// ErrCancelRequested reports a reschedule of a job whose cancel was
	// requested while it was leased (see [Queue.Cancel]). Nothing was
	// changed; the lease holder completes the job.
	ErrCancelRequested = errors.New("cancel requested")
	// ErrCorrupt reports a stored record or index entry that is damaged
	// and cannot be read. Stores wrap it with the entry's key.
	// [Queue.Complete] replaces a damaged operation record, so the engine
	// can settle the work it belonged to.
	ErrCorrupt = errors.New("corrupt")
	// ErrClosed reports a store that is closed or unusable.
	ErrClosed = errors.New("store closed")
	// ErrInvalidInput reports a call the contract does not allow, such as
	// a record without an ID; see [InputError].
	ErrInvalidInput = errors.New("invalid store input")
)

// InputError reports a store call whose input breaks the contract: which
// argument and why. It wraps [ErrInvalidInput]. Nothing was stored.
type InputError struct {
	// Field names the argument, such as "op.ID" or "req.MaxSize".
	Field string
	// Reason says what is wrong, in lower case.
	Reason string
}

// Error implements error.
func (e *InputError) Error() string {
	return fmt.Sprintf("%v: %s %s", ErrInvalidInput, e.Field, e.Reason)
}

// Unwrap returns [ErrInvalidInput].
func (e *InputError) Unwrap() error { return ErrInvalidInput }
