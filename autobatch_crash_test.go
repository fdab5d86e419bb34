package writeback_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
)

// The auto-batch crash tests run a Writer in a child process (see
// crashharness_test.go) that writes through remoteProvider to a provider
// served by this process, so that what the provider received survives
// the child.

// autoBatchKillsEnv sets TestAutoBatchCrashSafety's number of kills
// (default 10).
const autoBatchKillsEnv = "WRITEBACK_AUTOBATCH_CRASH_KILLS"

// remoteProvider is a [writeback.Provider] that forwards writes to a
// provider served by [serveProvider].
type remoteProvider struct {
	url  string
	caps writeback.Capabilities
}

func (p *remoteProvider) Name() string                         { return "hubspot" }
func (p *remoteProvider) Capabilities() writeback.Capabilities { return p.caps }

func (p *remoteProvider) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	cp := *req
	cp.TokenSource = nil
	body, err := json.Marshal(&cp)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassUnknownOutcome, Message: err.Error(), RecordIndex: writeback.NoRecord}
	}
	defer resp.Body.Close()
	var out remoteAnswer
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInternal, Message: err.Error(), RecordIndex: writeback.NoRecord}
	}
	if out.Error != nil {
		return nil, out.Error
	}
	return out.Response, nil
}

// remoteAnswer is what [serveProvider] answers: the provider's response or
// its error.
type remoteAnswer struct {
	Response *writeback.ProviderResponse `json:"response,omitempty"`
	Error    *writeback.ProviderError    `json:"error,omitempty"`
}

func (p *remoteProvider) Read(context.Context, *writeback.ReadRequest) (map[string]map[string]any, error) {
	return nil, writeback.ErrUnsupported
}

// serveProvider serves a provider's Write over loopback HTTP. hold, if
// set, is called after the provider applied a write and before the answer
// is sent, with the request's context.
func serveProvider(t *testing.T, p writeback.Provider, hold func(ctx context.Context)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var req writeback.ProviderRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		var ans remoteAnswer
		resp, err := p.Write(context.WithoutCancel(r.Context()), &req)
		switch perr := (*writeback.ProviderError)(nil); {
		case errors.As(err, &perr):
			ans.Error = perr
		case err != nil:
			ans.Error = &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInternal, Message: err.Error(), RecordIndex: writeback.NoRecord}
		default:
			ans.Response = resp
		}
		if hold != nil {
			hold(r.Context())
		}
		_ = json.NewEncoder(rw).Encode(ans)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// autoBatchWorld is the world of the auto-batch crash tests: the remote
// provider at url as HubSpot, its batches of up to size records, and an
// installation writing companies.
func autoBatchWorld(url string, size int) option {
	return func(s *writerSpec) {
		s.providers = []writeback.Provider{
			&remoteProvider{url: url, caps: writeback.Capabilities{MaxBatchSize: size}},
			providertest.NewFake("salesforce", writeback.Capabilities{}),
		}
		s.installations = []*writeback.Installation{companiesInstallation()}
	}
}

// listChild auto-batches the records named on stdin, one per line
// ("<id or -> <name>"), printing "joined <operation ID>" after each is
// acknowledged, and then waits to be killed.
func listChild(t *testing.T) {
	ctx := context.Background()
	st, _ := childStore(t)
	w := setup(t, withStore(st), autoBatchWorld(os.Getenv(childEnvURL), childSize(t))).w
	require.NoError(t, w.Start(ctx))
	typ := writeback.WriteType(os.Getenv(childEnvType))
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 2)
		r := writeback.Record{Fields: map[string]any{"name": f[1]}}
		if f[0] != "-" {
			r.ID = f[0]
		}
		var res *writeback.Result
		var err error
		if typ == writeback.WriteTypeCreate {
			res, err = w.Create(ctx, crmTarget("companies"), r, autoBatch(time.Hour))
		} else {
			res, err = w.Update(ctx, crmTarget("companies"), r, autoBatch(time.Hour))
		}
		require.NoError(t, err)
		fmt.Printf("joined %s\n", res.OperationID)
	}
	select {} // wait for SIGKILL
}

// crashChild starts a child writing lines (see listChild) and, once it
// acknowledged every line, returns the operation IDs it acknowledged and
// a function that kills it.
func crashChild(t *testing.T, dir, url string, typ writeback.WriteType, size int, lines []string) ([]string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnvMode+"=list", childEnvDir+"="+dir, childEnvURL+"="+url,
		childEnvType+"="+string(typ), fmt.Sprintf("%s=%d", childEnvSize, size))
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var once sync.Once
	kill := func() {
		once.Do(func() {
			_ = cmd.Process.Kill() // SIGKILL
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	var ids []string
	sc := bufio.NewScanner(out)
	for len(ids) < len(lines) && sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "joined "); ok {
			ids = append(ids, id)
		}
	}
	require.Len(t, ids, len(lines), "the child acknowledged every record")
	return ids, kill
}

// later is a clock two hours ahead, past any flush time and lease the
// child left behind.
func later() time.Time { return time.Now().Add(2 * time.Hour) }

func TestAutoBatchCrashWhileAccumulating(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	url := serveProvider(t, fake, nil)

	lines := []string{"- c0", "- c1", "- c2", "- c3"}
	ids, kill := crashChild(t, dir, url, writeback.WriteTypeCreate, 100, lines)
	kill() // before the one-hour flush time
	require.Empty(t, fake.Writes())

	w := setup(t, withStore(openBolt(t, dir)), autoBatchWorld(url, 100), withClock(later)).w
	op, err := w.Operation(ctx, requireSame(t, ids))
	require.NoError(t, err)
	require.Equal(t, writeback.OperationInProgress, op.Status, "acknowledged records survive the crash")
	startWriter(t, w)
	op = waitOpReal(t, w, ids[0])
	require.Equal(t, writeback.OperationSuccess, op.Status)
	requireCreated(t, fake, op, "c")
	require.Len(t, fake.Writes(), 1)
	require.Equal(t, len(lines), fake.Count("companies"))
}

func TestAutoBatchCrashBetweenFlushAndResult(t *testing.T) {
	t.Parallel()
	for _, typ := range []writeback.WriteType{writeback.WriteTypeCreate, writeback.WriteTypeUpdate} {
		t.Run(string(typ), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			fake := providertest.NewFake("hubspot", writeback.Capabilities{})
			sent := make(chan struct{})
			var holding sync.Once
			url := serveProvider(t, fake, func(ctx context.Context) {
				// The first batch is applied but not answered until the
				// child, waiting for the answer, is killed.
				first := false
				holding.Do(func() { first = true })
				if first {
					close(sent)
					<-ctx.Done()
				}
			})
			lines := make([]string, 3)
			for i := range lines {
				if typ == writeback.WriteTypeCreate {
					lines[i] = fmt.Sprintf("- c%d", i)
				} else {
					lines[i] = fmt.Sprintf("%s c%d", fake.Seed("companies", map[string]any{"name": "old"}), i)
				}
			}
			// A group of three is full, so the child flushes at once.
			ids, kill := crashChild(t, dir, url, typ, len(lines), lines)
			<-sent
			kill()

			w := setup(t, withStore(openBolt(t, dir)), autoBatchWorld(url, len(lines)), withClock(later)).w
			startWriter(t, w)
			op := waitOpReal(t, w, requireSame(t, ids))
			require.Len(t, op.Results, len(lines))
			require.Equal(t, len(lines), fake.Count("companies"), "no record lost or written twice")
			switch typ {
			case writeback.WriteTypeCreate:
				// The creates happened, but the answer was lost: they are
				// reported as unknown outcomes and never sent again.
				require.Len(t, fake.Writes(), 1)
				require.Equal(t, writeback.OperationFailure, op.Status)
				for _, r := range op.Results {
					require.Equal(t, writeback.ClassUnknownOutcome, r.Err.Class)
				}
			case writeback.WriteTypeUpdate:
				// An update is sent again, which changes nothing more.
				require.Len(t, fake.Writes(), 2)
				require.Equal(t, writeback.OperationSuccess, op.Status)
				for i, r := range op.Results {
					rec, _ := fake.Record("companies", r.ID)
					require.Equal(t, fmt.Sprintf("c%d", i), rec["name"])
				}
			}
		})
	}
}

// TestAutoBatchCrashSafety kills a process making auto-batched creates at
// random points (while groups accumulate, while batches are in flight,
// while poisoned batches are being split), restarts it on the same bbolt
// file each time, and holds every acknowledged record to its promise
// through its own result: the one at the position it joined its group.
// Poisoned records are refused, never created.
func TestAutoBatchCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	t.Parallel()
	r := runAutoBatchCrash(t, crashKills(t, autoBatchKillsEnv, 10), "")
	r.requireKept(t)
}

// TestAutoBatchCrashSafetyCatchesSkippedMember runs
// TestAutoBatchCrashSafety's harness on a store that acknowledges the
// third record of a group without storing it: the harness must report
// those records, as lost or as holding another record's result.
func TestAutoBatchCrashSafetyCatchesSkippedMember(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	t.Parallel()
	r := runAutoBatchCrash(t, 2, "skip-member")
	t.Log(r)
	require.NotEmpty(t, append(r.lost, r.wrong...), "the harness reports the skipped records")
}

// autoBatchAck is a record a child acknowledged: its group's operation,
// the position it joined the group at, and its name.
type autoBatchAck struct {
	op    string
	index int
	name  string
}

// runAutoBatchCrash runs TestAutoBatchCrashSafety's harness with kills
// kills on the broken store named broken ("" for none) and returns what
// it found.
func runAutoBatchCrash(t *testing.T, kills int, broken string) *crashReport {
	const size = 20
	dir := t.TempDir()
	prov := newTally()
	url := serveProvider(t, prov, nil)
	env := []string{childEnvDir + "=" + dir, childEnvURL + "=" + url, childEnvBreak + "=" + broken, fmt.Sprintf("%s=%d", childEnvSize, size)}

	var mu sync.Mutex
	var acks []autoBatchAck
	ack := func(f []string) {
		index, err := strconv.Atoi(f[1])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			index = -1
		}
		acks = append(acks, autoBatchAck{op: f[0], index: index, name: f[2]})
	}
	for i := range kills {
		kill := time.Duration(50+rand.IntN(400)) * time.Millisecond
		if broken != "" {
			kill += 250 * time.Millisecond // time for the store to break
		}
		crashChildRun{mode: "autobatch", run: i, env: env, ack: ack}.killed(t, kill)
	}
	prov.calm.Store(true) // no more rate limits: the drain only finishes
	crashChildRun{mode: "autobatch-drain", run: kills, env: env}.drained(t, drainBudget(kills))

	mu.Lock()
	defer mu.Unlock()
	r := checkAutoBatchCrash(t, openBolt(t, dir), prov, acks)
	r.kills = kills
	return r
}

// autoBatchChild auto-batches creates from four goroutines until it is
// killed, printing "ack <operation ID> <position in the group> <name>"
// after each Create returns; every seventh record is named bad-... and
// poisons its batch. Its store tells it the position (joinRecorder).
func autoBatchChild(t *testing.T) {
	ctx := context.Background()
	st, _ := childStore(t)
	w := setup(t, withStore(joinRecorder{st}), autoBatchWorld(os.Getenv(childEnvURL), childSize(t)),
		withLease(300*time.Millisecond)).w // interrupted runs resume quickly
	require.NoError(t, w.Start(ctx))
	var out sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("r%s-g%d-%d", os.Getenv(childEnvRun), g, i)
				if i%7 == 3 {
					name = "bad-" + name
				}
				index := -1
				res, err := w.Create(context.WithValue(ctx, joinSlot{}, &index), crmTarget("companies"), company(name), autoBatch(time.Second))
				if err != nil {
					fmt.Fprintln(os.Stderr, "create:", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Printf("ack %s %d %s\n", res.OperationID, index, name)
				out.Unlock()
				time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// tally is the provider behind TestAutoBatchCrashSafety: a Fake that takes
// up to 30 ms to answer, rate-limits one call in ten (unless calm), and
// rejects a whole batch that holds a bad-... record, naming no record. It
// counts, by name, the records it received and those it created.
type tally struct {
	fake   *providertest.Fake
	strict *wholeBatchRejecter
	calm   atomic.Bool

	mu       sync.Mutex
	received map[string]int
	created  map[string]int
}

func newTally() *tally {
	p := &tally{received: map[string]int{}, created: map[string]int{}}
	p.fake = providertest.NewFake("hubspot", writeback.Capabilities{})
	p.fake.FailCalls(func(*writeback.ProviderRequest) error {
		if !p.calm.Load() && rand.IntN(10) == 0 {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassRateLimited, StatusCode: 429,
				Message: "TEN_SECONDLY_ROLLING", RecordIndex: writeback.NoRecord}
		}
		return nil
	})
	p.strict = &wholeBatchRejecter{Fake: p.fake, bad: isBad}
	return p
}

func (p *tally) Name() string                         { return "hubspot" }
func (p *tally) Capabilities() writeback.Capabilities { return p.fake.Capabilities() }
func (p *tally) Read(ctx context.Context, req *writeback.ReadRequest) (map[string]map[string]any, error) {
	return p.fake.Read(ctx, req)
}

func (p *tally) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	p.mu.Lock()
	for _, r := range req.Records {
		p.received[name(r)]++
	}
	p.mu.Unlock()
	time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
	resp, err := p.strict.Write(ctx, req)
	if err == nil {
		p.mu.Lock()
		for i, r := range resp.Results {
			if r.Err == nil {
				p.created[name(req.Records[i])]++
			}
		}
		p.mu.Unlock()
	}
	return resp, err
}

// name returns a company record's name.
func name(r writeback.Record) string {
	s, _ := r.Fields["name"].(string)
	return s
}

// checkAutoBatchCrash holds every acknowledged record to its promise
// through its own result, reading every operation once.
func checkAutoBatchCrash(t *testing.T, st store.Interface, prov *tally, acks []autoBatchAck) *crashReport {
	t.Helper()
	ctx := t.Context()
	w := setup(t, withStore(st), autoBatchWorld("http://127.0.0.1:1", 20)).w
	inst, err := w.InstallationByGroup(ctx, "crm", "cust-42")
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
	prov.mu.Lock()
	defer prov.mu.Unlock()

	r := &crashReport{acked: len(acks)}
	type slot struct {
		op    string
		index int
	}
	owner := map[slot]string{}
	for _, a := range acks {
		bad := strings.HasPrefix(a.name, "bad-")
		if other, ok := owner[slot{a.op, a.index}]; ok {
			r.lose("%s and %s were both acknowledged as record %d of group %s", other, a.name, a.index, a.op)
			continue
		}
		owner[slot{a.op, a.index}] = a.name
		op, ok := ops[a.op]
		switch {
		case !ok:
			r.lose("%s (group %s): not stored", a.name, a.op)
			continue
		case !op.Status.Terminal():
			r.lose("%s (group %s): still %s after the drain", a.name, a.op, op.Status)
			continue
		case a.index < 0 || a.index >= len(op.Results):
			r.lose("%s (group %s): no result at its position %d of %d", a.name, a.op, a.index, len(op.Results))
			continue
		}
		res := op.Results[a.index]
		switch {
		case res.Err == nil:
			rec, ok := prov.fake.Record("companies", res.ID)
			switch got, _ := rec["name"].(string); {
			case !ok:
				r.lose("%s (group %s): reported written as %s, but the provider does not hold it", a.name, a.op, res.ID)
			case got != a.name:
				r.mismatch("%s (group %s): its result %s is record %s", a.name, a.op, res.ID, got)
			case bad:
				r.mismatch("%s (group %s): a poisoned record was created", a.name, a.op)
			case prov.created[a.name] == 1:
				r.delivered++
			}
		case res.Err.Class == writeback.ClassUnknownOutcome:
			r.unknown++
			if prov.received[a.name] > 0 {
				r.unknownReceived++
			}
			if prov.created[a.name] > 0 {
				r.unknownCreated++
			}
		case bad && res.Err.Class == writeback.ClassInvalid:
			r.refused++
		default:
			r.lose("%s (group %s): failed: %v", a.name, a.op, res.Err)
		}
	}
	for name, n := range prov.created {
		if n > 1 {
			r.duplicate("%s created %d times", name, n)
		}
	}
	return r
}
