package writeback

import (
	"encoding/json"
	"fmt"
	"time"
)

// Target names what a write goes to: an integration, the customer's
// installation (by groupRef) and a write object.
type Target struct {
	// Integration is the manifest integration name.
	Integration string
	// GroupRef selects the customer's installation.
	GroupRef string
	// Object is the write object's name, or with inheritMapping its mapped
	// name.
	Object string
}

// Mode says whether a write runs now or in the background.
type Mode int

// The modes.
const (
	// ModeSync writes now and returns the outcome (the zero value).
	ModeSync Mode = iota
	// ModeAsync stores the write durably, returns its operation at once and
	// writes in the background with retries until a deadline. Writes are
	// accepted unless the [Writer] is stopped, and run while it is started.
	ModeAsync
)

// String returns "synchronous" or "asynchronous".
func (m Mode) String() string {
	switch m {
	case ModeSync:
		return "synchronous"
	case ModeAsync:
		return "asynchronous"
	}
	return "invalid"
}

// MarshalText returns the mode's name, as [Mode.String] gives it.
func (m Mode) MarshalText() ([]byte, error) {
	if m != ModeSync && m != ModeAsync {
		return nil, fmt.Errorf("writeback: invalid mode %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText parses "synchronous" or "asynchronous".
func (m *Mode) UnmarshalText(text []byte) error {
	switch string(text) {
	case "synchronous":
		*m = ModeSync
	case "asynchronous":
		*m = ModeAsync
	default:
		return fmt.Errorf("writeback: unknown mode %q", text)
	}
	return nil
}

// UnmarshalJSON parses the mode's name, or the number stored by
// writeback's first storage format (0 sync, 1 async).
func (m *Mode) UnmarshalJSON(data []byte) error {
	var n int
	if err := json.Unmarshal(data, &n); err == nil {
		if n != int(ModeSync) && n != int(ModeAsync) {
			return fmt.Errorf("writeback: unknown mode %d", n)
		}
		*m = Mode(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("writeback: mode: %w", err)
	}
	return m.UnmarshalText([]byte(s))
}

// BatchPolicy says what happens to a batch when some records fail.
type BatchPolicy int

// The batch policies.
const (
	// BatchAllOrNothing writes no record if any fails (the zero value).
	// Where the provider cannot do it atomically (HubSpot batch update),
	// the adapter restores the changed records and says so.
	BatchAllOrNothing BatchPolicy = iota
	// BatchPartial writes every record it can; each gets its own result.
	BatchPartial
)

// Limits of write options.
const (
	// MaxBatchSize is the most records one batch may hold.
	MaxBatchSize = 100
	// DefaultRetryDeadline is how long async writes are retried by default.
	DefaultRetryDeadline = time.Hour
	// MinRetryDeadline is the shortest retry deadline a write may ask for.
	MinRetryDeadline = time.Minute
	// MaxRetryDeadline is the longest retry deadline.
	MaxRetryDeadline = 48 * time.Hour
	// MinAutoBatchDelay is the shortest auto-batch delay.
	MinAutoBatchDelay = time.Second
	// MaxAutoBatchDelay is the longest auto-batch delay.
	MaxAutoBatchDelay = 24 * time.Hour
)

// WriteOpts are per-write options; nil means a sync write with no extras.
type WriteOpts struct {
	// Mode is sync (the zero value) or async. Delete ignores it, and
	// RetryDeadline with it.
	Mode Mode
	// BatchPolicy applies to [Writer.Batch]: all-or-nothing (the zero
	// value) or partial.
	BatchPolicy BatchPolicy
	// Headers are passed through to the provider (Salesforce only). They
	// can never set Authorization, Cookie, Host, Content-Length,
	// Content-Type, Transfer-Encoding or hop-by-hop headers.
	Headers []Header
	// RetryDeadline bounds async retries: zero means [DefaultRetryDeadline];
	// otherwise from 1 minute to 48 h. Async only; ignored with AutoBatch.
	RetryDeadline time.Duration
	// AutoBatch groups an async single create or update with others of the
	// same installation, object and write type into one provider batch.
	AutoBatch *AutoBatchPolicy
	// IdempotencyKey, when set, makes a repeat of the same request within
	// [Config.IdempotencyRetention] of the key's first use return the
	// original operation instead of writing again; reusing it for a
	// different request is an error wrapping [ErrIdempotencyMismatch]. At
	// most 256 bytes of valid UTF-8 without control characters; keys are
	// scoped by installation.
	//
	// The same request is the same target, write type, records as sent
	// (before the installation's rules, so a changed setting does not
	// make a repeat a different request) and options.
	//
	// A write that failed and surely wrote nothing frees its key: when
	// every failed record failed retryably (rate limited, quota,
	// unavailable) or was rolled back with such a failure, and no record
	// was written, a repeat writes again, and the key then leads to the
	// new operation (up to 64 times). An unknown outcome, a write cut off
	// by the caller's context, and any other failure keep the key: a
	// repeat returns that failure without writing, since writing again
	// could write twice or fail the same way.
	IdempotencyKey string
	// UpsertKey names, for an upsert, the field that identifies records
	// (as the application sends it), instead of the write object's
	// [WriteObjectSpec.UpsertKey]. Upserts only.
	UpsertKey string
}

// AutoBatchPolicy configures auto-batching of an async single write.
type AutoBatchPolicy struct {
	// MaxDelay is the longest a record waits for its group to fill before
	// the group is written anyway, counted from the group's first record:
	// 1 s to 24 h. Required.
	MaxDelay time.Duration
	// RetryDeadline bounds the group's retries: zero means
	// [DefaultRetryDeadline]; otherwise from 1 minute to 48 h.
	RetryDeadline time.Duration
}

// Result is what a write returns: its operation's ID and, for a sync write,
// the outcome.
type Result struct {
	// OperationID identifies the write's operation; pass it to
	// [Writer.Operation]. For an auto-batched write it is the group's
	// master operation, which every record of the group shares.
	OperationID string
	// MemberID is set for an auto-batched write only: the handle of this
	// record's write within its group, "<OperationID>:<Member>". Given to
	// [Writer.Operation] or [Writer.Wait] it returns the group's operation
	// narrowed to this record: its own status and its one result, with
	// the new record's ID for a create.
	MemberID string
	// Member is the position of an auto-batched record in its group, in
	// join order: its index in the master operation's Results. Zero when
	// MemberID is empty.
	Member int
	// Status is terminal for a sync write and in_progress for an async one.
	Status OperationStatus
	// Records holds one result per input record, in order (sync only).
	Records []RecordResult
	// Compensation reports an emulated all-or-nothing batch that was undone.
	Compensation *Compensation
}

// SuccessCount returns the number of records written.
func (r *Result) SuccessCount() int { return countWritten(r.Records) }

// UnchangedCount returns the number of records the installation's rules
// left with nothing to write, which were not sent.
func (r *Result) UnchangedCount() int { return countUnchanged(r.Records) }

// FailureCount returns the number of records that failed.
func (r *Result) FailureCount() int { return countFailed(r.Records) }
