package writeback

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/writebackhq/writeback/store"
)

// Writer writes records into customers' SaaS accounts, through their
// installations' rules. Sync writes work as soon as [NewWriter] returns.
// Async writes are accepted (stored durably) whenever the Writer is not
// stopped, and run between [Writer.Start] and [Writer.Stop].
//
// Every method of Writer is safe for concurrent use.
type Writer struct {
	cfg       *Config
	manifest  *Manifest
	store     store.Interface
	providers map[string]Provider
	log       *slog.Logger
	now       func() time.Time
	// opsOnly: no manifest, providers or token source (see [Config]).
	opsOnly bool

	// async runs queued async work between Start and Stop (dispatch.go).
	async dispatcher
	// waits wakes callers of Wait when their operation completes.
	waits waiters
	// tel traces and measures (telemetry.go).
	tel *telemetry
	// installs caches decoded installations for the write path.
	installs installations
}

// NewWriter validates cfg and returns a Writer. It copies cfg and starts
// nothing.
func NewWriter(cfg *Config) (*Writer, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Writer{
		cfg:       c,
		manifest:  c.Manifest,
		store:     c.Store,
		providers: make(map[string]Provider, len(c.Providers)),
		log:       c.Logger,
		now:       c.Test.NowFunc,
		opsOnly:   len(c.Providers) == 0 && c.TokenSourceFunc == nil,
	}
	for _, p := range c.Providers {
		w.providers[p.Name()] = p
	}
	if w.tel, err = newTelemetry(c.TracerProvider, c.MeterProvider); err != nil {
		return nil, fmt.Errorf("%w: telemetry: %w", ErrInvalidConfig, err)
	}
	if ignored := c.Manifest.Ignored(); len(ignored) > 0 {
		attrs := make([]any, 0, len(ignored))
		for _, k := range ignored {
			attrs = append(attrs, slog.String(k.Path, k.Reason))
		}
		w.log.Info("writeback: manifest parts not acted on", slog.Group("ignored", attrs...))
	}
	w.initDispatcher()
	return w, nil
}

// Start starts running async work: operations queued before, work left
// unfinished by an earlier Writer on the same store, and everything queued
// from now on. Nothing needs a scan: work a Stop left is due at once, work
// interrupted by a crash becomes due when its lease ends (a minute after
// its last heartbeat). It checks that the store answers, then starts the
// dispatcher and the background pruning ([Retention]) and returns; ctx
// bounds only that check. Async provider calls run at most
// [Config.MaxConcurrency] at once per provider.
//
// Start is idempotent, and a stopped Writer can be started again. An
// operations-only Writer (see [Config]) cannot start.
func (w *Writer) Start(ctx context.Context) error {
	if w.opsOnly {
		return invalid(ErrInvalidConfig, "", "an operations-only Writer (no Manifest, Providers or TokenSourceFunc) cannot start")
	}
	d := &w.async
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.unlock()
	d.mu.Lock()
	running := d.state == stateRunning
	d.mu.Unlock()
	if running {
		return nil
	}
	if _, _, err := w.store.NextDue(ctx); err != nil {
		return storeError("start: store", err)
	}
	base := context.WithoutCancel(ctx)
	loopCtx, halt := context.WithCancel(base)
	workCtx, abort := context.WithCancelCause(base)
	d.mu.Lock()
	d.state = stateRunning
	d.halt, d.abort = halt, abort
	d.loopDone = make(chan struct{})
	d.pruneDone = make(chan struct{})
	d.listenDone = nil
	if reg, err := w.tel.observeQueue(w.store.NextDue, w.now); err != nil {
		w.log.Warn("writeback: queue metrics", "err", err)
	} else {
		d.observing = reg
	}
	if n, ok := w.shared(); ok {
		d.listenDone = make(chan struct{})
		go w.listen(loopCtx, n, d.listenDone)
	}
	d.mu.Unlock()
	go w.loop(loopCtx, workCtx, d.loopDone)
	go w.pruneLoop(loopCtx, d.pruneDone)
	return nil
}

// Running reports whether the Writer is started: between [Writer.Start]
// and [Writer.Stop], it runs async work.
func (w *Writer) Running() bool { return w.async.runState() == stateRunning }

// Stop stops async work, like http.Server.Shutdown: new async writes fail
// with [ErrStopped] at once, jobs not yet started stay queued for the next
// Start, and Stop waits for the provider calls in flight and saves their
// outcomes. If ctx ends first, it cancels those calls (with cause
// [ErrStopped]), still saves their outcomes (an update is retried after the
// next Start, a create that may have been sent is reported as an unknown
// outcome), and returns ctx's error.
//
// Stop is idempotent and may be called before Start. It never closes the
// store.
func (w *Writer) Stop(ctx context.Context) error {
	d := &w.async
	if err := d.lock(ctx); err != nil {
		return err
	}
	defer d.unlock()
	d.mu.Lock()
	prev := d.state
	d.state = stateStopped
	halt, abort, loopDone, listenDone, pruneDone := d.halt, d.abort, d.loopDone, d.listenDone, d.pruneDone
	d.halt, d.abort, d.loopDone, d.listenDone, d.pruneDone = nil, nil, nil, nil, nil
	d.mu.Unlock()
	if prev != stateRunning {
		return nil
	}
	halt()
	<-loopDone
	<-pruneDone
	d.mu.Lock()
	if d.observing != nil {
		_ = d.observing.Unregister()
		d.observing = nil
	}
	d.mu.Unlock()
	if listenDone != nil {
		<-listenDone
	}

	finished := make(chan struct{})
	go func() {
		d.workers.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		abort(ErrStopped)
		return nil
	case <-ctx.Done():
	}
	abort(ErrStopped)
	// The calls end promptly once cancelled; their outcomes are saved
	// before the workers return.
	<-finished
	return ctx.Err()
}
