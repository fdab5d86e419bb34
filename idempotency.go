package writeback

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/writebackhq/writeback/store"
)

// idempotencyKey returns the store reservation for a write's idempotency
// key, or nil when the write has none. Keys are scoped by installation, and
// the request hash covers the planned provider request, so the same key
// with a different request is detected.
func (w *Writer) idempotencyKey(p *plan, opts *WriteOpts) (*store.IdempotencyKey, error) {
	if opts.IdempotencyKey == "" {
		return nil, nil
	}
	h := sha256.New()
	enc := json.NewEncoder(h)
	// Everything that makes the request what it is; encoding/json sorts
	// map keys, so equal requests hash equally.
	if err := enc.Encode(struct {
		P         *plan
		Mode      Mode
		AutoBatch *AutoBatchPolicy
		Deadline  int64
	}{p, opts.Mode, opts.AutoBatch, int64(opts.RetryDeadline)}); err != nil {
		return nil, fmt.Errorf("writeback: hash request: %w", err)
	}
	return &store.IdempotencyKey{
		Key:         p.InstallationID + "\x00" + opts.IdempotencyKey,
		RequestHash: hex.EncodeToString(h.Sum(nil)),
		ExpiresAt:   w.now().Add(w.cfg.IdempotencyRetention),
	}, nil
}

// replay returns the operation an unexpired key already leads to, with
// found true, or found false when the key is free.
func (w *Writer) replay(ctx context.Context, key *store.IdempotencyKey) (*Result, bool, error) {
	existing, err := w.store.IdempotencyKey(ctx, key.Key, w.now())
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, storeError("idempotency key", err)
	}
	res, err := w.replayExisting(ctx, key, existing)
	return res, true, err
}

// replayExisting returns the result of the operation a reservation leads
// to, or an [ErrIdempotencyMismatch] error if the request differs.
func (w *Writer) replayExisting(ctx context.Context, key *store.IdempotencyKey, existing store.IdempotencyKey) (*Result, error) {
	if existing.RequestHash != key.RequestHash {
		return nil, invalid(ErrIdempotencyMismatch, "idempotencyKey", "already used by operation %s for a different request", existing.OperationID)
	}
	op, err := w.Operation(ctx, existing.OperationID)
	if err != nil {
		return nil, err
	}
	return op.result(), op.err()
}
