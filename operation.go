package writeback

import "time"

// OperationStatus is the state of an [Operation].
type OperationStatus string

// The operation statuses, as in the hosted Operations API.
const (
	// OperationInProgress: queued, accumulating (auto-batch), executing or
	// waiting to retry.
	OperationInProgress OperationStatus = "in_progress"
	// OperationSuccess: the write completed. A batch may still have failed
	// records: read Results and SuccessfulRecordIDs.
	OperationSuccess OperationStatus = "success"
	// OperationFailure: the write failed, e.g. a non-retryable error or the
	// retry deadline passed.
	OperationFailure OperationStatus = "failure"
)

// Terminal reports whether the status is final.
func (s OperationStatus) Terminal() bool {
	return s == OperationSuccess || s == OperationFailure
}

// Operation is the durable record of one write: a sync or async single
// write, a batch, or an auto-batch group's master operation. It is a
// snapshot read from the store, with nothing running behind it.
type Operation struct {
	// ID identifies the operation; IDs are time-ordered.
	ID string `json:"id"`
	// InstallationID is the installation written for.
	InstallationID string `json:"installationId"`
	// Integration is the manifest integration name.
	Integration string `json:"integration"`
	// GroupRef is the installation's groupRef.
	GroupRef string `json:"groupRef"`
	// Object is the write object's name as the request gave it.
	Object string `json:"object"`
	// Type is create, update or delete.
	Type WriteType `json:"type"`
	// Mode is sync or async.
	Mode Mode `json:"mode"`
	// AutoBatch reports an auto-batch group's master operation.
	AutoBatch bool `json:"autoBatch,omitempty"`
	// Status is in_progress, success or failure.
	Status OperationStatus `json:"status"`
	// Summary is a one-line account for people, e.g. "batch write
	// completed (3 succeeded, 1 failed)".
	Summary string `json:"summary,omitempty"`
	// Results holds one result per record, in request order (for an
	// auto-batch group, in join order). Empty while in progress, except
	// for an async partial batch waiting to retry the records that failed
	// retryably: it then holds the results so far.
	Results []RecordResult `json:"results,omitempty"`
	// SuccessfulRecordIDs lists the provider IDs of the records written.
	SuccessfulRecordIDs []string `json:"successfulRecordIds,omitempty"`
	// Compensation reports an emulated all-or-nothing batch that was undone.
	Compensation *Compensation `json:"compensation,omitempty"`
	// Attempts counts provider attempts.
	Attempts int `json:"attempts"`
	// LastAttempt is the time of the latest attempt.
	LastAttempt time.Time `json:"lastAttempt,omitzero"`
	// Deadline is when retries stop (async only).
	Deadline time.Time `json:"deadline,omitzero"`
	// CreatedAt is when the operation was accepted.
	CreatedAt time.Time `json:"createTime"`
	// UpdatedAt is when the operation last changed.
	UpdatedAt time.Time `json:"updateTime"`
	// Logs records what happened, oldest first.
	Logs []LogEntry `json:"logs,omitempty"`
}

// SuccessCount returns the number of records written.
func (o *Operation) SuccessCount() int {
	n := 0
	for _, r := range o.Results {
		if r.Success() {
			n++
		}
	}
	return n
}

// FailureCount returns the number of records not written.
func (o *Operation) FailureCount() int { return len(o.Results) - o.SuccessCount() }

// Severity is a log entry's level.
type Severity string

// The severities.
const (
	SeverityDebug Severity = "DEBUG"
	SeverityInfo  Severity = "INFO"
	SeverityWarn  Severity = "WARN"
	SeverityError Severity = "ERROR"
)

// LogEntry is one line of an operation's log.
type LogEntry struct {
	// Time is when it happened.
	Time time.Time `json:"timestamp"`
	// Severity is the level.
	Severity Severity `json:"severity"`
	// Message says what happened.
	Message string `json:"message"`
	// Error is the error, if any.
	Error *ProviderError `json:"error,omitempty"`
}
