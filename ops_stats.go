package writeback

import (
	"context"
	"encoding/json"
	"time"
)

// QueueStats is the async queue at one instant; see [Writer.QueueStats].
type QueueStats struct {
	// At is when the stats were taken.
	At time.Time `json:"at"`
	// Providers holds the counts of each provider with queued work, by
	// name.
	Providers []ProviderQueue `json:"providers"`
	// Groups lists the open auto-batch groups, in flush order.
	Groups []OpenGroup `json:"groups"`
	// InFlight lists the operations with an attempt in flight, by lease
	// expiry.
	InFlight []InFlight `json:"inFlight"`
}

// ProviderQueue counts one provider's queued work. Each unfinished async
// operation is counted in one of Queued, OpenGroups, Retrying, InFlight and
// Interrupted.
type ProviderQueue struct {
	// Provider is the provider's name.
	Provider string `json:"provider"`
	// Queued counts operations waiting for their first attempt (auto-batch
	// groups no longer taking records included).
	Queued int `json:"queued"`
	// OpenGroups counts auto-batch groups still taking records.
	OpenGroups int `json:"openGroups"`
	// Retrying counts operations waiting for their next attempt after a
	// retryable failure (or queued again by [Writer.Retry]).
	Retrying int `json:"retrying"`
	// InFlight counts operations with an attempt running.
	InFlight int `json:"inFlight"`
	// Interrupted counts operations whose attempt was cut off (the Writer
	// running it stopped or crashed) and which run again.
	Interrupted int `json:"interrupted"`
	// Due counts the operations ready to run now: not in flight, with
	// their next run time passed. A started Writer with free slots leaves
	// none due for long.
	Due int `json:"due"`
	// OldestDue is the earliest next run time of those, zero if none is
	// due: At minus OldestDue is how far behind the queue is.
	OldestDue time.Time `json:"oldestDue,omitzero"`
}

// OpenGroup is an auto-batch group still taking records.
type OpenGroup struct {
	// OperationID is the group's master operation.
	OperationID string `json:"operationId"`
	// InstallationID, Integration and GroupRef name the installation.
	InstallationID string `json:"installationId"`
	Integration    string `json:"integration"`
	GroupRef       string `json:"groupRef"`
	// Object and Type are what the group writes.
	Object string    `json:"object"`
	Type   WriteType `json:"type"`
	// Provider is the provider's name.
	Provider string `json:"provider"`
	// Records is how many records joined; MaxRecords is the size at which
	// the group is written at once.
	Records    int `json:"records"`
	MaxRecords int `json:"maxRecords"`
	// OpenedAt is when the first record joined; FlushAt is when the group
	// is written if it does not fill up first.
	OpenedAt time.Time `json:"openedAt"`
	FlushAt  time.Time `json:"flushAt"`
}

// InFlight is an operation with an attempt running.
type InFlight struct {
	// OperationID is the operation.
	OperationID string `json:"operationId"`
	// InstallationID is the installation written for.
	InstallationID string `json:"installationId"`
	// Provider is the provider's name.
	Provider string `json:"provider"`
	// AutoBatch reports an auto-batch group.
	AutoBatch bool `json:"autoBatch,omitempty"`
	// Claims counts the times the operation was taken from the queue.
	Claims int `json:"claims"`
	// LeaseUntil is when the attempt's lease ends: if its Writer dies, the
	// operation runs again from then.
	LeaseUntil time.Time `json:"leaseUntil"`
	// CancelRequested reports a [Writer.Cancel] waiting for the attempt.
	CancelRequested bool `json:"cancelRequested,omitempty"`
}

// QueueStats reports the async queue in one call: per provider, the
// operations queued, retrying, in flight and interrupted, how many are due
// and since when; the open auto-batch groups with their fill and flush
// time; and the attempts in flight with their lease expiry. It reads every
// queued job's keys (not its records), so it costs in proportion to the
// queue.
func (w *Writer) QueueStats(ctx context.Context) (*QueueStats, error) {
	now := w.now()
	st, err := w.store.Stats(ctx, now)
	if err != nil {
		return nil, storeError("queue stats", err)
	}
	out := &QueueStats{At: now, Providers: []ProviderQueue{}, Groups: []OpenGroup{}, InFlight: []InFlight{}}
	for _, p := range st.Providers {
		out.Providers = append(out.Providers, ProviderQueue{
			Provider: p.Provider, Queued: p.Queued, OpenGroups: p.Open, Retrying: p.Retrying,
			InFlight: p.InFlight, Interrupted: p.Expired, Due: p.Due, OldestDue: p.OldestDue,
		})
	}
	for _, g := range st.OpenGroups {
		job := g.Job
		og := OpenGroup{
			OperationID: job.ID, InstallationID: job.InstallationID, Provider: job.Provider,
			Records: g.Size, MaxRecords: MaxBatchSize, FlushAt: job.RunAt,
		}
		if spec, err := decodeGroupSpec(job.ID, job.Payload); err == nil {
			og.Integration, og.GroupRef, og.Object, og.Type, og.OpenedAt = spec.Integration, spec.GroupRef, spec.Object, spec.Type, spec.OpenedAt
			if spec.MaxSize > 0 {
				og.MaxRecords = spec.MaxSize
			}
		} else {
			// The key names installation, object and type.
			var key []string
			if json.Unmarshal([]byte(job.Group), &key) == nil && len(key) >= 3 {
				og.Object, og.Type = key[1], WriteType(key[2])
			}
		}
		out.Groups = append(out.Groups, og)
	}
	for _, j := range st.InFlight {
		out.InFlight = append(out.InFlight, InFlight{
			OperationID: j.ID, InstallationID: j.InstallationID, Provider: j.Provider, AutoBatch: j.Group != "",
			Claims: j.Attempts, LeaseUntil: j.RunAt, CancelRequested: j.CancelRequested,
		})
	}
	return out, nil
}
