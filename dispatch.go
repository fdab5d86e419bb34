package writeback

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/writebackhq/writeback/store"
	"go.opentelemetry.io/otel/metric"
)

// defaultLease is how long a claimed job stays leased without a
// heartbeat. The Writer holding a job extends its lease every third of
// this while it works on it (keepLease), however long a provider call
// takes; a crash stops the heartbeat, and the job becomes due again when
// the lease ends, so a restarted Writer (or another replica) resumes it at
// most this long after the crash.
const defaultLease = time.Minute

// storeRetryDelay is the wait before the dispatcher asks a failing store again.
const storeRetryDelay = time.Second

// minPause is the dispatcher's shortest sleep when work is due but a claim
// found none, so that it never spins.
const minPause = 10 * time.Millisecond

// runState is where a Writer is in its Start/Stop life.
type runState int

const (
	// stateIdle: never started. Async writes are stored and wait for Start.
	stateIdle runState = iota
	// stateRunning: started; the dispatcher runs queued work.
	stateRunning
	// stateStopped: stopped; async writes are refused with ErrStopped.
	stateStopped
)

// dispatcher runs queued async work between Start and Stop: it claims due
// jobs from the store, at most MaxConcurrency at once per provider, and
// hands them to runJob or runGroup.
type dispatcher struct {
	life chan struct{} // lifecycle lock, held by Start and Stop (capacity 1)
	wake chan struct{} // new work or a free slot (capacity 1)

	leaseTime   time.Duration
	perProvider int                      // Config.MaxConcurrency
	capacity    int                      // most jobs held at once, running or waiting for a slot
	slots       map[string]chan struct{} // per-provider concurrency

	mu       sync.Mutex
	state    runState
	halt     context.CancelFunc      // ends the loop and waits for slots
	abort    context.CancelCauseFunc // cancels in-flight provider calls
	loopDone chan struct{}
	// observing reports queue metrics while the Writer runs.
	observing metric.Registration
	// listenDone is closed when the shared store's listener ends (nil for
	// a store of one process).
	listenDone chan struct{}
	// pruneDone is closed when the background pruning has stopped.
	pruneDone chan struct{}
	workers   sync.WaitGroup
	active    map[string]*claim // claimed job ID -> claim counts
	load      map[string]int    // provider -> jobs held, running or waiting for a slot
}

// claim is the queue's claim counts of a job held by this Writer.
type claim struct {
	first  int // job.Attempts when this Writer claimed it
	latest int // job.Attempts after any later claim of the same job
}

// initDispatcher sets up the async machinery of a new Writer.
func (w *Writer) initDispatcher() {
	d := &w.async
	d.life = make(chan struct{}, 1)
	d.wake = make(chan struct{}, 1)
	d.leaseTime = w.cfg.Test.LeaseDuration
	if d.leaseTime <= 0 {
		d.leaseTime = defaultLease
	}
	d.slots = make(map[string]chan struct{}, len(w.providers))
	for name := range w.providers {
		d.slots[name] = make(chan struct{}, w.cfg.MaxConcurrency)
	}
	d.perProvider = w.cfg.MaxConcurrency
	d.capacity = 2 * w.cfg.MaxConcurrency * max(len(w.providers), 1)
	d.state = stateIdle
	d.active = map[string]*claim{}
	d.load = map[string]int{}
}

// accepting reports whether async writes are accepted: the Writer is not
// stopped.
func (d *dispatcher) accepting() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state != stateStopped
}

// runState returns where the Writer is in its Start/Stop life.
func (d *dispatcher) runState() runState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

// notify wakes the dispatcher loop, if it sleeps.
func (d *dispatcher) notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// claims returns the claim counts of a job this Writer holds: first is
// job.Attempts when it was claimed, latest includes any claim of it since
// (a lease that ran out while it ran). A job not held returns fallback twice.
func (d *dispatcher) claims(jobID string, fallback int) (first, latest int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.active[jobID]; ok {
		return c.first, c.latest
	}
	return fallback, fallback
}

// forget drops the claim counts of a job this Writer completed, before its
// worker ends: the operation may be queued again at once (see
// [Writer.Retry]), and a claim of the new job is not the old one's.
func (d *dispatcher) forget(jobID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.active, jobID)
}

// lease returns the latest lease this Writer holds on a job it claimed:
// the one a completion or reschedule must present.
func (d *dispatcher) lease(job store.Job) store.Lease {
	_, latest := d.claims(job.ID, job.Attempts)
	return store.Lease{JobID: job.ID, Attempt: latest}
}

// lock takes the lifecycle lock, or fails when ctx ends first.
func (d *dispatcher) lock(ctx context.Context) error {
	select {
	case d.life <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *dispatcher) unlock() { <-d.life }

// loop claims due jobs whenever there is room, and sleeps until the next job
// is due, new work arrives or a slot frees up.
func (w *Writer) loop(ctx, work context.Context, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for ctx.Err() == nil {
		wait := w.pollBound(w.dispatchDue(ctx, work))
		if wait == 0 {
			continue
		}
		var tc <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tc = timer.C
		}
		select {
		case <-ctx.Done():
		case <-w.async.wake:
		case <-tc:
		}
		timer.Stop()
	}
}

// dispatchDue claims as many due jobs as there is room for and starts them.
// It returns how long to sleep before looking again: zero to look again at
// once, negative to sleep until woken.
func (w *Writer) dispatchDue(ctx, work context.Context) time.Duration {
	d := &w.async
	free := d.room()
	if free > 0 {
		now := w.now()
		jobs, err := w.store.Claim(ctx, now, now.Add(d.leaseTime), free)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("writeback: claim queued work", "err", err)
			}
			return storeRetryDelay
		}
		for _, job := range jobs {
			w.dispatch(ctx, work, job)
		}
		if len(jobs) == free {
			return 0
		}
		if len(jobs) == 0 {
			free = -1 // nothing was due at now: do not spin on a job due just after
		} else {
			free -= len(jobs)
		}
	}
	next, ok, err := w.store.NextDue(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("writeback: look for queued work", "err", err)
		}
		return storeRetryDelay
	}
	if !ok {
		return -1
	}
	wait := next.Sub(w.now())
	switch {
	case wait > 0:
		return wait
	case free > 0:
		return 0
	case free < 0:
		return minPause
	}
	return -1 // due work waits for a slot; a finishing job wakes the loop
}

// room returns how many jobs to claim: the free slots of the providers
// that have any, within the capacity.
//
// The queue hands out due jobs in order whatever their provider, so a
// claim may bring jobs of a provider whose slots are all taken; they wait
// in memory for a slot. Claiming on while another provider has free slots
// keeps a busy provider from holding back the others, up to the capacity
// (twice the slots of all providers).
func (d *dispatcher) room() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	free := 0
	for name := range d.slots {
		free += max(0, d.perProvider-d.load[name])
	}
	return min(free, d.capacity-len(d.active))
}

// dispatch starts a claimed job on its own goroutine, which waits for a
// slot of the job's provider and runs it.
func (w *Writer) dispatch(ctx, work context.Context, job store.Job) {
	d := &w.async
	d.mu.Lock()
	if c, ok := d.active[job.ID]; ok {
		// Still running here: its lease ran out. Note the claim so the
		// count stays right.
		c.latest = job.Attempts
		d.mu.Unlock()
		return
	}
	held := &claim{first: job.Attempts, latest: job.Attempts}
	d.active[job.ID] = held
	d.load[job.Provider]++
	d.workers.Add(1)
	d.mu.Unlock()
	go func() {
		defer func() {
			d.mu.Lock()
			if d.active[job.ID] == held {
				delete(d.active, job.ID)
			}
			if d.load[job.Provider]--; d.load[job.Provider] <= 0 {
				delete(d.load, job.Provider)
			}
			d.mu.Unlock()
			d.notify()
			d.workers.Done()
		}()
		if slot, ok := d.slots[job.Provider]; ok {
			select {
			case slot <- struct{}{}:
				defer func() { <-slot }()
			case <-ctx.Done():
				w.release(job)
				return
			}
		}
		if ctx.Err() != nil {
			w.release(job)
			return
		}
		// A cancel may have been requested while the job waited for a slot.
		if cur, err := w.store.Job(work, job.ID); err == nil && cur.Attempts == job.Attempts {
			job.CancelRequested = cur.CancelRequested
		}
		jobCtx, cancel := context.WithCancelCause(work)
		defer cancel(nil)
		defer w.keepLease(jobCtx, job, cancel)()
		if job.Group != "" {
			w.runGroup(jobCtx, job)
		} else {
			w.runJob(jobCtx, job)
		}
	}()
}

// release gives back a claimed job that was not started because the Writer
// is stopping: it is due again at once, so the next Start runs it. An
// auto-batch group's progress is stored back as it is. A plain job's claim
// is accounted for in its operation record (it sent nothing), unless an
// earlier claim is unaccounted for: that evidence of an interrupted attempt
// is kept for the next run to act on.
func (w *Writer) release(job store.Job) {
	ctx := context.Background()
	d := &w.async
	first, latest := d.claims(job.ID, job.Attempts)
	rec, err := w.store.Operation(ctx, job.ID)
	if err != nil {
		w.log.Error("writeback: release operation", "operation", job.ID, "err", err)
		return
	}
	op, group, err := decodeOperation(rec)
	if err != nil {
		w.log.Error("writeback: release operation", "operation", job.ID, "err", err)
		return
	}
	now := w.now()
	msg := "the batch was not written: the writer stopped; it is written after the next start"
	if job.Group == "" {
		// A plain operation counts claims; a group's counts its flushes.
		if op.Attempts == first-1 {
			op.Attempts = latest
		}
		msg = fmt.Sprintf("attempt %d not started: the writer stopped; it runs after the next start", latest)
	}
	op.UpdatedAt = now
	op.Logs = append(op.Logs, LogEntry{Time: now, Severity: SeverityInfo, Message: msg})
	if rec, err = encodeOperation(op, group); err == nil {
		err = w.store.Reschedule(ctx, rec, d.lease(job), now)
	}
	if errors.Is(err, store.ErrCancelRequested) {
		err = w.cancelReleased(ctx, job)
	}
	if err != nil && !errors.Is(err, store.ErrLeaseLost) {
		w.log.Error("writeback: release operation", "operation", job.ID, "err", err)
	}
}
