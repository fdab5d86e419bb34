package store

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// CancelRequest asks [Queue.Cancel] to cancel an operation's job.
type CancelRequest struct {
	// Op is the operation's final record, stored if the job is removed.
	Op Operation
	// Prev is the operation record's Data as the caller read it: if the
	// stored record holds other data, the operation changed since (an
	// attempt ended, say) and Cancel fails with [ErrConflict].
	Prev []byte
	// Members is the number of members the caller read for a group job: if
	// the group holds another number (a record joined since), Cancel fails
	// with [ErrConflict]. It is ignored for a plain job.
	Members int
	// Now decides whether the job's lease has expired.
	Now time.Time
}

// RequeueRequest asks [Queue.Requeue] to queue a finished operation again.
type RequeueRequest struct {
	// Op replaces the operation's record.
	Op Operation
	// Prev is the operation record's Data as the caller read it: if the
	// stored record holds other data, Requeue fails with [ErrConflict].
	Prev []byte
	// Job is the new job: a plain job (no Group) whose ID is Op.ID. It is
	// stored with its RunAt and Attempts as given.
	Job Job
}

// QueueStats describes the queue at one instant. Every job is counted in
// exactly one of Queued, Open, Retrying, InFlight and Expired of its
// provider:
//
//   - InFlight: leased, the lease not expired (RunAt after now);
//   - Expired: leased, the lease expired (its holder stopped or crashed
//     mid-attempt): due again;
//   - Open: an auto-batch group still taking members;
//   - Queued: never claimed (Attempts zero), other than an open group;
//   - Retrying: claimed before and not leased: waiting for its next
//     attempt at RunAt.
//
// Due and OldestDue count the jobs that are not in flight and whose RunAt
// is at or before now: work a claim would take at once.
type QueueStats struct {
	// Providers holds the counts of each provider with jobs, by name.
	Providers []ProviderStats
	// OpenGroups lists the open auto-batch groups in flush order (RunAt,
	// then ID).
	OpenGroups []OpenGroup
	// InFlight lists the jobs in flight, by lease expiry (RunAt, then ID),
	// without their payloads.
	InFlight []Job
}

// ProviderStats counts the jobs of one provider; see [QueueStats].
type ProviderStats struct {
	// Provider is the provider's name.
	Provider string
	// Queued counts jobs never claimed, other than open groups.
	Queued int
	// Open counts the open auto-batch groups.
	Open int
	// Retrying counts jobs claimed before and waiting for their next
	// attempt.
	Retrying int
	// InFlight counts jobs leased at now.
	InFlight int
	// Expired counts jobs whose lease expired.
	Expired int
	// Due counts the jobs not in flight whose RunAt is at or before now.
	Due int
	// OldestDue is the earliest RunAt of those, or zero if none is due.
	OldestDue time.Time
}

// OpenGroup is an auto-batch group taking members.
type OpenGroup struct {
	// Job is the group's job, with its payload (the group's common part).
	// Its RunAt is the flush time.
	Job Job
	// Size is the number of members.
	Size int
}

// Add counts job at now; open reports an open group of size members. A
// store that scans its jobs builds its [QueueStats] with Add, then Sort.
func (s *QueueStats) Add(job Job, open bool, size int, now time.Time) {
	i := slices.IndexFunc(s.Providers, func(p ProviderStats) bool { return p.Provider == job.Provider })
	if i < 0 {
		s.Providers = append(s.Providers, ProviderStats{Provider: job.Provider})
		i = len(s.Providers) - 1
	}
	p := &s.Providers[i]
	inFlight := job.Leased && job.RunAt.After(now)
	switch {
	case inFlight:
		p.InFlight++
		job.Payload = nil
		s.InFlight = append(s.InFlight, job)
	case job.Leased:
		p.Expired++
	case open:
		p.Open++
		s.OpenGroups = append(s.OpenGroups, OpenGroup{Job: job, Size: size})
	case job.Attempts == 0:
		p.Queued++
	default:
		p.Retrying++
	}
	if !inFlight && !job.RunAt.After(now) {
		p.Due++
		if p.OldestDue.IsZero() || job.RunAt.Before(p.OldestDue) {
			p.OldestDue = job.RunAt
		}
	}
}

// Sort puts the stats in the order [QueueStats] documents.
func (s *QueueStats) Sort() {
	slices.SortFunc(s.Providers, func(a, b ProviderStats) int { return strings.Compare(a.Provider, b.Provider) })
	slices.SortFunc(s.OpenGroups, func(a, b OpenGroup) int { return byRunAt(a.Job, b.Job) })
	slices.SortFunc(s.InFlight, byRunAt)
}

func byRunAt(a, b Job) int {
	return cmp.Or(a.RunAt.Compare(b.RunAt), strings.Compare(a.ID, b.ID))
}
