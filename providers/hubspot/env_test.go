package hubspot_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/providertest"
)

// Real-account runs: set WRITEBACK_HUBSPOT_TOKEN to a private app token
// with the crm.objects.contacts.read and .write scopes (and optionally
// WRITEBACK_HUBSPOT_BASE_URL). The contacts the tests create are deleted
// afterwards. Without the token the tests are skipped.
const (
	envToken   = "WRITEBACK_HUBSPOT_TOKEN"
	envBaseURL = "WRITEBACK_HUBSPOT_BASE_URL"
)

// tracking is a provider that remembers the records it created, so a
// real-account test can delete them.
type tracking struct {
	*hubspot.Provider
	mu  sync.Mutex
	ids []string
}

func (tp *tracking) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	resp, err := tp.Provider.Write(ctx, req)
	if err == nil && (req.Type == writeback.WriteTypeCreate || req.Type == writeback.WriteTypeUpsert) {
		tp.mu.Lock()
		for _, r := range resp.Results {
			if r.Err == nil && r.ID != "" && (r.Created || req.Type == writeback.WriteTypeCreate) {
				tp.ids = append(tp.ids, r.ID)
			}
		}
		tp.mu.Unlock()
	}
	return resp, err
}

// TestRealAccountConformance runs the conformance suite against a real
// HubSpot account.
func TestRealAccountConformance(t *testing.T) {
	token := os.Getenv(envToken)
	if token == "" {
		t.Skipf("set %s to run against a real HubSpot account", envToken)
	}
	t.Parallel()
	run := time.Now().UnixNano()
	fields := []string{"email", "firstname", "lifecyclestage"}
	var harnesses atomic.Int64
	providertest.Run(t, func(t *testing.T) *providertest.Harness {
		tp := &tracking{Provider: hubspot.New(hubspot.Config{BaseURL: os.Getenv(envBaseURL)})}
		ts := hubspot.StaticToken(token)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, id := range tp.ids {
				_, _ = tp.Provider.Write(ctx, &writeback.ProviderRequest{InstallationID: "real", TokenSource: ts, Object: "contacts", Type: writeback.WriteTypeDelete, Records: []writeback.Record{{ID: id}}})
			}
		})
		h := harnesses.Add(1)
		return &providertest.Harness{
			Provider: tp,
			Request:  writeback.ProviderRequest{InstallationID: "real", TokenSource: ts, Object: "contacts"},
			NewFields: func(i int) map[string]any {
				return map[string]any{"email": fmt.Sprintf("wb-%d-%d-%d@example.com", run, h, i), "firstname": fmt.Sprintf("Writeback %d", i)}
			},
			UpdateFields: func(i int) map[string]any {
				return map[string]any{"firstname": fmt.Sprintf("Updated %d", i), "lifecyclestage": "lead"}
			},
			InvalidFields: func() map[string]any {
				return map[string]any{"email": fmt.Sprintf("wb-%d-%d-invalid@example.com", run, h), "writeback_no_such_property": "x"}
			},
			InvalidField: "writeback_no_such_property",
			MissingID:    "1",
			Lookup: func(id string) (map[string]any, bool) {
				got, err := tp.Read(t.Context(), &writeback.ReadRequest{InstallationID: "real", TokenSource: ts, Object: "contacts", IDs: []string{id}, Fields: fields})
				require.NoError(t, err)
				v, ok := got[id]
				return v, ok
			},
			UpsertKey: "email",
		}
	})
}
