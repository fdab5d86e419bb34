package writeback_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

// resendingFake is a Fake whose writes report the HTTP calls an adapter
// that resends 503s would have made: the first write fails after three
// 503s, later ones succeed after one 503 and a resend.
type resendingFake struct {
	*providertest.Fake
	mu     sync.Mutex
	writes int
}

func (f *resendingFake) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	f.mu.Lock()
	f.writes++
	first := f.writes == 1
	f.mu.Unlock()
	path := "/objects/" + req.Object
	if first {
		return nil, &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnavailable, StatusCode: 503,
			Message: "service unavailable", RecordIndex: writeback.NoRecord, Calls: []writeback.ProviderCall{
				{Method: "POST", Path: path, Status: 503},
				{Method: "POST", Path: path, Status: 503, Wait: 200 * time.Millisecond},
				{Method: "POST", Path: path, Status: 503, Wait: 400 * time.Millisecond},
			}}
	}
	resp, err := f.Fake.Write(ctx, req)
	if resp != nil {
		resp.Calls = []writeback.ProviderCall{
			{Method: "POST", Path: path, Status: 503},
			{Method: "POST", Path: path, Status: 201, Wait: 200 * time.Millisecond},
		}
	}
	return resp, err
}

// callLines returns the log lines listing provider calls.
func callLines(op *writeback.Operation) []string {
	var out []string
	for _, l := range op.Logs {
		if len(l.Calls) > 0 {
			out = append(out, l.Message)
		}
	}
	return out
}

// TestProviderCallsOfEveryAttempt checks that an operation counts the
// provider calls of all its attempts, the adapter's resends included, and
// logs one line per attempt listing them: for a plain async write and an
// auto-batch group, each retried once by the engine.
func TestProviderCallsOfEveryAttempt(t *testing.T) {
	t.Parallel()
	for _, opts := range []*writeback.WriteOpts{
		{Mode: writeback.ModeAsync},
		{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Second}},
	} {
		synctest.Test(t, func(t *testing.T) {
			ctx := t.Context()
			fake := &resendingFake{Fake: providertest.NewFake("hubspot", writeback.Capabilities{MaxBatchSize: 100})}
			e := setup(t, asyncContacts(fake))
			require.NoError(t, e.w.Start(ctx))
			defer e.stop(t)

			res, err := e.w.Create(ctx, contacts, contact("ada@example.com"), opts)
			require.NoError(t, err)
			op, err := e.w.Wait(ctx, res.OperationID)
			require.NoError(t, err)
			require.Equal(t, writeback.OperationSuccess, op.Status, op.Summary)
			require.Equal(t, 2, op.Attempts)
			require.Equal(t, 5, op.ProviderCalls)
			require.Equal(t, []string{
				"attempt 1: 3 provider calls: POST /objects/contacts 503, 503 after 200ms, 503 after 400ms",
				"attempt 2: 2 provider calls: POST /objects/contacts 503, 201 after 200ms",
			}, callLines(op))
		})
	}
}
