package writeback

import (
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

	// async runs queued async work between Start and Stop (dispatch.go).
	async dispatcher
	// waits wakes callers of Wait when their operation completes (wait.go).
	waits waiters
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
	}
	for _, p := range c.Providers {
		w.providers[p.Name()] = p
	}
	w.initDispatcher()
	return w, nil
}
