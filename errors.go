package writeback

import (
	"errors"
	"fmt"

	"github.com/writebackhq/writeback/store"
)

// Sentinel errors. Every error the package returns for bad input wraps one of
// these, so callers can branch with [errors.Is]; most arrive inside a
// [*ValidationError] that also names the offending field.
var (
	// ErrNotFound reports that an installation, operation or record does
	// not exist. It is [store.ErrNotFound], so a store's answer matches it.
	ErrNotFound = store.ErrNotFound
	// ErrConflict reports that a create collided with an existing entry, such
	// as a second installation for the same integration and groupRef, or that
	// a concurrent change won a race. It is [store.ErrConflict].
	ErrConflict = store.ErrConflict

	// ErrInvalidConfig reports a [Config] that [NewWriter] cannot accept.
	ErrInvalidConfig = errors.New("writeback: invalid config")
	// ErrInvalidManifest reports a manifest that does not parse or validate.
	ErrInvalidManifest = errors.New("writeback: invalid manifest")
	// ErrInvalidInstallation reports an installation or installation change
	// that does not validate.
	ErrInvalidInstallation = errors.New("writeback: invalid installation")

	// ErrUnknownIntegration reports an integration name the manifest does not define.
	ErrUnknownIntegration = errors.New("writeback: unknown integration")
	// ErrUnknownInstallation reports a groupRef with no installation for the integration.
	ErrUnknownInstallation = errors.New("writeback: unknown installation")
	// ErrUnknownObject reports an object that is not a write object of the integration.
	ErrUnknownObject = errors.New("writeback: unknown object")
	// ErrObjectNotEnabled reports a write object the installation has not enabled for write.
	ErrObjectNotEnabled = errors.New("writeback: object not enabled for write")
	// ErrMissingID reports an update or delete without a record ID. (A
	// create that carries an ID is [ErrInvalidRecord].)
	ErrMissingID = errors.New("writeback: record id required")
	// ErrUpsertKey reports an upsert without a usable unique key: no key
	// field for the object, a record without a key value, a key field
	// the installation leaves unmapped, or a key the provider does not
	// hold unique values in.
	ErrUpsertKey = errors.New("writeback: invalid upsert key")
	// ErrDeletionDisabled reports a delete on an object whose installation
	// has not enabled deletion.
	ErrDeletionDisabled = errors.New("writeback: deletion not enabled for object")
	// ErrBatchSize reports a batch with no records or more than the limit.
	ErrBatchSize = errors.New("writeback: batch size out of range")
	// ErrUnsupported reports a feature the provider does not offer, such as
	// associations on Salesforce or headers on HubSpot, or a combination the
	// engine does not allow, such as an auto-batched delete.
	ErrUnsupported = errors.New("writeback: unsupported")
	// ErrInvalidHeader reports a pass-through header that is denied or malformed.
	ErrInvalidHeader = errors.New("writeback: invalid header")
	// ErrEmptyRecord reports a create or update with no fields to write.
	ErrEmptyRecord = errors.New("writeback: empty record")
	// ErrInvalidRecord reports a record value that cannot be sent, such as a
	// value that does not encode as JSON.
	ErrInvalidRecord = errors.New("writeback: invalid record")
	// ErrTooLarge reports input over a size limit: a record or a field
	// value larger than [Config.MaxRecordSize] or [Config.MaxValueSize],
	// or pass-through headers beyond [MaxHeaders] or [MaxHeaderBytes].
	ErrTooLarge = errors.New("writeback: input too large")
	// ErrInvalidOptions reports a mode, batch policy, retry deadline or
	// auto-batch policy out of range.
	ErrInvalidOptions = errors.New("writeback: invalid options")
	// ErrIdempotencyMismatch reports an idempotency key reused for a different request.
	ErrIdempotencyMismatch = errors.New("writeback: idempotency key reused with a different request")

	// ErrCannotCancel reports a [Writer.Cancel] of an operation that is not
	// queued or waiting for a retry: it is finished, or it is a sync write.
	ErrCannotCancel = errors.New("writeback: operation cannot be canceled")
	// ErrCannotRetry reports a [Writer.Retry] of an operation that has
	// nothing to send again: it is unfinished or fully written, its only
	// unwritten records are creates whose outcome is unknown, or it was
	// stored without the records a retry needs (see [Retention]).
	ErrCannotRetry = errors.New("writeback: operation cannot be retried")

	// ErrStopped reports async work offered to a Writer that is stopped.
	ErrStopped = errors.New("writeback: writer stopped")
	// ErrNotStarted reports a [Writer.Wait] that ended on a Writer never
	// started, which runs no async work.
	ErrNotStarted = errors.New("writeback: writer not started")
	// ErrStoreFormat reports a stored record written by a newer version of
	// writeback than this one, in a format it cannot read.
	ErrStoreFormat = errors.New("writeback: unknown store format")
	// ErrStoreClosed reports a store that is closed or unusable. It is
	// [store.ErrClosed].
	ErrStoreClosed = store.ErrClosed
)

// storeError reports a store failure about what (such as `operation "x"`),
// naming it once: a missing entry, a conflict or a closed store is the
// sentinel alone, since the store's own words repeat the ID; any other
// failure keeps them.
func storeError(what string, err error) error {
	for _, s := range []error{ErrNotFound, ErrConflict, ErrStoreClosed} {
		if errors.Is(err, s) {
			return fmt.Errorf("writeback: %s: %w", what, s)
		}
	}
	return fmt.Errorf("writeback: %s: %w", what, err)
}

// ValidationError describes bad input: which field, what is wrong with it,
// and the sentinel it wraps (one of the Err values above), so that both
// errors.Is(err, ErrMissingID) and errors.As(err, &ve) work. Nothing was
// sent to a provider and nothing was stored when it is returned.
type ValidationError struct {
	// Field locates the bad input, such as "record.id", "headers[1].key" or
	// "integrations[0].write.objects[2].objectName".
	Field string
	// Reason says what is wrong, in lower case.
	Reason string
	// Err is the sentinel the error wraps.
	Err error
}

// Error implements error.
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%v: %s", e.Err, e.Reason)
	}
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Reason)
}

// Unwrap returns the sentinel the error wraps.
func (e *ValidationError) Unwrap() error { return e.Err }

// invalid builds a [*ValidationError].
func invalid(sentinel error, field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}
