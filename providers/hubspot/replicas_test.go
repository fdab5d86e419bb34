package hubspot_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/providers/internal/simhttp"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

// replicaRun is what a run of Writers sharing one HubSpot account measured
// at the simulator.
type replicaRun struct {
	replicas, writes int
	limit            int           // requests allowed per rolling 10 s
	landed           int           // records created
	calls, limited   int           // requests, and those answered 429
	span             time.Duration // from the first request to the last
	// steady counts the requests accepted in the whole windows after the
	// first (whose room any sender gets at once) and before the last
	// (which the run may not fill); windows is how many.
	steady, windows int
}

// share429 is the share of requests answered 429.
func (r replicaRun) share429() float64 {
	if r.calls == 0 {
		return 0
	}
	return float64(r.limited) / float64(r.calls)
}

// perSecond is the requests HubSpot accepted per second in the steady
// windows.
func (r replicaRun) perSecond() float64 {
	if r.windows == 0 {
		return 0
	}
	return float64(r.steady) / (time.Duration(r.windows) * hubspottest.RateWindow).Seconds()
}

// ofLimit is perSecond as a share of the account's limit.
func (r replicaRun) ofLimit() float64 {
	return r.perSecond() / (float64(r.limit) / hubspottest.RateWindow.Seconds())
}

// String summarises the run.
func (r replicaRun) String() string {
	return fmt.Sprintf("%d replica(s), %d writes: %d landed, %d requests, %d answered 429 (%.2f%%); %.2f requests/s accepted in windows 2–%d = %.0f%% of %d per 10 s; %s in all",
		r.replicas, r.writes, r.landed, r.calls, r.limited, 100*r.share429(), r.perSecond(), r.windows+1, 100*r.ofLimit(), r.limit, r.span.Round(time.Millisecond))
}

// replicaManifest has one HubSpot integration writing contacts.
const replicaManifest = `
specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    write:
      objects:
        - objectName: contacts
`

// replica is one application replica: its own Writer, adapter and store,
// so it shares no pacing state in memory with the others; only the
// account (the simulator and its token) is shared.
func replica(t testing.TB, baseURL string, hc *http.Client) (*writeback.Writer, writeback.Target) {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(replicaManifest))
	require.NoError(t, err)
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:        m,
		Providers:       []writeback.Provider{hubspot.New(hubspot.Config{BaseURL: baseURL, HTTPClient: hc})},
		Store:           memstore.New(),
		TokenSourceFunc: providertest.StaticTokens(hubspottest.DefaultToken),
	})
	require.NoError(t, err)
	_, err = w.CreateInstallation(t.Context(), &writeback.Installation{
		Integration: "crm", GroupRef: "g1",
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {ObjectName: "contacts"},
		}}},
	})
	require.NoError(t, err)
	return w, writeback.Target{Integration: "crm", GroupRef: "g1", Object: "contacts"}
}

// runReplicas runs replicas Writers, each writing its share of writes
// single async creates to one account as fast as it can (the Writers'
// default concurrency, 4 calls at a time each), and measures the requests
// at the simulator. hc returns the HTTP client of replica i.
func runReplicas(t testing.TB, srv *hubspottest.Server, limit int, hc func(i int) *http.Client, replicas, writes int) replicaRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Hour)
	defer cancel()
	before := len(srv.Calls())
	type submitted struct {
		w   *writeback.Writer
		ids []string
	}
	reps := make([]submitted, replicas)
	for i := range reps {
		w, target := replica(t, srv.URL, hc(i))
		reps[i].w = w
		for j := i; j < writes; j += replicas {
			res, err := w.Create(ctx, target, writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("r%d-%d@example.com", i, j)}},
				&writeback.WriteOpts{Mode: writeback.ModeAsync})
			require.NoError(t, err)
			reps[i].ids = append(reps[i].ids, res.OperationID)
		}
	}
	for _, r := range reps {
		require.NoError(t, r.w.Start(ctx))
	}
	var wg sync.WaitGroup
	for _, r := range reps {
		wg.Go(func() {
			for _, id := range r.ids {
				op, err := r.w.Wait(ctx, id)
				if err != nil {
					t.Errorf("wait %s: %v", id, err)
					return
				}
				if op.Status != writeback.OperationSuccess {
					t.Errorf("operation %s: %s", id, op.Status)
				}
			}
		})
	}
	wg.Wait()
	for _, r := range reps {
		require.NoError(t, r.w.Stop(context.Background()))
	}

	calls := srv.Calls()[before:]
	run := replicaRun{replicas: replicas, writes: writes, limit: limit, calls: len(calls), landed: srv.Count("contacts")}
	if len(calls) > 1 {
		run.span = calls[len(calls)-1].Time.Sub(calls[0].Time)
	}
	run.windows = max(int(run.span/hubspottest.RateWindow)-1, 0)
	for _, c := range calls {
		if c.Status == http.StatusTooManyRequests {
			run.limited++
			continue
		}
		// In a rolling window, any whole number of windows holds at
		// most that many times the limit.
		if at := c.Time.Sub(calls[0].Time); at > hubspottest.RateWindow && at <= time.Duration(run.windows+1)*hubspottest.RateWindow {
			run.steady++
		}
	}
	return run
}

// TestPacingAcrossReplicas runs 1 and then 3 Writers, each with its own
// adapter and store, writing single async creates as fast as they can to
// one HubSpot account limited to 100 requests per rolling 10 s, for six
// windows, on the bubble's fake clock with 0–100 ms of latency each way.
// HubSpot's X-HubSpot-RateLimit-Remaining counts the account's calls,
// whoever made them, so each replica's pacer sees the others' use and
// shares the window with them: 3 replicas together stay at or below 1 %
// 429s and still use most of the limit. Run with -v for the figures; set
// WRITEBACK_PACING_FIGURES=1 to add 2, 5 and 8 replicas and 0 and 300 ms
// of latency.
func TestPacingAcrossReplicas(t *testing.T) {
	t.Parallel()
	const limit, writes = 100, 600
	type setup struct {
		replicas int
		latency  time.Duration
	}
	setups := []setup{{1, 100 * time.Millisecond}, {3, 100 * time.Millisecond}}
	if os.Getenv("WRITEBACK_PACING_FIGURES") != "" {
		setups = nil
		for _, lat := range []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond} {
			for _, n := range []int{1, 2, 3, 5, 8} {
				setups = append(setups, setup{n, lat})
			}
		}
	}
	for _, s := range setups {
		t.Run(fmt.Sprintf("replicas=%d,latency=%s", s.replicas, s.latency), func(t *testing.T) {
			t.Parallel()
			// Outside the bubble: its listener would keep the fake clock
			// from advancing. The replicas use its in-process client.
			srv := hubspottest.NewServer(hubspottest.Options{TenSecondLimit: limit, DailyLimit: -1})
			t.Cleanup(srv.Close)
			synctest.Test(t, func(t *testing.T) {
				hc := func(i int) *http.Client {
					return &http.Client{Transport: simhttp.NewLatency(srv.InProcessClient().Transport, s.latency, uint64(i+1))}
				}
				r := runReplicas(t, srv, limit, hc, s.replicas, writes)
				t.Logf("latency up to %v each way: %s", s.latency, r)
				require.Equal(t, writes, r.landed, "every write lands once")
				if s.replicas > 3 {
					return // figures only
				}
				require.LessOrEqual(t, r.share429(), 0.01, "at most 1%% of requests answered 429")
				require.GreaterOrEqual(t, r.ofLimit(), 0.85, "most of the limit is used")
			})
		})
	}
}

// BenchmarkPacingReplicas is TestPacingAcrossReplicas on the real clock
// and loopback: 1 and then 3 Writers, each with its own adapter and store,
// write 500 single async creates between them to one simulated account
// limited to 100 requests per rolling 10 s (five windows, about 50 s per
// run). It reports the share of requests answered 429 and the accepted
// requests per second after the first window, also as a share of the
// limit:
//
//	go test -run '^$' -bench BenchmarkPacingReplicas -benchtime 1x ./providers/hubspot/
func BenchmarkPacingReplicas(b *testing.B) {
	const limit, writes = 100, 500
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			for range b.N {
				srv := hubspottest.NewServer(hubspottest.Options{TenSecondLimit: limit, DailyLimit: -1})
				r := runReplicas(b, srv, limit, func(int) *http.Client { return srv.Client() }, n, writes)
				srv.Close()
				if r.landed != writes {
					b.Fatalf("%d of %d writes landed", r.landed, writes)
				}
				b.ReportMetric(float64(r.calls), "requests")
				b.ReportMetric(100*r.share429(), "%429")
				b.ReportMetric(r.perSecond(), "accepted/s")
				b.ReportMetric(100*r.ofLimit(), "%of-limit")
			}
		})
	}
}
