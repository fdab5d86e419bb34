package writeback

import "context"

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
