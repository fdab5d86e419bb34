package writeback

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Idempotency keys ([WriteOpts.IdempotencyKey]) are scoped by installation
// and stand for the request the caller sent: its target, type, records (as
// sent, normalised, before the installation's rules) and options. The
// installation's rules are not part of it, so a retry after the customer
// changed a setting is still the same request.
//
// A key leads to the operation of its first use, and a repeat returns that
// operation, unless the operation failed in a way that surely wrote
// nothing: every failed record's error retryable (rate limit, quota,
// unavailable) or a rollback with it, and no record written. A repeat then
// writes again, under the same key, and the key leads to the new
// operation. An unknown outcome, a cancellation by the caller's context
// and any other failure keep the key on the failed operation: repeating
// could write twice, or fail the same way.
//
// The store keeps one reservation per key, and no reservation is ever
// replaced, so a key freed this way moves on to its next generation: the
// reservation of "<installation>:<key>" (generation 0), then
// "<installation>#1:<key>", and so on (installation IDs hold neither ':'
// nor '#'), each created atomically with its operation so that concurrent
// twins still write once. Every generation expires with the first,
// [Config.IdempotencyRetention] after the key's first use; a lookup walks
// the generations from 0. Format 1 stored generation 0 as
// "<installation>\x00<key>", which is still looked up; a store that
// cannot hold a NUL byte (PostgreSQL) never had such a key.

// maxKeyGenerations bounds how often a key is freed by failures that
// wrote nothing; after that a repeat returns the last failure.
const maxKeyGenerations = 64

// requestHashPrefix marks request hashes of what the caller sent; a stored
// hash without it was made by format 1, over the planned request.
const requestHashPrefix = "in:"

// keyClaim is the outcome of looking up a write's idempotency key.
type keyClaim struct {
	// key is the reservation to store with the write; nil without a key.
	key *store.IdempotencyKey
	// replayed is the result of the operation the key already leads to,
	// which the write returns instead of writing.
	replayed *Result
	// legacy is the format-1 hash of the request, computed when needed.
	legacy string
}

// store returns the reservation to store with the write, or nil.
func (k *keyClaim) store() *store.IdempotencyKey {
	if k == nil {
		return nil
	}
	return k.key
}

// reserveKey looks up a write's idempotency key. It returns the
// reservation to store with the write, or the result of the operation the
// key leads to (with that operation's error), or an
// [ErrIdempotencyMismatch] error when the key was used for a different
// request. Without a key it returns an empty claim.
func (w *Writer) reserveKey(ctx context.Context, pr *prepared, opts *WriteOpts) (*keyClaim, error) {
	claim := &keyClaim{}
	if opts.IdempotencyKey == "" {
		return claim, nil
	}
	hash, err := requestHash(pr, opts)
	if err != nil {
		return nil, err
	}
	now := w.now()
	expires := now.Add(w.cfg.IdempotencyRetention)
	for gen := range maxKeyGenerations {
		name := keyName(pr.InstallationID, opts.IdempotencyKey, gen)
		existing, err := w.store.IdempotencyKey(ctx, name, now)
		if gen == 0 && errors.Is(err, ErrNotFound) {
			existing, err = w.legacyKey(ctx, pr.InstallationID, opts.IdempotencyKey, now)
		}
		if errors.Is(err, ErrNotFound) {
			claim.key = &store.IdempotencyKey{Key: name, RequestHash: hash, ExpiresAt: expires}
			return claim, nil
		}
		if err != nil {
			return nil, storeError("idempotency key", err)
		}
		if gen == 0 {
			expires = existing.ExpiresAt // every generation ends with the first
		}
		if err := claim.same(existing, hash, pr, opts); err != nil {
			return nil, err
		}
		op, err := w.Operation(ctx, existing.OperationID)
		if err != nil {
			return nil, err
		}
		if !op.freesKey() || gen == maxKeyGenerations-1 {
			claim.replayed = op.result()
			return claim, op.err()
		}
	}
	panic("unreachable")
}

// keyName returns the store key of generation gen of an installation's
// idempotency key.
func keyName(installation, key string, gen int) string {
	if gen == 0 {
		return installation + ":" + key
	}
	return installation + "#" + strconv.Itoa(gen) + ":" + key
}

// legacyKey looks up a key as format 1 stored it. A store that cannot hold
// that form (its NUL byte) answers with an error: it has no such key.
func (w *Writer) legacyKey(ctx context.Context, installation, key string, now time.Time) (store.IdempotencyKey, error) {
	existing, err := w.store.IdempotencyKey(ctx, installation+"\x00"+key, now)
	if err != nil && !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
		return existing, ErrNotFound
	}
	return existing, err
}

// same checks that a stored reservation was made for this request.
func (k *keyClaim) same(existing store.IdempotencyKey, hash string, pr *prepared, opts *WriteOpts) error {
	if existing.RequestHash == hash {
		return nil
	}
	if len(existing.RequestHash) == sha256.Size*2 {
		// Stored by format 1, over the planned request.
		if k.legacy == "" {
			k.legacy = legacyRequestHash(pr.plan, opts)
		}
		if existing.RequestHash == k.legacy {
			return nil
		}
	}
	return invalid(ErrIdempotencyMismatch, "idempotencyKey", "already used by operation %s for a different request", existing.OperationID)
}

// replayExisting returns the result of the operation a reservation that
// won a race leads to, or an [ErrIdempotencyMismatch] error if the request
// differs.
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

// freesKey reports whether a repeat of the operation's request may write
// again under the same idempotency key: the operation failed and surely
// wrote nothing. Every failed record failed retryably (rate limit, quota,
// unavailable: the provider did not take the write) or was rolled back
// with such a failure, and no record was written.
func (o *Operation) freesKey() bool {
	if o.Status != OperationFailure || o.Compensation != nil {
		return false
	}
	retryableSeen := false
	for _, r := range o.Results {
		switch {
		case r.Err == nil && r.Unchanged:
		case r.Err == nil:
			return false
		case r.Err.Retryable():
			retryableSeen = true
		case r.Err.Class == ClassRolledBack:
		default:
			return false
		}
	}
	return retryableSeen
}

// requestHash identifies what the caller sent: target, type, records as
// sent (normalised, application names, before the installation's rules)
// and the options that shape the write.
func requestHash(pr *prepared, opts *WriteOpts) (string, error) {
	h := sha256.New()
	// encoding/json sorts map keys, so equal requests hash equally.
	if err := json.NewEncoder(h).Encode(struct {
		Integration   string
		GroupRef      string
		Object        string
		Type          WriteType
		Batch         bool
		Policy        BatchPolicy
		Records       []Record
		Headers       []Header
		Mode          Mode
		AutoBatch     *AutoBatchPolicy
		RetryDeadline int64
		UpsertKey     string `json:",omitempty"` // omitted when empty: earlier hashes still match
	}{pr.Integration, pr.GroupRef, pr.Object, pr.Type, pr.Batch, opts.BatchPolicy, pr.input, opts.Headers,
		opts.Mode, opts.AutoBatch, int64(opts.RetryDeadline), opts.UpsertKey}); err != nil {
		return "", fmt.Errorf("writeback: hash request: %w", err)
	}
	return requestHashPrefix + hex.EncodeToString(h.Sum(nil)), nil
}

// legacyRequestHash is how format 1 hashed a request: over its plan, so
// that a repeat of a request accepted before an upgrade still matches.
func legacyRequestHash(p *plan, opts *WriteOpts) string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(struct {
		P         *plan
		Mode      Mode
		AutoBatch *AutoBatchPolicy
		Deadline  int64
	}{p, opts.Mode, opts.AutoBatch, int64(opts.RetryDeadline)})
	return hex.EncodeToString(h.Sum(nil))
}
