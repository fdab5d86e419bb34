package writeback_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/memstore"
)

// damagingStore reports stored records damaged, as a disk store does when
// its checks fail: the job payload of one operation comes back as a store's
// note instead of the engine's encoding, and another operation's record
// reads as corrupt until it is completed.
type damagingStore struct {
	store.Interface
	mu          sync.Mutex
	badPayload  string
	badOpRecord string
}

func (s *damagingStore) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.Job, error) {
	jobs, err := s.Interface.Claim(ctx, now, leaseUntil, limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range jobs {
		if jobs[i].ID == s.badPayload {
			jobs[i].Payload = []byte("store: job " + jobs[i].ID + " cannot run: its stored record is damaged (checksum mismatch)")
		}
	}
	return jobs, err
}

func (s *damagingStore) Operation(ctx context.Context, id string) (store.Operation, error) {
	s.mu.Lock()
	bad := id == s.badOpRecord
	s.mu.Unlock()
	if bad {
		return store.Operation{}, fmt.Errorf("store: operation %s: checksum mismatch: %w", id, store.ErrCorrupt)
	}
	return s.Interface.Operation(ctx, id)
}

func (s *damagingStore) Complete(ctx context.Context, op store.Operation, lease store.Lease) error {
	err := s.Interface.Complete(ctx, op, lease)
	s.mu.Lock()
	if err == nil && op.ID == s.badOpRecord {
		s.badOpRecord = "" // replaced
	}
	s.mu.Unlock()
	return err
}

// TestDamagedRecordsFailTheirOperationOnly: a job whose stored payload or
// operation record cannot be read fails its operation with a clear error,
// and the rest of the queue runs.
func TestDamagedRecordsFailTheirOperationOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := &damagingStore{Interface: memstore.New()}
	fake := providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100})
	done := make(chan string, 3)
	e := setup(t, asyncContacts(fake), withStore(st), withOnComplete(func(op *writeback.Operation) { done <- op.ID }))
	var ids []string
	for _, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		res, err := e.w.Create(ctx, contacts, contact(email), async)
		require.NoError(t, err)
		ids = append(ids, res.OperationID)
	}
	st.mu.Lock()
	st.badPayload, st.badOpRecord = ids[0], ids[1]
	st.mu.Unlock()

	require.NoError(t, e.w.Start(ctx))
	defer e.stop(t)
	got := map[string]bool{}
	deadline := time.After(time.Minute)
	for len(got) < 3 {
		select {
		case id := <-done:
			got[id] = true
		case <-deadline:
			t.Fatalf("completed %v of %v", got, ids)
		}
	}

	a, err := e.w.Operation(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, writeback.OperationFailure, a.Status)
	require.Contains(t, a.Summary, "cannot run: its stored record is damaged (checksum mismatch)", "the store's explanation is shown")

	b, err := e.w.Operation(ctx, ids[1])
	require.NoError(t, err)
	require.Equal(t, writeback.OperationFailure, b.Status)
	require.Contains(t, b.Summary, "stored records are damaged")

	c, err := e.w.Operation(ctx, ids[2])
	require.NoError(t, err)
	require.Equal(t, writeback.OperationSuccess, c.Status)
	require.Equal(t, 1, fake.Count("contacts"), "only the undamaged write was sent")
}
