package writeback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/store"
)

// crashKillsEnv sets TestCrashSafety's number of kills (default 20).
const crashKillsEnv = "WRITEBACK_CRASH_KILLS"

// TestCrashSafety kills a process making async creates at random points
// (see crashharness_test.go), restarts it on the same bbolt file each
// time, and holds every acknowledged create to its promise. The child
// writes through the HubSpot adapter to the HubSpot simulator, which runs
// in this process; each write run injects a 429, a connection dropped
// after the create took effect, and slow answers, so that kills land
// mid-call.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	t.Parallel()
	r := runAsyncCrash(t, crashKills(t, crashKillsEnv, 20), "", false)
	r.requireKept(t)
}

// TestCrashSafetyWithKey is TestCrashSafety on contacts whose manifest
// names email as their upsert key: a create whose outcome a kill or the
// dropped connection left unknown is looked up by email, so none stays
// unknown and none is written twice.
func TestCrashSafetyWithKey(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	t.Parallel()
	r := runAsyncCrash(t, crashKills(t, crashKillsEnv, 20), "", true)
	r.requireKept(t)
	require.Zero(t, r.unknown, "creates of an object with a key are resolved, never unknown")
}

// TestCrashSafetyCatchesDroppedJob runs TestCrashSafety's harness on a
// store that drops the job of one acknowledged write in ten: the harness
// must report those writes as lost.
func TestCrashSafetyCatchesDroppedJob(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	t.Parallel()
	r := runAsyncCrash(t, 2, "drop-job", false)
	t.Log(r)
	require.NotEmpty(t, r.lost, "the harness reports the dropped writes")
}

// asyncAck is a create a child acknowledged: its operation, its email
// and, for an auto-batched create (grouped), the position it joined its
// group at.
type asyncAck struct {
	op, email string
	grouped   bool
	index     int
}

// runAsyncCrash runs TestCrashSafety's harness with kills kills on the
// broken store named broken ("" for none), with email as the contacts'
// upsert key if keyed, and returns what it found.
func runAsyncCrash(t *testing.T, kills int, broken string, keyed bool) *crashReport {
	srv := hubspottest.NewServer(hubspottest.Options{Tokens: []string{testToken}, TenSecondLimit: -1, DailyLimit: -1})
	defer srv.Close()
	sim := hubspotSim{srv}
	dir := t.TempDir()
	env := []string{childEnvDir + "=" + dir, childEnvURL + "=" + srv.URL, childEnvBreak + "=" + broken}
	if keyed {
		env = append(env, childEnvKeyed+"=1")
	}

	var mu sync.Mutex
	var acks []asyncAck
	ack := func(f []string) {
		mu.Lock()
		defer mu.Unlock()
		acks = append(acks, asyncAck{op: f[0], email: f[1]})
	}
	for i := range kills {
		sim.faults()
		kill := time.Duration(1+rand.IntN(250)) * time.Millisecond
		if broken != "" {
			kill += 250 * time.Millisecond // time for the store to break
		}
		crashChildRun{mode: "async", run: i, env: env, ack: ack}.killed(t, kill)
	}
	srv.ClearFaults()
	crashChildRun{mode: "async-drain", run: kills, env: env}.drained(t, drainBudget(kills))

	mu.Lock()
	defer mu.Unlock()
	r := checkAsyncCrash(t, openBolt(t, dir), sim, acks)
	r.kills = kills
	return r
}

// asyncWorld is the world of TestCrashSafety's children: the async
// tests' installation, written through the HubSpot adapter to the
// simulator at url, four calls at a time; work a kill interrupted
// resumes in the next run.
func asyncWorld(url string) option {
	return func(s *writerSpec) {
		world := asyncContacts
		if os.Getenv(childEnvKeyed) == "1" {
			world = keyedContacts
		}
		world(hubspot.New(hubspot.Config{BaseURL: url}))(s)
		s.concurrency = 4
		s.lease = 500 * time.Millisecond
	}
}

// asyncChild makes async creates from four goroutines until it is killed,
// printing "ack <operation ID> <email>" after each Create returns.
func asyncChild(t *testing.T) {
	ctx := context.Background()
	st, _ := childStore(t)
	w := setup(t, withStore(st), asyncWorld(os.Getenv(childEnvURL))).w
	require.NoError(t, w.Start(ctx))
	var out sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				email := fmt.Sprintf("r%s-g%d-%d@crash.test", os.Getenv(childEnvRun), g, i)
				res, err := w.Create(ctx, contacts, contact(email), async)
				if err != nil {
					fmt.Fprintln(os.Stderr, "create:", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Printf("ack %s %s\n", res.OperationID, email)
				out.Unlock()
				time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// checkAsyncCrash holds every acknowledged create to its promise, reading
// every operation and the simulator's records and call log once.
func checkAsyncCrash(t *testing.T, st store.Interface, sim hubspotSim, acks []asyncAck) *crashReport {
	t.Helper()
	ctx := t.Context()
	w := setup(t, withStore(st), asyncWorld(sim.URL)).w
	inst, err := w.InstallationByGroup(ctx, contacts.Integration, contacts.GroupRef)
	require.NoError(t, err)
	ops := map[string]*writeback.Operation{}
	for token := ""; ; {
		page, err := w.Operations(ctx, &writeback.OperationListParams{InstallationID: inst.ID, PageToken: token, PageSize: writeback.MaxPageSize})
		require.NoError(t, err)
		for _, op := range page.Operations {
			ops[op.ID] = op
		}
		if page.Done {
			break
		}
		token = page.NextPageToken
	}
	held, received, created := sim.contacts()

	r := &crashReport{acked: len(acks)}
	type slot struct {
		op    string
		index int
	}
	seen := map[slot]string{}
	for _, a := range acks {
		if other, ok := seen[slot{a.op, a.index}]; ok {
			r.mismatch("%s and %s were both acknowledged as result %d of operation %s", other, a.email, a.index, a.op)
			continue
		}
		seen[slot{a.op, a.index}] = a.email
		op, ok := ops[a.op]
		switch {
		case !ok:
			r.lose("%s (operation %s): not stored", a.email, a.op)
			continue
		case !op.Status.Terminal():
			r.lose("%s (operation %s): still %s after the drain", a.email, a.op, op.Status)
			continue
		case !a.grouped && len(op.Results) != 1:
			r.mismatch("%s (operation %s): %d results", a.email, a.op, len(op.Results))
			continue
		case a.index < 0 || a.index >= len(op.Results):
			r.lose("%s (operation %s): no result at its position %d of %d", a.email, a.op, a.index, len(op.Results))
			continue
		}
		res := op.Results[a.index]
		switch {
		case res.Err == nil && created[a.email] == 0:
			r.lose("%s (operation %s): reported written as %s, but the provider does not hold it", a.email, a.op, res.ID)
		case res.Err == nil && held[a.email] != res.ID:
			r.mismatch("%s (operation %s): result %s, but the provider holds it as %s", a.email, a.op, res.ID, held[a.email])
		case res.Err == nil:
			if created[a.email] == 1 {
				r.delivered++
			}
		case res.Err.Class == writeback.ClassUnknownOutcome:
			r.unknown++
			if received[a.email] > 0 {
				r.unknownReceived++
			}
			if created[a.email] > 0 {
				r.unknownCreated++
			}
		default:
			r.lose("%s (operation %s): failed: %v", a.email, a.op, res.Err)
		}
	}
	for email, n := range created {
		if n > 1 {
			r.duplicate("%s created %d times", email, n)
		}
	}
	return r
}

// hubspotSim is the HubSpot simulator of TestCrashSafety.
type hubspotSim struct{ *hubspottest.Server }

// faults sets up a write run's faults on contact creates: one 429 and one
// connection dropped after the create took effect (an unknown outcome),
// each at a random point, and slow answers (15 ms) after them, so that
// kills land mid-call.
func (s hubspotSim) faults() {
	const path = "/crm/v3/objects/contacts"
	s.ClearFaults()
	s.InjectFault(hubspottest.Fault{Method: http.MethodPost, Path: path, Status: http.StatusTooManyRequests, Skip: rand.IntN(40)})
	s.InjectFault(hubspottest.Fault{Method: http.MethodPost, Path: path, DropAfterProcessing: true, Skip: rand.IntN(40)})
	s.InjectFault(hubspottest.Fault{Method: http.MethodPost, Path: path, Delay: 15 * time.Millisecond, Times: 1 << 30})
}

// contacts returns, per email, the ID of the contact the simulator holds,
// how many creates of it the simulator received (alone or in a batch),
// and how many took effect: the contact, plus every create refused with
// 409 CONFLICT because it already existed (HubSpot's unique email shows a
// second delivery that way). A batch create refused with 409 names no
// input: it counts for each of its contacts the simulator created before
// the batch arrived.
func (s hubspotSim) contacts() (held map[string]string, received, created map[string]int) {
	held, received, created = map[string]string{}, map[string]int{}, map[string]int{}
	createdAt := map[string]time.Time{}
	for _, r := range s.Records("contacts") {
		email := r.Properties["email"]
		held[email] = r.ID
		created[email]++
		at, err := time.Parse("2006-01-02T15:04:05.000Z", r.Properties["createdate"])
		if err == nil {
			createdAt[email] = at.Add(time.Millisecond) // createdate is truncated to the millisecond
		}
	}
	for _, c := range s.CallsTo(http.MethodPost, "/crm/v3/objects/contacts") {
		type input struct {
			Properties map[string]string `json:"properties"`
		}
		var body struct {
			input
			Inputs []input `json:"inputs"`
		}
		if json.Unmarshal(c.Body, &body) != nil {
			continue
		}
		if !strings.HasSuffix(c.Path, "/batch/create") {
			email := body.Properties["email"]
			received[email]++
			if c.Status == http.StatusConflict {
				created[email]++
			}
			continue
		}
		for _, in := range body.Inputs {
			email := in.Properties["email"]
			received[email]++
			if at, ok := createdAt[email]; ok && c.Status == http.StatusConflict && !at.After(c.Time) {
				created[email]++
			}
		}
	}
	return held, received, created
}
