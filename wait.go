package writeback

import (
	"context"
	"sync"
)

// waiters tracks the callers of [Writer.Wait], by operation ID.
type waiters struct {
	mu sync.Mutex
	m  map[string][]chan struct{}
}

// add registers a waiter for an operation; the channel is closed when the
// operation completes in this Writer. remove undoes it.
func (ws *waiters) add(id string) (ch chan struct{}, remove func()) {
	ch = make(chan struct{})
	ws.mu.Lock()
	if ws.m == nil {
		ws.m = map[string][]chan struct{}{}
	}
	ws.m[id] = append(ws.m[id], ch)
	ws.mu.Unlock()
	return ch, func() {
		ws.mu.Lock()
		defer ws.mu.Unlock()
		list := ws.m[id]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(ws.m, id)
		} else {
			ws.m[id] = list
		}
	}
}

// wake closes every waiter channel of an operation.
func (ws *waiters) wake(id string) {
	ws.mu.Lock()
	list := ws.m[id]
	delete(ws.m, id)
	ws.mu.Unlock()
	for _, ch := range list {
		close(ch)
	}
}

// Wait waits until the operation with the given ID is terminal (success or
// failure) and returns it, or returns ctx's error if ctx ends first. It
// returns at once for an operation that is already terminal, such as any
// sync write's, and fails with an error wrapping [ErrNotFound] for an
// unknown ID.
//
// Wait is woken by the Writer that runs the operation, without polling the
// store, so an async operation completes only while its Writer is started
// (see [Writer.Start]); an operation run by another process is not seen
// until ctx ends.
func (w *Writer) Wait(ctx context.Context, id string) (*Operation, error) {
	ch, remove := w.waits.add(id)
	defer remove()
	for {
		// Registered before looking, so a completion in between is not missed.
		op, err := w.Operation(ctx, id)
		if err != nil {
			return nil, err
		}
		if op.Status.Terminal() {
			return op, nil
		}
		select {
		case <-ch:
			ch, remove = w.waits.add(id)
			defer remove()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// completed reports that an async operation reached a terminal status and
// was stored: it wakes [Writer.Wait] callers and calls [Config.OnComplete].
// Every path that completes an async or auto-batch operation calls it
// exactly once, after the store has the terminal record. OnComplete runs
// first, so it has run when Wait returns.
func (w *Writer) completed(op *Operation) {
	if w.cfg.OnComplete != nil {
		w.cfg.OnComplete(op)
	}
	w.waits.wake(op.ID)
}
