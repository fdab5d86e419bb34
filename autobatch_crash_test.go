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
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/boltstore"
)

// The auto-batch crash test runs a Writer in a child process (this test
// binary, running TestAutoBatchCrashChild), kills it with SIGKILL at a
// chosen point, and resumes with a new Writer on the same bbolt file. The
// provider lives in the parent behind a loopback HTTP server, so what it
// received survives the child.

const (
	crashChildEnv = "WRITEBACK_AUTOBATCH_CRASH_CHILD"
	crashDirEnv   = "WRITEBACK_AUTOBATCH_CRASH_DIR"
	crashURLEnv   = "WRITEBACK_AUTOBATCH_CRASH_URL"
	crashTypeEnv  = "WRITEBACK_AUTOBATCH_CRASH_TYPE"
	crashSizeEnv  = "WRITEBACK_AUTOBATCH_CRASH_SIZE"
	crashRunEnv   = "WRITEBACK_AUTOBATCH_CRASH_RUN"
)

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

// openBolt opens the bbolt file in dir, closed when the test ends.
func openBolt(t *testing.T, dir string) *boltstore.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(dir, "writeback.db"), &boltstore.Options{LockTimeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	return st
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

// TestAutoBatchCrashChild is the child process of the crash tests; it is
// skipped unless a crash test started it. In "list" mode it auto-batches
// the records named on stdin, one per line, printing "joined <operation
// ID>" after each is acknowledged, and then waits to be killed; "random"
// and "drain" are described at [autoBatchRandomChild].
func TestAutoBatchCrashChild(t *testing.T) {
	mode := os.Getenv(crashChildEnv)
	if mode == "" {
		t.Skip("run by the auto-batch crash tests")
	}
	ctx := context.Background()
	var size int
	_, err := fmt.Sscan(os.Getenv(crashSizeEnv), &size)
	require.NoError(t, err)
	if mode != "list" {
		autoBatchRandomChild(t, mode, size)
		return
	}
	w := setup(t, withStore(openBolt(t, os.Getenv(crashDirEnv))), autoBatchWorld(os.Getenv(crashURLEnv), size)).w
	require.NoError(t, w.Start(ctx))
	typ := writeback.WriteType(os.Getenv(crashTypeEnv))
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 2) // "<id or -> <name>"
		r := writeback.Record{Fields: map[string]any{"name": f[1]}}
		if f[0] != "-" {
			r.ID = f[0]
		}
		var res *writeback.Result
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

// crashChild starts the child process writing lines (see
// TestAutoBatchCrashChild) and returns the operation IDs it acknowledged
// once every line was acknowledged, and a function that kills it.
func crashChild(t *testing.T, dir, url string, typ writeback.WriteType, size int, lines []string) ([]string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAutoBatchCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=list", crashDirEnv+"="+dir, crashURLEnv+"="+url,
		crashTypeEnv+"="+string(typ), fmt.Sprintf("%s=%d", crashSizeEnv, size))
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

// autoBatchRandomChild is the child of TestAutoBatchCrashSafety. "random"
// auto-batches creates from four goroutines until it is killed, printing
// "ack <operation ID> <name>" after each is acknowledged; every seventh
// record is named bad-... and poisons its batch. "drain" makes no writes
// and exits once every operation is terminal.
func autoBatchRandomChild(t *testing.T, mode string, size int) {
	ctx := context.Background()
	w := setup(t, withStore(openBolt(t, os.Getenv(crashDirEnv))), autoBatchWorld(os.Getenv(crashURLEnv), size),
		withLease(300*time.Millisecond)).w // interrupted runs resume quickly
	require.NoError(t, w.Start(ctx))
	if mode == "drain" {
		inst, err := w.InstallationByGroup(ctx, "crm", "cust-42")
		require.NoError(t, err)
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		page, err := w.Operations(ctx, &writeback.OperationListParams{InstallationID: inst.ID, PageSize: writeback.MaxPageSize})
		require.NoError(t, err)
		require.True(t, page.Done)
		for _, op := range page.Operations {
			_, err := w.Wait(wctx, op.ID)
			require.NoError(t, err)
		}
		require.NoError(t, w.Stop(ctx))
		os.Exit(0)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("r%s-g%d-%d", os.Getenv(crashRunEnv), g, i)
				if i%7 == 3 {
					name = "bad-" + name
				}
				res, err := w.Create(ctx, crmTarget("companies"), company(name), autoBatch(time.Second))
				if err != nil {
					fmt.Fprintln(os.Stderr, "create:", err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Printf("ack %s %s\n", res.OperationID, name)
				out.Unlock()
				time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// tally is the provider behind TestAutoBatchCrashSafety: a Fake that takes
// up to 30 ms to answer, rate-limits one call in ten, and rejects a whole
// batch that holds a bad-... record, naming no record. It counts the
// records it created by name.
type tally struct {
	fake   *providertest.Fake
	strict *wholeBatchRejecter

	mu      sync.Mutex
	created map[string]int
}

func newTally() *tally {
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	fake.FailCalls(func(*writeback.ProviderRequest) error {
		if rand.IntN(10) == 0 {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassRateLimited, StatusCode: 429,
				Message: "TEN_SECONDLY_ROLLING", RecordIndex: writeback.NoRecord}
		}
		return nil
	})
	return &tally{fake: fake, strict: &wholeBatchRejecter{Fake: fake, bad: isBad}, created: map[string]int{}}
}

func (p *tally) Name() string                         { return "hubspot" }
func (p *tally) Capabilities() writeback.Capabilities { return p.fake.Capabilities() }
func (p *tally) Read(ctx context.Context, req *writeback.ReadRequest) (map[string]map[string]any, error) {
	return p.fake.Read(ctx, req)
}

func (p *tally) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
	resp, err := p.strict.Write(ctx, req)
	if err == nil {
		p.mu.Lock()
		for i, r := range resp.Results {
			if r.Err == nil {
				p.created[req.Records[i].Fields["name"].(string)]++
			}
		}
		p.mu.Unlock()
	}
	return resp, err
}

// TestAutoBatchCrashSafety kills a process making auto-batched creates at
// random points (while groups accumulate, while batches are in flight,
// while poisoned batches are being split), restarts it on the same bbolt
// file each time, and checks at the provider that every acknowledged
// record was created exactly once, except records whose outcome was
// unknown at a kill, which their operation reports and which were created
// at most once. Poisoned records are never created.
func TestAutoBatchCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-runs the test binary")
	}
	t.Parallel()
	const kills = 8
	dir := t.TempDir()
	prov := newTally()
	url := serveProvider(t, prov, nil)

	type ack struct{ op, name string }
	var acks []ack
	run := func(mode string, i int, kill time.Duration) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAutoBatchCrashChild$", "-test.count=1", "-test.v=false")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+mode, crashDirEnv+"="+dir, crashURLEnv+"="+url,
			crashSizeEnv+"=20", fmt.Sprintf("%s=%d", crashRunEnv, i))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		first := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			var once sync.Once
			for sc.Scan() {
				if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "ack" {
					acks = append(acks, ack{f[1], f[2]})
					once.Do(func() { close(first) })
				}
			}
		}()
		if kill > 0 {
			select {
			case <-first:
			case <-done:
			}
			time.Sleep(kill) // the random point of the kill
			_ = cmd.Process.Kill()
		}
		<-done
		err = cmd.Wait()
		if kill == 0 {
			require.NoError(t, err, "drain: %s", stderr.String())
		} else {
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "run %d: %s", i, stderr.String())
			ws, ok := exit.Sys().(syscall.WaitStatus)
			require.True(t, ok && ws.Signaled(), "run %d ended before it was killed: %v: %s", i, err, stderr.String())
		}
	}
	for i := range kills {
		run("random", i, time.Duration(50+rand.IntN(400))*time.Millisecond)
	}
	run("drain", kills, 0)

	st, err := boltstore.Open(filepath.Join(dir, "writeback.db"), nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	ctx := t.Context()
	ops := map[string]*writeback.Operation{}
	names := map[string][]string{} // operation ID -> acknowledged names
	opOf := map[string]string{}    // acknowledged name -> operation ID
	for _, a := range acks {
		opOf[a.name] = a.op
		if _, ok := ops[a.op]; !ok {
			rec, err := st.Operation(ctx, a.op)
			require.NoError(t, err, "acknowledged operation %s was not stored", a.op)
			var op writeback.Operation
			require.NoError(t, json.Unmarshal(rec.Data, &op))
			require.True(t, op.Status.Terminal(), "operation %s still %s after the drain", a.op, op.Status)
			ops[a.op] = &op
		}
		names[a.op] = append(names[a.op], a.name)
	}
	prov.mu.Lock()
	defer prov.mu.Unlock()
	for name, n := range prov.created {
		require.Equal(t, 1, n, "%s created %d times", name, n)
		require.False(t, strings.HasPrefix(name, "bad-"), "poisoned record %s was created", name)
	}
	unknown := 0
	for id, op := range ops {
		require.GreaterOrEqual(t, len(op.Results), len(names[id]), "every acknowledged record has a result")
		u := 0
		for _, r := range op.Results {
			switch {
			case r.Err == nil:
				rec, ok := prov.fake.Record("companies", r.ID)
				require.True(t, ok)
				if name := rec["name"].(string); opOf[name] != "" {
					// (A record can also have joined without being acknowledged.)
					require.Equal(t, id, opOf[name], "%s was created for the operation it joined", name)
				}
			case r.Err.Class == writeback.ClassUnknownOutcome:
				u++
			default:
				require.Equal(t, writeback.ClassInvalid, r.Err.Class, "operation %s: %v", id, r.Err)
			}
		}
		missing := 0
		for _, name := range names[id] {
			if !strings.HasPrefix(name, "bad-") && prov.created[name] == 0 {
				missing++
			}
		}
		require.LessOrEqual(t, missing, u, "operation %s: acknowledged records not created must be reported as unknown outcomes", id)
		unknown += u
	}
	t.Logf("%d kills, %d acknowledged records in %d groups, %d created, %d reported as unknown outcome",
		kills, len(acks), len(ops), len(prov.created), unknown)
	require.NotEmpty(t, acks)
}
