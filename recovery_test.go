package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/memstore"
)

// These tests simulate a crash in the middle of an async attempt without
// killing anything: the crashed process is a Writer whose store dies
// (dyingStore), or a claim made on the store directly; a second Writer
// on the same store then resumes the work. crash_test.go kills real
// processes.

// errDead is what a dyingStore answers once its process is dead.
var errDead = errors.New("the process died")

// dyingStore is the store as a process that died sees it: once dead,
// every call that would change it fails and changes nothing. With
// dieOnRecord it dies right after the first Renew (a create recording
// its send) it stores.
type dyingStore struct {
	store.Interface
	dead        atomic.Bool
	dieOnRecord bool
}

func (s *dyingStore) die() { s.dead.Store(true) }

func (s *dyingStore) alive() error {
	if s.dead.Load() {
		return errDead
	}
	return nil
}

func (s *dyingStore) CreateOperation(ctx context.Context, rec store.Operation, key *store.IdempotencyKey, now time.Time) error {
	if err := s.alive(); err != nil {
		return err
	}
	return s.Interface.CreateOperation(ctx, rec, key, now)
}

func (s *dyingStore) UpdateOperation(ctx context.Context, rec store.Operation) error {
	if err := s.alive(); err != nil {
		return err
	}
	return s.Interface.UpdateOperation(ctx, rec)
}

func (s *dyingStore) Enqueue(ctx context.Context, op store.Operation, job store.Job, key *store.IdempotencyKey, now time.Time) error {
	if err := s.alive(); err != nil {
		return err
	}
	return s.Interface.Enqueue(ctx, op, job, key, now)
}

func (s *dyingStore) Join(ctx context.Context, req store.JoinRequest) (store.JoinResult, error) {
	if err := s.alive(); err != nil {
		return store.JoinResult{}, err
	}
	return s.Interface.Join(ctx, req)
}

func (s *dyingStore) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.Job, error) {
	if err := s.alive(); err != nil {
		return nil, err
	}
	return s.Interface.Claim(ctx, now, leaseUntil, limit)
}

func (s *dyingStore) Reschedule(ctx context.Context, op store.Operation, lease store.Lease, runAt time.Time) error {
	if err := s.alive(); err != nil {
		return err
	}
	return s.Interface.Reschedule(ctx, op, lease, runAt)
}

func (s *dyingStore) Renew(ctx context.Context, op store.Operation, lease store.Lease, until time.Time) error {
	if err := s.alive(); err != nil {
		return err
	}
	err := s.Interface.Renew(ctx, op, lease, until)
	if err == nil && s.dieOnRecord {
		s.die()
	}
	return err
}

func (s *dyingStore) Complete(ctx context.Context, op store.Operation, lease store.Lease) error {
	if err := s.alive(); err != nil {
		return err
	}
	return s.Interface.Complete(ctx, op, lease)
}

func (s *dyingStore) Extend(ctx context.Context, lease store.Lease, until time.Time) error {
	if err := s.alive(); err != nil {
		return err
	}
	return s.Interface.Extend(ctx, lease, until)
}

// logged reports whether an operation's log has an entry containing text.
func logged(op *writeback.Operation, text string) bool {
	for _, l := range op.Logs {
		if strings.Contains(l.Message, text) {
			return true
		}
	}
	return false
}

// TestInterruptedBeforeSending: a process claimed a create and an update
// and died before it sent either. The next Writer sends both, once.
func TestInterruptedBeforeSending(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := memstore.New()
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		id := fake.Seed("contacts", map[string]any{"email": "old@x.com"})
		e1 := setup(t, asyncContacts(fake), withStore(st))
		created, err := e1.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		updated, err := e1.w.Update(ctx, contacts, writeback.Record{ID: id, Fields: map[string]any{"email": "new@x.com"}}, async)
		require.NoError(t, err)
		// The dead process's claims: leased for a minute, nothing sent.
		now := time.Now()
		jobs, err := st.Claim(ctx, now, now.Add(time.Minute), 10)
		require.NoError(t, err)
		require.Len(t, jobs, 2)

		e2 := setup(t, asyncContacts(fake), withStore(st))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err := e2.w.Wait(ctx, created.OperationID)
		require.NoError(t, err)
		require.Equal(t, now.Add(time.Minute), time.Now(), "resumed when the lease ended")
		require.Equal(t, writeback.OperationSuccess, op.Status, "a create that was never sent is sent")
		require.Equal(t, 2, op.Attempts)
		require.True(t, logged(op, "interrupted before it sent anything"), "the log says why it was sent: %+v", op.Logs)
		rec, ok := fake.Record("contacts", op.Results[0].ID)
		require.True(t, ok)
		require.Equal(t, "ada@example.com", rec["email"])
		op, err = e2.w.Wait(ctx, updated.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.Len(t, fake.Writes(), 2, "the create and the update, once each")
		require.Equal(t, 2, fake.Count("contacts"))
	})
}

// TestInterruptedWhileSending: a process died during a create's provider
// call, after the create took effect. The next Writer reports it as an
// unknown outcome and does not send it again.
func TestInterruptedWhileSending(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := &dyingStore{Interface: memstore.New()}
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		fake.FailCalls(func(*writeback.ProviderRequest) error {
			st.die() // while the call is in flight
			return nil
		})
		e1 := setup(t, asyncContacts(fake), withStore(st), withLease(time.Minute))
		res, err := e1.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		require.NoError(t, e1.w.Start(ctx))
		synctest.Wait()
		e1.stop(t)
		require.Equal(t, 1, fake.Count("contacts"), "the create took effect")

		e2 := setup(t, asyncContacts(fake), withStore(st.Interface))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err := e2.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationFailure, op.Status)
		require.Equal(t, writeback.ClassUnknownOutcome, op.Results[0].Err.Class)
		require.Equal(t, 1, op.Attempts)
		require.Len(t, fake.Writes(), 1, "not sent again")
		require.Equal(t, 1, e2.completions(op.ID))
	})
}

// TestInterruptedAfterRecordingSend: a process recorded that a create was
// about to be sent and died before the call reached the provider. The
// record cannot tell this from a call that did: the create is reported as
// an unknown outcome and not sent. This is the narrow window the record
// leaves; a kill anywhere before it sends the create after a restart.
func TestInterruptedAfterRecordingSend(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := &dyingStore{Interface: memstore.New(), dieOnRecord: true}
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		fake.FailCalls(func(*writeback.ProviderRequest) error {
			if st.dead.Load() {
				return errDead // the call never left the dead process
			}
			return nil
		})
		e1 := setup(t, asyncContacts(fake), withStore(st), withLease(time.Minute))
		res, err := e1.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		require.NoError(t, e1.w.Start(ctx))
		synctest.Wait()
		e1.stop(t)

		e2 := setup(t, asyncContacts(fake), withStore(st.Interface))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err := e2.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.ClassUnknownOutcome, op.Results[0].Err.Class)
		require.Zero(t, fake.Count("contacts"))
	})
}

// heldStore holds the first Renew (a create's record that it is about to
// be sent) until release is closed, announcing it on held.
type heldStore struct {
	store.Interface
	once    sync.Once
	held    chan struct{}
	release chan struct{}
}

func (s *heldStore) Renew(ctx context.Context, op store.Operation, lease store.Lease, until time.Time) error {
	s.once.Do(func() {
		close(s.held)
		<-s.release
	})
	return s.Interface.Renew(ctx, op, lease, until)
}

// TestStopBetweenRecordAndSend: Stop's deadline passes after a create
// recorded that it was about to be sent and before the call: it is not
// sent, and the next Start sends it, with no unknown outcome. The record
// is made before the provider call, or by an adapter with
// Capabilities.BeforeSend right before its request leaves.
func TestStopBetweenRecordAndSend(t *testing.T) {
	t.Parallel()
	for _, caps := range []writeback.Capabilities{{}, {BeforeSend: true}} {
		t.Run(fmt.Sprintf("BeforeSend=%v", caps.BeforeSend), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				st := &heldStore{Interface: memstore.New(), held: make(chan struct{}), release: make(chan struct{})}
				fake := providertest.NewFake("hubspot", caps)
				e := setup(t, asyncContacts(fake), withStore(st))
				res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), async)
				require.NoError(t, err)
				require.NoError(t, e.w.Start(ctx))
				<-st.held

				stopped := make(chan error)
				go func() {
					sctx, cancel := context.WithTimeout(ctx, time.Second)
					defer cancel()
					stopped <- e.w.Stop(sctx)
				}()
				time.Sleep(2 * time.Second) // Stop's deadline passes: the attempt is cancelled
				synctest.Wait()
				close(st.release)
				require.ErrorIs(t, <-stopped, context.DeadlineExceeded)
				require.Empty(t, fake.Writes(), "nothing was sent")

				e2 := setup(t, asyncContacts(fake), withStore(st))
				require.NoError(t, e2.w.Start(ctx))
				defer e2.stop(t)
				op, err := e2.w.Wait(ctx, res.OperationID)
				require.NoError(t, err)
				require.Equal(t, writeback.OperationSuccess, op.Status)
				require.Len(t, fake.Writes(), 1)
			})
		})
	}
}

// pacedFake is a Fake with Capabilities.BeforeSend whose Write first
// waits, as an adapter's pacer does, until release is closed, announcing
// the wait on waiting.
type pacedFake struct {
	*providertest.Fake
	waiting chan struct{}
	release chan struct{}
}

func (p *pacedFake) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	close(p.waiting)
	<-p.release
	return p.Fake.Write(ctx, req)
}

// TestInterruptedWhileAdapterWaits: a process died while its create
// waited in the adapter for the provider's rate limit. An adapter with
// Capabilities.BeforeSend records the send only when the wait is over, so
// nothing was recorded and the next Writer sends the create.
func TestInterruptedWhileAdapterWaits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := &dyingStore{Interface: memstore.New()}
		fake := providertest.NewFake("hubspot", writeback.Capabilities{BeforeSend: true})
		paced := &pacedFake{Fake: fake, waiting: make(chan struct{}), release: make(chan struct{})}
		e1 := setup(t, asyncContacts(paced), withStore(st), withLease(time.Minute))
		res, err := e1.w.Create(ctx, contacts, contact("ada@example.com"), async)
		require.NoError(t, err)
		require.NoError(t, e1.w.Start(ctx))
		<-paced.waiting
		st.die()
		close(paced.release) // the dead process sends nothing: its record fails
		synctest.Wait()
		e1.stop(t)
		require.Empty(t, fake.Writes())

		e2 := setup(t, asyncContacts(fake), withStore(st.Interface))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err := e2.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status, "a create that waited in the adapter was never sent")
		require.Len(t, fake.Writes(), 1)
		require.Equal(t, 1, fake.Count("contacts"))
	})
}

// TestInterruptedPartialBatch: after an attempt that wrote some records of
// a partial batch, a process dies while it sends the others again. The
// written records keep their results; only the interrupted creates are
// reported as unknown outcomes.
func TestInterruptedPartialBatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := &dyingStore{Interface: memstore.New()}
		fake := providertest.NewFake("hubspot", writeback.Capabilities{})
		var mu sync.Mutex
		locked := true
		fake.FailRecords(func(_ *writeback.ProviderRequest, _ int, rec writeback.Record) *writeback.ProviderError {
			mu.Lock()
			defer mu.Unlock()
			if rec.Fields["email"] == "b@x.com" && locked {
				locked = false
				return &writeback.ProviderError{Class: writeback.ClassUnavailable, Message: "locked"}
			}
			return nil
		})
		var calls atomic.Int64
		fake.FailCalls(func(*writeback.ProviderRequest) error {
			if calls.Add(1) == 2 {
				st.die() // during the retry, which takes effect
			}
			return nil
		})
		e1 := setup(t, asyncContacts(fake), withStore(st), withLease(time.Minute))
		require.NoError(t, e1.w.Start(ctx))
		res, err := e1.w.Batch(ctx, contacts, writeback.WriteTypeCreate,
			[]writeback.Record{contact("a@x.com"), contact("b@x.com")},
			&writeback.WriteOpts{Mode: writeback.ModeAsync, BatchPolicy: writeback.BatchPartial})
		require.NoError(t, err)
		time.Sleep(2 * time.Second) // past the retry's backoff (1 s ± 50 %)
		synctest.Wait()
		e1.stop(t)
		require.Len(t, fake.Writes(), 2)

		e2 := setup(t, asyncContacts(fake), withStore(st.Interface))
		require.NoError(t, e2.w.Start(ctx))
		defer e2.stop(t)
		op, err := e2.w.Wait(ctx, res.OperationID)
		require.NoError(t, err)
		require.Equal(t, writeback.OperationSuccess, op.Status)
		require.True(t, op.Results[0].Success())
		require.NotEmpty(t, op.Results[0].ID)
		require.Equal(t, writeback.ClassUnknownOutcome, op.Results[1].Err.Class)
		require.Equal(t, []string{op.Results[0].ID}, op.SuccessfulRecordIDs)
		require.Len(t, fake.Writes(), 2, "nothing was sent again")
		require.Equal(t, 2, fake.Count("contacts"))
	})
}
