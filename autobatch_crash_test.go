package writeback_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

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
)

// remoteProvider is a [writeback.Provider] that forwards writes to a
// providertest.Fake served by [serveFake].
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
	var out writeback.ProviderResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInternal, Message: err.Error(), RecordIndex: writeback.NoRecord}
	}
	return &out, nil
}

func (p *remoteProvider) Read(context.Context, *writeback.ReadRequest) (map[string]map[string]any, error) {
	return nil, writeback.ErrUnsupported
}

// serveFake serves a Fake's Write over loopback HTTP. hold, if set, is
// called after the Fake applied a write and before the answer is sent,
// with the request's context.
func serveFake(t *testing.T, fake *providertest.Fake, hold func(ctx context.Context)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var req writeback.ProviderRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := fake.Write(context.WithoutCancel(r.Context()), &req)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		if hold != nil {
			hold(r.Context())
		}
		_ = json.NewEncoder(rw).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// crashWriter opens the bbolt file in dir, closed when the test ends, and
// returns a Writer on it with the remote provider, creating the
// installation on first use. now, if set, replaces the clock.
func crashWriter(t *testing.T, ctx context.Context, dir, url string, size int, now func() time.Time) *writeback.Writer {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(dir, "writeback.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	m, err := writeback.ParseManifest([]byte(testManifest))
	require.NoError(t, err)
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest: m,
		Providers: []writeback.Provider{
			&remoteProvider{url: url, caps: writeback.Capabilities{MaxBatchSize: size}},
			providertest.NewFake("salesforce", writeback.Capabilities{}),
		},
		Store: st,
		TokenSource: func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
			return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}), nil
		},
		Test: writeback.TestConfig{NowFunc: now},
	})
	require.NoError(t, err)
	if _, err := w.InstallationByGroup(ctx, "crm", "cust-42"); errors.Is(err, writeback.ErrNotFound) {
		_, err = w.CreateInstallation(ctx, &writeback.Installation{
			Integration: "crm", GroupRef: "cust-42", Connection: writeback.Connection{Provider: "hubspot"},
			Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"companies": {ObjectName: "companies"},
			}}},
		})
		require.NoError(t, err)
	} else {
		require.NoError(t, err)
	}
	return w
}

// TestAutoBatchCrashChild is the child process of the crash tests; it is
// skipped unless a crash test started it. It auto-batches the records named
// on stdin, one per line, printing "joined <operation ID>" after each is
// acknowledged, and then waits to be killed.
func TestAutoBatchCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) == "" {
		t.Skip("run by the auto-batch crash tests")
	}
	ctx := context.Background()
	var size int
	_, err := fmt.Sscan(os.Getenv(crashSizeEnv), &size)
	require.NoError(t, err)
	w := crashWriter(t, ctx, os.Getenv(crashDirEnv), os.Getenv(crashURLEnv), size, nil)
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
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dir, crashURLEnv+"="+url,
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
	url := serveFake(t, fake, nil)

	lines := []string{"- c0", "- c1", "- c2", "- c3"}
	ids, kill := crashChild(t, dir, url, writeback.WriteTypeCreate, 100, lines)
	kill() // before the one-hour flush time
	require.Empty(t, fake.Writes())

	w := crashWriter(t, ctx, dir, url, 100, later)
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
			ctx := t.Context()
			dir := t.TempDir()
			fake := providertest.NewFake("hubspot", writeback.Capabilities{})
			sent := make(chan struct{})
			var holding sync.Once
			url := serveFake(t, fake, func(ctx context.Context) {
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

			w := crashWriter(t, ctx, dir, url, len(lines), later)
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
