package transport

import (
	"errors"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// burstResult is what one simulated burst of single writes measured.
type burstResult struct {
	writes, landed, refused int
	sends, rejected         int
	worst                   int
	took                    time.Duration
	dailyLeft               int
}

// share429 is the share of sends the provider answered 429.
func (r burstResult) share429() float64 {
	if r.sends == 0 {
		return 0
	}
	return float64(r.rejected) / float64(r.sends)
}

// utilisation is the achieved write rate as a share of the allowed rate
// of max per 10 s.
func (r burstResult) utilisation(max int) float64 {
	return (float64(r.landed) / r.took.Seconds()) / (float64(max) / 10)
}

// simulateBurst sends writes single creates from writers goroutines through
// one client against a provider limited to max per 10 s rolling window,
// inside the caller's synctest bubble. A write the client returns with a 429
// is retried the way the engine does (after Retry-After, else 1 s) until it
// lands; a *ReserveError ends it. daily < 0 means no daily budget headers.
func simulateBurst(t *testing.T, pace bool, latency time.Duration, max, writes, writers, daily, dailyMax int) burstResult {
	t.Helper()
	return simulateReplicas(t, pace, latency, max, writes, 1, writers, daily, dailyMax)
}

// simulateReplicas is simulateBurst for clients processes (each with its
// own Client, so its own pacer) of writers goroutines each, sharing one
// account.
func simulateReplicas(t *testing.T, pace bool, latency time.Duration, max, writes, clients, writers, daily, dailyMax int) burstResult {
	t.Helper()
	ctx := t.Context()
	srv := &windowServer{window: 10 * time.Second, max: max, latency: latency, daily: daily, dailyMax: dailyMax}
	cfg := Config{Provider: "hubspot", HTTPClient: &http.Client{Transport: roundTripFunc(srv.roundTrip)}}
	if pace {
		cfg.Limits = hubspotLimits
	}
	cs := make([]*Client, clients)
	for i := range cs {
		cs[i] = New(cfg)
	}
	var next, landed, refused atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients * writers {
		c := cs[i/writers]
		wg.Go(func() {
			for next.Add(1) <= int64(writes) {
				for {
					resp, err := c.Do(ctx, &Request{Method: http.MethodPost, URL: "https://api.example.test/crm/v3/objects/contacts", Body: []byte(`{"properties":{}}`), Key: "inst-1"})
					var re *ReserveError
					if errors.As(err, &re) {
						refused.Add(1)
						break
					}
					if err != nil {
						t.Errorf("write failed: %v", err)
						return
					}
					if resp.StatusCode == http.StatusCreated {
						landed.Add(1)
						break
					}
					if resp.StatusCode != http.StatusTooManyRequests {
						t.Errorf("write answered %d", resp.StatusCode)
						return
					}
					wait, ok := ParseRetryAfter(resp.Header, time.Now())
					if !ok {
						wait = time.Second
					}
					time.Sleep(wait) // the engine's retry, on the bubble's clock
				}
			}
		})
	}
	wg.Wait()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return burstResult{
		writes: writes, landed: int(landed.Load()), refused: int(refused.Load()),
		sends: srv.sends, rejected: srv.rejected, worst: srv.worst,
		took: time.Since(start), dailyLeft: srv.daily,
	}
}

// TestPacingFigures measures, on the bubble's fake clock, a burst of 10×N
// single writes from 8 goroutines against a provider allowing N per 10 s,
// paced and (as the baseline) unpaced. Run with -v to see the figures; set
// WRITEBACK_PACING_FIGURES=1 to add HubSpot's 190 per 10 s.
func TestPacingFigures(t *testing.T) {
	t.Parallel()
	limits := []int{10, 100}
	if os.Getenv("WRITEBACK_PACING_FIGURES") != "" {
		limits = append(limits, 190)
	}
	for _, max := range limits {
		synctest.Test(t, func(t *testing.T) {
			base := simulateBurst(t, false, 0, max, 10*max, 8, -1, 0)
			paced := simulateBurst(t, true, 0, max, 10*max, 8, -1, 0)
			slow := simulateBurst(t, true, 300*time.Millisecond, max, 10*max, 8, -1, 0)
			for _, r := range []struct {
				name string
				burstResult
			}{{"unpaced", base}, {"paced", paced}, {"paced, latency 0-300 ms each way", slow}} {
				t.Logf("N=%d/10s %s: writes=%d landed=%d sends=%d 429s=%d (%.2f%%) worst-window=%d took=%s rate=%.0f%% of N/10s",
					max, r.name, r.writes, r.landed, r.sends, r.rejected, 100*r.share429(), r.worst, r.took, 100*r.utilisation(max))
			}
			require.Equal(t, paced.writes, paced.landed, "every write lands")
			require.Equal(t, slow.writes, slow.landed, "every write lands")
			require.LessOrEqual(t, slow.share429(), 0.01)
			require.Equal(t, base.writes, base.landed, "every write lands")
			require.LessOrEqual(t, paced.share429(), 0.01)
			require.Greater(t, base.share429(), paced.share429(), "pacing must beat the unpaced baseline")
			require.GreaterOrEqual(t, paced.utilisation(max), 0.85, "pacing uses most of the allowed rate")
		})
	}
}

// TestPacingKeepsDailyReserve spends a nearly exhausted daily budget from 8
// goroutines: the client keeps the 10% reserve and refuses the rest.
func TestPacingKeepsDailyReserve(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const dailyMax, left, writers = 1000, 150, 8
		r := simulateBurst(t, true, 50*time.Millisecond, 100, 200, writers, left, dailyMax)
		t.Logf("daily %d/%d left, 200 writes from %d goroutines: landed=%d refused=%d (ReserveError) left after=%d (reserve %d)",
			left, dailyMax, writers, r.landed, r.refused, r.dailyLeft, dailyMax/10)
		require.Equal(t, r.writes, r.landed+r.refused)
		require.GreaterOrEqual(t, r.dailyLeft, dailyMax/10, "the reserve is never spent")
		require.LessOrEqual(t, r.dailyLeft, dailyMax/10+writers, "the budget above the reserve is used")
	})
}

// TestPacingAcrossClients runs 3 clients, each with its own pacer as in
// three replicas of an application, of 8 goroutines each, writing 10×N
// single creates between them to one account allowed N per rolling 10 s,
// with 0–100 ms of latency each way: WindowRemaining shows each client the
// others' calls, and together they stay at or below 1 % 429s.
func TestPacingAcrossClients(t *testing.T) {
	t.Parallel()
	for _, max := range []int{100, 190} {
		synctest.Test(t, func(t *testing.T) {
			r := simulateReplicas(t, true, 100*time.Millisecond, max, 10*max, 3, 8, -1, 0)
			t.Logf("N=%d/10s, 3 clients: writes=%d landed=%d sends=%d 429s=%d (%.2f%%) worst-window=%d took=%s rate=%.0f%% of N/10s",
				max, r.writes, r.landed, r.sends, r.rejected, 100*r.share429(), r.worst, r.took, 100*r.utilisation(max))
			require.Equal(t, r.writes, r.landed, "every write lands")
			require.LessOrEqual(t, r.share429(), 0.01)
			require.GreaterOrEqual(t, r.utilisation(max), 0.85, "most of the allowed rate is used")
		})
	}
}

// TestDailyReserveAcrossClients spends a nearly exhausted daily budget from
// 3 clients (replicas) of 4 goroutines each: each sees the account's
// remaining budget in the headers, so together they keep the reserve, but
// for the sends in flight when it is reached (at most their concurrency).
func TestDailyReserveAcrossClients(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const dailyMax, left, clients, writers = 1000, 150, 3, 4
		r := simulateReplicas(t, true, 50*time.Millisecond, 100, 200, clients, writers, left, dailyMax)
		t.Logf("daily %d/%d left, 200 writes from %d clients of %d goroutines: landed=%d refused=%d (ReserveError) left after=%d (reserve %d)",
			left, dailyMax, clients, writers, r.landed, r.refused, r.dailyLeft, dailyMax/10)
		require.Equal(t, r.writes, r.landed+r.refused)
		require.GreaterOrEqual(t, r.dailyLeft, dailyMax/10-clients*writers, "the reserve is kept, but for the sends in flight")
		require.LessOrEqual(t, r.dailyLeft, dailyMax/10+clients*writers, "the budget above the reserve is used")
	})
}
