package writeback

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/writebackhq/writeback/store"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"
)

// Config configures a [Writer]. [NewWriter] copies it: changing it afterwards
// has no effect.
//
// A Config with a Store and none of Manifest, Providers and
// TokenSourceFunc makes an operations-only Writer, for tools that look
// after a store without writing (such as cmd/writeback): it lists, shows,
// cancels, retries and prunes operations and reports queue stats; writes
// fail with [ErrUnknownIntegration] and Start with [ErrInvalidConfig].
type Config struct {
	// Manifest defines the integrations. Required, except for an
	// operations-only Writer.
	Manifest *Manifest
	// Providers are the provider adapters, keyed by their Name; every
	// provider the manifest names must be here. Required, except for an
	// operations-only Writer.
	Providers []Provider
	// Store keeps installations, operations and the async queue. Required.
	// The Writer never closes it.
	Store store.Interface
	// TokenSourceFunc resolves an installation's credentials. It is asked
	// once per attempt (so the source it returns should cache, e.g. with
	// oauth2.ReuseTokenSource) and again after a restart, so async work
	// can resume. Tokens are never stored or logged. Required, except for
	// an operations-only Writer.
	TokenSourceFunc func(ctx context.Context, inst *Installation) (oauth2.TokenSource, error)
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// MaxConcurrency bounds the async provider calls in flight per
	// provider. Zero means 4.
	MaxConcurrency int
	// IdempotencyRetention is how long an idempotency key is remembered,
	// from the key's first use. Zero means 24 h. Expired keys are pruned
	// with the operations (see [Retention]).
	IdempotencyRetention time.Duration
	// Retention says how long finished operations are kept (30 days by
	// default) and whether they keep field values.
	Retention Retention
	// MaxRecordSize bounds one record of a write: its fields as the
	// caller sent them, encoded as JSON, in bytes. A larger record is
	// refused with a [*ValidationError] wrapping [ErrTooLarge]. Zero
	// means [DefaultMaxRecordSize].
	MaxRecordSize int
	// MaxValueSize bounds one field value, encoded as JSON, in bytes,
	// like MaxRecordSize. Zero means [DefaultMaxValueSize].
	MaxValueSize int
	// OnComplete, if set, is called once with each async operation that
	// reaches a terminal status (the in-process twin of the hosted
	// write.async.done notification), including operations a restarted
	// Writer resumed. It runs on a worker goroutine after the outcome is
	// stored and before [Writer.Wait] callers wake, and should return
	// quickly. A crash between storing the outcome and the call loses the
	// call; the operation record is the source of truth. On a store shared
	// by several processes (store/pgstore), it runs in the process that
	// completed the operation, once; [Writer.Wait] works on any of them.
	OnComplete func(op *Operation)
	// TracerProvider creates the spans of writes, attempts and provider
	// calls; nil means OpenTelemetry's global provider (a no-op until the
	// application installs an SDK). Spans never hold secrets or field
	// values.
	TracerProvider trace.TracerProvider
	// MeterProvider creates writeback's metrics (see README.md); nil means
	// OpenTelemetry's global provider.
	MeterProvider metric.MeterProvider
	// PollInterval applies to a store shared by several processes (one
	// that implements store.Notifier, such as store/pgstore): it is the
	// longest a Writer goes without looking for work queued, and Wait for
	// operations completed, by other processes, should a notification be
	// lost. Zero means [DefaultPollInterval].
	PollInterval time.Duration
	// Test holds hooks for tests.
	Test TestConfig
}

// TestConfig holds test hooks. Production code leaves it zero.
type TestConfig struct {
	// NowFunc replaces time.Now.
	NowFunc func() time.Time
	// LeaseDuration replaces how long a claimed async job stays leased
	// (zero: 1 min, extended by a heartbeat while the job runs), which is
	// how long after a crash its work resumes.
	LeaseDuration time.Duration
	// PruneInterval replaces the pause between background prune passes
	// (zero: [DefaultPruneInterval]).
	PruneInterval time.Duration
}

// Defaults applied by [NewWriter].
const (
	// DefaultMaxConcurrency is the default [Config.MaxConcurrency].
	DefaultMaxConcurrency = 4
	// DefaultIdempotencyRetention is the default [Config.IdempotencyRetention].
	DefaultIdempotencyRetention = 24 * time.Hour
	// DefaultMaxRecordSize is the default [Config.MaxRecordSize]: 1 MB.
	DefaultMaxRecordSize = 1 << 20
	// DefaultMaxValueSize is the default [Config.MaxValueSize]: 256 KB.
	DefaultMaxValueSize = 256 << 10
)

// withDefaults returns a validated copy of c with defaults filled in.
func (c *Config) withDefaults() (*Config, error) {
	if c == nil {
		return nil, invalid(ErrInvalidConfig, "", "config is nil")
	}
	cp := *c
	cp.Providers = append([]Provider(nil), c.Providers...)
	if cp.Store == nil {
		return nil, invalid(ErrInvalidConfig, "Store", "required (use store/memstore or store/boltstore)")
	}
	opsOnly := cp.Manifest == nil && len(cp.Providers) == 0 && cp.TokenSourceFunc == nil
	if opsOnly {
		cp.Manifest = &Manifest{}
	}
	if cp.Manifest == nil {
		return nil, invalid(ErrInvalidConfig, "Manifest", "required (only an operations-only Writer, with none of Manifest, Providers and TokenSourceFunc, has none)")
	}
	if !opsOnly {
		if err := cp.Manifest.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		if cp.TokenSourceFunc == nil {
			return nil, invalid(ErrInvalidConfig, "TokenSourceFunc", "required")
		}
	}
	if cp.MaxConcurrency < 0 {
		return nil, invalid(ErrInvalidConfig, "MaxConcurrency", "must not be negative")
	}
	if cp.MaxConcurrency == 0 {
		cp.MaxConcurrency = DefaultMaxConcurrency
	}
	if cp.IdempotencyRetention < 0 {
		return nil, invalid(ErrInvalidConfig, "IdempotencyRetention", "must not be negative")
	}
	if cp.IdempotencyRetention == 0 {
		cp.IdempotencyRetention = DefaultIdempotencyRetention
	}
	if err := cp.Retention.check(cp.IdempotencyRetention); err != nil {
		return nil, err
	}
	if cp.Retention.Operations == 0 {
		cp.Retention.Operations = DefaultRetention
	}
	if cp.MaxRecordSize < 0 {
		return nil, invalid(ErrInvalidConfig, "MaxRecordSize", "must not be negative")
	}
	if cp.MaxRecordSize == 0 {
		cp.MaxRecordSize = DefaultMaxRecordSize
	}
	if cp.MaxValueSize < 0 {
		return nil, invalid(ErrInvalidConfig, "MaxValueSize", "must not be negative")
	}
	if cp.MaxValueSize == 0 {
		cp.MaxValueSize = DefaultMaxValueSize
	}
	if cp.PollInterval < 0 {
		return nil, invalid(ErrInvalidConfig, "PollInterval", "must not be negative")
	}
	if cp.PollInterval == 0 {
		cp.PollInterval = DefaultPollInterval
	}
	if cp.Logger == nil {
		cp.Logger = slog.New(slog.DiscardHandler)
	}
	if cp.Test.NowFunc == nil {
		cp.Test.NowFunc = time.Now
	}
	seen := map[string]bool{}
	for i, p := range cp.Providers {
		if p == nil {
			return nil, invalid(ErrInvalidConfig, fmt.Sprintf("Providers[%d]", i), "is nil")
		}
		if seen[p.Name()] {
			return nil, invalid(ErrInvalidConfig, fmt.Sprintf("Providers[%d]", i), "duplicate provider %q", p.Name())
		}
		seen[p.Name()] = true
	}
	for i, in := range cp.Manifest.Integrations {
		if !seen[in.Provider] {
			return nil, invalid(ErrInvalidConfig, fmt.Sprintf("Manifest.Integrations[%d].provider", i), "no provider %q in Providers", in.Provider)
		}
	}
	return &cp, nil
}
