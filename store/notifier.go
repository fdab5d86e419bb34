package store

import "context"

// Notifier is implemented by a store that several processes share (such as
// store/pgstore): it tells every process about changes made by any of
// them, so an idle dispatcher and a caller waiting for an operation wake up
// without polling. Stores used by one process need not implement it.
//
// Events are hints, never the source of truth: they can be late, merged or
// lost (a dropped connection, a full buffer). After an [EventResync] a
// subscriber must re-read the state it cares about, and it must keep a
// fallback poll that bounds the delay of a lost event.
type Notifier interface {
	// Subscribe starts delivering events on the returned channel until ctx
	// ends or the store is closed; then the channel is closed. Events made
	// by this process are delivered too. The channel is buffered; when the
	// subscriber falls behind, events are dropped and an [EventResync]
	// follows.
	Subscribe(ctx context.Context) (<-chan Event, error)
}

// EventKind says what an [Event] reports.
type EventKind int

// Event kinds.
const (
	// EventDue reports that work was queued or became due earlier than
	// before: a job was enqueued, a group was opened or sealed, or a job
	// was rescheduled. The dispatcher should claim again (or re-read
	// [Queue.NextDue] and re-arm its timer).
	EventDue EventKind = iota + 1
	// EventCompleted reports that an operation's job was completed:
	// [Event.OperationID] now has its final record.
	EventCompleted
	// EventResync reports that events may have been missed (the
	// subscription reconnected, or the subscriber fell behind): re-read
	// everything that was being waited for.
	EventResync
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case EventDue:
		return "due"
	case EventCompleted:
		return "completed"
	case EventResync:
		return "resync"
	}
	return "unknown"
}

// Event is a change made to a shared store by any process.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// OperationID is the completed operation, for [EventCompleted].
	OperationID string
}
