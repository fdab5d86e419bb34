package writeback

import (
	"context"
	"fmt"
	"time"
)

// QueueState is where an unfinished async operation stands in the queue.
type QueueState string

// The queue states of [QueueEntry]; [ProviderQueue] counts them.
const (
	// QueueQueued: waiting for its first attempt, due at At.
	QueueQueued QueueState = "queued"
	// QueueOpen: an auto-batch group taking records, written at At if it
	// does not fill up first.
	QueueOpen QueueState = "open"
	// QueueRetrying: waiting for its next attempt, due at At, after a
	// retryable failure (or queued again by [Writer.Retry]).
	QueueRetrying QueueState = "retrying"
	// QueueInFlight: an attempt is running; its lease ends at At.
	QueueInFlight QueueState = "in_flight"
	// QueueInterrupted: an attempt was cut off (its Writer stopped or
	// crashed); it runs again, due since At.
	QueueInterrupted QueueState = "interrupted"
)

// QueueEntry is an unfinished async operation's place in the queue; see
// [Writer.QueueEntry].
type QueueEntry struct {
	// OperationID is the operation.
	OperationID string `json:"operationId"`
	// Provider is the provider's name.
	Provider string `json:"provider"`
	// State is where the operation stands.
	State QueueState `json:"state"`
	// At is when it is due, when its group is written (open), or when
	// its attempt's lease ends (in flight).
	At time.Time `json:"at"`
	// Claims counts the times it was taken from the queue.
	Claims int `json:"claims"`
	// Records is how many records joined an auto-batch group; zero for
	// other operations.
	Records int `json:"records,omitempty"`
	// CancelRequested reports a [Writer.Cancel] waiting for the attempt
	// in flight.
	CancelRequested bool `json:"cancelRequested,omitempty"`
}

// QueueEntry reports where the unfinished async operation with the given
// ID stands in the queue, as of now. It fails with an error wrapping
// [ErrNotFound] when the operation is not queued: it is finished, was
// written synchronously, or does not exist.
func (w *Writer) QueueEntry(ctx context.Context, id string) (*QueueEntry, error) {
	job, err := w.store.Job(ctx, id)
	if err != nil {
		return nil, storeError(fmt.Sprintf("queue entry of operation %q", id), err)
	}
	now := w.now()
	e := &QueueEntry{OperationID: job.ID, Provider: job.Provider, State: QueueQueued, At: job.RunAt,
		Claims: job.Attempts, CancelRequested: job.CancelRequested}
	switch {
	case job.Leased && job.RunAt.After(now):
		e.State = QueueInFlight
	case job.Leased:
		e.State = QueueInterrupted
	case job.Attempts > 0:
		e.State = QueueRetrying
	case job.Group != "" && job.RunAt.After(now):
		e.State = QueueOpen
	}
	if job.Group != "" {
		members, err := w.store.Members(ctx, id)
		if err != nil {
			return nil, storeError(fmt.Sprintf("members of group %q", id), err)
		}
		e.Records = len(members)
	}
	return e, nil
}
