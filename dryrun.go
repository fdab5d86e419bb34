package writeback

import (
	"context"
	"fmt"
)

// DryRunResult is what a write would send, computed without sending it.
type DryRunResult struct {
	// Request is the provider request the write would make, with provider
	// field names, after defaults, overwrite rules and mapping (and, for
	// ifEmpty rules, after reading the records' current values). It holds
	// no credentials.
	Request *ProviderRequest
	// Unchanged lists the indexes of records that would not be sent because
	// the rules left them nothing to write.
	Unchanged []int
	// HTTP holds the exact HTTP requests the provider adapter would send,
	// when it implements [RequestEncoder].
	HTTP []HTTPRequest
}

// DryRun validates a write and returns the exact provider payload it would
// produce, without writing anything or recording an operation: a preview
// of a customer's rules. One record previews a single write, several a
// batch; with opts.AutoBatch set, one record previews the call its group
// would make for it alone (a partial batch of one). With ifEmpty rules it
// reads the records' current values, and an upsert looks its records up
// by key (a read, never a write). Errors are
// those the write itself would return: the request is the one a sync,
// async or auto-batched write of the same records sends, byte for byte.
func (w *Writer) DryRun(ctx context.Context, t Target, typ WriteType, records []Record, opts *WriteOpts) (*DryRunResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	autoBatch := opts != nil && opts.AutoBatch != nil
	pr, err := w.prepare(ctx, t, typ, records, len(records) != 1 && !autoBatch, opts)
	if err != nil {
		return nil, err
	}
	p := pr.plan
	if autoBatch {
		p.Batch = true
	}
	res := &DryRunResult{}
	recs, send := p.Records, p.toWrite()
	if p.needsRead() {
		s, perr := w.connect(ctx, p.scope(), pr.target.inst, 0)
		if perr != nil {
			return nil, perr
		}
		recs, send, err = s.current(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("writeback: read current values: %w", err)
		}
	}
	sent := make([]Record, 0, len(send))
	next := 0
	for i := range recs {
		if next < len(send) && send[next] == i {
			r := recs[i]
			if p.Key != "" {
				r.ID = "" // an upsert is identified by its key
			}
			sent = append(sent, r)
			next++
			continue
		}
		res.Unchanged = append(res.Unchanged, i)
	}
	res.Request = p.providerRequest(pr.target.inst, sent)
	if enc, ok := pr.target.provider.(RequestEncoder); ok && len(sent) > 0 {
		res.HTTP, err = enc.EncodeWrite(res.Request)
		if err != nil {
			return nil, fmt.Errorf("writeback: encode %s request: %w", pr.target.provider.Name(), err)
		}
	}
	return res, nil
}
