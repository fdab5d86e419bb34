package writeback

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// installations caches decoded installations and their resolved write
// objects for the write path, keyed by (integration, groupRef). Every
// write still reads the installation's record from the store, so a change
// made by any process is seen at once; only when the stored revision (and
// ID) equal the cached ones is the record not decoded again and the
// objects not resolved again. Cached values are shared and never
// modified.
type installations struct {
	mu      sync.Mutex
	entries map[string]*cachedInstallation
}

// maxCachedInstallations bounds the cache; beyond it the cache starts
// over, which costs a decode per installation.
const maxCachedInstallations = 10_000

// cachedInstallation is one decoded installation.
type cachedInstallation struct {
	inst *Installation

	mu      sync.Mutex
	objects map[string]resolvedObject // by the name a request gives
}

// forWrite returns the installation of an integration for a groupRef as
// stored now, decoded once per revision. It must not be modified.
func (w *Writer) forWrite(ctx context.Context, integration, groupRef string) (*cachedInstallation, error) {
	rec, err := w.store.InstallationByGroup(ctx, integration, groupRef)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: %s/%q: %w", ErrUnknownInstallation, integration, groupRef, ErrNotFound)
		}
		return nil, storeError(fmt.Sprintf("installation %s/%q", integration, groupRef), err)
	}
	key := integration + "\x00" + groupRef
	c := &w.installs
	c.mu.Lock()
	e := c.entries[key]
	c.mu.Unlock()
	if e != nil && e.inst.ID == rec.ID && e.inst.Revision == rec.Revision {
		return e, nil
	}
	inst, err := decodeInstallation(rec)
	if err != nil {
		return nil, err
	}
	e = &cachedInstallation{inst: inst, objects: map[string]resolvedObject{}}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxCachedInstallations {
		c.entries = map[string]*cachedInstallation{}
	}
	if old := c.entries[key]; old == nil || old.inst.Revision <= inst.Revision {
		c.entries[key] = e
	}
	c.mu.Unlock()
	return e, nil
}

// object resolves a write object of the installation for in, once.
func (e *cachedInstallation) object(in *Integration, name string) (resolvedObject, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if obj, ok := e.objects[name]; ok {
		return obj, nil
	}
	obj, err := resolveObject(in, e.inst, name)
	if err != nil {
		return resolvedObject{}, err
	}
	e.objects[name] = obj
	return obj, nil
}
