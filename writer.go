package writeback

import (
	"log/slog"
	"time"
)

// Writer writes records into customers' SaaS accounts, through their
// installations' rules. Sync writes work as soon as [NewWriter] returns;
// async writes need [Writer.Start].
//
// Every method of Writer is safe for concurrent use.
type Writer struct {
	cfg       *Config
	manifest  *Manifest
	store     Store
	providers map[string]Provider
	log       *slog.Logger
	now       func() time.Time
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
	return w, nil
}
