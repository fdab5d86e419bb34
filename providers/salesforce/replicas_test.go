package salesforce_test

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/internal/simhttp"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// TestDailyReserveAcrossReplicas spends an org's nearly exhausted daily
// budget from 3 replicas of an application, each with its own adapter (so
// its own pacer), writing from 4 goroutines each, with 0–50 ms of latency
// each way. Sforce-Limit-Info reports the org's usage, whoever made the
// calls, so each replica sees the others' and together they keep the
// default 10% reserve, but for the calls in flight when it is reached (at
// most the replicas' concurrency, 12 here).
func TestDailyReserveAcrossReplicas(t *testing.T) {
	t.Parallel()
	const limit, usedByOthers, replicas, writers = 1000, 880, 3, 4
	// Outside the bubble: its listener would keep the fake clock from
	// advancing. The replicas use its in-process client.
	srv := salesforcetest.NewServer(salesforcetest.Options{DailyLimit: limit})
	t.Cleanup(srv.Close)
	synctest.Test(t, func(t *testing.T) {
		srv.SetAPIUsage(usedByOthers)
		var written, refused atomic.Int64
		var wg sync.WaitGroup
		for i := range replicas {
			p := salesforce.New(salesforce.Config{HTTPClient: &http.Client{Transport: simhttp.NewLatency(srv.InProcessClient().Transport, 50*time.Millisecond, uint64(i+1))}})
			ts := oauth2.StaticTokenSource(srv.Token())
			for range writers {
				wg.Go(func() {
					for {
						_, err := p.Write(t.Context(), &writeback.ProviderRequest{
							InstallationID: "inst-1",
							Connection:     writeback.Connection{Provider: "salesforce", InstanceURL: srv.URL},
							TokenSource:    ts,
							Object:         "Account",
							Type:           writeback.WriteTypeCreate,
							Records:        []writeback.Record{rec("Name", "Acme")},
						})
						if errors.Is(err, salesforce.ErrDailyReserve) {
							refused.Add(1)
							return
						}
						if err != nil {
							t.Errorf("write: %v", err)
							return
						}
						written.Add(1)
					}
				})
			}
		}
		wg.Wait()
		used, _ := srv.APIUsage()
		t.Logf("daily budget %d, %d used by other integrations, %d replicas of %d goroutines: %d writes, then every goroutine refused (ErrDailyReserve); %d calls left for the others (reserve %d)",
			limit, usedByOthers, replicas, writers, written.Load(), limit-used, limit/10)
		require.Equal(t, int64(replicas*writers), refused.Load(), "every writer stopped at the reserve")
		require.Equal(t, int(written.Load()), srv.Count("Account"))
		require.Equal(t, usedByOthers+int(written.Load()), used, "a refusal sends nothing")
		require.GreaterOrEqual(t, limit-used, limit/10-replicas*writers, "the reserve is kept, but for the calls in flight")
		require.LessOrEqual(t, limit-used, limit/10, "the budget above the reserve is used")
	})
}
