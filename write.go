package writeback

import (
	"context"
	"errors"

	"github.com/writebackhq/writeback/store"
)

// Create writes a new record. The record must carry fields and no ID.
//
// In sync mode (the default) it returns once the provider answered: the
// result's Records[0] holds the new record's ID or its error, and err is the
// record's [*ProviderError] when the write failed. In async mode it returns
// once the write is stored durably, with the operation in progress; poll
// [Writer.Operation] or wait with [Writer.Wait]. Bad input returns a
// [*ValidationError] and writes nothing.
func (w *Writer) Create(ctx context.Context, t Target, r Record, opts *WriteOpts) (*Result, error) {
	return w.write(ctx, t, WriteTypeCreate, []Record{r}, false, opts)
}

// Update changes an existing record, named by r.ID (the provider's record
// ID). Results and errors are as for [Writer.Create].
func (w *Writer) Update(ctx context.Context, t Target, r Record, opts *WriteOpts) (*Result, error) {
	return w.write(ctx, t, WriteTypeUpdate, []Record{r}, false, opts)
}

// Delete deletes the record with the given provider ID. It is always
// synchronous (opts.Mode is ignored) and needs the installation to enable
// deletion for the object. Only opts.Headers and opts.IdempotencyKey apply.
func (w *Writer) Delete(ctx context.Context, t Target, id string, opts *WriteOpts) (*Result, error) {
	o := WriteOpts{}
	if opts != nil {
		o = *opts
	}
	if o.Mode == ModeAsync {
		o.Mode = ModeSync
	}
	return w.write(ctx, t, WriteTypeDelete, []Record{{ID: id}}, false, &o)
}

// Batch creates or updates 1 to 100 records in one provider call. Each
// record gets its own result, in order.
//
// With [BatchAllOrNothing] (the zero policy) no record is written if any
// fails; where the provider cannot do that atomically (HubSpot batch
// update) the adapter restores the records it changed and the result's
// Compensation says so, listing any it could not restore. With
// [BatchPartial] every valid record is written.
//
// In sync mode err is nil when at least one record was written (read the
// per-record results), and the error of the record that failed the batch
// otherwise. Deletes cannot be batched.
func (w *Writer) Batch(ctx context.Context, t Target, typ WriteType, records []Record, opts *WriteOpts) (*Result, error) {
	return w.write(ctx, t, typ, records, true, opts)
}

// write is the common path of every write.
func (w *Writer) write(ctx context.Context, t Target, typ WriteType, records []Record, batch bool, opts *WriteOpts) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, tg, err := w.prepare(ctx, t, typ, records, batch, opts)
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &WriteOpts{}
	}
	key, err := w.idempotencyKey(p, opts)
	if err != nil {
		return nil, err
	}
	if key != nil {
		if res, found, err := w.replay(ctx, key); found || err != nil {
			return res, err
		}
	}
	if opts.Mode == ModeAsync {
		return w.submitAsync(ctx, p, opts, key)
	}
	return w.runSync(ctx, p, tg.inst, key)
}

// runSync executes a plan now, for the installation it was prepared
// against, and records its operation.
func (w *Writer) runSync(ctx context.Context, p *plan, inst *Installation, key *store.IdempotencyKey) (*Result, error) {
	now := w.now()
	op := p.newOperation(newID(now), ModeSync, now)
	if key != nil {
		// Reserve the key before writing, so a concurrent twin waits for
		// this operation instead of writing again.
		key.OperationID = op.ID
		rec, err := encodeOperation(op, nil)
		if err != nil {
			return nil, err
		}
		if err := w.store.CreateOperation(ctx, rec, key, now); err != nil {
			var kerr *store.KeyExistsError
			if errors.As(err, &kerr) {
				return w.replayExisting(ctx, key, kerr.Existing)
			}
			return nil, storeError("record operation", err)
		}
	}

	var out *outcome
	var calls []ProviderCall
	if s, perr := w.connect(ctx, p.InstallationID, p.Provider, inst, 0); perr != nil {
		out = p.failAll(perr)
	} else {
		out = s.run(ctx, p)
		calls = s.calls
	}
	end := w.now()
	op.Attempts = 1
	op.LastAttempt = now
	op.logCalls(1, calls, end)
	op.finish(out, end)

	rec, err := encodeOperation(op, nil)
	if err != nil {
		return nil, err
	}
	// The provider has answered: record the outcome even if ctx ended.
	sctx := context.WithoutCancel(ctx)
	if key != nil {
		err = w.store.UpdateOperation(sctx, rec)
	} else {
		err = w.store.CreateOperation(sctx, rec, nil, end)
	}
	res := op.result()
	if err != nil {
		return res, storeError("write done but its operation was not recorded", err)
	}
	return res, op.err()
}
