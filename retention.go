package writeback

import (
	"context"
	"encoding/json"
	"time"
)

// Retention says how long writeback keeps the operations it stored and
// what they keep. Operations carry what was written, and records often
// hold personal data (emails, names): keep them as long as they are
// useful, and no longer.
//
// A started Writer prunes in the background: at Start and every
// [DefaultPruneInterval], it deletes the finished operations older than
// Operations and the idempotency keys past their retention
// ([Config.IdempotencyRetention]), in small batches so that writes go on
// meanwhile. [Writer.Prune] runs a pass at once.
type Retention struct {
	// Operations is how long a finished operation (success, failure or
	// canceled) is kept after it finished (its UpdatedAt): zero means
	// [DefaultRetention], [KeepForever] keeps every operation. It must not
	// be shorter than [Config.IdempotencyRetention], so that an operation
	// outlives the idempotency keys that lead to it. Unfinished operations
	// are never pruned.
	Operations time.Duration
	// OmitValues stores operations without field values: a record's
	// result keeps its ID, status and error (class, code, message, fields
	// and correlation ID, as the provider gave them) but not the provider's
	// response data, and a failed operation keeps no copy of its records,
	// so [Writer.Retry] cannot send it again ([ErrCannotRetry]). Queued
	// work keeps its records until it finishes, since it needs them. It
	// applies to the operations accepted while it is set.
	OmitValues bool
}

// Retention defaults.
const (
	// DefaultRetention is how long finished operations are kept by default.
	DefaultRetention = 30 * 24 * time.Hour
	// KeepForever, as [Retention.Operations], never prunes operations.
	KeepForever time.Duration = -1
	// DefaultPruneInterval is the pause between background prune passes.
	DefaultPruneInterval = 10 * time.Minute
)

// pruneBatch is how many stored operations one prune step reads, and at
// most deletes in one store transaction; keyBatch is the same for
// idempotency keys.
const (
	pruneBatch = 100
	keyBatch   = 1000
)

// PruneOptions changes what one [Writer.Prune] pass deletes.
type PruneOptions struct {
	// OlderThan replaces [Retention.Operations] for this pass: finished
	// operations that finished longer ago than this are deleted. Zero
	// keeps the Writer's retention.
	OlderThan time.Duration
}

// PruneResult says what a prune pass deleted.
type PruneResult struct {
	// Operations is the number of operations deleted.
	Operations int `json:"operations"`
	// Keys is the number of expired idempotency keys deleted.
	Keys int `json:"keys"`
}

// Prune deletes, now, the finished operations older than the Writer's
// [Retention] (or opts.OlderThan) and the expired idempotency keys, in
// bounded batches, and returns how many it deleted. It works on a stopped
// or operations-only Writer too; a started Writer also prunes in the
// background.
func (w *Writer) Prune(ctx context.Context, opts *PruneOptions) (*PruneResult, error) {
	keep := w.cfg.Retention.Operations
	if opts != nil && opts.OlderThan != 0 {
		if opts.OlderThan < 0 {
			return nil, invalid(ErrInvalidOptions, "olderThan", "must not be negative")
		}
		keep = opts.OlderThan
	}
	res := &PruneResult{}
	err := w.prune(ctx, w.now(), keep, res, nil)
	return res, err
}

// prune deletes the finished operations that finished before now-keep
// (none for KeepForever) and the keys expired at now, adding to res.
// pause, if set, is called between batches.
func (w *Writer) prune(ctx context.Context, now time.Time, keep time.Duration, res *PruneResult, pause func(context.Context) error) error {
	if keep != KeepForever {
		cutoff := now.Add(-keep)
		// Operations created at or after the cutoff finished after it.
		bound := idBound(cutoff)
		after := ""
		for {
			recs, err := w.store.Operations(ctx, "", after, pruneBatch)
			if err != nil {
				return storeError("prune operations", err)
			}
			var ids []string
			done := len(recs) < pruneBatch
			for _, rec := range recs {
				if rec.ID >= bound {
					done = true
					break
				}
				after = rec.ID
				var sum opSummary
				if err := json.Unmarshal(rec.Data, &sum); err != nil || sum.V > formatVersion {
					continue // not readable here: not this version's to delete
				}
				if sum.Status.Terminal() && sum.UpdatedAt.Before(cutoff) {
					ids = append(ids, rec.ID)
				}
			}
			if len(ids) > 0 {
				n, err := w.store.DeleteOperations(ctx, ids)
				if err != nil {
					return storeError("prune operations", err)
				}
				res.Operations += n
			}
			if done {
				break
			}
			if pause != nil {
				if err := pause(ctx); err != nil {
					return err
				}
			}
		}
	}
	after := ""
	for {
		next, n, err := w.store.DeleteExpiredKeys(ctx, now, after, keyBatch)
		if err != nil {
			return storeError("prune idempotency keys", err)
		}
		res.Keys += n
		if next == "" {
			return nil
		}
		after = next
		if pause != nil {
			if err := pause(ctx); err != nil {
				return err
			}
		}
	}
}

// pruneLoop prunes in the background until ctx ends: a pass at once, then
// one every interval, paced (see pacer).
func (w *Writer) pruneLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	interval := w.cfg.Test.PruneInterval
	if interval <= 0 {
		interval = DefaultPruneInterval
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		res := &PruneResult{}
		if err := w.prune(ctx, w.now(), w.cfg.Retention.Operations, res, pacer()); err != nil && ctx.Err() == nil {
			w.log.Error("writeback: prune", "err", err)
		}
		if res.Operations > 0 || res.Keys > 0 {
			w.log.Info("writeback: pruned", "operations", res.Operations, "idempotencyKeys", res.Keys)
		}
		timer.Reset(interval)
	}
}

// pruneRest is how many times as long as a batch took a background prune
// pass pauses after it, so that pruning takes at most a quarter of the
// store's time and writes go on meanwhile (see BenchmarkPrune).
const pruneRest = 3

// pacer returns the pause between the batches of a background prune pass
// (see pruneRest).
func pacer() func(context.Context) error {
	last := time.Now()
	return func(ctx context.Context) error {
		wait := time.NewTimer(pruneRest * time.Since(last))
		defer wait.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait.C:
		}
		last = time.Now()
		return nil
	}
}

// withoutValues returns a copy of o whose results hold no provider data.
func (o *Operation) withoutValues() *Operation {
	cp := *o
	cp.Results = stripValues(o.Results)
	if o.Compensation != nil {
		c := *o.Compensation
		c.Unrestored = stripValues(c.Unrestored)
		cp.Compensation = &c
	}
	return &cp
}

// stripValues returns results without their provider data.
func stripValues(results []RecordResult) []RecordResult {
	if results == nil {
		return nil
	}
	out := make([]RecordResult, len(results))
	for i, r := range results {
		r.Data = nil
		out[i] = r
	}
	return out
}

// check validates r against the idempotency retention.
func (r Retention) check(idempotency time.Duration) error {
	switch {
	case r.Operations == KeepForever || r.Operations == 0:
	case r.Operations < 0:
		return invalid(ErrInvalidConfig, "Retention.Operations", "must be positive, zero (the default) or KeepForever")
	case r.Operations < idempotency:
		return invalid(ErrInvalidConfig, "Retention.Operations", "%s is shorter than IdempotencyRetention %s: operations must outlive their keys", r.Operations, idempotency)
	}
	return nil
}
