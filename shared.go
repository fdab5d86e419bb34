package writeback

import (
	"context"
	"errors"
	"time"

	"github.com/writebackhq/writeback/store"
)

// A store that several processes share (store/pgstore) implements
// store.Notifier: every replica hears when work is queued and when an
// operation completes anywhere. A Writer on such a store listens while it
// runs, and both its dispatcher and Wait look again at least every
// PollInterval, so a lost notification delays work, never loses it.

// DefaultPollInterval is the default [Config.PollInterval].
const DefaultPollInterval = 2 * time.Second

// shared reports whether the Writer's store is shared by several
// processes, which it knows by the store's notifications.
func (w *Writer) shared() (store.Notifier, bool) {
	n, ok := w.store.(store.Notifier)
	return n, ok
}

// pollBound caps a wait of the dispatcher or of Wait (negative: until
// woken) by the poll interval, for a shared store; it returns wait as it
// is otherwise.
func (w *Writer) pollBound(wait time.Duration) time.Duration {
	if _, ok := w.shared(); !ok {
		return wait
	}
	if wait < 0 || wait > w.cfg.PollInterval {
		return w.cfg.PollInterval
	}
	return wait
}

// listen relays a shared store's notifications until ctx ends: work that
// became due wakes the dispatcher, a completed operation wakes its Wait
// callers, and a gap in the notifications wakes everyone to look again. A
// failed subscription is tried again after the poll interval; meanwhile
// the poll keeps things moving.
func (w *Writer) listen(ctx context.Context, n store.Notifier, done chan<- struct{}) {
	defer close(done)
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
		}
		events, err := n.Subscribe(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("writeback: subscribe to the store's notifications", "err", err)
			}
			retry.Reset(w.cfg.PollInterval)
			continue
		}
		for ev := range events {
			switch ev.Kind {
			case store.EventDue:
				w.async.notify()
			case store.EventCompleted:
				w.waits.wake(ev.OperationID)
			default:
				w.async.notify()
				w.waits.wakeAll()
			}
		}
		// The subscription ended (a lost connection, or ctx): look again
		// at everything, then subscribe anew.
		w.async.notify()
		w.waits.wakeAll()
		retry.Reset(0)
	}
}

// errLeaseLost is the cause of a job's cancelled work when its lease was
// lost: another process claimed the job.
var errLeaseLost = errors.New("writeback: the job's lease was lost to another claim")

// keepLease extends the lease of a claimed job while it is held, every
// third of the lease time, so that no other process claims it while this
// one still works on it: a long provider call keeps its job. If the store
// says the lease is lost (this process could not extend it in time and
// another claimed the job), it cancels the job's work with errLeaseLost;
// the store refuses that work's outcome anyway (fencing). stop ends the
// heartbeat and waits for it.
func (w *Writer) keepLease(ctx context.Context, job store.Job, cancel context.CancelCauseFunc) (stop func()) {
	d := &w.async
	every := d.leaseTime / 3
	ctx, end := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := w.store.Extend(ctx, d.lease(job), w.now().Add(d.leaseTime))
			switch {
			case errors.Is(err, store.ErrLeaseLost):
				w.log.Warn("writeback: lease lost; the job's work stops", "operation", job.ID)
				cancel(errLeaseLost)
				return
			case err != nil && ctx.Err() == nil:
				w.log.Warn("writeback: extend lease", "operation", job.ID, "err", err)
			}
		}
	}()
	return func() {
		end()
		<-done
	}
}
