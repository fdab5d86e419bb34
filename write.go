package writeback

import (
	"context"
	"errors"
	"fmt"

	"github.com/writebackhq/writeback/store"
)

// Create writes a new record. The record must carry fields and no ID.
// Field values are normalised when the write is accepted: anything
// encoding/json encodes is accepted (named types and pointers as what they
// hold, integers exactly, json.Number as given, time.Time as a UTC datetime
// with milliseconds, "2006-01-02T15:04:05.000Z"), and the provider receives
// the same request in every mode; README.md shows how each kind of value
// reaches each provider.
//
// In sync mode (the default) it returns once the provider answered: the
// result's Records[0] holds the new record's ID or its error, and err is the
// record's [*ProviderError] when the write failed (wrapping the context's
// error too when ctx ended it). If the installation's rules leave nothing
// to write, nothing is sent and the record is reported unchanged
// ([RecordResult.Unchanged]). In async mode it returns once the write is
// stored durably, with the operation in progress; poll [Writer.Operation]
// or wait with [Writer.Wait]; an auto-batched write also gets its own
// handle, [Result.MemberID]. Bad input, including what the provider's
// adapter would refuse before sending, returns a [*ValidationError] and
// writes nothing.
func (w *Writer) Create(ctx context.Context, t Target, r Record, opts *WriteOpts) (*Result, error) {
	return w.write(ctx, t, WriteTypeCreate, []Record{r}, false, opts)
}

// Update changes an existing record, named by r.ID (the provider's record
// ID). Results and errors are as for [Writer.Create].
func (w *Writer) Update(ctx context.Context, t Target, r Record, opts *WriteOpts) (*Result, error) {
	return w.write(ctx, t, WriteTypeUpdate, []Record{r}, false, opts)
}

// Upsert creates the record, or updates the one that has the same value
// of the object's unique key field: the field the write object's
// [WriteObjectSpec.UpsertKey] names, or opts.UpsertKey (HubSpot: a
// property with unique values, such as a contact's email; Salesforce: an
// external ID field). The record carries its key value among its fields
// and no ID.
//
// The installation's rules apply exactly: before writing, the engine
// reads the records by key (one provider read per write, however many
// records), then writes each record found under the writeOnUpdate rules
// (ifEmpty against the values just read) and each one not found under the
// writeOnCreate rules. The key field itself is always written. A record
// found with nothing left to write is unchanged, with its ID. The
// result's [RecordResult.Created] says what the provider did, with the
// record's ID. A record created (or deleted) by someone else between the
// read and the write is still written by key, by the provider, so no
// duplicate is made; its fields are those of the branch the read saw, and
// Created, which reports what the provider did, then differs from it: the
// operation's log says so.
//
// Modes, results and errors are as for [Writer.Create]; [Writer.Batch]
// takes [WriteTypeUpsert] too. A missing key field or key value, a key
// field the installation leaves unmapped, or a key the provider does not
// hold unique values in, is an error wrapping [ErrUpsertKey].
func (w *Writer) Upsert(ctx context.Context, t Target, r Record, opts *WriteOpts) (*Result, error) {
	return w.write(ctx, t, WriteTypeUpsert, []Record{r}, false, opts)
}

// Delete deletes the record with the given provider ID. It is always
// synchronous and needs the installation to enable deletion for the
// object: opts.Mode and opts.RetryDeadline are ignored, so the options of
// async writes can be passed as they are. opts.Headers and
// opts.IdempotencyKey apply; a delete cannot be auto-batched
// (opts.AutoBatch is an error wrapping [ErrUnsupported]).
func (w *Writer) Delete(ctx context.Context, t Target, id string, opts *WriteOpts) (*Result, error) {
	o := WriteOpts{}
	if opts != nil {
		o = *opts
	}
	o.Mode, o.RetryDeadline = ModeSync, 0
	return w.write(ctx, t, WriteTypeDelete, []Record{{ID: id}}, false, &o)
}

// Batch creates, updates or upserts 1 to 100 records in one provider call
// (an upsert makes one read first; see [Writer.Upsert]). Each
// record gets its own result, in order.
//
// With [BatchAllOrNothing] (the zero policy) no record is written if any
// fails; where the provider cannot do that atomically (HubSpot batch
// update) the adapter restores the records it changed and the result's
// Compensation says so, listing any it could not restore. With
// [BatchPartial] every valid record is written.
//
// Records the installation's rules leave with nothing to write are
// unchanged: not sent, never a reason to fail the others. An
// all-or-nothing batch succeeds only if every record that needed writing
// was written. In sync mode err is nil when the operation succeeded (for a
// partial batch, when at least one record was written or none failed: read
// the per-record results), and the error of the record that failed the
// batch otherwise. Deletes cannot be batched.
func (w *Writer) Batch(ctx context.Context, t Target, typ WriteType, records []Record, opts *WriteOpts) (*Result, error) {
	return w.write(ctx, t, typ, records, true, opts)
}

// write is the common path of every write.
func (w *Writer) write(ctx context.Context, t Target, typ WriteType, records []Record, batch bool, opts *WriteOpts) (res *Result, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pr, err := w.prepare(ctx, t, typ, records, batch, opts)
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &WriteOpts{}
	}
	ctx, end := w.tel.write(ctx, pr.plan, opts.Mode)
	defer func() { end(res, err) }()
	claim, err := w.reserveKey(ctx, pr, opts)
	switch {
	case err != nil && claim != nil:
		return claim.replayed, err
	case err != nil:
		return nil, err
	case claim.replayed != nil:
		return claim.replayed, nil
	}
	if opts.Mode == ModeAsync {
		return w.submitAsync(ctx, pr, opts, claim.store())
	}
	return w.runSync(ctx, pr, claim.store())
}

// runSync executes a plan now, for the installation it was prepared
// against, and records its operation.
func (w *Writer) runSync(ctx context.Context, pr *prepared, key *store.IdempotencyKey) (*Result, error) {
	p := pr.plan
	now := w.now()
	op := p.newOperation(newID(now), ModeSync, now)
	op.Logs = append(op.Logs, pr.strippedLogs(now)...)
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
	var notes []string
	if len(p.toWrite()) == 0 {
		out = p.failSome(nil, nil) // the rules left nothing to write
	} else if s, perr := w.connect(ctx, p.scope(), pr.target.inst, 0); perr != nil {
		out = p.failSome(p.toWrite(), perr)
	} else {
		out = s.run(ctx, p)
		calls, notes = s.calls, s.notes
	}
	cut := ctx.Err()
	if cut != nil {
		out.cutOff(p, context.Cause(ctx))
	}
	end := w.now()
	op.Attempts = 1
	op.LastAttempt = now
	op.logCalls(1, calls, end)
	op.logNotes(notes, end)
	op.finish(out, end)

	rec, err := encodeFinished(op, p, DefaultRetryDeadline)
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
	err = op.err()
	if cut != nil && err != nil {
		// The caller's own deadline or cancellation ended the write.
		err = fmt.Errorf("writeback: operation %s: %w: %w", op.ID, cut, err)
	}
	return res, err
}
