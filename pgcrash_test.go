package writeback_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/pgstore"
	"github.com/writebackhq/writeback/store/pgstore/pgtest"
)

// The PostgreSQL crash tests run three child processes at once (see
// crashharness_test.go), each a replica of one app: its own Writer on its
// own pgstore.Store, all on one database. The parent SIGKILLs one of them
// at a random point, restarts it, and goes on until it made the kills it
// was asked for; the others keep running meanwhile and pick up the work a
// killed replica left leased once its lease runs out. A last child drains
// the queue, and every acknowledged write is held to its promise as in
// TestCrashSafety.

// Variables of the PostgreSQL crash tests.
const (
	// pgCrashKillsEnv sets TestPGCrashSafety's number of kills (default 20).
	pgCrashKillsEnv = "WRITEBACK_PG_CRASH_KILLS"
	// childEnvPG is the children's database.
	childEnvPG = "WRITEBACK_CRASH_PG"
)

// pgReplicas is the number of child processes running at once.
const pgReplicas = 3

// TestPGCrashSafety kills replicas making async and auto-batched creates
// through the HubSpot adapter to one HubSpot simulator, at random points,
// while the other replicas run on, and holds every acknowledged create to
// its promise: delivered exactly once, with its own result (for an
// auto-batched one, the result at the position it joined its group), or
// reported as an unknown outcome and held at most once. The simulator
// injects a 429, a connection dropped after the create took effect and
// slow answers, renewed at every kill.
func TestPGCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	t.Parallel()
	r := runPGCrash(t, crashKills(t, pgCrashKillsEnv, 20), "")
	r.requireKept(t)
}

// TestPGCrashSafetyCatchesDroppedJob runs TestPGCrashSafety's harness on
// stores that drop the job of one acknowledged async write in ten: the
// harness must report those writes as lost.
func TestPGCrashSafetyCatchesDroppedJob(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	t.Parallel()
	r := runPGCrash(t, 3, "drop-job")
	t.Log(r)
	require.NotEmpty(t, r.lost, "the harness reports the dropped writes")
}

// runPGCrash runs TestPGCrashSafety's harness with kills kills on the
// broken store named broken ("" for none) and returns what it found.
func runPGCrash(t *testing.T, kills int, broken string) *crashReport {
	url := pgtest.URL(t)
	srv := hubspottest.NewServer(hubspottest.Options{Tokens: []string{testToken}, TenSecondLimit: -1, DailyLimit: -1})
	defer srv.Close()
	sim := hubspotSim{srv}
	st := openPG(t, url)
	setup(t, withStore(st), asyncWorld(srv.URL)) // the installation, before the replicas race to make it
	env := []string{childEnvPG + "=" + url, childEnvURL + "=" + srv.URL, childEnvBreak + "=" + broken}

	var mu sync.Mutex
	var acks []asyncAck
	ack := func(f []string) {
		a := asyncAck{op: f[0], email: f[2]}
		if f[1] != "-" {
			a.grouped = true
			var err error
			if a.index, err = strconv.Atoi(f[1]); err != nil {
				a.index = -1
			}
		}
		mu.Lock()
		defer mu.Unlock()
		acks = append(acks, a)
	}
	sim.faults()
	var made, runs atomic.Int64
	errs := make(chan error, pgReplicas)
	for range pgReplicas {
		go func() {
			for made.Add(1) <= int64(kills) {
				kill := time.Duration(100+rand.IntN(900)) * time.Millisecond
				if broken != "" {
					kill += 250 * time.Millisecond // time for the store to break
				}
				run := int(runs.Add(1))
				if err := (crashChildRun{mode: "pg", run: run, env: env, ack: ack}).kill(kill); err != nil {
					errs <- err
					return
				}
				sim.faults()
			}
			errs <- nil
		}()
	}
	for range pgReplicas {
		require.NoError(t, <-errs)
	}
	srv.ClearFaults()
	crashChildRun{mode: "pg-drain", run: int(runs.Add(1)), env: env}.drained(t, drainBudget(kills))

	mu.Lock()
	defer mu.Unlock()
	r := checkAsyncCrash(t, st, sim, acks)
	r.kills = kills
	return r
}

// openPG migrates the database at url and opens a Store on it, closed
// (with its pool) when the test ends.
func openPG(t *testing.T, url string) *pgstore.Store {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t, url)
	require.NoError(t, pgstore.Migrate(ctx, pool, nil))
	st, err := pgstore.New(ctx, pool, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// pgChildStore opens the child's store on its database, broken as
// WRITEBACK_CRASH_BREAK asks, and returns it with the pgstore under it.
func pgChildStore(t *testing.T) (store.Interface, *pgstore.Store) {
	st := openPG(t, os.Getenv(childEnvPG))
	return notifying{breakStore(t, st), st}, st
}

// notifying is a store wrapped by a test that still tells the Writer of
// new work and completions through the pgstore under it.
type notifying struct {
	store.Interface
	pg *pgstore.Store
}

func (s notifying) Subscribe(ctx context.Context) (<-chan store.Event, error) {
	return s.pg.Subscribe(ctx)
}

// pgChild makes creates from four goroutines until it is killed: two make
// async creates and print "ack <operation ID> - <email>", two auto-batch
// them (groups flushed after a second) and print "ack <operation ID>
// <position in the group> <email>". Its store tells it the position
// (joinRecorder).
func pgChild(t *testing.T) {
	ctx := context.Background()
	st, pg := pgChildStore(t)
	w := setup(t, withStore(notifying{joinRecorder{st}, pg}), asyncWorld(os.Getenv(childEnvURL))).w
	require.NoError(t, w.Start(ctx))
	var out sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				email := fmt.Sprintf("p%s-g%d-%d@crash.test", os.Getenv(childEnvRun), g, i)
				opts, index := async, -1
				wctx := ctx
				if g%2 == 1 {
					opts = autoBatch(time.Second)
					wctx = context.WithValue(ctx, joinSlot{}, &index)
				}
				res, err := w.Create(wctx, contacts, contact(email), opts)
				if err != nil {
					fmt.Fprintln(os.Stderr, "create:", err)
					os.Exit(3)
				}
				pos := "-"
				if g%2 == 1 {
					pos = strconv.Itoa(index)
				}
				out.Lock()
				fmt.Printf("ack %s %s %s\n", res.OperationID, pos, email)
				out.Unlock()
				time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// TestCrashHarnessCountsRedeliveries: the crash tests' count of creates
// that took effect includes a second delivery the simulator refused with
// 409 CONFLICT, alone or in a batch, and nothing else of a refused batch.
func TestCrashHarnessCountsRedeliveries(t *testing.T) {
	t.Parallel()
	var tick atomic.Int64
	clock := func() time.Time {
		return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(tick.Add(1)) * time.Second)
	}
	srv := hubspottest.NewServer(hubspottest.Options{Tokens: []string{testToken}, NowFunc: clock})
	defer srv.Close()
	post := func(path, body string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/crm/v3/objects/contacts"+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	batch := `{"inputs":[{"properties":{"email":"%s"}},{"properties":{"email":"%s"}}]}`
	require.Equal(t, http.StatusCreated, post("/batch/create", fmt.Sprintf(batch, "a@crash.test", "b@crash.test")))
	require.Equal(t, http.StatusConflict, post("/batch/create", fmt.Sprintf(batch, "a@crash.test", "c@crash.test")))
	require.Equal(t, http.StatusCreated, post("", `{"properties":{"email":"d@crash.test"}}`))
	require.Equal(t, http.StatusConflict, post("", `{"properties":{"email":"d@crash.test"}}`))

	held, received, created := hubspotSim{srv}.contacts()
	require.Len(t, held, 3)
	require.Equal(t, map[string]int{"a@crash.test": 2, "b@crash.test": 1, "c@crash.test": 1, "d@crash.test": 2}, received)
	require.Equal(t, map[string]int{"a@crash.test": 2, "b@crash.test": 1, "d@crash.test": 2}, created)
}
